"""The queries behind every surface that lists posts: the home feed, explore (recent and popular
this week), tag pages and profile grids.

Every query here filters through the one visibility rule (``graph.visibility``), pages by
keyset (never OFFSET) and is shaped to use an index, so page 50 costs what page 1 costs. The
query builders are pure; the ``*_page`` functions take the ``Database`` and return a ``Page`` of
(post, author) pairs with what the page draws already loaded: every photo at display sizes
for feed cards, the first photo's thumbnail for grids.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import aliased, selectinload

from tornagram.accounts.models import User
from tornagram.db.engine import Database
from tornagram.db.ids import lowest_id_at
from tornagram.db.shapes import IDS, VIEWER, shape
from tornagram.errors import UserError
from tornagram.graph.models import Follow, not_muted
from tornagram.graph.visibility import can_see_author, can_see_user_id, not_blocked
from tornagram.photos.models import THUMB_NAMES, Photo, Post, PostTag, Rendition

# Four rows of three in a grid; a dozen cards on the home feed.
PAGE_SIZE = 12
POPULAR_WINDOW_DAYS = 7
# Someone who follows this many accounts sees a large share of everything posted, so the
# newest FEED_WINDOW_POSTS posts almost always hold a page of theirs (see home_window_ids).
WINDOW_FIRST_FOLLOWING = 1_000
FEED_WINDOW_POSTS = 2_000
# Counting a tag's visible posts is a walk over them; past this we say "1,000+".
TAG_COUNT_CAP = 1_000
MAX_ID_BOUND = 2**63
_POPULAR_CURSOR = re.compile(r"([0-9]{1,10})\.([0-9]{1,19})")


def _bad_cursor() -> UserError:
    # A UserError is a 400 with this message, in the reader's language.
    return UserError("This page link is not valid. Go back to the first page and try again.")


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[tuple[Post, User]]
    # What to pass back for the next page (a max_id, or "likes.id" on popular), if there is one.
    next_cursor: str | None = None

    @property
    def posts(self) -> list[Post]:
        return [post for post, _author in self.rows]


@dataclass(frozen=True, slots=True)
class PopularCursor:
    like_count: int
    post_id: int

    def __str__(self) -> str:
        return f"{self.like_count}.{self.post_id}"


# -- cursors ----------------------------------------------------------------------------------


def parse_popular_cursor(raw: str | None) -> PopularCursor | None:
    if raw is None or raw == "":
        return None
    match = _POPULAR_CURSOR.fullmatch(raw)
    if not match or int(match.group(1)) >= 2**31 or int(match.group(2)) >= MAX_ID_BOUND:
        raise _bad_cursor()
    return PopularCursor(int(match.group(1)), int(match.group(2)))


# -- query builders (pure: no I/O) -------------------------------------------------------------


def read_feed_authors(session, viewer_id: int) -> tuple[int, ...]:
    query = shape(("feed-authors",), lambda: feed_authors(VIEWER))
    return tuple(session.execute(query, {"viewer": viewer_id}).scalars())


def feed_authors(viewer_id: int) -> Select:
    """The authors of a home feed: the viewer, and everyone they follow whom the rule lets them
    see. An accepted follow already meets the rule's privacy clause (public, self, or followed),
    so for a followee the rule comes down to ``not_blocked``; that spares a lookup in ``users``
    per followee, which for someone following thousands is most of the query."""
    follow = aliased(Follow)
    followees = select(follow.followee_id.label("author_id")).where(
        follow.follower_id == viewer_id,
        not_blocked(viewer_id, follow.followee_id),
        not_muted(viewer_id, follow.followee_id),
    )
    viewer = (
        literal(viewer_id, BigInteger)
        if isinstance(viewer_id, int)
        else type_coerce(viewer_id, BigInteger)  # a shape's bound parameter
    )
    return followees.union_all(select(viewer.label("author_id")))


def home_feed_ids(
    viewer_id: int, max_id: int | None, *, dialect: str, limit: int = PAGE_SIZE
) -> Select:
    """Ids of one home-feed page, newest first.

    PostgreSQL: for each author, the ``limit`` newest posts below the cursor by a backward walk
    of ix_posts_author_id_id (LATERAL … LIMIT), then the newest ``limit`` of those. The work is
    authors × limit index entries whatever the page, so page 50 costs what page 1 costs.

    SQLite has no LATERAL. ``author_id IN (…) AND id < :max_id`` walks the same index once per
    author and keeps only the top ``limit`` in a small sorter; measured on the benchmark data it
    is as fast as the alternatives and also flat from page to page (bench/feeds.py).
    """
    authors = feed_authors(viewer_id)
    below = Post.id < max_id if max_id is not None else true()
    if dialect == "postgresql":
        authors_sq = authors.subquery("authors")
        newest = (
            select(Post.id)
            .where(Post.author_id == authors_sq.c.author_id, below)
            .order_by(Post.id.desc())
            .limit(limit)
            .lateral("newest")
        )
        return (
            select(newest.c.id)
            .select_from(authors_sq)
            .join(newest, true())
            .order_by(newest.c.id.desc())
            .limit(limit)
        )
    return (
        select(Post.id)
        .where(Post.author_id.in_(authors), below)
        .order_by(Post.id.desc())
        .limit(limit)
    )


def home_window_ids(
    viewer_id: int, max_id: int | None, *, limit: int, window: int = FEED_WINDOW_POSTS
) -> Select:
    """Ids of one home-feed page taken from the newest ``window`` posts below the cursor.

    The per-author walk costs one index descent per followed account: for someone following
    thousands that is most of the time. Their followees write a large share of all posts, so
    reading the newest couple of thousand posts (a backward walk of the primary key, whatever
    the page) and keeping theirs is several times cheaper. The answer is exact when it fills a
    page: any post outside the window is older than every post in it."""
    recent = select(Post.id, Post.author_id)
    if max_id is not None:
        recent = recent.where(Post.id < max_id)
    recent = recent.order_by(Post.id.desc()).limit(window).subquery("recent")
    return (
        select(recent.c.id)
        .where(recent.c.author_id.in_(feed_authors(viewer_id)))
        .order_by(recent.c.id.desc())
        .limit(limit)
    )


# The author of each listed post, under its own name so that the rule's EXISTS over ``users``
# inside the id subqueries never correlates with it.
Author = aliased(User, name="author")


def posts_by_ids(ids: Select | list[int], *order_by) -> Select:
    """(post, author) rows for a page whose ids a subquery (or an earlier query) chose. Choosing
    ids over ``posts`` alone keeps each plan a walk of one index; loading the rows is then a
    dozen key lookups."""
    if isinstance(ids, Select):
        # In a derived table of its own: MySQL and MariaDB refuse LIMIT in an IN subquery, and
        # the other planners read the two forms alike.
        chosen = ids.subquery("chosen")
        ids = select(chosen.c[0])
    return (
        select(Post, Author)
        .join(Author, Author.id == Post.author_id)
        .where(Post.id.in_(ids))
        .order_by(*(order_by or (Post.id.desc(),)))
    )


def _public_and_visible(viewer_id: int | None):
    """Explore lists public accounts only (not the private ones the viewer follows)."""
    return exists().where(
        User.id == Post.author_id, User.is_private == false(), can_see_author(viewer_id, User)
    )


def explore_recent_query(viewer_id: int | None, max_id: int | None, *, limit: int) -> Select:
    """Newest public posts: a backward walk of the posts' primary key, checking each row's
    author (one key lookup) until a page is full. With the author check as a correlated
    EXISTS, the planner cannot start from ``users`` and sort every public post."""
    ids = select(Post.id).where(_public_and_visible(viewer_id))
    if max_id is not None:
        ids = ids.where(Post.id < max_id)
    return posts_by_ids(ids.order_by(Post.id.desc()).limit(limit))


def popular_since_id(now_ms: int | None = None) -> int:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return lowest_id_at(now_ms - POPULAR_WINDOW_DAYS * 86_400_000)


def explore_popular_query(
    viewer_id: int | None, cursor: PopularCursor | None, *, since_id: int, limit: int
) -> Select:
    """Public posts of the last seven days, most liked first. Ids are time-ordered, so "the last
    seven days" is a range of the primary key; only that week's posts are read and ranked."""
    ids = select(Post.id).where(Post.id >= since_id, _public_and_visible(viewer_id))
    if cursor is not None:
        ids = ids.where(
            or_(
                Post.like_count < cursor.like_count,
                and_(Post.like_count == cursor.like_count, Post.id < cursor.post_id),
            )
        )
    ids = ids.order_by(Post.like_count.desc(), Post.id.desc()).limit(limit)
    return posts_by_ids(ids, Post.like_count.desc(), Post.id.desc())


