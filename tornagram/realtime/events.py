"""Events as they travel from a service, through the broker, to the browser.

On the wire a server message is one JSON object::

    {"channel": "post:42", "event": "comment.created", "id": "1732200000000-3", "data": {...}}

or, when a channel was busy during one hub tick, a JSON list of such objects
(oldest first). Clients accept both shapes.

Event ids have the form ``<milliseconds>-<sequence>`` (the Redis stream id form,
which the in-process broker imitates), so ids from either backend compare the
same way and a reconnecting client can resume with ``since=<last id>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_EVENT_ID_RE = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_EVENT_TYPE_RE = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*")
_MAX_EVENT_TYPE_LEN = 64

EventIdKey = tuple[int, int]


# A marker, not an event (its id is empty): events on the channel may have been lost between
# the last one delivered and the next; the page reloads what it shows.
REPLAY_INCOMPLETE = "replay.incomplete"


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened on a channel, e.g. a comment on a photo."""

    channel: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {"channel": self.channel, "event": self.type, "id": self.id, "data": self.data}


def event_id_key(event_id: str) -> EventIdKey:
    """Sortable form of an event id; raises ValueError for anything malformed.

    Clients send ids back to us in ``since``, so this is also the validator for
    untrusted input.
    """
    match = _EVENT_ID_RE.fullmatch(event_id) if isinstance(event_id, str) else None
    if match is None:
        raise ValueError(f"not an event id: {event_id!r}")
    return int(match.group(1)), int(match.group(2))


def format_event_id(millis: int, seq: int) -> str:
    return f"{millis}-{seq}"


def check_event_type(type_: str) -> str:
    """Event types are short dotted names such as ``comment.created``.

    They are written unescaped into Redis pub/sub messages, so they may not
    contain spaces or anything else surprising.
    """
    if (
        not isinstance(type_, str)
        or len(type_) > _MAX_EVENT_TYPE_LEN
        or not _EVENT_TYPE_RE.fullmatch(type_)
    ):
        raise ValueError(f"invalid event type: {type_!r}")
    return type_


def encode_data(data: dict[str, Any]) -> str:
    """JSON for an event's data; raises TypeError/ValueError at publish time.

    Failing in the publishing service is better than failing later in the hub,
    where the error would be far from its cause.
    """
    if not isinstance(data, dict):
        raise TypeError(f"event data must be a dict, not {type(data).__name__}")
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_payload(events: list[Event]) -> bytes:
    """One WebSocket message body for one or more events of a channel.

    A single event is sent as an object, several as a list: most messages on a
    quiet photo carry one comment, and the object form keeps them small.
    """
    wire: Any = events[0].to_wire() if len(events) == 1 else [e.to_wire() for e in events]
    return json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode()
