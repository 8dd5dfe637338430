"""Writing notifications, inside the transaction of the action that causes them."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from tornagram.db.ids import IdGenerator
from tornagram.social.models import Notification

KINDS = ("like", "comment", "reply", "mention", "follow", "follow_request")


class NotificationWriter:
    def __init__(self, ids: IdGenerator) -> None:
        self.ids = ids

    def notify(
        self,
        session,
        *,
        recipient_id: int,
        actor_id: int,
        kind: str,
        post_id: int | None = None,
        comment_id: int | None = None,
    ) -> Notification | None:
        """Adds the row to ``session``; nobody is notified of their own actions."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r}")
        if recipient_id == actor_id:
            return None
        notification = Notification(
            id=self.ids.next_id(),
            recipient_id=recipient_id,
            actor_id=actor_id,
            kind=kind,
            post_id=post_id,
            comment_id=comment_id,
        )
        session.add(notification)
        return notification

    async def retract(
        self, session, *, recipient_id: int, actor_id: int, kind: str, post_id: int | None = None
    ) -> None:
        """An undone action (unlike, unfollow, a withdrawn request) takes its notice back."""
        query = delete(Notification).where(
            Notification.recipient_id == recipient_id,
            Notification.actor_id == actor_id,
            Notification.kind == kind,
        )
        if post_id is not None:
            query = query.where(Notification.post_id == post_id)
        await session.execute(query)

    @staticmethod
    async def unread_count(session, user_id: int) -> int:
        return await session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        )