def tag_query(viewer_id: int | None, tag: str, max_id: int | None, *, limit: int) -> Select:
    """A backward walk of ix_post_tags_tag_post_id for one tag, each post checked by the rule."""
    ids = (
        select(PostTag.post_id)
        .join(Post, Post.id == PostTag.post_id)
        .where(PostTag.tag == tag, can_see_user_id(viewer_id, Post.author_id))
    )
    if max_id is not None:
        ids = ids.where(PostTag.post_id < max_id)
    return posts_by_ids(ids.order_by(PostTag.post_id.desc()).limit(limit))


def tag_count_query(viewer_id: int | None, tag: str) -> Select:
    visible = (
        select(PostTag.post_id)
        .join(Post, Post.id == PostTag.post_id)
        .where(PostTag.tag == tag, can_see_user_id(viewer_id, Post.author_id))
        .limit(TAG_COUNT_CAP + 1)
        .subquery()
    )
    return select(func.count()).select_from(visible)


def profile_query(
    viewer_id: int | None, author_id: int, max_id: int | None, *, limit: int
) -> Select:
    ids = select(Post.id).where(
        Post.author_id == author_id, can_see_user_id(viewer_id, Post.author_id)
    )
    if max_id is not None:
        ids = ids.where(Post.id < max_id)
    return posts_by_ids(ids.order_by(Post.id.desc()).limit(limit))


