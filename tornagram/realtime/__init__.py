"""Live events: danmaku over photos, notifications and chat rooms.

Services publish through a ``Broker`` after their commit; each process runs
one ``Hub`` that keeps sockets subscribed to channels and writes every
channel's events to them, batched per tick, encoded and framed once.
"""

from .broker import Broker, BrokerUnavailable, InProcessBroker, ReplayResult
from .channels import parse_channel, post_channel, room_channel, user_channel
from .events import Event, encode_payload, event_id_key
from .frames import (
    CLOSE_TRY_AGAIN_LATER,
    WebSocketSubscriber,
    check_tornado_internals,
    encode_text_frame,
    write_frame,
)
from .hub import REPLAY_INCOMPLETE, Hub, Subscriber


def make_broker(redis_url: str | None = None, *, prefix: str = "tg:") -> Broker:
    """The in-process broker by default; Redis when the site is given a URL."""
    if not redis_url:
        return InProcessBroker()
    from .redis_broker import RedisBroker

    return RedisBroker(redis_url, prefix=prefix)


__all__ = [
    "CLOSE_TRY_AGAIN_LATER",
    "REPLAY_INCOMPLETE",
    "Broker",
    "BrokerUnavailable",
    "Event",
    "Hub",
    "InProcessBroker",
    "ReplayResult",
    "Subscriber",
    "WebSocketSubscriber",
    "check_tornado_internals",
    "encode_payload",
    "encode_text_frame",
    "event_id_key",
    "make_broker",
    "parse_channel",
    "post_channel",
    "room_channel",
    "user_channel",
    "write_frame",
]
