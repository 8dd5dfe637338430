"""Notifications as Mastodon lists them: one per row, ungrouped, newest first, through the same
visibility rule as the web's grouped list (notifications/service.py: visible_to)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import aliased

from tornagram.accounts.models import User
from tornagram.api.entities import Urls, account, iso
from tornagram.api.pagination import Cursor, keyset, reorder
from tornagram.api.statuses import StatusService
from tornagram.db.engine import Database
from tornagram.errors import NotFound
from tornagram.graph.models import Notification
from tornagram.notifications.service import visible_to

# Tornagram's kinds as Mastodon's types. A comment, a reply and a mention in a comment are all
# "mention" with the comment as the status; a mention in a caption has the post.
TYPES = {
    "like": "favourite",
    "comment": "mention",
    "reply": "mention",
    "mention": "mention",
    "follow": "follow",
    "follow_request": "follow_request",
}
KNOWN_TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll",
               "update", "admin.sign_up", "admin.report", "severed_relationships",
               "moderation_warning")  # fmt: skip


def kinds_for(types: list[str]) -> set[str]:
    return {kind for kind, name in TYPES.items() if name in types}


class NotificationReads:
    def __init__(self, db: Database, statuses: StatusService) -> None:
        self.db = db
        self.statuses = statuses

    async def page(
        self,
        viewer: User,
        cursor: Cursor,
        *,
        types: list[str],
        exclude_types: list[str],
        account_id: int | None,
        notification_id: int | None = None,
    ) -> list[tuple[Notification, User]]:
        Actor = aliased(User)  # the rule's own subqueries name the plain users table
        query = (
            select(Notification.id, Notification, Actor)
            .join(Actor, Actor.id == Notification.actor_id)
            .where(Notification.recipient_id == viewer.id, visible_to(viewer.id))
        )
        if types:
            query = query.where(Notification.kind.in_(kinds_for(types)))
        if exclude_types:
            query = query.where(Notification.kind.not_in(kinds_for(exclude_types)))
        if account_id is not None:
            query = query.where(Notification.actor_id == account_id)
        if notification_id is not None:
            query = query.where(Notification.id == notification_id)
        async with self.db.read() as session:
            rows = (await session.execute(keyset(query, Notification.id, cursor))).all()
        return [(n, actor) for _, n, actor in reorder(rows, cursor)]

    async def one(self, viewer: User, notification_id: int) -> tuple[Notification, User]:
        rows = await self.page(
            viewer, Cursor(limit=1), types=[], exclude_types=[], account_id=None,
            notification_id=notification_id,
        )  # fmt: skip
        if not rows:
            raise NotFound("Record not found")
        return rows[0]

    async def render(self, viewer: User, rows, urls: Urls) -> list[dict]:
        """Each with its status: the post (a like, a caption mention) or the comment."""
        post_ids = sorted({n.post_id for n, _ in rows if n.post_id and not n.comment_id})
        comment_ids = sorted({n.comment_id for n, _ in rows if n.comment_id})
        statuses: dict[int, dict] = {}
        for status_id in (*post_ids, *comment_ids):
            try:
                found = await self.statuses.find(viewer, status_id)
            except NotFound:
                continue
            statuses[status_id] = await self.statuses.render(viewer, found, urls)
        out = []
        for notification, actor in rows:
            data = {
                "id": str(notification.id),
                "type": TYPES.get(notification.kind, notification.kind),
                "created_at": iso(notification.created_at),
                "account": account(actor, urls),
                "group_key": f"ungrouped-{notification.id}",
            }
            status_id = notification.comment_id or notification.post_id
            if status_id is not None:
                if status_id not in statuses:
                    continue  # its post or comment went while the row stayed
                data["status"] = statuses[status_id]
            out.append(data)
        return out


