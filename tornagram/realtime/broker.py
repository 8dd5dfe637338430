"""The broker: where every process publishes events and every hub hears them.

Two implementations share one contract (tests/realtime/test_realtime_broker_contract.py):

* ``InProcessBroker`` for the default single-process site, no setup needed;
* ``RedisBroker`` (redis_broker.py) when several processes or hosts serve
  the site and a comment posted through one must reach viewers on all.

Each channel keeps a replay window so a browser that lost its socket can
resume with ``since=<last event id>`` and miss nothing: at least the last
``REPLAY_MAX_EVENTS`` events, for ``REPLAY_MAX_AGE_SECS`` seconds. When the
window no longer reaches back to ``since``, replay says so
(``ReplayResult.complete`` is False) and the page reloads its state instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .channels import parse_channel
from .events import Event, EventIdKey, check_event_type, encode_data, event_id_key

log = logging.getLogger(__name__)

# A viewer who switches tabs for a few minutes should come back to a complete
# stream of danmaku; beyond that, reloading the comments is cheaper than
# keeping more history in memory.
REPLAY_MAX_EVENTS = 500
REPLAY_MAX_AGE_SECS = 600

Listener = Callable[[Event], None]


class BrokerUnavailable(Exception):
    """The broker cannot take events right now (e.g. Redis is down).

    Services catch this after their commit and log it: the comment is saved,
    only its live delivery is lost, and pages keep working.
    """


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Events after ``since``, oldest first.

    ``complete`` is False when the replay window no longer reaches back to
    ``since``: some events may be missing between it and ``events[0]``.
    """

    events: list[Event] = field(default_factory=list)
    complete: bool = True


@runtime_checkable
class Broker(Protocol):
    async def publish(self, channel: str, type: str, data: dict[str, Any]) -> Event:
        """Assign the next id, keep the event for replay, fan it out."""
        ...

    async def replay(self, channel: str, since: str) -> ReplayResult:
        """Events with id > since still in the window; ValueError if since is malformed."""
        ...

    def add_listener(self, listener: Listener) -> None:
        """Called with every event on a watched channel (once per process: the hub)."""
        ...

    async def watch(self, channel: str) -> None:
        """Start hearing a channel; returns once later publishes are guaranteed to arrive."""
        ...

    async def unwatch(self, channel: str) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def healthy(self) -> bool: ...


def replay_is_complete(
    since: EventIdKey,
    first_kept: EventIdKey | None,
    dropped_after_since: bool,
    now_ms: int,
    max_age_ms: int,
) -> bool:
    """Whether a replay from ``since`` can prove nothing is missing.

    ``first_kept`` is the oldest event still in the window (None if the window
    is empty or gone); ``dropped_after_since`` says whether the window lost
    events that could be newer than ``since``. A window that vanished entirely
    (idle longer than the age limit) can only be trusted if ``since`` itself is
    younger than that limit: otherwise events after it may have expired with
    the window. Erring towards "incomplete" only costs the client a reload.
    """
    if first_kept is not None and since >= first_kept:
        return True
    if dropped_after_since:
        return False
    return since[0] >= now_ms - max_age_ms


class _Window:
    __slots__ = ("events", "floor")

    def __init__(self, max_events: int) -> None:
        self.events: deque[Event] = deque(maxlen=max_events)
        # Id of the newest event that left the window, None if none has.
        self.floor: EventIdKey | None = None


class InProcessBroker:
    """Broker for a single process: memory only, nothing to run or configure."""

    def __init__(
        self,
        *,
        max_events: int = REPLAY_MAX_EVENTS,
        max_age_secs: float = REPLAY_MAX_AGE_SECS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max_events = max_events
        self._max_age_ms = int(max_age_secs * 1000)
        self._clock = clock
        # Ordered by last publish, so windows that went quiet are found first.
        self._windows: OrderedDict[str, _Window] = OrderedDict()
        self._watched: set[str] = set()
        self._listeners: list[Listener] = []
        self._last_ms = 0
        self._seq = 0

    @property
    def healthy(self) -> bool:
        return True

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._watched.clear()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def watch(self, channel: str) -> None:
        parse_channel(channel)
        self._watched.add(channel)

    async def unwatch(self, channel: str) -> None:
        self._watched.discard(channel)

    def _next_id(self) -> tuple[str, int]:
        now_ms = int(self._clock() * 1000)
        if now_ms > self._last_ms:
            self._last_ms, self._seq = now_ms, 0
        else:  # same millisecond, or the clock stepped back: ids must still grow
            self._seq += 1
        return f"{self._last_ms}-{self._seq}", now_ms

    async def publish(self, channel: str, type: str, data: dict[str, Any]) -> Event:
        parse_channel(channel)
        check_event_type(type)
        # A JSON round trip gives listeners their own copy, and the same data
        # (string keys, lists not tuples) that the Redis broker would deliver.
        event_data = json.loads(encode_data(data))
        event_id, now_ms = self._next_id()
        event = Event(channel, type, event_data, event_id)
        window = self._windows.get(channel)
        if window is None:
            window = self._windows[channel] = _Window(self._max_events)
        else:
            self._windows.move_to_end(channel)
        if len(window.events) == self._max_events:
            window.floor = event_id_key(window.events[0].id)
        window.events.append(event)
        self._forget_idle_windows(now_ms)
        if channel in self._watched:
            loop = asyncio.get_running_loop()
            for listener in self._listeners:
                loop.call_soon(listener, event)
        return event

    def _prune(self, window: _Window, now_ms: int) -> None:
        oldest_ms = now_ms - self._max_age_ms
        events = window.events
        while events and event_id_key(events[0].id)[0] < oldest_ms:
            window.floor = event_id_key(events.popleft().id)

    def _forget_idle_windows(self, now_ms: int) -> None:
        # A window whose newest event is past the age limit holds nothing
        # replayable; replay_is_complete covers a missing window correctly.
        oldest_ms = now_ms - self._max_age_ms
        while self._windows:
            channel, window = next(iter(self._windows.items()))
            if window.events and event_id_key(window.events[-1].id)[0] >= oldest_ms:
                break
            del self._windows[channel]

    async def replay(self, channel: str, since: str) -> ReplayResult:
        parse_channel(channel)
        since_key = event_id_key(since)
        now_ms = int(self._clock() * 1000)
        window = self._windows.get(channel)
        if window is None:
            return ReplayResult(
                [], replay_is_complete(since_key, None, False, now_ms, self._max_age_ms)
            )
        self._prune(window, now_ms)
        events = [e for e in window.events if event_id_key(e.id) > since_key]
        first = event_id_key(window.events[0].id) if window.events else None
        if window.floor is not None and window.floor <= since_key:
            complete = True  # everything that ever left the window is at or before since
        else:
            dropped = window.floor is not None
            complete = replay_is_complete(since_key, first, dropped, now_ms, self._max_age_ms)
        return ReplayResult(events, complete)
