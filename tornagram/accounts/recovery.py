"""Forgotten passwords: a mailed, single-use link to choose a new one.

- Asking gives the same answer, just as fast, whether or not the address has an account:
  the lookup, the token and the mail happen after the answer, in a background task.
- The link carries 32 random bytes; only their SHA-256 is stored. It is good for one hour,
  once, and only while the password is the one it was issued under.
- Choosing the new password ends every session of the account and mails a notice. It does not
  sign anyone in: the person signs in with the new password (and their second factor).
- Asking is limited per address and per IP (the in-process limiter: these stop a script
  mailing someone over and over, which one process's budget already does).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import or_, select, update

from tornagram.accounts import emails, tokens
from tornagram.accounts.models import TokenPurpose, User
from tornagram.accounts.validation import check_password, normalize_username
from tornagram.db.base import utcnow
from tornagram.errors import InvalidInput, UserError
from tornagram.ratelimit import RateLimiter

log = logging.getLogger(__name__)

RESET_VALID_FOR = timedelta(hours=1)
ASK_TOO_OFTEN_MESSAGE = (
    "Too many reset requests. Please wait %(secs)d seconds and try again."
)


def site_link(settings, path: str, **query: str) -> str:
    """An absolute link for a message that leaves the site: from ``--site-url``, else the
    address this server listens on (right for ``make run``; set --site-url anywhere else)."""
    base = settings.site_url or f"http://{settings.host}:{settings.port}"
    return base + path + ("?" + urlencode(query) if query else "")


class RecoveryService:
    def __init__(self, db, ids, hasher, accounts, mailer, settings, limiter: RateLimiter) -> None:
        self.db = db
        self.ids = ids
        self.hasher = hasher
        self.accounts = accounts
        self.mailer = mailer
        self.settings = settings
        self.limiter = limiter
        self._tasks: set[asyncio.Task] = set()

    # -- asking ------------------------------------------------------------------------------

    def ask_for_reset(self, login: str, *, ip: str, locale: str | None) -> None:
        """Raises TooManyRequests; otherwise returns at once, whoever ``login`` names."""
        typed = (login or "").strip().lower()[:254]
        if not typed:
            raise InvalidInput(UserError("Enter your username or email.", "login"))
        self.limiter.check("reset-ip", ip, ASK_TOO_OFTEN_MESSAGE)
        self.limiter.check("reset-address", typed, ASK_TOO_OFTEN_MESSAGE)
        task = asyncio.create_task(self._mail_reset(typed, locale))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mail_reset(self, typed: str, locale: str | None) -> None:
        try:
            async with self.db.write() as session:
                user = (
                    await session.execute(
                        select(User).where(
                            or_(User.email_key == typed, User.username == normalize_username(typed))
                        )
                    )
                ).scalar_one_or_none()
                if user is None:
                    return
                await tokens.prune(session)
                token = self._issue(session, user)
            await self._send_reset(user, token, locale)
        except Exception:
            # Nothing of the address or token in the line.
            log.exception("a password reset could not be prepared")

    def _issue(self, session, user: User) -> str:
        return tokens.issue(
            session,
            self.ids,
            user.id,
            TokenPurpose.RESET,
            RESET_VALID_FOR,
            binding=tokens.password_stamp(user.password_hash),
        )

    def reset_link(self, token: str) -> str:
        return site_link(self.settings, "/reset", token=token)

    async def _send_reset(self, user: User, token: str, locale: str | None) -> None:
        await self.mailer.send(
            emails.compose(
                emails.RESET,
                user.email,
                user.locale or locale,
                url=self.reset_link(token),
                name=user.name,
                username=user.username,
            )
        )

    async def reset_link_for(self, username: str) -> str:
        """For an admin at the command line, without mail."""
        async with self.db.write() as session:
            user = (
                await session.execute(
                    select(User).where(User.username == normalize_username(username))
                )
            ).scalar_one_or_none()
            if user is None:
                raise UserError("No one here goes by that name.")
            token = self._issue(session, user)
        return self.reset_link(token)

    # -- following the link -------------------------------------------------------------------

    async def check_reset_link(self, token: str | None) -> User:
        """The account a reset link is for, or BadLink."""
        async with self.db.read() as session:
            row, user = await tokens.find(session, token, TokenPurpose.RESET)
        if row.binding != tokens.password_stamp(user.password_hash):
            raise tokens.BadLink()
        return user

    async def reset_password(self, token: str | None, new: str, *, locale: str | None) -> User:
        user = await self.check_reset_link(token)
        check_password(new, "new_password")
        new_hash = await self.hasher.hash(new)
        async with self.db.write() as session:
            row, user = await tokens.find(session, token, TokenPurpose.RESET)
            if row.binding != tokens.password_stamp(user.password_hash):
                raise tokens.BadLink()
            await tokens.use(session, row)
            # Only if the password is still the one the link was made for: a change that
            # committed meanwhile wins, and this link dies with the old password.
            changed = await session.execute(
                update(User)
                .where(User.id == user.id, User.password_hash == user.password_hash)
                .values(password_hash=new_hash, updated_at=utcnow())
            )
            if changed.rowcount != 1:
                raise tokens.BadLink()
            await tokens.void_all(session, user.id, TokenPurpose.RESET)
            await tokens.void_all(session, user.id, TokenPurpose.SIGN_IN)
            # App tokens too (tornagram/oauth registers itself with the accounts service).
            await self.accounts.end_sessions_of(session, user.id)
        log.info("password reset for user %s", user.id)
        await self.mailer.send(
            emails.compose(
                emails.PASSWORD_RESET_DONE,
                user.email,
                user.locale or locale,
                url=site_link(self.settings, "/forgot"),
                name=user.name,
                username=user.username,
            )
        )
        user.password_hash = new_hash
        return user

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
