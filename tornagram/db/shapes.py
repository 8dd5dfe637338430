"""Query shapes built once.

Building a statement (the visibility rule is a dozen EXISTS clauses) and computing its cache
key cost far more than SQLite takes to run it: measured on the photo page, a read spent most of
its time there. A shape is built the first time its key is asked for, with bound parameters in
place of the values that change (the viewer, the post, a list of ids), and reused for good; a
statement that is the same object every time also keeps its cache key.

    query = shape(("comments", signed_in), lambda: select(...).where(... == VIEWER))
    session.execute(query, {"viewer": viewer_id})

The keys are small tuples of what changes the statement's form (signed in or not, a cursor or
none), never values, so the table stays a few dozen entries.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from sqlalchemy import bindparam

T = TypeVar("T")

_SHAPES: dict[Hashable, object] = {}

# The parameters most shapes share.
VIEWER = bindparam("viewer")
IDS = bindparam("ids", expanding=True)


def shape(key: Hashable, build: Callable[[], T]) -> T:
    found = _SHAPES.get(key)
    if found is None:
        found = _SHAPES[key] = build()
    return found  # type: ignore[return-value]
