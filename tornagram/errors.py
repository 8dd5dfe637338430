"""Errors the user is meant to read. Messages are English msgids, translated at the edge."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """A problem with what the user asked for. ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(
        self,
        message: str | tuple[str, str],
        field: str | None = None,
        *,
        plural_count: int | None = None,
        **params: Any,
    ) -> None:
        # A counted message is a (singular, plural) pair, marked with i18n.NP_(), and says
        # which form it needs through ``plural_count`` ("wait 1 second", "wait 5 seconds").
        # (Not ``count``: that is a placeholder name messages already use.)
        if isinstance(message, tuple) and plural_count is None:
            raise ValueError("a counted message needs its plural_count")
        english = _pick(message, plural_count)
        super().__init__(english % params if params else english)
        self.message = message
        self.plural_count = plural_count
        self.field = field
        self.params = params

    def render(self, translate) -> str:
        if isinstance(self.message, tuple):
            text = translate(self.message[0], self.message[1], self.plural_count)
        else:
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
        super().__init__(
            first.message, first.field, plural_count=first.plural_count, **first.params
        )

    def by_field(self) -> dict[str, UserError]:
        return self.errors


class NotFound(UserError):
    status = 404


class Forbidden(UserError):
    status = 403


class Gone(UserError):
    """It existed and works no more (an expired or used-up link)."""

    status = 410


class Conflict(UserError):
    status = 409


class RetryLater(UserError):
    """Refused for now, not for good: the answer carries ``Retry-After``."""

    status = 503

    def __init__(
        self, message: str | tuple[str, str], retry_after_secs: int, **params: Any
    ) -> None:
        # Counted messages here count the seconds to wait.
        count = params.get("secs", retry_after_secs) if isinstance(message, tuple) else None
        super().__init__(message, plural_count=count, **params)
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


def _pick(message: str | tuple[str, str], count: int | None) -> str:
    """The English form: the message itself, or a pair's singular or plural for ``count``."""
    if isinstance(message, tuple):
        return message[0] if count == 1 else message[1]
    return message


def english(message: str, plural: str | None = None, count: int | None = None) -> str:
    """A stand-in for ``locale.translate`` where there is no locale (the command line)."""
    return plural if plural is not None and count != 1 else message