# -- running them -----------------------------------------------------------------------------


# What each kind of page draws, and no more: loading rows into objects is most of a page's
# database time. A card shows every photo at its display sizes (not the square thumbnail); a
# grid cell shows the first photo's thumbnail only.
CARD_PHOTOS = selectinload(Post.photos).selectinload(
    Photo.renditions.and_(Rendition.name.not_in(THUMB_NAMES))
)
GRID_PHOTOS = selectinload(Post.photos.and_(Photo.position == 0)).selectinload(
    Photo.renditions.and_(Rendition.name.in_(THUMB_NAMES))
)


def read_cards(session, ids: list[int]) -> list[tuple[Post, User]]:
    """(post, author) for feed cards, every photo at display sizes."""
    query = shape(("cards",), lambda: posts_by_ids(IDS).options(CARD_PHOTOS))
    return [(post, author) for post, author in session.execute(query, {"ids": ids})]


def _shaped_rows(session, query: Select, values: dict) -> list[tuple[Post, User]]:
    return [(post, author) for post, author in session.execute(query, values)]


async def _grid(db: Database, key: tuple, build, values: dict, size: int, cursor_of) -> Page:
    """A grid page from a shape built once per ``key`` (``build`` gets the bound parameters
    in place of the viewer, the cursor and the limit): only the first photo of each post, and
    only its thumbnail, is loaded."""
    viewer, max_id = values.get("viewer"), values.get("max_id")
    query = shape(
        (*key, viewer is None, max_id is None),
        lambda: build(
            None if viewer is None else VIEWER,
            None if max_id is None else bindparam("max_id"),
            bindparam("limit"),
        ).options(GRID_PHOTOS),
    )
    rows = await db.run_read(_shaped_rows, query, {**values, "limit": size + 1})
    return _paged(rows, size, cursor_of)


def _paged(rows, size: int, cursor_of) -> Page:
    """One extra row tells whether there is a next page."""
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, cursor_of(rows[-1][0]) if more else None)


def _id_cursor(post: Post) -> str:
    return str(post.id)


def _popular_cursor(post: Post) -> str:
    return str(PopularCursor(post.like_count, post.id))


def _dialect(db: Database) -> str:
    return db.dialect


