"""Accounts waiting for approval (registration mode "approval"): moderators see them at
/admin/approvals with the answer each gave, and approve or reject them.

Until approved, an account can sign in only to read that it is waiting (``web/base.py``).
Approving lets it in and mails the person; rejecting deletes the account as a deletion does
(``leaving/deletion.py``). Both go into the audit log.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select, update

from tornagram.accounts import emails
from tornagram.accounts.emails import Letter
from tornagram.accounts.models import User
from tornagram.accounts.recovery import site_link
from tornagram.cache import VISIBILITY
from tornagram.db.engine import after_commit, changed
from tornagram.errors import Conflict, NotFound
from tornagram.i18n import N_
from tornagram.moderation.audit import clean_note, record

log = logging.getLogger(__name__)

LIST_SIZE = 100

APPROVED = Letter(
    subject=N_("Your account on %(site)s is ready"),
    paragraphs=(
        N_("Hello %(name)s,"),
        N_("the moderators of %(site)s approved your account @%(username)s. Welcome!"),
    ),
    action_label=N_("Sign in"),
)


class Approvals:
    def __init__(self, db, ids, deletion, mailer, settings, site) -> None:
        self.db = db
        self.ids = ids
        self.deletion = deletion
        self.mailer = mailer
        self.settings = settings
        self.site = site

    async def waiting(self) -> list[User]:
        """Oldest first: who asked first is answered first."""
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(
                        select(User)
                        .where(User.approval_pending_since.is_not(None))
                        .order_by(User.approval_pending_since, User.id)
                        .limit(LIST_SIZE)
                    )
                ).scalars()
            )

    async def count(self) -> int:
        async with self.db.read() as session:
            return await session.scalar(
                select(func.count())
                .select_from(User)
                .where(User.approval_pending_since.is_not(None))
            )

    async def _pending(self, user_id: int) -> User:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise NotFound("No one here goes by that name.")
        if not user.is_pending:
            raise Conflict("This account is not waiting for approval.")
        return user

    async def approve(self, moderator: User, user_id: int, note: str = "") -> User:
        note = clean_note(note)
        user = await self._pending(user_id)
        site_name = (await self.site.current()).name
        async with self.db.write() as session:
            result = await session.execute(
                update(User)
                .where(User.id == user.id, User.approval_pending_since.is_not(None))
                .values(approval_pending_since=None)
            )
            if not result.rowcount:
                raise Conflict("This account is not waiting for approval.")
            # The visibility rule reads the column: cached answers it filtered are stale.
            changed(session, VISIBILITY)
            record(session, self.ids, moderator, "user.approve", user, note)
            mail = emails.compose(
                APPROVED, user.email, user.locale, url=site_link(self.settings, "/login"),
                name=user.name, username=user.username, site=site_name,
            )  # fmt: skip
            mailer = self.mailer

            async def send() -> None:
                await mailer.send(mail)

            after_commit(session, send)
        user.approval_pending_since = None
        log.info("@%s approved by @%s", user.username, moderator.username)
        return user

    async def reject(self, moderator: User, user_id: int, note: str = "") -> None:
        note = clean_note(note)
        user = await self._pending(user_id)
        await self.deletion.remove(
            user,
            also=lambda session: record(session, self.ids, moderator, "user.reject", user, note),
        )
        log.info("@%s rejected by @%s", user.username, moderator.username)
