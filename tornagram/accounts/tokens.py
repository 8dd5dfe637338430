"""Single-use tokens (accounts.models.AccountToken): issued as random text, kept as a hash.

A token is good once, before it expires, for the purpose it was issued for, and while its
binding still holds (a reset is bound to the password it was issued under).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tornagram.accounts.models import AccountToken, User
from tornagram.db.base import utcnow
from tornagram.db.ids import IdGenerator
from tornagram.errors import UserError

# 32 bytes of randomness: the token is the whole secret of the link.
TOKEN_BYTES = 32
# Longer than this is no token we issued; refused before any hashing or lookup.
TOKEN_MAX_CHARS = 100
BAD_LINK_MESSAGE = (
    "This link does not work: it has expired, has been used already, or was copied "
    "incompletely. Ask for a new one."
)


class BadLink(UserError):
    status = 400

    def __init__(self) -> None:
        super().__init__(BAD_LINK_MESSAGE)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_stamp(password_hash: str) -> str:
    """Changes whenever the password does: a reset issued before is void after."""
    return hashlib.sha256(("password:" + password_hash).encode()).hexdigest()[:32]


def issue(
    session: AsyncSession,
    ids: IdGenerator,
    user_id: int,
    purpose: str,
    valid_for: timedelta,
    binding: str = "",
) -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(
        AccountToken(
            id=ids.next_id(),
            token_hash=digest(token),
            user_id=user_id,
            purpose=purpose,
            binding=binding,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    return token


def looks_like_token(token: str | None) -> bool:
    return bool(token) and len(token) <= TOKEN_MAX_CHARS and token.isascii()


async def find(
    session: AsyncSession, token: str | None, purpose: str
) -> tuple[AccountToken, User]:
    """The live token and its user, or BadLink."""
    if not looks_like_token(token):
        raise BadLink()
    row = (
        await session.execute(
            select(AccountToken, User)
            .join(User, User.id == AccountToken.user_id)
            .where(
                AccountToken.token_hash == digest(token),
                AccountToken.purpose == purpose,
                AccountToken.used_at.is_(None),
                AccountToken.expires_at > utcnow(),
            )
        )
    ).one_or_none()
    if row is None:
        raise BadLink()
    return row[0], row[1]


async def use(session: AsyncSession, row: AccountToken) -> None:
    """Mark it used; BadLink if another request used it first (the UPDATE is the referee)."""
    result = await session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if result.rowcount != 1:
        raise BadLink()


async def void_all(session: AsyncSession, user_id: int, purpose: str) -> None:
    await session.execute(
        delete(AccountToken).where(
            AccountToken.user_id == user_id, AccountToken.purpose == purpose
        )
    )


async def prune(session: AsyncSession) -> None:
    """Expired tokens are worth nothing; keep the table small."""
    await session.execute(delete(AccountToken).where(AccountToken.expires_at < utcnow()))