def read_home_ids(
    session, viewer: User, max_id: int | None, *, dialect: str, size: int = PAGE_SIZE
) -> list[int]:
    """Up to ``size + 1`` ids of a home-feed page (the extra one says there is a next page)."""
    below = None if max_id is None else bindparam("max_id")
    values = {"viewer": viewer.id, "max_id": max_id, "limit": size + 1}
    if viewer.following_count >= WINDOW_FIRST_FOLLOWING:
        window = shape(
            ("home-window", max_id is None),
            lambda: home_window_ids(
                VIEWER, below, limit=bindparam("limit"), window=FEED_WINDOW_POSTS
            ),
        )
        ids = list(session.execute(window, values).scalars())
        if len(ids) > size:
            return ids
        # A short window proves nothing about older posts: ask each author.
    exact = shape(
        ("home", dialect, max_id is None),
        lambda: home_feed_ids(VIEWER, below, dialect=dialect, limit=bindparam("limit")),
    )
    return list(session.execute(exact, values).scalars())


async def home_feed_page_ids(
    session, viewer: User, max_id: int | None, *, dialect: str, size: int = PAGE_SIZE
) -> list[int]:
    """``read_home_ids`` on an AsyncSession (bench/feeds.py times it on one)."""
    return await session.run_sync(read_home_ids, viewer, max_id, dialect=dialect, size=size)


def _read_home_page(session, viewer: User, max_id: int | None, dialect: str, size: int):
    ids = read_home_ids(session, viewer, max_id, dialect=dialect, size=size)
    # The extra id only says there is a next page; its post is not loaded.
    return ids, (read_cards(session, ids[:size]) if ids else [])


async def home_page(db: Database, viewer: User, max_id: int | None, size: int = PAGE_SIZE) -> Page:
    ids, rows = await db.run_read(_read_home_page, viewer, max_id, _dialect(db), size)
    return Page(rows, str(ids[size - 1]) if len(ids) > size else None)


async def explore_recent_page(
    db: Database, viewer: User | None, max_id: int | None, size: int = PAGE_SIZE
) -> Page:
    values = {"viewer": viewer.id if viewer else None, "max_id": max_id}
    return await _grid(
        db,
        ("explore-recent",),
        lambda viewer_id, below, limit: explore_recent_query(viewer_id, below, limit=limit),
        values,
        size,
        _id_cursor,
    )


async def explore_popular_page(
    db: Database, viewer: User | None, cursor: PopularCursor | None, size: int = PAGE_SIZE
) -> Page:
    query = explore_popular_query(
        viewer.id if viewer else None, cursor, since_id=popular_since_id(), limit=size + 1
    )
    rows = await db.run_read(_shaped_rows, query.options(GRID_PHOTOS), {})
    return _paged(rows, size, _popular_cursor)


async def tag_page(
    db: Database, viewer: User | None, tag: str, max_id: int | None, size: int = PAGE_SIZE
) -> Page:
    values = {"viewer": viewer.id if viewer else None, "max_id": max_id, "tag": tag}
    return await _grid(
        db,
        ("tag",),
        lambda viewer_id, below, limit: tag_query(viewer_id, bindparam("tag"), below, limit=limit),
        values,
        size,
        _id_cursor,
    )


async def tag_post_count(db: Database, viewer: User | None, tag: str) -> int:
    """How many posts with this tag the viewer may see, up to TAG_COUNT_CAP + 1."""
    viewer_id = viewer.id if viewer else None
    query = shape(
        ("tag-count", viewer_id is None),
        lambda: tag_count_query(None if viewer_id is None else VIEWER, bindparam("tag")),
    )
    values = {"viewer": viewer_id, "tag": tag}
    return await db.run_read(lambda session: session.scalar(query, values))


async def profile_page(
    db: Database, viewer: User | None, author: User, max_id: int | None, size: int = PAGE_SIZE
) -> Page:
    values = {"viewer": viewer.id if viewer else None, "max_id": max_id, "author": author.id}
    return await _grid(
        db,
        ("profile",),
        lambda viewer_id, below, limit: profile_query(
            viewer_id, bindparam("author"), below, limit=limit
        ),
        values,
        size,
        _id_cursor,
    )
