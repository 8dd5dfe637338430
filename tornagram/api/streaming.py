"""The streaming API: GET /api/v1/streaming (WebSocket) and the server-sent event streams.

It rides the site's own live machinery: the hub subscribes each stream to the person's user
channel (``user:<id>``, through the broker, so across processes with Redis), and this module
reads the hub's frames back (as the long poll does) and turns each notification event into a
Mastodon ``notification`` event, reading the notification through the API's visibility rule.
A stream is a live connection to the live control under its token's id: revoking the token
closes it at once, on whichever process holds it.

What is streamed today: notifications (streams ``user`` and ``user:notification``). Home
``update``s and the public and hashtag streams are not yet delivered (docs/api.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import tornado.iostream
import tornado.web
import tornado.websocket

from tornagram.realtime.channels import user_channel
from tornagram.realtime.control import CLOSE_SESSION_ENDED
from tornagram.realtime.frames import pending_bytes, text_frame_payload
from tornagram.web.api import ApiError, ApiHandler

log = logging.getLogger(__name__)

STREAMS = ("user", "user:notification")
# Known to Mastodon, not yet delivered here: refused with an error, the connection kept.
LATER_STREAMS = ("public", "public:local", "public:media", "public:local:media",
                 "public:remote", "public:remote:media", "hashtag", "hashtag:local", "list",
                 "direct")  # fmt: skip
SSE_HEARTBEAT_SECS = 15
UNKNOWN_STREAM = {"error": "Unknown stream type", "status": 400}
NOT_YET_STREAM = {"error": "This stream is not supported yet", "status": 400}


class StreamFeed:
    """The hub's ``Subscriber`` for one stream: each frame of the user channel, read back,
    becomes the Mastodon events ``deliver`` is given (as JSON text)."""

    __slots__ = ("background", "ctx", "deliver", "pending", "streams", "token_use", "urls", "user")

    def __init__(self, ctx, token_use, deliver, pending) -> None:
        self.ctx = ctx
        self.token_use = token_use
        self.user = token_use.user
        self.deliver = deliver  # (event name, payload text, stream names) -> bool
        self.pending = pending  # () -> bytes not yet flushed
        self.streams: set[str] = set()
        self.urls = None  # set by the handler: where entity URLs point
        self.background: set[asyncio.Task] = set()

    def send_frame(self, frame: bytes) -> bool:
        try:
            wire = json.loads(text_frame_payload(frame))
        except ValueError:
            return True
        events = wire if isinstance(wire, list) else [wire]
        for event in events:
            if event.get("event") == "notification.created" and (event.get("data") or {}).get("id"):
                task = asyncio.get_running_loop().create_task(
                    self._notification(event["data"]["id"])
                )
                self.background.add(task)
                task.add_done_callback(self.background.discard)
        return True

    async def _notification(self, raw_id: str) -> None:
        reads = self.ctx.api_notifications
        try:
            row = await reads.one(self.user, int(raw_id))
        except Exception:  # gone, or no longer visible: nothing to say
            return
        items = await reads.render(self.user, [row], self.urls)
        if not items:
            return
        payload = json.dumps(items[0], ensure_ascii=False, separators=(",", ":"))
        for stream in sorted(self.streams):
            self.deliver("notification", payload, [stream])

    def pending_bytes(self) -> int:
        return self.pending()

    def close_for_backpressure(self) -> None:
        self.deliver(None, None, None)


class StreamingMixin:
    """What the WebSocket and the event stream share: the token, the live control, the hub."""

    live_user = None
    live_session_id = None
    feed: StreamFeed | None = None

    def bearer_token(self) -> str | None:
        token = super().bearer_token()
        if token is None:
            offered = self.request.headers.get("Sec-WebSocket-Protocol", "")
            first = offered.split(",")[0].strip()
            token = first or None
        if token is None:
            token = self.get_query_argument("access_token", None)
        return token

    async def prepare(self) -> None:
        try:
            await ApiHandler.prepare(self)
        except ApiError as exc:
            if exc.status_code == 403:
                # Streams answer a token without a reading scope as not authorized at all.
                raise self.invalid_token() from None
            raise
        self.live_user = self.current_user
        self.live_session_id = self.token_use.token.id

    def start_feed(self, deliver, pending) -> None:
        self.feed = StreamFeed(self.ctx, self.token_use, deliver, pending)
        self.feed.urls = self.urls()
        self.ctx.live.opened(self)

    async def add_stream(self, stream: str) -> dict | None:
        """None when subscribed, else the error to send."""
        if stream in LATER_STREAMS:
            return NOT_YET_STREAM
        if stream not in STREAMS:
            return UNKNOWN_STREAM
        first = not self.feed.streams
        self.feed.streams.add(stream)
        if first:
            channel = user_channel(self.current_user.id)
            await self.ctx.hub.subscribe(self.feed, channel)
            self.ctx.live.joined(self, channel)
        return None

    def remove_stream(self, stream: str) -> None:
        if self.feed is None or stream not in self.feed.streams:
            return
        self.feed.streams.discard(stream)
        if not self.feed.streams:
            channel = user_channel(self.current_user.id)
            self.ctx.hub.unsubscribe(self.feed, channel)
            self.ctx.live.left(self, channel)

    def stop_feed(self) -> None:
        if self.feed is None:
            return
        channels = [user_channel(self.current_user.id)] if self.feed.streams else []
        self.ctx.live.closed(self, channels)
        self.ctx.hub.drop(self.feed)
        for task in list(self.feed.background):
            task.cancel()
        self.feed.streams.clear()

    def lose_channel(self, channel: str, error) -> None:
        for stream in list(self.feed.streams if self.feed else ()):
            self.remove_stream(stream)


class StreamingSocket(StreamingMixin, tornado.websocket.WebSocketHandler, ApiHandler):
    """GET /api/v1/streaming: the token as a bearer header, as the subprotocol (echoed, or
    browsers drop the connection) or as ``?access_token=``; any origin (no cookies here)."""

    def check_origin(self, origin: str) -> bool:
        return True

    def get_compression_options(self) -> None:
        return None

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return subprotocols[0] if subprotocols else None

    async def open(self) -> None:
        self.start_feed(self._send, lambda: pending_bytes(self))
        self.ctx.sockets.add(self)
        stream = self.get_query_argument("stream", None)
        if stream:
            error = await self.add_stream(stream)
            if error:
                self._write(error)

    def _send(self, event, payload, streams) -> bool:
        if event is None:
            self.close(1013, "try again later")
            return False
        self._write({"stream": streams, "event": event, "payload": payload})
        return True

    def _write(self, value: dict) -> None:
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            self.write_message(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    async def on_message(self, message) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            self._write({"error": "Could not parse JSON", "status": 400})
            return
        if not isinstance(data, dict) or data.get("type") not in ("subscribe", "unsubscribe"):
            self._write({"error": "Unknown message type", "status": 400})
            return
        stream = data.get("stream")
        if not isinstance(stream, str):
            self._write(UNKNOWN_STREAM)
            return
        if data["type"] == "unsubscribe":
            self.remove_stream(stream)
            return
        error = await self.add_stream(stream)
        if error:
            self._write(error)

    def end_for_session(self) -> None:
        self.close(CLOSE_SESSION_ENDED, "the access token was revoked")

    def on_close(self) -> None:
        self.ctx.sockets.discard(self)
        self.stop_feed()


class StreamingEventsHandler(StreamingMixin, ApiHandler):
    """GET /api/v1/streaming/user and /user/notification as server-sent events."""

    def initialize(self, ctx, scopes=None, stream: str = "user") -> None:
        super().initialize(ctx, scopes)
        self.stream = stream
        self._ended = asyncio.Event()

    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")
        self.start_feed(self._send, lambda: 0)
        try:
            await self.add_stream(self.stream)
            self.write(":)\n\n")
            await self.flush()
            while not self._ended.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ended.wait(), SSE_HEARTBEAT_SECS)
                if not self._ended.is_set():
                    self.write(":thump\n\n")
                    await self.flush()
        except tornado.iostream.StreamClosedError:
            pass
        finally:
            self.stop_feed()
        if not self._finished:
            with contextlib.suppress(tornado.iostream.StreamClosedError):
                self.finish()

    def _send(self, event, payload, streams) -> bool:
        if event is None:
            self._ended.set()
            return False
        try:
            self.write(f"event: {event}\ndata: {payload}\n\n")
            self.flush()
        except tornado.iostream.StreamClosedError:
            self._ended.set()
            return False
        return True

    def end_for_session(self) -> None:
        self._ended.set()

    def on_connection_close(self) -> None:
        self._ended.set()


class StreamingHealthHandler(ApiHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("OK")
