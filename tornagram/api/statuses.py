"""Statuses: a Tornagram post is a status whose id is the post id; a comment is a reply status
whose id is the comment id. Reads filter through the visibility rule (graph/visibility.py);
every change goes through the services that make it on the web (photos, interactions)."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import exists, false, func, select
from sqlalchemy.orm import selectinload

from tornagram.accounts.models import User
from tornagram.api.entities import Urls, ViewerMarks, comment_status, post_status
from tornagram.api.media import MediaRefused, MediaService
from tornagram.api.pagination import Cursor, keyset, reorder
from tornagram.db.engine import Database
from tornagram.errors import Forbidden, NotFound
from tornagram.feeds.queries import feed_authors
from tornagram.graph.models import Comment, Like, Save
from tornagram.graph.visibility import can_see_author, can_see_user_id, not_blocked
from tornagram.interactions.service import InteractionsService
from tornagram.photos.captions import extract_mentions
from tornagram.photos.models import Photo, Post, PostTag
from tornagram.photos.service import PhotosService

# The same Idempotency-Key from the same person within this long gives the first status back.
IDEMPOTENCY_SECS = 3600
IDEMPOTENCY_ENTRIES = 10_000
ALL_PHOTOS = selectinload(Post.photos).selectinload(Photo.renditions)
NOT_FOUND_MESSAGE = "Record not found"


@dataclass(frozen=True, slots=True)
class Found:
    """A status: a post, or a comment with the post it is on."""

    post: Post
    post_author: User
    comment: Comment | None = None
    comment_author: User | None = None

    @property
    def id(self) -> int:
        return self.comment.id if self.comment is not None else self.post.id


class StatusService:
    def __init__(
        self,
        db: Database,
        photos: PhotosService,
        interactions: InteractionsService,
        media: MediaService,
    ) -> None:
        self.db = db
        self.photos = photos
        self.interactions = interactions
        self.media = media
        # (user id, key) -> (status id, when): in this process, like the rate limits.
        self._idempotent: OrderedDict[tuple[int, str], tuple[int, float]] = OrderedDict()

    # -- finding ------------------------------------------------------------------------------

    async def find(self, viewer: User | None, status_id: int) -> Found:
        """The post or comment with this id if the viewer may see it; NotFound otherwise, the
        same answer as for one that does not exist."""
        viewer_id = viewer.id if viewer else None
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Post, User)
                    .join(User, User.id == Post.author_id)
                    .where(Post.id == status_id, can_see_author(viewer_id))
                    .options(ALL_PHOTOS)
                )
            ).one_or_none()
            if row is not None:
                return Found(row[0], row[1])
            comment_row = (
                await session.execute(
                    select(Comment, User)
                    .join(User, User.id == Comment.author_id)
                    .where(Comment.id == status_id, not_blocked(viewer_id, Comment.author_id))
                )
            ).one_or_none()
            if comment_row is None:
                raise NotFound(NOT_FOUND_MESSAGE)
            row = (
                await session.execute(
                    select(Post, User)
                    .join(User, User.id == Post.author_id)
                    .where(Post.id == comment_row[0].post_id, can_see_author(viewer_id))
                    .options(ALL_PHOTOS)
                )
            ).one_or_none()
        if row is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        return Found(row[0], row[1], comment_row[0], comment_row[1])

    # -- rendering ----------------------------------------------------------------------------

    async def _mentioned(self, session, texts: list[str]) -> dict[str, User]:
        names = sorted({name for text in texts for name in extract_mentions(text)})
        if not names:
            return {}
        users = (await session.execute(select(User).where(User.username.in_(names)))).scalars()
        return {user.username: user for user in users}

    async def _marks(self, session, viewer: User | None, post_ids: list[int]) -> ViewerMarks | None:
        if viewer is None:
            return None
        if not post_ids:
            return ViewerMarks()
        liked = (
            await session.execute(
                select(Like.post_id).where(Like.user_id == viewer.id, Like.post_id.in_(post_ids))
            )
        ).scalars()
        saved = (
            await session.execute(
                select(Save.post_id).where(Save.user_id == viewer.id, Save.post_id.in_(post_ids))
            )
        ).scalars()
        return ViewerMarks(set(liked), set(saved))

    async def render_posts(
        self, viewer: User | None, pairs: list[tuple[Post, User]], urls: Urls
    ) -> list[dict]:
        async with self.db.read() as session:
            marks = await self._marks(session, viewer, [post.id for post, _ in pairs])
            mentioned = await self._mentioned(session, [post.caption for post, _ in pairs])
        return [post_status(p, a, urls, marks, mentioned, viewer) for p, a in pairs]

    async def render_comments(
        self, viewer: User | None, rows: list[tuple[Comment, User]], post_author: User, urls: Urls
    ) -> list[dict]:
        if not rows:
            return []
        ids = [c.id for c, _ in rows]
        parents = sorted({c.parent_id for c, _ in rows if c.parent_id})
        async with self.db.read() as session:
            replies = dict(
                (
                    await session.execute(
                        select(Comment.parent_id, func.count())
                        .where(Comment.parent_id.in_(ids))
                        .group_by(Comment.parent_id)
                    )
                ).all()
            )
            parent_authors = (
                dict(
                    (
                        await session.execute(
                            select(Comment.id, Comment.author_id).where(Comment.id.in_(parents))
                        )
                    ).all()
                )
                if parents
                else {}
            )
            mentioned = await self._mentioned(session, [c.body for c, _ in rows])
        marks = ViewerMarks() if viewer is not None else None
        return [
            comment_status(
                c,
                a,
                post_author,
                urls,
                replied_author_id=parent_authors.get(c.parent_id) if c.parent_id else None,
                replies=replies.get(c.id, 0),
                marks=marks,
                mentioned=mentioned,
            )
            for c, a in rows
        ]

    async def render(self, viewer: User | None, found: Found, urls: Urls) -> dict:
        if found.comment is None:
            return (await self.render_posts(viewer, [(found.post, found.post_author)], urls))[0]
        [data] = await self.render_comments(
            viewer, [(found.comment, found.comment_author)], found.post_author, urls
        )
        return data

    async def context(self, viewer: User | None, found: Found, urls: Urls) -> dict:
        """For a post: its comments and replies, oldest first. For a comment: the post (and
        the comment it answers) before it, its replies after it."""
        viewer_id = viewer.id if viewer else None
        conditions = [not_blocked(viewer_id, Comment.author_id)]
        if found.comment is None:
            conditions.append(Comment.post_id == found.post.id)
        elif found.comment.parent_id is None:
            conditions.append(Comment.parent_id == found.comment.id)
        else:
            conditions.append(Comment.id.in_([]))  # replies are one level deep
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(Comment, User)
                    .join(User, User.id == Comment.author_id)
                    .where(*conditions)
                    .order_by(Comment.id)
                    .limit(4000)
                )
            ).all()
            parent = None
            if found.comment is not None and found.comment.parent_id is not None:
                parent = (
                    await session.execute(
                        select(Comment, User)
                        .join(User, User.id == Comment.author_id)
                        .where(
                            Comment.id == found.comment.parent_id,
                            not_blocked(viewer_id, Comment.author_id),
                        )
                    )
                ).one_or_none()
        # A post's thread in reading order: each top-level comment, then its replies.
        ordered = [(c, a) for c, a in rows]
        if found.comment is None:
            tops = [(c, a) for c, a in ordered if c.parent_id is None]
            by_parent: dict[int, list] = {}
            for c, a in ordered:
                if c.parent_id is not None:
                    by_parent.setdefault(c.parent_id, []).append((c, a))
            ordered = [item for top in tops for item in (top, *by_parent.get(top[0].id, []))]
        descendants = await self.render_comments(viewer, ordered, found.post_author, urls)
        ancestors = []
        if found.comment is not None:
            ancestors = await self.render_posts(viewer, [(found.post, found.post_author)], urls)
            if parent is not None:
                ancestors += await self.render_comments(
                    viewer, [tuple(parent)], found.post_author, urls
                )
        return {"ancestors": ancestors, "descendants": descendants}

    # -- lists of posts ---------------------------------------------------------------------

    async def _posts_page(self, ids_query, column, cursor: Cursor) -> list[tuple[Post, User]]:
        async with self.db.read() as session:
            ids = reorder(
                list((await session.execute(keyset(ids_query, column, cursor))).scalars()), cursor
            )
            if not ids:
                return []
            rows = (
                await session.execute(
                    select(Post, User)
                    .join(User, User.id == Post.author_id)
                    .where(Post.id.in_(ids))
                    .options(ALL_PHOTOS)
                )
            ).all()
        by_id = {post.id: (post, author) for post, author in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def home(self, viewer: User, cursor: Cursor) -> list[tuple[Post, User]]:
        """The web's home feed: the viewer's own posts and those of the people they follow."""
        query = select(Post.id).where(Post.author_id.in_(feed_authors(viewer.id)))
        return await self._posts_page(query, Post.id, cursor)

    async def public(self, viewer: User | None, cursor: Cursor) -> list[tuple[Post, User]]:
        """Explore's recent posts: public accounts only, through the rule."""
        viewer_id = viewer.id if viewer else None
        query = select(Post.id).where(
            exists().where(
                User.id == Post.author_id, User.is_private == false(), can_see_author(viewer_id)
            )
        )
        return await self._posts_page(query, Post.id, cursor)

    async def tagged(
        self, viewer: User | None, tag: str, cursor: Cursor
    ) -> list[tuple[Post, User]]:
        viewer_id = viewer.id if viewer else None
        query = (
            select(PostTag.post_id)
            .join(Post, Post.id == PostTag.post_id)
            .where(PostTag.tag == tag, can_see_user_id(viewer_id, Post.author_id))
        )
        return await self._posts_page(query, PostTag.post_id, cursor)

    async def by_account(
        self, viewer: User | None, author: User, cursor: Cursor
    ) -> list[tuple[Post, User]]:
        viewer_id = viewer.id if viewer else None
        query = select(Post.id).where(
            Post.author_id == author.id, can_see_user_id(viewer_id, Post.author_id)
        )
        return await self._posts_page(query, Post.id, cursor)

    async def favourites(self, viewer: User, cursor: Cursor) -> tuple[list, list[int]]:
        """The viewer's liked posts by like row id (newest like first), and those row ids."""
        return await self._marked(Like, viewer, cursor)

    async def bookmarks(self, viewer: User, cursor: Cursor) -> tuple[list, list[int]]:
        return await self._marked(Save, viewer, cursor)

    async def _marked(self, model, viewer: User, cursor: Cursor):
        query = (
            select(model.id, model.post_id)
            .join(Post, Post.id == model.post_id)
            .where(model.user_id == viewer.id, can_see_user_id(viewer.id, Post.author_id))
        )
        async with self.db.read() as session:
            marks = reorder((await session.execute(keyset(query, model.id, cursor))).all(), cursor)
            if not marks:
                return [], []
            rows = (
                await session.execute(
                    select(Post, User)
                    .join(User, User.id == Post.author_id)
                    .where(Post.id.in_([m.post_id for m in marks]))
                    .options(ALL_PHOTOS)
                )
            ).all()
        by_id = {post.id: (post, author) for post, author in rows}
        kept = [m for m in marks if m.post_id in by_id]
        return [by_id[m.post_id] for m in kept], [m.id for m in kept]

    async def likers(self, viewer: User | None, post_id: int, cursor: Cursor):
        """Who liked a post the viewer may see, by like row id; people blocked either way with
        the viewer are left out."""
        viewer_id = viewer.id if viewer else None
        query = (
            select(Like.id, User)
            .join(User, User.id == Like.user_id)
            .where(Like.post_id == post_id, not_blocked(viewer_id, User.id))
        )
        async with self.db.read() as session:
            rows = reorder((await session.execute(keyset(query, Like.id, cursor))).all(), cursor)
        return [user for _, user in rows], [like_id for like_id, _ in rows]

    # -- posting ------------------------------------------------------------------------------

    def _remembered(self, user: User, key: str | None) -> int | None:
        if not key:
            return None
        entry = self._idempotent.get((user.id, key))
        if entry is None or time.monotonic() - entry[1] > IDEMPOTENCY_SECS:
            return None
        return entry[0]

    def _remember(self, user: User, key: str | None, status_id: int) -> None:
        if not key:
            return
        self._idempotent[(user.id, key)] = (status_id, time.monotonic())
        while len(self._idempotent) > IDEMPOTENCY_ENTRIES:
            self._idempotent.popitem(last=False)

    async def create(
        self,
        user: User,
        *,
        text: str,
        media_ids: list[int],
        in_reply_to_id: int | None,
        idempotency_key: str | None,
    ) -> Found:
        earlier = self._remembered(user, idempotency_key)
        if earlier is not None:
            try:
                return await self.find(user, earlier)
            except NotFound:
                pass  # deleted since: post again
        if in_reply_to_id is None:
            photos, claim = await self.media.take(user, media_ids)
            if not photos:
                raise MediaRefused("A post needs at least one photo")
            post = await self.photos.create_post_from_stored(user, photos, text, claim=claim)
            status_id = post.id
        else:
            if media_ids:
                raise MediaRefused("Comments can't have photos")
            target = await self.find(user, in_reply_to_id)
            parent = target.comment.id if target.comment is not None else None
            comment = await self.interactions.add_comment(user, target.post.id, text, parent)
            status_id = comment.id
        self._remember(user, idempotency_key, status_id)
        return await self.find(user, status_id)

    async def delete(self, user: User, found: Found) -> None:
        if found.comment is None:
            await self.photos.delete_post(user, found.post.id)
            return
        if user.id not in (found.comment.author_id, found.post.author_id):
            raise Forbidden("Only the comment's author or the post's owner can delete it.")
        await self.interactions.delete_comment(user, found.comment.id)
