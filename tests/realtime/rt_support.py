"""Real sockets for the realtime tests: a minimal hub-backed WebSocket server
and a raw client that can stop reading, like a phone that went into a tunnel."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
import time
from collections.abc import Callable

import tornado.web
import tornado.websocket
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from tornagram.realtime import Hub, WebSocketSubscriber


class HubSocket(tornado.websocket.WebSocketHandler):
    """Test-only stand-in for the real socket handler: subscribe, then listen."""

    def initialize(self, hub: Hub) -> None:
        self.hub = hub
        self.subscriber = WebSocketSubscriber(self)

    def get_compression_options(self) -> None:
        return None

    async def open(self) -> None:
        channels = self.get_argument("channel").split(",")
        since = self.get_argument("since", None)
        for channel in channels:
            await self.hub.subscribe(self.subscriber, channel, since=since)

    def on_message(self, message: str | bytes) -> None:
        return None

    def on_close(self) -> None:
        self.hub.drop(self.subscriber)


def hub_app(hub: Hub, *extra_routes) -> tornado.web.Application:
    return tornado.web.Application(
        [(r"/ws", HubSocket, {"hub": hub}), *extra_routes], websocket_ping_interval=None
    )


def listen(app: tornado.web.Application) -> tuple[HTTPServer, int]:
    sock, port = bind_unused_port()
    server = HTTPServer(app)
    server.add_sockets([sock])
    return server, port


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class RawClient:
    """A WebSocket client on a bare non-blocking socket; reads only when asked."""

    def __init__(self, sock: socket.socket, buffered: bytes) -> None:
        self.sock = sock
        self.buffer = buffered

    @classmethod
    async def connect(cls, port: int, path: str, *, rcvbuf: int | None = None) -> RawClient:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        sock.setblocking(False)
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await loop.sock_recv(sock, 1024)
            if not chunk:
                raise ConnectionError("closed during handshake")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(sock, rest)

    async def _fill(self, size: int) -> None:
        loop = asyncio.get_running_loop()
        while len(self.buffer) < size:
            chunk = await loop.sock_recv(self.sock, 1 << 20)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk

    async def read_frame(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next server frame (servers never mask)."""
        await self._fill(2)
        first, second = self.buffer[0], self.buffer[1]
        assert second & 0x80 == 0, "server frames must not be masked"
        length, offset = second & 0x7F, 2
        if length == 126:
            await self._fill(4)
            (length,) = struct.unpack("!H", self.buffer[2:4])
            offset = 4
        elif length == 127:
            await self._fill(10)
            (length,) = struct.unpack("!Q", self.buffer[2:10])
            offset = 10
        await self._fill(offset + length)
        payload = self.buffer[offset : offset + length]
        self.buffer = self.buffer[offset + length :]
        return first & 0x0F, payload

    def close(self) -> None:
        self.sock.close()


class ManualClock:
    """A clock for ``Hub(clock=...)`` that moves only when the test says: timers run in
    ``advance``, in order of when they are due."""

    class _Timer:
        def __init__(self, when: float, callback, args) -> None:
            self._when, self.callback, self.args, self.cancelled = when, callback, args, False

        def when(self) -> float:
            return self._when

        def cancel(self) -> None:
            self.cancelled = True

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._timers: list[ManualClock._Timer] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback, *args):
        timer = self._Timer(when, callback, args)
        self._timers.append(timer)
        return timer

    def call_later(self, delay: float, callback, *args):
        return self.call_at(self.now + delay, callback, *args)

    def advance(self, secs: float = 0.0) -> None:
        target = self.now + secs
        while True:
            due = [t for t in self._timers if not t.cancelled and t.when() <= target]
            if not due:
                break
            timer = min(due, key=lambda t: t.when())
            self._timers.remove(timer)
            self.now = max(self.now, timer.when())
            timer.callback(*timer.args)
        self.now = target


class FrameSink:
    """A hub subscriber that keeps the events of every frame it is sent."""

    def __init__(self) -> None:
        self.messages: list[object] = []

    def send_frame(self, frame: bytes) -> bool:
        length, offset = frame[1] & 0x7F, 2
        if length == 126:
            length, offset = int.from_bytes(frame[2:4], "big"), 4
        elif length == 127:
            length, offset = int.from_bytes(frame[2:10], "big"), 10
        self.messages.append(json.loads(frame[offset : offset + length]))
        return True

    def pending_bytes(self) -> int:
        return 0

    def close_for_backpressure(self) -> None:
        raise AssertionError("never slow")
