"""Ids taken from a path or a query, shared by every domain's handlers.

Ids are signed 64-bit (``db/ids.py``): anything larger is no id at all and would overflow the
column, so it is answered as "not found" or "none" here rather than as a database error.
"""

from __future__ import annotations

import tornado.web

MAX_ID = 2**63 - 1


def path_id(raw: str) -> int:
    """An id from the path (the route already matched digits): 404 when it cannot exist."""
    value = int(raw)
    if value > MAX_ID:
        raise tornado.web.HTTPError(404)
    return value


def optional_id(raw: str | None) -> int | None:
    """A keyset cursor or a parent id from a form or query; anything malformed means none."""
    if raw and raw.isdigit() and len(raw) <= 19 and int(raw) <= MAX_ID:
        return int(raw)
    return None
