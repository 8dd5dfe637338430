"""What the pages show of likes, comments and saves: who liked a post, one's saved posts, a
post's comment threads, and the extras every post card needs (batched for a whole page).

Every read applies the visibility rule (graph/visibility.py): a post the viewer may not see is
NotFound, and people blocked either way with the viewer are left out of lists."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import selectinload

from tornagram.accounts.models import User
from tornagram.db.engine import Database
from tornagram.db.shapes import IDS, VIEWER, shape
from tornagram.errors import NotFound
from tornagram.feeds.items import PostItem
from tornagram.graph.models import Comment, Like, Save, not_muted
from tornagram.graph.visibility import can_see_author, not_blocked
from tornagram.photos.models import Photo, Post

LIKERS_PAGE_SIZE = 30
COMMENTS_PAGE_SIZE = 30  # top-level comments per page
# A thread shows its newest replies up to this many; longer threads are rare on a photo site.
REPLIES_PER_THREAD = 50
SAVED_PAGE_SIZE = 24  # eight rows of three
PREVIEW_COMMENTS = 2  # under a post in a feed

POST_GONE_MESSAGE = "This post does not exist, or it has been deleted."


@dataclass(slots=True)
class CommentThread:
    """A top-level comment, its author, and its replies (each ``(comment, author)``), oldest
    first."""

    comment: Comment
    author: User
    replies: list[tuple[Comment, User]] = field(default_factory=list)
    # More replies, older than those shown, are on the thread's own page (``replies``).
    earlier_replies: bool = False


@dataclass(frozen=True, slots=True)
class PostRef:
    id: int
    author_id: int
    author_is_private: bool


def _visible_post_query(viewer_id: int | None, post_id: int):
    return (
        select(Post.id, Post.author_id, User.is_private)
        .select_from(Post)
        .join(User, User.id == Post.author_id)
        .where(Post.id == post_id, can_see_author(viewer_id))
    )


def _post_ref(row) -> PostRef:
    if row is None:
        # The same answer for a missing post and a hidden one, so private posts can't be
        # probed.
        raise NotFound(POST_GONE_MESSAGE)
    return PostRef(*row)


async def visible_post(session, viewer_id: int | None, post_id: int) -> PostRef:
    """In a write's transaction (an AsyncSession)."""
    return _post_ref((await session.execute(_visible_post_query(viewer_id, post_id))).one_or_none())


def visible_post_sync(session, viewer_id: int | None, post_id: int) -> PostRef:
    """In a read (a sync Session, see Database.run_read)."""
    query = shape(
        ("visible-post", viewer_id is None),
        lambda: _visible_post_query(None if viewer_id is None else VIEWER, bindparam("post")),
    )
    return _post_ref(session.execute(query, {"viewer": viewer_id, "post": post_id}).one_or_none())


