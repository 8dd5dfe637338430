"""Search: people by username or display-name prefix, hashtags by prefix with their post counts,
and captions by words, through the one visibility rule.

Every lookup is an index range, never a scan:

- Prefixes are ``column >= p AND column < p || U+10FFFF``. On SQLite the columns compare in code
  point order (BINARY, or NOCASE for display names). On PostgreSQL the ``~>=~`` / ``~<~``
  operators compare code points whatever the database's collation, and are served by the
  ``*_pattern_ops`` indexes of migration 0005 (under a collation such as en_US an ordinary
  range is not a reliable prefix test). No LIKE, so ``%`` and ``_`` mean nothing special.
  MySQL and MariaDB: an escaped ``LIKE 'p%'`` (search/mysql.py).
- Captions: SQLite's FTS5 table ``posts_fts`` (rowid = post id), PostgreSQL's GIN index over
  ``to_tsvector('simple', caption)``. The query is never handed over as typed: it is cut into
  words here, and each word becomes a quoted prefix term, so FTS syntax (``NEAR``, ``*``,
  quotes, ``-``) is only ever text. MySQL and MariaDB: see search/mysql.py.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import Select, String, and_, column, func, literal_column, select, table
from sqlalchemy.orm import aliased, selectinload

from tornagram.accounts.models import User
from tornagram.db.engine import Database
from tornagram.graph.visibility import can_see_author, can_see_user_id, not_blocked
from tornagram.i18n import N_
from tornagram.photos.captions import normalize_tag
from tornagram.photos.models import Photo, Post, PostTag
from tornagram.search import mysql

QUERY_MAX_CHARS = 100
PEOPLE_LIMIT = 20
TAGS_LIMIT = 10
# Four rows of three, like a profile grid.
POSTS_PAGE_SIZE = 12
# A longer query is not a better one, and each word is another index lookup.
MAX_WORDS = 8
WORD_MAX_CHARS = 64
# Above every character, so "p" ≤ s < "p" + this is "s starts with p".
_TOP = "\U0010ffff"
_USERNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.")
_SIMPLE = literal_column("'simple'::regconfig")
_POSTS_FTS = table("posts_fts", column("rowid"))

TOO_LONG_MESSAGE = N_("Searches can be at most %(max)d characters. Try fewer words.")


@dataclass(slots=True)
class SearchResults:
    query: str
    people: list[User] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)  # (tag, visible post count)
    posts: list[tuple[Post, User]] = field(default_factory=list)  # with photos and renditions
    next_before: int | None = None  # for the next page of posts
    too_long: bool = False

    @property
    def empty(self) -> bool:
        return not (self.people or self.tags or self.posts)


def words(query: str) -> list[str]:
    """Letters, marks and digits in runs, case-folded: what both engines' tokenizers call words
    (spaces, punctuation and symbols separate them, ``_`` included)."""
    found: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", query).lower() + " ":
        if unicodedata.category(char)[0] in "LMN" or unicodedata.category(char) == "Co":
            current.append(char)
        elif current:
            word = "".join(current)[:WORD_MAX_CHARS]
            current = []
            if word not in found:
                found.append(word)
    return found[:MAX_WORDS]


def fts5_query(terms: list[str]) -> str:
    # Each word quoted (no quote can be inside one) and a prefix: "sun"* "set"*, all required.
    return " ".join(f'"{term}"*' for term in terms)


def tsquery(terms: list[str]) -> str:
    return " & ".join(f"'{term}':*" for term in terms)


async def _engine(session) -> str:
    """"sqlite", "postgresql", or "mysql" / "mariadb" (from a connection: MariaDB is told from
    MySQL only once the server has answered)."""
    dialect = (await session.connection()).dialect
    return "mariadb" if dialect.name == "mysql" and dialect.is_mariadb else dialect.name


class SearchService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self, viewer: User | None, raw_query: str, *, before: int | None = None
    ) -> SearchResults:
        query = " ".join((raw_query or "").split())
        results = SearchResults(query=query)
        if len(query) > QUERY_MAX_CHARS:
            results.too_long = True
            return results
        if not query:
            return results
        viewer_id = viewer.id if viewer is not None else None
        only_people, only_tags = query.startswith("@"), query.startswith("#")
        async with self.db.read() as session:
            engine = await _engine(session)
            if before is None and not only_tags:
                results.people = await self._people(session, viewer_id, query, engine)
            if before is None and not only_people:
                results.tags = await self._tags(session, viewer_id, query, engine)
            if not only_people and not only_tags:
                terms = words(query)
                if terms:
                    results.posts, results.next_before = await self._posts(
                        session, viewer_id, terms, before, engine
                    )
        return results

    # -- people and tags -----------------------------------------------------------------------

    async def people(self, viewer: User | None, raw_query: str) -> list[User]:
        """People whose username or display name starts with the query (a leading ``@`` is
        dropped), blocks either way and suspended accounts left out: the search page's own."""
        query = " ".join((raw_query or "").split())
        if not query or len(query) > QUERY_MAX_CHARS:
            return []
        async with self.db.read() as session:
            return await self._people(
                session, viewer.id if viewer is not None else None, query, await _engine(session)
            )

    @staticmethod
    def _prefix(column_, prefix, engine: str, fold=None):
        """``column_`` starts with ``prefix``, as an index range; ``fold`` is a SQL function
        applied to both bounds (the one the column side was folded with)."""
        if engine in ("mysql", "mariadb"):
            return mysql.like_prefix(column_, prefix)
        postgres = engine == "postgresql"
        low, high = prefix, prefix + _TOP
        if fold is not None:
            low, high = fold(low, type_=String), fold(high, type_=String)
        if postgres:
            return and_(column_.op("~>=~")(low), column_.op("~<~")(high))
        return and_(column_ >= low, column_ < high)

    async def _people(self, session, viewer_id, query: str, engine: str) -> list[User]:
        text = query.removeprefix("@").strip()
        if not text:
            return []
        found: list[User] = []
        visible = not_blocked(viewer_id, User.id)
        username = text.lower()
        if set(username) <= _USERNAME_CHARS:
            # Usernames are stored lower-case, so their own unique index serves the range.
            by_username = (
                select(User)
                .where(self._prefix(User.username, username, engine), visible)
                .order_by(User.username)
                .limit(PEOPLE_LIMIT)
            )
            found.extend((await session.execute(by_username)).scalars())
        # The same folding on both sides, by the database itself: lower() on PostgreSQL; on
        # SQLite, NOCASE (ASCII only, like its lower()), which is how the index is built; on
        # MySQL, the column's own collation (utf8mb4_unicode_ci).
        if engine == "postgresql":
            name, fold = func.lower(User.display_name, type_=String), func.lower
        elif engine in ("mysql", "mariadb"):
            name, fold = User.display_name, None
        else:
            name, fold = User.display_name.collate("NOCASE"), None
        by_name = (
            select(User)
            .where(self._prefix(name, text, engine, fold), visible)
            .order_by(name)
            .limit(PEOPLE_LIMIT)
        )
        seen = {u.id for u in found}
        found.extend(u for u in (await session.execute(by_name)).scalars() if u.id not in seen)
        return found[:PEOPLE_LIMIT]

    async def _tags(self, session, viewer_id, query: str, engine: str):
        tag = normalize_tag(query.removeprefix("#").strip())
        if not tag or not all(c.isalnum() or c == "_" for c in tag):
            return []
        # Counted over the posts this viewer may see: a tag used only by a private account is
        # not shown to strangers at all.
        posts = func.count(PostTag.post_id).label("posts")
        rows = await session.execute(
            select(PostTag.tag, posts)
            .join(Post, Post.id == PostTag.post_id)
            .where(
                self._prefix(PostTag.tag, tag, engine),
                can_see_user_id(viewer_id, Post.author_id),
            )
            .group_by(PostTag.tag)
            .order_by(posts.desc(), PostTag.tag)
            .limit(TAGS_LIMIT)
        )
        return [(row.tag, row.posts) for row in rows]

    # -- captions ------------------------------------------------------------------------------

    async def _posts(self, session, viewer_id, terms, before, engine: str):
        # Aliased: the visibility rule's subqueries name the plain users table themselves.
        Author = aliased(User)
        if engine in ("mysql", "mariadb"):
            match = mysql.caption_match(Post.caption, terms, mariadb=engine == "mariadb")
            query = select(Post, Author).where(match)
            newest_first = Post.id
        elif engine == "postgresql":
            match = func.to_tsvector(_SIMPLE, Post.caption).op("@@")(
                func.to_tsquery(_SIMPLE, tsquery(terms))
            )
            query: Select = select(Post, Author).where(match)
            newest_first = Post.id
        else:
            # Driven by the FTS index, newest first by its rowid (= post id), so the scan stops
            # once a page of visible posts is found.
            query = (
                select(Post, Author)
                .select_from(_POSTS_FTS)
                .join(Post, Post.id == _POSTS_FTS.c.rowid)
                .where(literal_column("posts_fts").op("MATCH")(fts5_query(terms)))
            )
            newest_first = _POSTS_FTS.c.rowid
        query = (
            query.join(Author, Author.id == Post.author_id)
            .where(can_see_author(viewer_id, Author))
            .order_by(newest_first.desc())
            .limit(POSTS_PAGE_SIZE + 1)
            .options(selectinload(Post.photos).selectinload(Photo.renditions))
        )
        if before is not None:
            query = query.where(newest_first < before)
        rows = [tuple(row) for row in await session.execute(query)]
        more = len(rows) > POSTS_PAGE_SIZE
        rows = rows[:POSTS_PAGE_SIZE]
        return rows, (rows[-1][0].id if more else None)
