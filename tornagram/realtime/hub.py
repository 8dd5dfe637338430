"""The hub: the one thing in a process that writes live events to sockets.

Sockets subscribe to channels here; the broker hands every event on a watched
channel to ``Hub.deliver``. The hub collects a channel's events for one tick,
encodes them to JSON once and builds one WebSocket frame, then writes those
same bytes to every viewer of that channel. Cost therefore grows with
viewers x ticks, not viewers x comments.

Wire format of a message (see events.py): one event object, or a JSON list
of event objects (oldest first) when several arrived within a tick. A resumed
subscription (``since``) gets the missed events the same way; if the replay
window no longer reached back to ``since``, the first element is a marker
``{"channel": c, "event": "replay.incomplete", "id": "", "data": {"since": s}}``
telling the page to reload what it shows instead of trusting the stream.

Scheduling: a quiet channel's first event goes out on the next loop
iteration; after a flush the channel waits a tick (or twice the time the last
flush took, if longer, so a huge audience cannot starve page requests) before
the next one. There is one timer for the whole hub, armed only while events
are pending, and no task or queue per socket. A viewer whose socket has more
than ``max_pending_bytes`` unsent is closed with 1013 rather than buffered;
it never delays the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from .broker import Broker, BrokerUnavailable, ReplayResult
from .channels import parse_channel
from .events import REPLAY_INCOMPLETE, Event, EventIdKey, encode_payload, event_id_key
from .frames import encode_text_frame

log = logging.getLogger(__name__)

DEFAULT_TICK_SECS = 0.1
DEFAULT_MAX_PENDING_BYTES = 1 << 20
# Keep hearing a channel for a while after its last viewer leaves: a page
# reload unsubscribes and resubscribes within a second or two.
UNWATCH_LINGER_SECS = 5.0
# Share of the loop a busy channel may take: wait this many times the cost of
# the previous flush before the next one.
FLUSH_COST_FACTOR = 2.0


class Timer(Protocol):
    def when(self) -> float: ...

    def cancel(self) -> None: ...


class Clock(Protocol):
    """The hub's time and timers; the running event loop unless a test injects its own."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer: ...

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer: ...


class Subscriber(Protocol):
    """A live connection as the hub sees it (a WebSocket, in production)."""

    def send_frame(self, frame: bytes) -> bool:
        """Queue an already-built frame; False if the connection is gone."""
        ...

    def pending_bytes(self) -> int:
        """Bytes queued for this connection but not yet taken by the kernel."""
        ...

    def close_for_backpressure(self) -> None:
        """Close with 1013 so the client reconnects and resumes with since."""
        ...