class InteractionReads:
    """The reading half of InteractionsService (it needs only ``self.db``)."""

    db: Database

    async def likers(
        self, viewer: User | None, post_id: int, before: int | None = None
    ) -> tuple[list[User], int | None]:
        """People who liked the post, newest first, and the ``before`` of the next page. People
        blocked either way with the viewer are left out."""
        viewer_id = viewer.id if viewer else None
        query = (
            select(User, Like.id)
            .join(Like, Like.user_id == User.id)
            .where(Like.post_id == post_id, not_blocked(viewer_id, User.id))
        )
        if before is not None:
            query = query.where(Like.id < before)
        def load(session):
            visible_post_sync(session, viewer_id, post_id)
            return session.execute(query.order_by(Like.id.desc()).limit(LIKERS_PAGE_SIZE + 1)).all()

        rows = await self.db.run_read(load)
        more = len(rows) > LIKERS_PAGE_SIZE
        rows = rows[:LIKERS_PAGE_SIZE]
        return [person for person, _ in rows], (rows[-1][1] if more else None)

    async def saved(
        self, user: User, before: int | None = None
    ) -> tuple[list[tuple[Post, User]], int | None]:
        """``user``'s own saves, newest first; posts they may no longer see are skipped."""
        query = (
            select(Post, User, Save.id)
            .join(Save, Save.post_id == Post.id)
            .join(User, User.id == Post.author_id)
            .where(Save.user_id == user.id, can_see_author(user.id))
            .options(selectinload(Post.photos).selectinload(Photo.renditions))
        )
        if before is not None:
            query = query.where(Save.id < before)
        rows = await self.db.run_read(
            lambda session: session.execute(
                query.order_by(Save.id.desc()).limit(SAVED_PAGE_SIZE + 1)
            ).all()
        )
        more = len(rows) > SAVED_PAGE_SIZE
        rows = rows[:SAVED_PAGE_SIZE]
        return [(post, author) for post, author, _ in rows], (rows[-1][2] if more else None)

    async def comments(
        self, viewer: User | None, post_id: int, before: int | None = None
    ) -> tuple[list[CommentThread], int | None]:
        """The newest page of top-level comments, shown oldest first (a conversation reads
        downwards, and a new comment lands at the bottom of the first page), each with its
        replies; and the ``before`` that loads the earlier page, if there is one."""
        viewer_id = viewer.id if viewer else None

        def load(session):
            visible_post_sync(session, viewer_id, post_id)
            rows, more = _comment_page(
                session, viewer_id, "post", post_id, before, COMMENTS_PAGE_SIZE
            )
            # One more than is shown says whether the thread goes further back.
            replies = self._latest_comments(
                session,
                viewer_id,
                Comment.parent_id,
                [c.id for c, _ in rows],
                REPLIES_PER_THREAD + 1,
            )
            return rows, more, replies

        rows, more, replies = await self.db.run_read(load)
        threads = []
        for c, u in rows:
            shown = replies.get(c.id, [])
            earlier = len(shown) > REPLIES_PER_THREAD
            threads.append(CommentThread(c, u, shown[1:] if earlier else shown, earlier))
        return threads, (rows[0][0].id if more and rows else None)

    async def replies(
        self, viewer: User | None, comment_id: int, before: int | None = None
    ) -> tuple[CommentThread, PostRef, int | None]:
        """A top-level comment with one page of its replies (the newest REPLIES_PER_THREAD
        older than ``before``, shown oldest first), its post, and the ``before`` of the page
        further back.
        404 for a reply, a comment that is gone, or one on a post the viewer may not see."""
        viewer_id = viewer.id if viewer else None

        def load(session):
            row = session.execute(
                _with_authors(viewer_id, Comment.id == comment_id, Comment.parent_id.is_(None))
            ).one_or_none()
            if row is None:
                raise NotFound("This comment has been deleted.")
            comment, author = row
            post = visible_post_sync(session, viewer_id, comment.post_id)
            page, more = _comment_page(
                session, viewer_id, "thread", comment_id, before, REPLIES_PER_THREAD
            )
            return comment, author, post, page, more

        comment, author, post, page, more = await self.db.run_read(load)
        thread = CommentThread(comment, author, page, more)
        return thread, post, (page[0][0].id if more and page else None)

    async def decorate(self, viewer: User | None, pairs: list[tuple[Post, User]]) -> list[PostItem]:
        """Everything a post card needs beyond the post: whether the viewer liked and saved
        each one, and its latest comments. Three queries for any number of posts."""
        marks = await self.viewer_marks(viewer, [post.id for post, _ in pairs])
        items = []
        for post, author in pairs:
            liked, saved, comments = marks[post.id]
            items.append(PostItem(post, author, liked=liked, saved=saved, comments=comments))
        return items

    async def viewer_marks(
        self, viewer: User | None, ids: list[int]
    ) -> dict[int, tuple[bool, bool, list[tuple[Comment, User]]]]:
        """post id -> (liked by the viewer, saved by the viewer, the latest comments the viewer
        may see, oldest first)."""
        if not ids:
            return {}
        viewer_id = viewer.id if viewer else None
        liked, saved, previews = await self.db.run_read(_read_marks, viewer_id, ids)
        return {
            post_id: (post_id in liked, post_id in saved, previews.get(post_id, []))
            for post_id in ids
        }

    @staticmethod
    def _latest_comments(
        session, viewer_id, group_column, group_ids, per_group: int, extra=None
    ) -> dict[int, list[tuple[Comment, User]]]:
        """The newest ``per_group`` comments of each group (a post, or a thread), oldest first,
        in one query, leaving out authors blocked either way with the viewer."""
        if not group_ids:
            return {}
        key = ("latest-comments", viewer_id is None, group_column.key, extra is not None)
        query = shape(key, lambda: _latest_query(viewer_id, group_column, extra))
        rows = session.execute(query, {"viewer": viewer_id, "ids": group_ids, "per": per_group})
        grouped: dict[int, list[tuple[Comment, User]]] = {}
        key = group_column.key
        for comment, author in rows:
            grouped.setdefault(getattr(comment, key), []).append((comment, author))
        return grouped


