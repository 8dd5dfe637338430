"""A post's like and comment counts, counted again from the rows.

The counts are kept on ``posts`` and moved by one atomic ``+ 1`` / ``- 1`` per like or comment
(service.py). They count only what others may see: a suspended account's likes and comments
are not in them. A suspension or its lifting changes that for many posts at once, so those
posts are counted again from their rows, in the transaction that changes the account; a
removed comment does the same for its post, since its thread may hold hidden replies.
"""

from __future__ import annotations

from sqlalchemy import func, select, union, update

from tornagram.accounts.models import User
from tornagram.graph.models import Comment, Like
from tornagram.photos.models import Post


def visible_likes():
    """The likes of ``Post`` by accounts that are not suspended (a correlated count)."""
    return (
        select(func.count())
        .select_from(Like)
        .join(User, User.id == Like.user_id)
        .where(Like.post_id == Post.id, User.suspended_at.is_(None))
        .scalar_subquery()
    )


def visible_comments():
    return (
        select(func.count())
        .select_from(Comment)
        .join(User, User.id == Comment.author_id)
        .where(Comment.post_id == Post.id, User.suspended_at.is_(None))
        .scalar_subquery()
    )


async def recount(session, post_ids) -> None:
    """``post_ids``: a list or a select of ids."""
    await session.execute(
        update(Post)
        .where(Post.id.in_(post_ids))
        .values(like_count=visible_likes(), comment_count=visible_comments())
        .execution_options(synchronize_session=False)
    )


async def recount_comments(session, post_id: int) -> int:
    """The post's comment count afterwards."""
    await session.execute(
        update(Post)
        .where(Post.id == post_id)
        .values(comment_count=visible_comments())
        .execution_options(synchronize_session=False)
    )
    return await session.scalar(select(Post.comment_count).where(Post.id == post_id))


async def recount_touched_by(session, user_id: int) -> None:
    """Every post ``user_id`` liked or commented on, after their suspension changed."""
    touched = union(
        select(Like.post_id).where(Like.user_id == user_id),
        select(Comment.post_id).where(Comment.author_id == user_id),
    ).subquery()
    await recount(session, select(touched.c.post_id))
