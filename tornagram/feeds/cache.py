"""The home feed through the caches of tornagram/cache/.

A home page is four answers, each cached on its own and each dropped when what it was read
from changes (the topics in brackets):

* whose posts the viewer's feed holds: the people they follow, and themselves
  [graph:viewer, visibility];
* the ids of one page [those authors' posts-by:*, graph:viewer, visibility];
* each post's card data, shared by every viewer: the post with its photos, and its author
  [post:id, user:author];
* what is the viewer's own on those cards: their likes and saves, and the latest comments they
  may see [marks:viewer, graph:viewer, post:id, user:commenter].

A member who reloads sees their own like at once (marks:viewer changes with it); others see
it when the post's topic reaches their process, within milliseconds. The first page a process
serves after a start, or after Redis comes back, reads everything from the database.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from tornagram.accounts.models import User
from tornagram.cache import (
    POSTS,
    VISIBILITY,
    Store,
    graph_topic,
    marks_topic,
    post_topic,
    posts_by_topic,
    user_topic,
)
from tornagram.db.engine import Database
from tornagram.errors import UserError
from tornagram.feeds import queries
from tornagram.feeds.items import PostItem
from tornagram.feeds.viewers import ViewerFacts

COMMENT_BYTES = 3 * 1024
# Sized for memory (measured on the benchmark data): a post's card data, with its photos,
# renditions and author as ORM objects, is ~20 KiB; a feed page's entry holds its ~200 topics.
# Full, these stores take roughly 100 MB.
AUTHOR_ENTRIES = 5_000
PAGE_ENTRIES = 5_000
CARD_ENTRIES = 3_000
MARK_ENTRIES = 3_000
MAX_AGE_SECS = 300
# Bytes (measured with tracemalloc on the benchmark data): a card's post with its photos, all
# their renditions and its author is ~23 KB; a comment with its author ~3 KB.
CARD_EACH_BYTES = 23_000
CARD_BYTES = 16 * 1024 * 1024
MARK_BYTES = 3 * 1024 * 1024


def _marks_bytes(marks: dict) -> int:
    return sum(100 + COMMENT_BYTES * len(mark[2]) for mark in marks.values())


# Every load from the database gets a new number; a card's rendered HTML is keyed by them, so
# new data can never be drawn with an old rendering.
_serials = itertools.count(1)


class HomeFeed:
    def __init__(self, db: Database, interactions) -> None:
        self.db = db
        self.interactions = interactions
        changes = db.changes
        self._authors = Store(
            changes, "feed-authors", max_entries=AUTHOR_ENTRIES, max_age_secs=MAX_AGE_SECS
        )
        self._pages = Store(
            changes, "feed-pages", max_entries=PAGE_ENTRIES, max_age_secs=MAX_AGE_SECS
        )
        self._cards = Store(
            changes,
            "cards",
            max_entries=CARD_ENTRIES,
            max_age_secs=MAX_AGE_SECS,
            max_bytes=CARD_BYTES,
            size=lambda card: CARD_EACH_BYTES,
        )
        self._marks = Store(
            changes,
            "marks",
            max_entries=MARK_ENTRIES,
            max_age_secs=MAX_AGE_SECS,
            max_bytes=MARK_BYTES,
            size=_marks_bytes,
        )

    @property
    def stores(self) -> list[Store]:
        return [self._authors, self._pages, self._cards, self._marks]

    async def page(
        self, viewer: User, max_id: int | None, size: int = queries.PAGE_SIZE
    ) -> tuple[list[PostItem], str | None]:
        """A page of cards, newest first, and the cursor of the next page (None on the last)."""
        ids = await self._page_ids(viewer, max_id, size)
        shown = ids[:size]
        cards = await self._card_data(shown)
        pairs = [cards[post_id] for post_id in shown if post_id in cards]
        items = await self._decorate(viewer, pairs)
        return items, str(ids[size - 1]) if len(ids) > size else None

    async def _feed_authors(self, viewer: User) -> tuple[int, ...]:
        authors = self._authors.get(viewer.id)
        if authors is None:
            stamp = self._authors.changes.stamp()
            authors = await self.db.run_read(queries.read_feed_authors, viewer.id)
            self._authors.put(viewer.id, authors, stamp, (graph_topic(viewer.id), VISIBILITY))
        return authors

    async def _page_ids(self, viewer: User, max_id: int | None, size: int) -> list[int]:
        key = (viewer.id, max_id, size)
        ids = self._pages.get(key)
        if ids is not None:
            return ids
        # The authors first: their topics must be in hand before the page is read.
        authors = await self._feed_authors(viewer)
        stamp = self._pages.changes.stamp()
        ids = await self.db.run_read(
            queries.read_home_ids, viewer, max_id, dialect=queries._dialect(self.db), size=size
        )
        topics = [graph_topic(viewer.id), VISIBILITY, *map(posts_by_topic, authors)]
        self._pages.put(key, ids, stamp, topics)
        return ids

    async def _card_data(self, ids: Iterable[int]) -> dict[int, tuple]:
        """post id -> (post, author, serial) for those that still exist."""
        found: dict[int, tuple] = {}
        missing = []
        for post_id in ids:
            card = self._cards.get(post_id)
            if card is None:
                missing.append(post_id)
            else:
                found[post_id] = card
        if missing:
            stamp = self._cards.changes.stamp()
            rows = await self.db.run_read(queries.read_cards, missing)
            for post, author in rows:
                card = (post, author, next(_serials))
                found[post.id] = card
                self._cards.put(post.id, card, stamp, (post_topic(post.id), user_topic(author.id)))
        return found

    async def _decorate(self, viewer: User, cards: list[tuple]) -> list[PostItem]:
        key = (viewer.id, tuple(post.id for post, _author, _serial in cards))
        marks = self._marks.get(key)
        if marks is None:
            stamp = self._marks.changes.stamp()
            found = await self.interactions.viewer_marks(viewer, list(key[1]))
            marks = {post_id: (*mark, next(_serials)) for post_id, mark in found.items()}
            topics = {marks_topic(viewer.id), graph_topic(viewer.id)}
            for post_id, (_liked, _saved, comments) in found.items():
                topics.add(post_topic(post_id))
                topics.update(user_topic(commenter.id) for _comment, commenter in comments)
            self._marks.put(key, marks, stamp, topics)
        # Without trustworthy caches (Redis unreachable, or switched off) every load is new:
        # keying renderings by it would only fill the fragment caches with dead entries.
        cacheable = self.db.changes.usable
        items = []
        for post, author, card_serial in cards:
            liked, saved, comments, marks_serial = marks[post.id]
            items.append(
                PostItem(
                    post=post,
                    author=author,
                    liked=liked,
                    saved=saved,
                    comments=comments,
                    version=(card_serial, marks_serial) if cacheable else None,
                )
            )
        return items


# A photo page's comment threads, per reader and page of comments: a comment with its author
# as ORM objects is ~3 KiB (a page of twenty threads with their replies: ~60 KiB).
THREAD_ENTRIES = 2_000
THREAD_BYTES = 3 * 1024 * 1024


def _threads_bytes(value) -> int:
    threads = value[0]
    return COMMENT_BYTES * sum(1 + len(thread.replies) for thread in threads)


class PostPages:
    """The photo page's data through the same caches as the home feed.

    * the post's card data is the home feed's own entry [post:id, user:author];
    * its comment threads for the viewer, which also say the viewer may see the post (the read
      refuses otherwise) [post:id, user:author, graph:viewer, visibility, user:commenter];
    * the viewer's like and save and the card's comment preview: the home feed's marks
      [marks:viewer, graph:viewer, post:id, user:commenter].

    Comments name their post's topic, so a new, edited or deleted comment, a like or a caption
    edit makes the page's entries stale; a block, a follow or an account going private names
    the viewer's graph or ``visibility``.
    """

    def __init__(self, home_feed: HomeFeed, interactions, photos, viewers: ViewerFacts) -> None:
        self.home_feed = home_feed
        self.interactions = interactions
        self.photos = photos
        self.viewers = viewers
        self._threads = Store(
            home_feed.db.changes,
            "threads",
            max_entries=THREAD_ENTRIES,
            max_age_secs=MAX_AGE_SECS,
            max_bytes=THREAD_BYTES,
            size=_threads_bytes,
        )

    @property
    def stores(self) -> list[Store]:
        return [self._threads]

    async def page(self, viewer: User | None, post_id: int, before: int | None):
        """(PostItem, comment threads, the ``before`` of earlier comments, the threads'
        version: None when not from the caches). NotFound, as from ``PhotosService.get_post``,
        for a post that is gone or that the viewer may not see."""
        cards = await self.home_feed._card_data([post_id])
        card = cards.get(post_id)
        if card is None:
            await self.photos.get_post(post_id, viewer)  # raises the photo page's NotFound
            raise AssertionError("a post missing from the cards was found")  # pragma: no cover
        post, author, _serial = card
        # Comments differ between readers only by blocks and mutes: one with none, on a public
        # account's post, reads what a signed-out visitor reads, and shares that entry.
        reader = viewer
        if (
            viewer is not None
            and not author.is_private
            and (await self.viewers.plain(viewer)).no_blocks
        ):
            reader = None
        reader_id = reader.id if reader is not None else None
        key = (reader_id, post_id, before)
        found = self._threads.get(key)
        if found is None:
            stamp = self._threads.changes.stamp()
            try:
                found = await self.interactions.comments(reader, post_id, before=before)
            except UserError:
                # Gone since, or hidden from this viewer: the photo page's own answer.
                await self.photos.get_post(post_id, viewer)
                raise
            topics = {post_topic(post_id), user_topic(author.id), VISIBILITY}
            if reader_id is not None:
                topics.add(graph_topic(reader_id))
            for thread in found[0]:
                topics.add(user_topic(thread.author.id))
                topics.update(user_topic(person.id) for _reply, person in thread.replies)
            found = (*found, next(_serials))
            self._threads.put(key, found, stamp, topics)
        threads, earlier_before, serial = found
        if viewer is None:
            [item] = await self.interactions.decorate(None, [(post, author)])
        else:
            # The photo page's card shows the viewer's like and save, not the comment preview
            # (the threads follow it): two set lookups in the viewer's marks.
            liked, saved = await self.viewers.marks(viewer, post_id)
            item = PostItem(post=post, author=author, liked=liked, saved=saved)
            if self.home_feed.db.changes.usable:
                item.version = (card[2], None)
        # The version of what the page shows besides the card (cards carry their own).
        version = (serial, reader_id) if self.home_feed.db.changes.usable else None
        return item, threads, earlier_before, version


# A grid page (a dozen posts with all their renditions, and their authors): ~160 KB
# (tracemalloc on the benchmark data).
GRID_ENTRIES = 1_000
GRID_BYTES = 8 * 1024 * 1024
GRID_ROW_BYTES = 13_500


def _grid_bytes(value) -> int:
    return GRID_ROW_BYTES * len(getattr(value, "rows", ())) + 100


class Grids:
    """Explore, tag and profile grids, per viewer and page, kept as honest as the home feed.

    Each entry lists its shown posts and their authors [post:id, user:author], what the viewer
    may see [graph:viewer, visibility], and what can bring a new post into it: any post at all
    for explore and tags [posts], the owner's for a profile [posts-by:owner, user:owner].
    """

    def __init__(self, db: Database, viewers: ViewerFacts) -> None:
        self.db = db
        self.viewers = viewers
        self._grids = Store(
            db.changes,
            "grids",
            max_entries=GRID_ENTRIES,
            max_age_secs=MAX_AGE_SECS,
            max_bytes=GRID_BYTES,
            size=_grid_bytes,
        )

    @property
    def stores(self) -> list[Store]:
        return [self._grids]

    async def _cached(self, key, viewer: User | None, topics: tuple[str, ...], load):
        value = self._grids.get(key)
        if value is not None:
            return value
        stamp = self._grids.changes.stamp()
        value = await load()
        if isinstance(value, queries.Page) and self.db.changes.usable:
            value = VersionedPage(value.rows, value.next_cursor, next(_serials))
        shown = set(topics) | {VISIBILITY}
        if viewer is not None:
            shown.add(graph_topic(viewer.id))
        for post, author in getattr(value, "rows", ()):
            shown.add(post_topic(post.id))
            shown.add(user_topic(author.id))
        self._grids.put(key, value, stamp, shown)
        return value

    async def _reader(self, viewer: User | None, *, as_visitor: bool) -> User | None:
        """Who the list is read for: a viewer who stands apart from nobody reads what a visitor
        reads (explore: no blocks or mutes; a tag: nor private follows), and shares it."""
        if viewer is None:
            return None
        plain = await self.viewers.plain(viewer)
        return None if (plain.reads_as_visitor if as_visitor else plain.no_blocks) else viewer

    async def explore_recent(self, viewer: User | None, max_id: int | None) -> queries.Page:
        # Explore lists public accounts only, so follows make no difference there.
        viewer = await self._reader(viewer, as_visitor=False)
        return await self._cached(
            ("explore", _id(viewer), max_id),
            viewer,
            (POSTS,),
            lambda: queries.explore_recent_page(self.db, viewer, max_id),
        )

    async def tag(self, viewer: User | None, tag: str, max_id: int | None) -> queries.Page:
        viewer = await self._reader(viewer, as_visitor=True)
        return await self._cached(
            ("tag", _id(viewer), tag, max_id),
            viewer,
            (POSTS,),
            lambda: queries.tag_page(self.db, viewer, tag, max_id),
        )

    async def tag_count(self, viewer: User | None, tag: str) -> int:
        viewer = await self._reader(viewer, as_visitor=True)
        return await self._cached(
            ("tag-count", _id(viewer), tag),
            viewer,
            (POSTS,),
            lambda: queries.tag_post_count(self.db, viewer, tag),
        )

    async def profile(self, viewer: User | None, owner: User, max_id: int | None) -> queries.Page:
        """The handler has already refused a viewer blocked either way, so a public account's
        grid is the same for every viewer who gets this far: one entry, read as a signed-out
        visitor would (and dropped when the owner goes private [user:owner])."""
        if not owner.is_private:
            viewer = None
        return await self._cached(
            ("profile", _id(viewer), owner.id, max_id),
            viewer,
            (posts_by_topic(owner.id), user_topic(owner.id)),
            lambda: queries.profile_page(self.db, viewer, owner, max_id),
        )


@dataclass(frozen=True, slots=True)
class VersionedPage(queries.Page):
    """A grid page from the caches, with the serial of its load: rendered pages are keyed by
    it (a new load, a new number)."""

    version: int | None = None


def _id(viewer: User | None) -> int | None:
    return viewer.id if viewer is not None else None
