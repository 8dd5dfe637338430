"""Login throttling: failures are rows, so the limit holds across processes and restarts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tornagram.accounts.models import LoginFailure
from tornagram.accounts.validation import normalize_username
from tornagram.db.base import utcnow
from tornagram.db.ids import IdGenerator
from tornagram.errors import TooManyRequests

FAILURE_WINDOW = timedelta(minutes=15)
# More failures than this within the window and further attempts are refused.
MAX_FAILURES_PER_ACCOUNT = 10
MAX_FAILURES_PER_IP = 50
ACCOUNT_KEY_MAX_CHARS = 254  # LoginFailure.account_key

THROTTLED_MESSAGE = (
    "Too many failed sign-in attempts. Please wait %(minutes)d minutes and try again."
)


def account_key(user_id: int | None, typed: str) -> str:
    """What failures are counted under: the account when the login names one, otherwise the
    login as the lookup normalises it (``@@Nobody`` is ``nobody``), cut to the column's size
    (nothing that long names an account)."""
    if user_id is not None:
        return f"user:{user_id}"
    return "login:" + normalize_username(typed)[: ACCOUNT_KEY_MAX_CHARS - len("login:")]


async def _window_stats(session: AsyncSession, column, value: str, since: datetime):
    row = (
        await session.execute(
            select(func.count(), func.min(LoginFailure.created_at)).where(
                column == value, LoginFailure.created_at > since
            )
        )
    ).one()
    return row[0], row[1]


async def check_login_allowed(session: AsyncSession, account_key: str, ip: str) -> None:
    now = utcnow()
    since = now - FAILURE_WINDOW
    for column, value, limit in (
        (LoginFailure.account_key, account_key, MAX_FAILURES_PER_ACCOUNT),
        (LoginFailure.ip, ip, MAX_FAILURES_PER_IP),
    ):
        count, oldest = await _window_stats(session, column, value, since)
        if count >= limit:
            # The attempt becomes possible again when the oldest failure leaves the window.
            retry_after = (oldest + FAILURE_WINDOW - now).total_seconds() if oldest else 60
            raise TooManyRequests(
                THROTTLED_MESSAGE,
                retry_after_secs=int(retry_after) + 1,
                minutes=max(1, round(retry_after / 60)),
            )


async def record_failure(
    session: AsyncSession, ids: IdGenerator, account_key: str, ip: str
) -> None:
    session.add(LoginFailure(id=ids.next_id(), account_key=account_key, ip=ip))
    # Keep the table small: anything older than the window no longer counts.
    await session.execute(
        delete(LoginFailure).where(LoginFailure.created_at < utcnow() - 2 * FAILURE_WINDOW)
    )


async def clear_account_failures(session: AsyncSession, account_key: str) -> None:
    await session.execute(delete(LoginFailure).where(LoginFailure.account_key == account_key))
