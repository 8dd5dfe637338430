"""Invite links: ``/signup?invite=CODE`` makes an account while the link is valid, on a site
open to everyone, asking for approval (an invited person does not wait), or invite-only.

Admins may always make them; members (moderators included) when the site's settings allow. A
link is valid until it expires, is revoked, or has made ``max_uses`` accounts. A use is one
atomic UPDATE in the transaction that makes the account (``uses < max_uses`` in its WHERE), so
two people racing for the last use cannot both get in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from tornagram.accounts.models import User
from tornagram.db.base import utcnow
from tornagram.errors import Forbidden, Gone, InvalidInput, NotFound, UserError
from tornagram.moderation.models import Invite, is_admin

# What the form offers, in days; and how many accounts one link may make.
EXPIRY_CHOICES = (1, 7, 30)
MAX_USES_CHOICES = (1, 2, 5, 10, 25, 50, 100)
LIST_SIZE = 50
INVITE_TOO_FAST_MESSAGE = "You are making invites too quickly. Try again in %(secs)d seconds."

EXPIRED = "This invite link has expired."
USED_UP = "This invite link has already been used as many times as it allows."
REVOKED = "This invite link was withdrawn by the person who made it."
UNKNOWN = "This invite link is not valid. Check that it was copied whole."


@dataclass(slots=True)
class InviteRow:
    invite: Invite
    creator: User

    @property
    def state(self) -> str:
        """active, expired, used or revoked."""
        return invite_state(self.invite)


def invite_state(invite: Invite) -> str:
    if invite.revoked_at is not None:
        return "revoked"
    if invite.uses >= invite.max_uses:
        return "used"
    if invite.expires_at <= utcnow():
        return "expired"
    return "active"


def refusal(invite: Invite | None) -> UserError | None:
    """Why a link does not work now, or None when it does."""
    if invite is None:
        return NotFound(UNKNOWN)
    return {"revoked": Gone(REVOKED), "used": Gone(USED_UP), "expired": Gone(EXPIRED)}.get(
        invite_state(invite)
    )


class InviteService:
    def __init__(self, db, ids, site, limiter) -> None:
        self.db = db
        self.ids = ids
        self.site = site
        self.limiter = limiter

    async def may_invite(self, user: User | None) -> bool:
        if user is None or user.is_suspended or user.is_pending:
            return False
        return is_admin(user) or (await self.site.current()).members_may_invite

    async def create(self, user: User, *, days: int, max_uses: int) -> Invite:
        if not await self.may_invite(user):
            raise Forbidden("Only admins can make invite links on this site.")
        if days not in EXPIRY_CHOICES:
            raise InvalidInput(UserError("Choose how long the link works.", "days"))
        if max_uses not in MAX_USES_CHOICES:
            raise InvalidInput(UserError("Choose how many people the link may let in.", "uses"))
        self.limiter.check("invite", user.id, INVITE_TOO_FAST_MESSAGE)
        now = utcnow()
        invite = Invite(
            id=self.ids.next_id(),
            code=secrets.token_urlsafe(12),
            created_by_id=user.id,
            created_at=now,
            expires_at=now + timedelta(days=days),
            max_uses=max_uses,
            uses=0,
        )
        async with self.db.write() as session:
            session.add(invite)
        return invite

    async def listed(self, user: User) -> list[InviteRow]:
        """The user's own links, newest first; an admin sees everyone's."""
        query = (
            select(Invite, User)
            .join(User, User.id == Invite.created_by_id)
            .order_by(Invite.id.desc())
            .limit(LIST_SIZE)
        )
        if not is_admin(user):
            query = query.where(Invite.created_by_id == user.id)
        async with self.db.read() as session:
            return [InviteRow(i, u) for i, u in await session.execute(query)]

    async def revoke(self, user: User, invite_id: int) -> None:
        async with self.db.write() as session:
            invite = await session.get(Invite, invite_id)
            if invite is None or (invite.created_by_id != user.id and not is_admin(user)):
                raise NotFound("That invite link does not exist.")
            if invite.revoked_at is None:
                invite.revoked_at = utcnow()

    async def check(self, code: str) -> Invite:
        """The invite behind a code, or the UserError that says why it does not work."""
        invite = None
        if code and len(code) <= 32:
            async with self.db.read() as session:
                invite = (
                    await session.execute(select(Invite).where(Invite.code == code))
                ).scalar_one_or_none()
        problem = refusal(invite)
        if problem is not None:
            raise problem
        return invite

    async def use(self, session, invite_id: int) -> None:
        """One use, in the caller's transaction; Gone when none is left (or it just ended)."""
        now = utcnow()
        result = await session.execute(
            update(Invite)
            .where(
                Invite.id == invite_id,
                Invite.revoked_at.is_(None),
                Invite.expires_at > now,
                Invite.uses < Invite.max_uses,
            )
            .values(uses=Invite.uses + 1)
            .execution_options(synchronize_session=False)
        )
        if not result.rowcount:
            raise refusal(await session.get(Invite, invite_id, populate_existing=True)) or Gone(
                USED_UP
            )
