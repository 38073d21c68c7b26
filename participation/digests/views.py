"""Routes of the digests capability."""

from participation.digests import bp  # noqa: F401
