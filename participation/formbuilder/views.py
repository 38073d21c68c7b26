"""Routes of the formbuilder capability."""

from participation.formbuilder import bp  # noqa: F401
