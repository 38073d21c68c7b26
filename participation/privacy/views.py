"""Routes of the privacy capability."""

from participation.privacy import bp  # noqa: F401
