"""Routes of the register capability."""

from participation.register import bp  # noqa: F401
