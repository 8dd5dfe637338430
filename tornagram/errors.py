"""Errors the user is meant to read. Messages are English msgids, translated at the edge."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A problem with what the user asked for. ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str, field: str | None = None, **params: Any) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.field = field
        self.params = params

    def render(self, translate) -> str:
        text = translate(self.message)
        if not self.params:
            return text
        # A parameter may itself be a message ("Photo 2: <why it was refused>").
        params = {
            k: v.render(translate) if isinstance(v, UserError) else v
            for k, v in self.params.items()
        }
        return text % params

    def by_field(self) -> dict[str, UserError]:
        """What to show under each field; a refusal of the whole form is filed under
        ``__all__``."""
        return {self.field or "__all__": self}


class InvalidInput(UserError):
    """One or more fields are wrong. ``errors`` maps field name → UserError."""

    status = 400

    def __init__(self, errors: dict[str, UserError] | UserError) -> None:
        if isinstance(errors, UserError):
            errors = {errors.field or "__all__": errors}
        self.errors = errors
        first = next(iter(errors.values()))
        super().__init__(first.message, first.field, **first.params)

    def by_field(self) -> dict[str, UserError]:
        return self.errors


class NotFound(UserError):
    status = 404


class Forbidden(UserError):
    status = 403


class Conflict(UserError):
    status = 409


class RetryLater(UserError):
    """Refused for now, not for good: the answer carries ``Retry-After``."""

    status = 503

    def __init__(self, message: str, retry_after_secs: int, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after_secs = max(1, int(retry_after_secs))


class TooManyRequests(RetryLater):
    status = 429


class ServiceUnavailable(RetryLater):
    """The site cannot do this right now (the database is busy or locked); nothing was saved."""

    status = 503


class InsufficientStorage(RetryLater):
    """The disk that media goes to is full; nothing was saved."""

    status = 507


DATABASE_BUSY_RETRY_SECS = 5
DATABASE_BUSY_MESSAGE = (
    "The site is very busy and could not save that just now. Nothing was saved: "
    "please try again in a few seconds."
)


def database_busy() -> ServiceUnavailable:
    """The database could not take this write in time (busy, or locked by something else)."""
    return ServiceUnavailable(DATABASE_BUSY_MESSAGE, DATABASE_BUSY_RETRY_SECS)
