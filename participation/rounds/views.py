"""Routes of the comment rounds capability."""

from participation.rounds import bp  # noqa: F401