def _latest_query(viewer_id, group_column, extra):
    """The shape of ``_latest_comments`` (the viewer, the groups and the count bound)."""
    viewer = None if viewer_id is None else VIEWER
    rank = func.row_number().over(partition_by=group_column, order_by=Comment.id.desc())
    conditions = [
        group_column.in_(IDS),
        not_blocked(viewer, Comment.author_id),
        not_muted(viewer, Comment.author_id),
    ]
    if extra is not None:
        conditions.append(extra)
    ranked = select(Comment.id.label("id"), rank.label("rank")).where(*conditions).subquery()
    return (
        select(Comment, User)
        .join(ranked, ranked.c.id == Comment.id)
        .join(User, User.id == Comment.author_id)
        .where(ranked.c.rank <= bindparam("per"))
        .order_by(Comment.id)
    )


def _with_authors(viewer_id: int | None, *conditions):
    """(comment, author) rows, leaving out authors blocked either way with the viewer."""
    return (
        select(Comment, User)
        .join(User, User.id == Comment.author_id)
        .where(
            *conditions,
            not_blocked(viewer_id, Comment.author_id),
            not_muted(viewer_id, Comment.author_id),
        )
    )


# What a page of comments is the page of: a post's top-level comments, or a thread's replies.
_PAGE_OF = {
    "post": lambda: (Comment.post_id == bindparam("of"), Comment.parent_id.is_(None)),
    "thread": lambda: (Comment.parent_id == bindparam("of"),),
}


def _comment_page(session, viewer_id, of: str, of_id: int, before: int | None, size: int):
    """The newest ``size`` comments of a post's top level or of a thread (``of``) older than
    ``before``, shown oldest first, and whether older ones remain."""

    def build():
        viewer = None if viewer_id is None else VIEWER
        query = _with_authors(viewer, *_PAGE_OF[of]())
        if before is not None:
            query = query.where(Comment.id < bindparam("before"))
        return query.order_by(Comment.id.desc()).limit(bindparam("limit"))

    query = shape(("comment-page", viewer_id is None, of, before is None), build)
    values = {"viewer": viewer_id, "of": of_id, "before": before, "limit": size + 1}
    rows = session.execute(query, values).all()
    return [(c, u) for c, u in rows[:size]][::-1], len(rows) > size

_LIKED = select(Like.post_id).where(Like.user_id == VIEWER, Like.post_id.in_(IDS))
_SAVED = select(Save.post_id).where(Save.user_id == VIEWER, Save.post_id.in_(IDS))


def _read_marks(session, viewer_id: int | None, ids: list[int]):
    """The viewer's likes and saves among ``ids``, and each post's comment preview."""
    liked: set[int] = set()
    saved: set[int] = set()
    if viewer_id is not None:
        values = {"viewer": viewer_id, "ids": ids}
        liked = set(session.execute(_LIKED, values).scalars())
        saved = set(session.execute(_SAVED, values).scalars())
    previews = InteractionReads._latest_comments(
        session,
        viewer_id,
        Comment.post_id,
        ids,
        PREVIEW_COMMENTS,
        extra=Comment.parent_id.is_(None),
    )
    return liked, saved, previews
