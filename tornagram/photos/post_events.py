"""Posts as they are made, edited and deleted, announced after their commit on the posts
timeline channel (``timeline:posts``). The app API's live streams read it and decide, per
subscriber and through the visibility rule, what each one is sent (api/streaming.py).

Events carry ids, the author, whether the author's account was public and the post's tags:
never a caption, so nothing on the channel is content a subscriber could not see."""

from __future__ import annotations

from tornagram.realtime.channels import POSTS_CHANNEL

CREATED = "post.created"
EDITED = "post.edited"
DELETED = "post.deleted"


def announce(events, session, kind: str, post_id: int, author, tags: list[str]) -> None:
    """Publish ``kind`` for the post once ``session`` commits (no publisher: nothing)."""
    if events is None:
        return
    data = {
        "id": str(post_id),
        "author_id": str(author.id),
        "public": not author.is_private,
        "tags": sorted(set(tags)),
    }
    events.on_commit(session, POSTS_CHANNEL, kind, data)
