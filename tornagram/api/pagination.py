"""Mastodon's keyset pagination: ``max_id``, ``since_id``, ``min_id`` and ``limit`` over an id
column (a post's id, or a relationship row's), and the ``Link`` header that pages on.

Never OFFSET: each page is an index range, so page 50 costs what page 1 costs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import Select

CURSOR_NAMES = ("max_id", "since_id", "min_id")
# The ids we issue (db/ids.py): positive, at most 2**63 - 1, ASCII digits only.
MAX_ID = 2**63 - 1
_ID_RE = re.compile(r"[0-9]{1,20}", re.ASCII)


def parse_id(raw: str | None) -> int | None:
    if raw is None or not _ID_RE.fullmatch(raw):
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None


class BadCursor(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Cursor:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20

    @property
    def ascending(self) -> bool:
        return self.min_id is not None


def parse_cursor(get, *, default: int, maximum: int) -> Cursor:
    """``get(name)`` gives a query parameter or None. A malformed id raises BadCursor; a
    limit above the maximum is clamped, as Mastodon does."""
    values = {}
    for name in CURSOR_NAMES:
        raw = get(name)
        if raw in (None, ""):
            values[name] = None
            continue
        number = parse_id(raw)
        if number is None:
            raise BadCursor(name)
        values[name] = number
    raw_limit = get("limit")
    limit = default
    if raw_limit not in (None, ""):
        if not (raw_limit.isascii() and raw_limit.isdigit()) or len(raw_limit) > 9:
            raise BadCursor("limit")
        limit = min(max(int(raw_limit), 1), maximum)
    return Cursor(limit=limit, **values)


def keyset(query: Select, column, cursor: Cursor) -> Select:
    """``query`` limited to the cursor's range, in the order to read it (ascending for
    ``min_id``: the page right after it; ``reorder`` puts it newest first again)."""
    if cursor.max_id is not None:
        query = query.where(column < cursor.max_id)
    if cursor.min_id is not None:
        return query.where(column > cursor.min_id).order_by(column.asc()).limit(cursor.limit)
    if cursor.since_id is not None:
        query = query.where(column > cursor.since_id)
    return query.order_by(column.desc()).limit(cursor.limit)


def reorder(rows: list, cursor: Cursor) -> list:
    return rows[::-1] if cursor.ascending else rows


def link_header(url: str, args: dict[str, list[str]], newest: int, oldest: int, limit: int) -> str:
    """``url`` is absolute, without a query; ``args`` the request's other parameters, kept."""
    kept = [
        (name, value)
        for name, values in args.items()
        if name not in (*CURSOR_NAMES, "limit")
        for value in values
    ]
    next_query = urlencode([*kept, ("max_id", str(oldest)), ("limit", str(limit))])
    prev_query = urlencode([*kept, ("min_id", str(newest)), ("limit", str(limit))])
    return f'<{url}?{next_query}>; rel="next", <{url}?{prev_query}>; rel="prev"'