class Hub:
    def __init__(
        self,
        broker: Broker,
        *,
        tick_secs: float = DEFAULT_TICK_SECS,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        unwatch_linger_secs: float = UNWATCH_LINGER_SECS,
        clock: Clock | None = None,
    ) -> None:
        self._broker = broker
        self._clock_override = clock
        self._tick_secs = tick_secs
        self._max_pending_bytes = max_pending_bytes
        self._linger_secs = unwatch_linger_secs
        self._subs: dict[str, set[Subscriber]] = {}
        # Connections between subscribe() and their first frame, with the live
        # events that arrived meanwhile, so replayed and live events stay in order.
        self._joining: dict[str, dict[Subscriber, list[Event]]] = {}
        self._channels_of: dict[Subscriber, set[str]] = {}
        # Newly joined connections and the newest event id they were already sent.
        self._resume_after: dict[str, dict[Subscriber, EventIdKey]] = {}
        self._watches: dict[str, asyncio.Future[None]] = {}
        self._lingering: dict[str, Timer] = {}
        self._pending: dict[str, list[Event]] = {}
        self._due_at: dict[str, float] = {}
        self._quiet_at: dict[str, float] = {}  # earliest time of the next flush
        self._timer: Timer | None = None
        self._background: set[asyncio.Future[None]] = set()
        broker.add_listener(self.deliver)

    def _clock(self) -> Clock:
        # The loop is looked up when needed: a hub may be made before the loop runs.
        return self._clock_override or asyncio.get_running_loop()

    # -- subscriptions -------------------------------------------------------

    def count(self, channel: str) -> int:
        """Viewers of a channel in this process ("N watching").

        Counts connections receiving live events; one still joining (waiting
        for the broker or its replay) is counted once its first frame is out.
        """
        return len(self._subs.get(channel, ()))

    def _idle(self, channel: str) -> bool:
        return channel not in self._subs and channel not in self._joining

    async def subscribe(
        self, conn: Subscriber, channel: str, since: str | None = None
    ) -> ReplayResult | None:
        """Start sending a channel's events to ``conn``.

        With ``since`` (the last event id the client saw) the missed events are
        sent first, then live ones, in id order and without duplicates. Raises
        ValueError for a malformed channel or ``since``. Returns the replay
        result (None without ``since``, or if ``conn`` was dropped meanwhile).
        Subscribing twice to the same channel does nothing.
        """
        parse_channel(channel)
        if since is not None:
            event_id_key(since)
        if conn in self._subs.get(channel, ()) or conn in self._joining.get(channel, ()):
            return None
        held: list[Event] = []
        self._joining.setdefault(channel, {})[conn] = held
        self._channels_of.setdefault(conn, set()).add(channel)
        linger = self._lingering.pop(channel, None)
        if linger is not None:
            linger.cancel()
        try:
            await self._ensure_watched(channel)
            result = None
            if since is not None:
                try:
                    result = await self._broker.replay(channel, since)
                except BrokerUnavailable:
                    log.warning("replay of %s unavailable; client will resync", channel)
                    result = ReplayResult([], complete=False)
        except BaseException:
            self._remove(conn, channel)
            raise
        joining = self._joining.get(channel)
        if joining is None or joining.get(conn) is not held:
            return None  # the socket closed while we waited
        del joining[conn]
        if not joining:
            del self._joining[channel]
        self._subs.setdefault(channel, set()).add(conn)
        events, newest = self._catch_up(channel, since, result, held)
        pending = [e for e in self._pending.get(channel, ()) if e.id]  # markers have no id
        if pending and event_id_key(pending[0].id) <= newest:
            # The channel's next frame repeats events this one already has.
            self._resume_after.setdefault(channel, {})[conn] = newest
        if events and not self._send(conn, encode_text_frame(encode_payload(events))):
            self.drop(conn)
        return result

    def _catch_up(
        self, channel: str, since: str | None, result: ReplayResult | None, held: list[Event]
    ) -> tuple[list[Event], EventIdKey]:
        """Replayed then held events, in id order, each once."""
        events: list[Event] = []
        newest = event_id_key(since) if since is not None else (-1, -1)
        if result is not None:
            if not result.complete:
                events.append(Event(channel, REPLAY_INCOMPLETE, {"since": since}))
            for event in result.events:
                key = event_id_key(event.id)
                if key > newest:
                    events.append(event)
                    newest = key
        for event in held:
            if not event.id:  # a gap marker from the broker (events lost in an outage)
                events.append(event)
                continue
            key = event_id_key(event.id)
            if key > newest:
                events.append(event)
                newest = key
        return events, newest

    def unsubscribe(self, conn: Subscriber, channel: str) -> None:
        self._remove(conn, channel)

    def drop(self, conn: Subscriber) -> None:
        """Forget a connection entirely; call from the socket's on_close."""
        for channel in tuple(self._channels_of.get(conn, ())):
            self._remove(conn, channel)

    def _remove(self, conn: Subscriber, channel: str) -> None:
        channels = self._channels_of.get(conn)
        if channels is not None:
            channels.discard(channel)
            if not channels:
                del self._channels_of[conn]
        subs = self._subs.get(channel)
        if subs is not None:
            subs.discard(conn)
            if not subs:
                del self._subs[channel]
        joining = self._joining.get(channel)
        if joining is not None:
            joining.pop(conn, None)
            if not joining:
                del self._joining[channel]
        resuming = self._resume_after.get(channel)
        if resuming is not None:
            resuming.pop(conn, None)
        if self._idle(channel):
            self._resume_after.pop(channel, None)
            self._pending.pop(channel, None)
            self._due_at.pop(channel, None)
            self._quiet_at.pop(channel, None)
            if channel in self._watches and channel not in self._lingering:
                self._lingering[channel] = self._clock().call_later(
                    self._linger_secs, self._unwatch_if_idle, channel
                )

    async def _ensure_watched(self, channel: str) -> None:
        watch = self._watches.get(channel)
        if watch is None:
            watch = asyncio.ensure_future(self._broker.watch(channel))
            self._watches[channel] = watch
        try:
            await asyncio.shield(watch)
        except Exception:
            if self._watches.get(channel) is watch:
                del self._watches[channel]
            raise

    def _unwatch_if_idle(self, channel: str) -> None:
        self._lingering.pop(channel, None)
        if not self._idle(channel):
            return
        watch = self._watches.pop(channel, None)
        if watch is not None:
            task = asyncio.ensure_future(self._unwatch(channel, watch))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _unwatch(self, channel: str, watch: asyncio.Future[None]) -> None:
        try:
            await watch
            await self._broker.unwatch(channel)
        except Exception:
            log.exception("could not stop watching %s", channel)

    # -- delivery ------------------------------------------------------------

    def deliver(self, event: Event) -> None:
        """Broker listener: queue an event for the channel's next flush."""
        channel = event.channel
        if channel not in self._subs and channel not in self._joining:
            return
        pending = self._pending.get(channel)
        if pending is not None:
            pending.append(event)
            return
        self._pending[channel] = [event]
        clock = self._clock()
        due = max(clock.time(), self._quiet_at.get(channel, 0.0))
        self._due_at[channel] = due
        self._arm(clock, due)

    def _arm(self, clock: Clock, due: float) -> None:
        timer = self._timer
        if timer is not None:
            if timer.when() <= due:
                return
            timer.cancel()
        self._timer = clock.call_at(due, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        clock = self._clock()
        now = clock.time()
        for channel, due in tuple(self._due_at.items()):
            if due <= now:
                self._flush(clock, channel)
        if self._due_at:
            self._arm(clock, min(self._due_at.values()))

    def _flush(self, clock: Clock, channel: str) -> None:
        del self._due_at[channel]
        events = self._pending.pop(channel)
        started = clock.time()
        for held in self._joining.get(channel, {}).values():
            held.extend(events)
        if channel not in self._subs:
            return
        frame = encode_text_frame(encode_payload(events))
        cap = self._max_pending_bytes
        resuming = self._resume_after.pop(channel, None)
        for conn in tuple(self._subs.get(channel, ())):
            try:
                if conn.pending_bytes() > cap:
                    log.info("closing slow connection %r on %s (1013)", conn, channel)
                    conn.close_for_backpressure()
                    self.drop(conn)
                elif resuming and conn in resuming:
                    self._send_newer(conn, events, resuming[conn])
                elif not conn.send_frame(frame):
                    self.drop(conn)
            except Exception:
                log.exception("dropping connection %r after a write error", conn)
                self.drop(conn)
        if not self._idle(channel):
            cost = clock.time() - started
            self._quiet_at[channel] = started + max(self._tick_secs, FLUSH_COST_FACTOR * cost)

    def _send_newer(self, conn: Subscriber, events: list[Event], newest: EventIdKey) -> None:
        newer = [e for e in events if not e.id or event_id_key(e.id) > newest]
        if newer and not conn.send_frame(encode_text_frame(encode_payload(newer))):
            self.drop(conn)

    def _send(self, conn: Subscriber, frame: bytes) -> bool:
        try:
            return conn.send_frame(frame)
        except Exception:
            log.exception("write to %r failed", conn)
            return False

    async def close(self) -> None:
        """Stop timers and background work; sockets are closed by the server."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for handle in self._lingering.values():
            handle.cancel()
        self._lingering.clear()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
