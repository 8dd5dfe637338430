"""Channel names: the one place that knows how live topics are spelled.

A channel is what a browser watches: the danmaku over one photo (``post:<id>``),
one person's notifications (``user:<id>``) or a chat room (``room:<slug>``);
one channel between the site's own processes (``control:live``); and the site's
posts as they are made, edited and deleted (``timeline:posts``), read by the app
API's streams on the server (never opened to browsers).
Names travel in URLs, Redis keys and pub/sub subjects, so they are parsed
strictly: anything we did not mint ourselves is rejected.
"""

from __future__ import annotations

import re
from typing import Literal

ChannelKind = Literal["post", "user", "room", "control", "timeline"]

# Ids are positive 64-bit decimal numbers (no sign, no leading zero) so that a
# channel has exactly one spelling and one Redis key.
_ID = r"[1-9][0-9]{0,19}"
_SLUG = r"[a-z0-9-]{1,40}"
_CHANNEL_RE = re.compile(
    rf"(?:(post|user):({_ID})|(room):({_SLUG})|(control):(live)|(timeline):(posts))"
)
_SLUG_RE = re.compile(_SLUG)
_MAX_ID = 2**63 - 1
# Between the processes of one site: sessions that ended, access that changed
# (realtime/control.py). Never open to browsers (realtime/access.py refuses it).
CONTROL_CHANNEL = "control:live"
# Every post made, edited or deleted (ids, author, tags; never content): what the app API's
# home, public and hashtag streams filter per subscriber (api/streaming.py).
POSTS_CHANNEL = "timeline:posts"


def _check_id(value: int | str) -> int:
    number = int(value)
    if not 0 < number <= _MAX_ID:
        raise ValueError(f"id out of range: {value!r}")
    return number


def post_channel(post_id: int) -> str:
    """Live comments and likes of one photo."""
    return f"post:{_check_id(post_id)}"


def user_channel(user_id: int | str) -> str:
    """One person's notifications, followed on every tab they have open."""
    return f"user:{_check_id(user_id)}"


def room_channel(slug: str) -> str:
    """A chat room; the slug is what appears in the room's URL."""
    if not _SLUG_RE.fullmatch(slug):
        raise ValueError(f"invalid room slug: {slug!r}")
    return f"room:{slug}"


def parse_channel(name: str) -> tuple[ChannelKind, str]:
    """Split a channel name into its kind and key, or raise ValueError."""
    match = _CHANNEL_RE.fullmatch(name) if isinstance(name, str) else None
    if match is None:
        raise ValueError(f"not a channel name: {name!r}")
    if match.group(1):
        _check_id(match.group(2))
        return match.group(1), match.group(2)  # type: ignore[return-value]
    if match.group(5):
        return "control", match.group(6)
    if match.group(7):
        return "timeline", match.group(8)
    return "room", match.group(4)
