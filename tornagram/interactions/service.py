"""What people do to a post: like it, comment on it, save it. Each action is idempotent where
that makes sense, keeps the post's counters exact with atomic UPDATEs, writes its notifications
in the same transaction, and refuses (404, nothing changed) a post the person may not see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from tornagram.accounts.models import User
from tornagram.cache import NOTICES_GONE
from tornagram.db.base import utcnow
from tornagram.db.engine import Database, changed
from tornagram.db.ids import IdGenerator
from tornagram.db.locks import lock_parents
from tornagram.errors import Forbidden, NotFound
from tornagram.graph.models import Comment, Follow, Like, Save
from tornagram.graph.service import insert_ignore
from tornagram.graph.visibility import not_blocked
from tornagram.interactions.comment_text import (
    clean_comment,
    comment_html,
    mentioned_names,
)
from tornagram.interactions.counts import recount_comments
from tornagram.interactions.reads import (
    POST_GONE_MESSAGE,
    InteractionReads,
    PostRef,
    visible_post,
)
from tornagram.notifications.writer import NotificationWriter
from tornagram.photos.models import Post
from tornagram.ratelimit import DEFAULT_RATES, RateLimiter
from tornagram.realtime.channels import post_channel
from tornagram.storage.urls import media_url


@dataclass(frozen=True, slots=True)
class DeletedComment:
    post_id: int
    removed: int  # the comment and its replies
    comment_count: int  # the post's count afterwards


class InteractionsService(InteractionReads):
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        notifications: NotificationWriter,
        *,
        limiter: RateLimiter | None = None,
        events=None,
    ) -> None:
        self.db = db
        self.ids = ids
        self.notifications = notifications
        # (Not `limiter or …`: a limiter with no buckets yet has len() 0.)
        self.limiter = limiter if limiter is not None else RateLimiter(DEFAULT_RATES)
        # An EventPublisher: new and deleted comments go live on the post's channel.
        self.events = events

    # -- likes ----------------------------------------------------------------------------------

    async def like(self, user: User, post_id: int) -> int:
        """The post's like count afterwards. Liking twice is one like."""
        self.limiter.check("like", user.id)
        async with self._writing() as session:
            post = await visible_post(session, user.id, post_id)
            await lock_parents(session, Post, post_id)
            added = await session.execute(
                insert_ignore(
                    session, Like, id=self.ids.next_id(), post_id=post_id, user_id=user.id
                )
            )
            if not added.rowcount:
                return await self._count(session, Post.like_count, post_id)
            self.notifications.notify(
                session, recipient_id=post.author_id, actor_id=user.id, kind="like", post_id=post_id
            )
            return self._announce_likes(
                session, post_id, await self._bump(session, Post.like_count, post_id, 1)
            )

    async def unlike(self, user: User, post_id: int) -> int:
        """The post's like count afterwards; the owner's notice is taken back."""
        self.limiter.check("like", user.id)
        async with self._writing() as session:
            post = await visible_post(session, user.id, post_id)
            await lock_parents(session, Post, post_id)
            removed = await session.execute(
                delete(Like).where(Like.post_id == post_id, Like.user_id == user.id)
            )
            if not removed.rowcount:
                return await self._count(session, Post.like_count, post_id)
            await self.notifications.retract(
                session, recipient_id=post.author_id, actor_id=user.id, kind="like", post_id=post_id
            )
            return self._announce_likes(
                session, post_id, await self._bump(session, Post.like_count, post_id, -1)
            )

    def _announce_likes(self, session, post_id: int, count: int) -> int:
        """Everyone on the photo page sees the new count (like.changed), once this commits."""
        if self.events is not None:
            self.events.on_commit(
                session,
                post_channel(post_id),
                "like.changed",
                {"post_id": str(post_id), "count": count},
            )
        return count

    # -- saves ----------------------------------------------------------------------------------

    async def save(self, user: User, post_id: int) -> None:
        """Bookmark the post; private to ``user``. Saving twice is one save."""
        self.limiter.check("save", user.id)
        async with self._writing() as session:
            await visible_post(session, user.id, post_id)
            await session.execute(
                insert_ignore(
                    session, Save, id=self.ids.next_id(), user_id=user.id, post_id=post_id
                )
            )

    async def unsave(self, user: User, post_id: int) -> None:
        self.limiter.check("save", user.id)
        async with self._writing() as session:
            await visible_post(session, user.id, post_id)
            await session.execute(
                delete(Save).where(Save.user_id == user.id, Save.post_id == post_id)
            )

    # -- comments -------------------------------------------------------------------------------

    async def add_comment(
        self,
        author: User,
        post_id: int,
        body: str,
        parent_id: int | None = None,
        *,
        live: bool = False,
    ) -> Comment:
        """A comment, or a reply when ``parent_id`` is given (a reply to a reply joins the
        top-level thread). Notifies the post's owner, the person replied to, and whoever is
        @mentioned and may see the post; each person once. ``live``: sent over the socket as
        danmaku, which also takes from the "send" bucket that room messages use."""
        if live:
            self.limiter.check("send", author.id)
        body = clean_comment(body)
        self.limiter.check("comment", author.id)
        async with self._writing() as session:
            post = await visible_post(session, author.id, post_id)
            await lock_parents(session, Post, post_id)
            replied_to = None
            if parent_id is not None:
                replied_to = await self._reply_target(session, author.id, post_id, parent_id)
            comment = Comment(
                id=self.ids.next_id(),
                post_id=post_id,
                author_id=author.id,
                parent_id=(replied_to.parent_id or replied_to.id) if replied_to else None,
                body=body,
                created_at=utcnow(),
            )
            session.add(comment)
            await session.flush()
            await self._bump(session, Post.comment_count, post_id, 1)
            await self._notify_comment(session, comment, post, author.id, replied_to)
            if self.events is not None:
                self.events.on_commit(
                    session,
                    post_channel(post_id),
                    "comment.created",
                    comment_event(comment, author),
                )
        return comment

    async def delete_comment(self, user: User, comment_id: int) -> DeletedComment:
        """By the comment's author or the post's owner. A top-level comment takes its replies
        with it (the foreign key cascades), and the count drops by all of them."""
        async with self._writing() as session:
            row = (
                await session.execute(
                    select(Comment.post_id, Comment.author_id, Post.author_id)
                    .join(Post, Post.id == Comment.post_id)
                    .where(Comment.id == comment_id)
                    # PostgreSQL: a reply being added to it waits, so the count below is exact.
                    .with_for_update(of=Comment)
                )
            ).one_or_none()
            if row is None:
                raise NotFound("This comment has already been deleted.")
            post_id, comment_author_id, post_owner_id = row
            if user.id not in (comment_author_id, post_owner_id):
                raise Forbidden("Only the comment's author or the post's owner can delete it.")
            reply_ids = list(
                (
                    await session.execute(select(Comment.id).where(Comment.parent_id == comment_id))
                ).scalars()
            )
            await session.execute(delete(Comment).where(Comment.id == comment_id))
            # Their notifications went with them (the foreign key cascades).
            changed(session, NOTICES_GONE)
            removed = 1 + len(reply_ids)
            # Counted again rather than lowered: the thread may hold a suspended account's
            # replies, which the count already left out (counts.py).
            count = await recount_comments(session, post_id)
            if self.events is not None:
                for gone in (comment_id, *reply_ids):
                    self.events.on_commit(
                        session,
                        post_channel(post_id),
                        "comment.deleted",
                        {"id": str(gone), "post_id": str(post_id)},
                    )
        return DeletedComment(post_id=post_id, removed=removed, comment_count=count)

    # -- helpers --------------------------------------------------------------------------------

    def _writing(self):
        return _Writing(self.db)

    @staticmethod
    async def _count(session, column, post_id: int) -> int:
        return await session.scalar(select(column).where(Post.id == post_id))

    @staticmethod
    async def _bump(session, column, post_id: int, delta: int) -> int:
        """``column = column + delta`` in the database (never read-modify-write in Python)."""
        bump = (
            update(Post)
            .where(Post.id == post_id)
            .values({column.key: column + delta})
            .execution_options(synchronize_session=False)
        )
        if session.bind.dialect.update_returning:
            return (await session.execute(bump.returning(column))).scalar_one()
        # MySQL and MariaDB return nothing from an UPDATE: the row stays locked by it until
        # commit, so reading it back in this transaction reads exactly what was written.
        await session.execute(bump)
        return await session.scalar(select(column).where(Post.id == post_id))

    async def _reply_target(self, session, author_id: int, post_id: int, parent_id: int):
        row = (
            await session.execute(
                select(
                    Comment.id,
                    Comment.parent_id,
                    Comment.author_id,
                    not_blocked(author_id, Comment.author_id).label("allowed"),
                ).where(Comment.id == parent_id, Comment.post_id == post_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("The comment you're replying to has been deleted.")
        if not row.allowed:
            raise Forbidden("You can't reply to this comment.")
        return row

    async def _notify_comment(self, session, comment, post: PostRef, actor_id, replied_to):
        kinds: dict[int, str] = {}
        if replied_to is not None:
            kinds[replied_to.author_id] = "reply"
        kinds.setdefault(post.author_id, "comment")
        names = mentioned_names(comment.body)
        if names:
            for user_id in await self._mention_recipients(session, names, post, actor_id):
                kinds.setdefault(user_id, "mention")
        for recipient_id, kind in kinds.items():
            self.notifications.notify(
                session,
                recipient_id=recipient_id,
                actor_id=actor_id,
                kind=kind,
                post_id=post.id,
                comment_id=comment.id,
            )

    @staticmethod
    async def _mention_recipients(session, names, post: PostRef, actor_id: int) -> list[int]:
        """The named people who exist, may see the post, and have no block with its author or
        the commenter."""
        query = select(User.id).where(
            User.username.in_(names),
            not_blocked(post.author_id, User.id),
            not_blocked(actor_id, User.id),
        )
        if post.author_is_private:
            query = query.where(
                or_(
                    User.id == post.author_id,
                    exists().where(
                        Follow.follower_id == User.id, Follow.followee_id == post.author_id
                    ),
                )
            )
        return list((await session.execute(query)).scalars())


class _Writing:
    """``db.write()`` where a foreign key failing mid-way means the post (or the comment
    replied to) was deleted by someone else a moment ago: the same 404 as if it never was."""

    def __init__(self, db: Database) -> None:
        self._cm = db.write()

    async def __aenter__(self):
        return await self._cm.__aenter__()

    async def __aexit__(self, exc_type, exc, tb):
        try:
            return await self._cm.__aexit__(exc_type, exc, tb)
        except IntegrityError:
            raise NotFound(POST_GONE_MESSAGE) from None


def comment_event(comment: Comment, author: User) -> dict:
    """``comment.created`` on the post's channel (docs/realtime.md)."""
    return {
        "id": str(comment.id),
        "post_id": str(comment.post_id),
        "parent_id": str(comment.parent_id) if comment.parent_id else None,
        "body": comment.body,
        "html": comment_html(comment.body),
        "author": {
            "username": author.username,
            "name": author.name,
            "avatar": media_url(author.avatar_small_key or author.avatar_key),
            # For the letter that stands in when there is no photo.
            "initial": author.avatar_initial,
            "hue": author.avatar_hue,
        },
        "created_at": comment.created_at.isoformat(),
    }
