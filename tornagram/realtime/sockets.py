"""GET /ws: one WebSocket per page, subscribed to channels, fed by the hub.

The handler parses the little client protocol (docs/realtime.md) and checks who may do what;
delivery itself is the hub's job, which writes pre-built frames straight to the stream.
"""

from __future__ import annotations

import contextlib
import json
import logging
from urllib.parse import urlsplit

import tornado.web
import tornado.websocket

from tornagram.errors import Forbidden, InvalidInput, NotFound, TooManyRequests, UserError
from tornagram.i18n import N_
from tornagram.realtime.access import BadChannel, authorize_subscribe
from tornagram.realtime.broker import BrokerUnavailable
from tornagram.realtime.control import CLOSE_SESSION_ENDED
from tornagram.realtime.frames import WebSocketSubscriber
from tornagram.web.base import BaseHandler

log = logging.getLogger(__name__)

# Browsers and proxies drop idle sockets after about a minute; ping well before that.
WEBSOCKET_PING_INTERVAL_SECS = 25
MAX_MESSAGE_BYTES = 64 * 1024
# Enough for a page with a feed of posts and a room; bounds what one socket can pin.
MAX_CHANNELS_PER_SOCKET = 64
CLOSE_GOING_AWAY = 1001

ERROR_CODES = (
    (TooManyRequests, "rate_limited"),
    (BadChannel, "bad_request"),
    (InvalidInput, "invalid"),
    (NotFound, "not_found"),
    (Forbidden, "forbidden"),
)
BAD_REQUEST_MESSAGE = N_("That message could not be understood.")
SIGN_IN_MESSAGE = N_("Log in to send messages.")
TOO_MANY_CHANNELS_MESSAGE = N_("Too many live channels on one page.")
UNAVAILABLE_MESSAGE = N_("Live updates are unavailable right now. Please try again.")


def same_origin(origin: str, host: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


class LiveSocket(tornado.websocket.WebSocketHandler, BaseHandler):
    """A realtime.control.LiveConnection: it knows the session it was opened with, and is
    closed when that session ends and unsubscribed when a channel's access does."""

    async def prepare(self) -> None:
        await BaseHandler.prepare(self)
        self.live_user = self.current_user
        self.live_session_id = self.current_session.id if self.current_session else None
        self._token = self.session_token() if self.current_session else None
        if self.current_user is None and not self.request.headers.get("Origin"):
            # No Origin means no browser made this request: only a session can vouch for it.
            raise tornado.web.HTTPError(403)

    def check_origin(self, origin: str) -> bool:
        return same_origin(origin, self.request.host)

    def get_compression_options(self) -> None:
        # per-message deflate costs 160–300 KiB per connection; idle viewers must stay cheap.
        return None

    def open(self) -> None:
        self.subscriber = WebSocketSubscriber(self)
        self.channels: set[str] = set()
        self.ctx.sockets.add(self)
        self.ctx.live.opened(self)

    async def on_message(self, message: str | bytes) -> None:
        try:
            request = json.loads(message)
            op = request["op"]
            channel = request["channel"]
            if not isinstance(channel, str) or op not in ("subscribe", "unsubscribe", "send"):
                raise ValueError(op)
        except (ValueError, KeyError, TypeError):
            self.send_error_op("bad_request", BAD_REQUEST_MESSAGE)
            return
        try:
            if op == "subscribe":
                await self.subscribe(channel, request.get("since"))
            elif op == "unsubscribe":
                self.unsubscribe(channel)
            else:
                await self.send(channel, request.get("body"))
        except UserError as exc:
            code = next((code for cls, code in ERROR_CODES if isinstance(exc, cls)), "invalid")
            self.send_error_op(code, exc.render(self.locale.translate), channel)
        except BrokerUnavailable:
            self.send_error_op("unavailable", UNAVAILABLE_MESSAGE, channel)

    async def subscribe(self, channel: str, since) -> None:
        if channel not in self.channels and len(self.channels) >= MAX_CHANNELS_PER_SOCKET:
            self.send_error_op("bad_request", TOO_MANY_CHANNELS_MESSAGE, channel)
            return
        _kind, _key, owner = await authorize_subscribe(self.ctx, self.current_user, channel)
        if since is not None and not isinstance(since, str):
            raise BadChannel(BAD_REQUEST_MESSAGE)
        try:
            await self.ctx.hub.subscribe(self.subscriber, channel, since=since)
        except ValueError:
            raise BadChannel(BAD_REQUEST_MESSAGE) from None
        if self.ws_connection is None:
            return  # closed while subscribing
        self.channels.add(channel)
        self.ctx.live.joined(self, channel, owner)
        self.ctx.presence.changed(channel)
        self.write_json({"op": "subscribed", "channel": channel})

    def unsubscribe(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            self.ctx.live.left(self, channel)
            self.ctx.hub.unsubscribe(self.subscriber, channel)
            self.ctx.presence.changed(channel)

    def lose_channel(self, channel: str, error: UserError) -> None:
        """Access to ``channel`` ended (private, blocked, deleted): stop and say so."""
        if channel not in self.channels:
            return
        self.unsubscribe(channel)
        code = next((code for cls, code in ERROR_CODES if isinstance(error, cls)), "forbidden")
        self.write_json(
            {
                "op": "unsubscribed",
                "channel": channel,
                "code": code,
                "message": error.render(self.locale.translate),
            }
        )

    def end_for_session(self) -> None:
        """The session this socket was opened with ended (signed out, revoked, password)."""
        self.close(CLOSE_SESSION_ENDED, "session ended")

    async def _session_still_valid(self) -> bool:
        # Belt and braces for the session.ended event (lost if the broker was down): the
        # lookup is the cached one every page makes, dropped when the session ends anywhere.
        if self.live_session_id is None:
            return True
        signed_in = await self.ctx.accounts.signed_in(self._token)
        if signed_in is not None and signed_in.session.id == self.live_session_id:
            return True
        self.end_for_session()
        return False

    async def send(self, channel: str, body) -> None:
        if self.current_user is None:
            self.send_error_op("sign_in_required", SIGN_IN_MESSAGE, channel)
            return
        if not await self._session_still_valid():
            return
        if not isinstance(body, str):
            raise BadChannel(BAD_REQUEST_MESSAGE)
        kind, key, _owner = await authorize_subscribe(self.ctx, self.current_user, channel)
        if kind == "user":
            raise BadChannel(BAD_REQUEST_MESSAGE)
        if kind == "post":
            await self.ctx.interactions.add_comment(self.current_user, int(key), body, live=True)
        else:
            await self.ctx.rooms.say(self.current_user, key, body)
        # Stored; the event itself arrives through the channel like everyone else's.
        self.write_json({"op": "sent", "channel": channel})

    def send_error_op(self, code: str, message: str, channel: str | None = None) -> None:
        error = {"op": "error", "code": code, "message": self.locale.translate(message)}
        if channel is not None:
            error["channel"] = channel
        self.write_json(error)

    def write_json(self, value: dict) -> None:
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            self.write_message(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def on_close(self) -> None:
        subscriber = getattr(self, "subscriber", None)
        if subscriber is None:
            return
        self.ctx.sockets.discard(self)
        self.ctx.live.closed(self, self.channels)
        self.ctx.hub.drop(subscriber)
        for channel in self.channels:
            self.ctx.presence.changed(channel)
        self.channels.clear()
