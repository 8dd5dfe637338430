"""The streaming API: GET /api/v1/streaming (WebSocket) and the server-sent event streams.

It rides the site's own live machinery: the hub subscribes each connection to the person's
user channel and to the posts timeline (through the broker, so across processes with Redis),
and api/stream_feed.py turns their frames into Mastodon events, read through the visibility
rule for this person. A stream is a live connection to the live control under its token's id:
revoking the token (or deleting the account) closes it at once, on whichever process holds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import tornado.iostream
import tornado.web
import tornado.websocket

from tornagram.api.stream_feed import (
    NOTIFICATION_STREAMS,
    POST_STREAMS,
    STREAMS,
    TAG_STREAMS,
    StreamFeed,
)
from tornagram.photos.captions import TAG_MAX_CHARS, normalize_tag
from tornagram.realtime.channels import POSTS_CHANNEL, user_channel
from tornagram.realtime.control import CLOSE_SESSION_ENDED
from tornagram.realtime.frames import pending_bytes
from tornagram.web.api import ApiError, ApiHandler

log = logging.getLogger(__name__)

SSE_HEARTBEAT_SECS = 15
UNKNOWN_STREAM = {"error": "Unknown stream type", "status": 400}
NO_TAG = {"error": "Missing tag name parameter", "status": 400}
# Known to Mastodon, without a meaning on one site with no lists or direct messages.
UNSUPPORTED_STREAMS = ("public:remote", "public:remote:media", "list", "direct")
NOT_SUPPORTED = {"error": "This stream is not supported", "status": 400}
OUTSIDE_SCOPES = {"error": "This stream is outside the authorized scopes", "status": 403}


def stream_key(stream: str, tag: str | None) -> tuple[str, ...] | dict:
    """The subscription as its Mastodon ``stream`` array, or the error to send."""
    if stream in UNSUPPORTED_STREAMS:
        return NOT_SUPPORTED
    if stream not in STREAMS:
        return UNKNOWN_STREAM
    if stream in TAG_STREAMS:
        name = normalize_tag((tag or "").strip().lstrip("#"))
        if not name or len(name) > TAG_MAX_CHARS:
            return NO_TAG
        return (stream, name)
    return (stream,)


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

    def _channels(self, streams) -> set[str]:
        """The hub channels a set of subscriptions needs."""
        channels = set()
        for stream in streams:
            if stream[0] in NOTIFICATION_STREAMS:
                channels.add(user_channel(self.current_user.id))
            if stream[0] in POST_STREAMS:
                channels.add(POSTS_CHANNEL)
        return channels

    async def add_stream(self, stream: str, tag: str | None = None) -> dict | None:
        """None when subscribed, else the error to send."""
        key = stream_key(stream, tag)
        if isinstance(key, dict):
            return key
        if not self.feed.may_subscribe(key[0]):
            return OUTSIDE_SCOPES
        before = self._channels(self.feed.streams)
        self.feed.streams.add(key)
        for channel in sorted(self._channels(self.feed.streams) - before):
            await self.ctx.hub.subscribe(self.feed, channel)
            if channel != POSTS_CHANNEL:  # the live control re-checks only the pages' channels
                self.ctx.live.joined(self, channel)
        return None

    def remove_stream(self, stream: str, tag: str | None = None) -> None:
        key = stream_key(stream, tag)
        if self.feed is None or key not in self.feed.streams:
            return
        before = self._channels(self.feed.streams)
        self.feed.streams.discard(key)
        for channel in sorted(before - self._channels(self.feed.streams)):
            self.ctx.hub.unsubscribe(self.feed, channel)
            if channel != POSTS_CHANNEL:
                self.ctx.live.left(self, channel)

    def stop_feed(self) -> None:
        if self.feed is None:
            return
        channels = sorted(self._channels(self.feed.streams) - {POSTS_CHANNEL})
        self.ctx.live.closed(self, channels)
        self.ctx.hub.drop(self.feed)
        self.feed.stop()

    def lose_channel(self, channel: str, error) -> None:
        """The live control took a channel away: the streams it fed end."""
        for stream in list(self.feed.streams if self.feed else ()):
            if channel in self._channels([stream]):
                self.remove_stream(*stream)


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
            error = await self.add_stream(stream, self.get_query_argument("tag", None))
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
        stream, tag = data.get("stream"), data.get("tag")
        if not isinstance(stream, str) or not isinstance(tag, str | None):
            self._write(UNKNOWN_STREAM)
            return
        if data["type"] == "unsubscribe":
            self.remove_stream(stream, tag)
            return
        error = await self.add_stream(stream, tag)
        if error:
            self._write(error)

    def end_for_session(self) -> None:
        self.close(CLOSE_SESSION_ENDED, "the access token was revoked")

    def on_close(self) -> None:
        self.ctx.sockets.discard(self)
        self.stop_feed()


class StreamingEventsHandler(StreamingMixin, ApiHandler):
    """GET /api/v1/streaming/user, /user/notification, /public, /public/local, /hashtag?tag=
    and /hashtag/local?tag= as server-sent events."""

    def initialize(self, ctx, scopes=None, stream: str = "user") -> None:
        super().initialize(ctx, scopes)
        self.stream = stream
        self._ended = asyncio.Event()

    async def get(self) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Accel-Buffering", "no")
        error = stream_key(self.stream, self.get_query_argument("tag", None))
        if isinstance(error, dict):
            raise ApiError(400, error["error"])
        self.start_feed(self._send, lambda: 0)
        try:
            await self.add_stream(self.stream, self.get_query_argument("tag", None))
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
