"""GET /poll?channel=…&since=…: the same events for clients that cannot keep a WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json

from tornagram.realtime.access import BadChannel, authorize_subscribe
from tornagram.realtime.frames import text_frame_payload
from tornagram.web.base import BaseHandler

# Under the usual 30–60 s proxy read timeouts, so an idle poll ends cleanly, not with a 504.
LONG_POLL_WAIT_SECS = 25.0


class _Collector:
    """A hub subscriber that keeps the events it is sent instead of writing to a socket."""

    __slots__ = ("arrived", "events")

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.arrived = asyncio.Event()

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
    async def get(self) -> None:
        channel = self.get_argument("channel", "")
        since = self.get_argument("since", None) or None
        await authorize_subscribe(self.ctx, self.current_user, channel)
        collector = _Collector()
        self._collector = collector
        self.ctx.long_polls.add(collector)
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
            self.ctx.hub.drop(collector)
        self.set_header("Cache-Control", "no-store")
        self.finish({"events": collector.events})

    def on_connection_close(self) -> None:
        collector = getattr(self, "_collector", None)
        if collector is not None:
            collector.arrived.set()
