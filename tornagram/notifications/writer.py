"""Writing notifications, inside the transaction of the action that causes them."""

from __future__ import annotations

import tornado.locale
from sqlalchemy import delete, func, select

from tornagram.accounts.models import User
from tornagram.db.ids import IdGenerator
from tornagram.graph.models import Comment, Mute, Notification
from tornagram.i18n import N_
from tornagram.realtime.channels import user_channel
from tornagram.storage.urls import media_url

# report_handled and warning come from moderators (tornagram/moderation/service.py).
KINDS = (
    "like", "comment", "reply", "mention", "follow", "follow_request", "report_handled", "warning",
)  # fmt: skip
# A toast quotes the comment behind it, cut to about two lines.
TOAST_EXCERPT_CHARS = 120


# What a live toast says; the notifications page groups and words them itself.
TOAST_MESSAGES = {
    "like": N_("%(name)s liked your photo."),
    "comment": N_("%(name)s commented on your photo."),
    "reply": N_("%(name)s replied to your comment."),
    "mention": N_("%(name)s mentioned you."),
    "follow": N_("%(name)s started following you."),
    "follow_request": N_("%(name)s asked to follow you."),
    "report_handled": N_("The moderators have handled your report. Thank you."),
    "warning": N_("The moderators have warned you about something you posted."),
}


class NotificationWriter:
    def __init__(self, ids: IdGenerator, events=None, db=None, unread=None) -> None:
        self.ids = ids
        # async (User) -> int: the count the navigation badge shows.
        self.count_unread = unread
        # With an EventPublisher (and the database to word the toast), each notification is
        # also pushed live to its recipient, after the commit.
        self.events = events if db is not None else None
        self.db = db

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
        if self.events is not None:
            self.events.on_commit(
                session,
                user_channel(recipient_id),
                "notification.created",
                lambda: self._live_data(notification),
            )
        return notification

    async def _live_data(self, notification: Notification) -> dict | None:
        """Built after the commit, in the recipient's language, with their new unread count."""
        async with self.db.read() as session:
            recipient = await session.get(User, notification.recipient_id)
            actor = await session.get(User, notification.actor_id)
            if recipient is None or actor is None:
                return None
            muted = await session.scalar(
                select(Mute.muted_id).where(
                    Mute.muter_id == recipient.id, Mute.muted_id == actor.id
                )
            )
            if muted is not None:
                return None  # the list leaves it out; no toast either
            if self.count_unread is None:
                unread = await self.unread_count(session, recipient.id)
            body = (
                await session.scalar(
                    select(Comment.body).where(Comment.id == notification.comment_id)
                )
                if notification.comment_id
                else None
            )
        if self.count_unread is not None:
            unread = await self.count_unread(recipient)
        locale = tornado.locale.get(recipient.locale) if recipient.locale else tornado.locale.get()
        return {
            "id": str(notification.id),
            "kind": notification.kind,
            "actor": {
                "username": actor.username,
                "name": actor.name,
                "avatar": media_url(actor.avatar_small_key),
            },
            "post_id": str(notification.post_id) if notification.post_id else None,
            "unread": unread,
            "text": locale.translate(TOAST_MESSAGES[notification.kind]) % {"name": actor.username},
            # Plain text of the comment (the page inserts it with textContent), or None.
            "excerpt": _excerpt(body) if body else None,
        }

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


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    if len(text) <= TOAST_EXCERPT_CHARS:
        return text
    return text[: TOAST_EXCERPT_CHARS - 1].rstrip() + "…"
