"""GET /poll?channel=…&since=…: the same events for clients that cannot keep a WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json

from tornagram.errors import UserError
from tornagram.i18n import N_
from tornagram.realtime.access import BadChannel, authorize_subscribe
from tornagram.realtime.frames import text_frame_payload
from tornagram.web.base import BaseHandler

# Under the usual 30–60 s proxy read timeouts, so an idle poll ends cleanly, not with a 504.
LONG_POLL_WAIT_SECS = 25.0
SESSION_ENDED_MESSAGE = N_("You have been signed out.")


class SignInRequired(UserError):
    status = 401


class _Collector:
    """A hub subscriber that keeps the events it is sent instead of writing to a socket; and
    a realtime.control.LiveConnection, ended early when its session or its access ends."""

    __slots__ = ("arrived", "ended", "events", "live_session_id", "live_user")

    def __init__(self, user, session_id: int | None) -> None:
        self.events: list[dict] = []
        self.arrived = asyncio.Event()
        self.live_user = user
        self.live_session_id = session_id
        # Why the poll ended early: a UserError to answer with instead of the events.
        self.ended: UserError | None = None

    def end_for_session(self) -> None:
        self.ended = SignInRequired(SESSION_ENDED_MESSAGE)
        self.arrived.set()

    def lose_channel(self, channel: str, error: UserError) -> None:
        self.ended = error
        self.arrived.set()

    def send_frame(self, frame: bytes) -> bool:
        payload = json.loads(text_frame_payload(frame))
        self.events.extend(payload if isinstance(payload, list) else [payload])
        self.arrived.set()
        return True

    def pending_bytes(self) -> int:
        return 0

    def close_for_backpressure(self) -> None:
        self.arrived.set()


class PollHandler(BaseHandler):
    # A poll waits for events: it must not hold a pooled connection meanwhile.
    shares_reads = False

    async def get(self) -> None:
        channel = self.get_argument("channel", "")
        since = self.get_argument("since", None) or None
        _kind, _key, owner = await authorize_subscribe(self.ctx, self.current_user, channel)
        session_id = self.current_session.id if self.current_session else None
        collector = _Collector(self.current_user, session_id)
        self._collector = collector
        self.ctx.long_polls.add(collector)
        live = self.ctx.live
        live.opened(collector)
        live.joined(collector, channel, owner)
        try:
            try:
                await self.ctx.hub.subscribe(collector, channel, since=since)
            except ValueError:
                raise BadChannel("That is not a channel.") from None
            if not collector.events and not self.ctx.stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(collector.arrived.wait(), LONG_POLL_WAIT_SECS)
        finally:
            self.ctx.long_polls.discard(collector)
            live.closed(collector, (channel,))
            self.ctx.hub.drop(collector)
        self.set_header("Cache-Control", "no-store")
        if collector.ended is not None:
            # Answered with the refusal a new poll would get, so the client stops asking.
            raise collector.ended
        self.finish({"events": collector.events})

    def on_connection_close(self) -> None:
        collector = getattr(self, "_collector", None)
        if collector is not None:
            collector.arrived.set()
