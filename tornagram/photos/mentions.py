"""@names in captions: who is told they were mentioned, and who stops being told when an edit
drops their name. Both run inside the transaction that saves the caption."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from tornagram.accounts.models import User
from tornagram.graph.models import Notification
from tornagram.graph.visibility import can_see_author
from tornagram.photos.captions import MAX_MENTION_NOTICES, extract_mentions


def _caption_notices(post_id: int):
    """The post's caption mention notices (a comment's mentions carry its comment_id)."""
    return (
        Notification.post_id == post_id,
        Notification.kind == "mention",
        Notification.comment_id.is_(None),
    )


async def notify_caption_mentions(
    notifications, session, author: User, post_id: int, caption: str
) -> None:
    """Notifies the @named people who exist, may see the post, and are not its author. An
    edit notifies only those the caption did not already notify."""
    names = [n for n in extract_mentions(caption) if n != author.username]
    names = names[:MAX_MENTION_NOTICES]
    if not names:
        return
    mentioned, poster = aliased(User), aliased(User)
    already = select(Notification.recipient_id).where(*_caption_notices(post_id))
    recipients = await session.execute(
        select(mentioned.id)
        .join(poster, poster.id == author.id)
        .where(
            mentioned.username.in_(names),
            mentioned.id != author.id,
            # The visibility rule, with the mentioned person as the viewer. Both are in this
            # query's FROM, so the rule's subqueries correlate to them.
            can_see_author(mentioned.id, poster),
            mentioned.id.not_in(already),
        )
    )
    for recipient_id in recipients.scalars():
        notifications.notify(
            session,
            recipient_id=recipient_id,
            actor_id=author.id,
            kind="mention",
            post_id=post_id,
        )


async def retract_dropped_mentions(session, post_id: int, caption: str) -> None:
    """Someone the edited caption no longer names loses the notice that said it did."""
    query = select(Notification.id, Notification.recipient_id).where(*_caption_notices(post_id))
    names = extract_mentions(caption)
    if names:
        still_named = select(User.id).where(User.username.in_(names))
        query = query.where(Notification.recipient_id.not_in(still_named))
    gone = (await session.execute(query)).all()
    if not gone:
        return
    await session.execute(delete(Notification).where(Notification.id.in_([row.id for row in gone])))
