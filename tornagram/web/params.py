"""Request parameters: the one place that turns ids and cursors from URLs and forms into ints.

Ids are what the database issued: positive and at most 2**63 - 1 (a signed 64-bit column).
Anything else in a *path* names nothing, so it is a 404 like any unknown page. A *cursor*
(``?before=``, ``?max_id=``) or a form's id field the user sent us that is malformed is a 400
with a message, never quietly the first page (the reader would page forever) and never a
database overflow (a 500).

Only ASCII digits count: ``str.isdigit()`` accepts ``²`` and ``int()`` accepts ``٣``, and
neither is a spelling of an id we ever wrote into a link.
"""

from __future__ import annotations

import re

import tornado.web

from tornagram.errors import InvalidInput, UserError

MAX_ID = 2**63 - 1
# Twenty digits at most: enough to say "too big" without converting a megabyte of digits.
_ID_RE = re.compile(r"[0-9]{1,20}", re.ASCII)
BAD_CURSOR_MESSAGE = "This page link is not valid. Go back to the first page and try again."


def parse_id(raw: str | None) -> int | None:
    """The id spelled by ``raw``, or None when it is not one (wrong characters, zero, too big)."""
    if raw is None or not _ID_RE.fullmatch(raw):
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None


def path_id(raw: str) -> int:
    """An id captured from the URL path: anything that cannot be an id is Not Found."""
    number = parse_id(raw)
    if number is None:
        raise tornado.web.HTTPError(404)
    return number


def cursor(raw: str | None) -> int | None:
    """A keyset cursor: None for the first page (absent or empty), else a valid id or a 400."""
    if raw is None or raw == "":
        return None
    number = parse_id(raw)
    if number is None:
        raise UserError(BAD_CURSOR_MESSAGE)
    return number


def cursor_argument(handler: tornado.web.RequestHandler, name: str = "before") -> int | None:
    """``cursor`` of the query argument ``name``."""
    return cursor(handler.get_query_argument(name, None))


def optional_id(raw: str | None, message: str, field: str | None = None) -> int | None:
    """An id chosen in a form (a reply's parent, a room's cover): None when left empty, a 400
    with ``message`` under ``field`` when it is not an id (InvalidInput, so the form is shown
    again with the message where the field is)."""
    if raw is None or raw == "":
        return None
    number = parse_id(raw)
    if number is None:
        raise InvalidInput(UserError(message, field))
    return number
