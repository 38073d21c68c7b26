"""The domain error hierarchy; one handler in create_app() turns them into pages."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `message` is shown to the user (already translated by the raiser)."""

    status = 400

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class WrongState(DomainError):
    status = 409


class Full(Conflict):
    pass


class Busy(DomainError):
    """A lock could not be had in time (many people at once): try again, nothing was stored."""

    status = 503


class Invalid(DomainError):
    """Input that breaks a rule; `errors` maps field names to messages when known."""

    status = 422

    def __init__(self, message: str = "", errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or {}
