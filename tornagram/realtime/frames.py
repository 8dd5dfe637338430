"""Writing one prebuilt WebSocket frame to many Tornado sockets.

This module is the only place that touches Tornado internals. The hub builds
a frame once per channel per tick and hands the same bytes to every viewer;
``WebSocketHandler.write_message`` would re-encode the text, rebuild the frame
and wrap each write in a Task, which at ten thousand viewers of one photo is
the whole CPU budget.

What we rely on (and ``check_tornado_internals`` verifies, so an upgrade that
changes it fails a test instead of silently corrupting streams):

* ``handler.ws_connection`` is a ``WebSocketProtocol13`` once open, ``None``
  after close; ``.stream`` is its ``IOStream``; ``.is_closing()`` exists.
* Server frames are unmasked, and with ``get_compression_options() -> None``
  no per-message-deflate compressor is created (``_compressor is None``), so
  a frame is the same bytes for every recipient.
* ``IOStream._total_write_index - IOStream._total_write_done_index`` is the
  number of bytes accepted by ``write()`` but not yet handed to the kernel,
  ``IOStream._write_buffer`` is empty (falsy) when nothing is queued,
  ``IOStream._connecting`` is False once connected, and ``IOStream.socket``
  is the plain non-blocking socket, so a frame may be sent directly when
  nothing is queued ahead of it.
"""

from __future__ import annotations

import socket
import struct

import tornado
import tornado.httputil
import tornado.iostream
import tornado.web
import tornado.websocket
from tornado.iostream import IOStream, StreamClosedError
from tornado.websocket import WebSocketHandler, WebSocketProtocol13

# "Try again later" (RFC 6455 §7.4.1, registered 1013): the client reconnects
# and resumes with ``since``, instead of us buffering without bound.
CLOSE_TRY_AGAIN_LATER = 1013

_FIN_TEXT = 0x81  # FIN bit | opcode 0x1 (text)


def encode_text_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final text frame carrying ``payload``."""
    length = len(payload)
    if length < 126:
        header = bytes((_FIN_TEXT, length))
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", _FIN_TEXT, 126, length)
    else:
        header = struct.pack("!BBQ", _FIN_TEXT, 127, length)
    return header + payload


def text_frame_payload(frame: bytes) -> bytes:
    """The payload of a frame made by ``encode_text_frame`` (the long-poll path reads the
    hub's frames back as JSON instead of writing them to a socket)."""
    if not frame or frame[0] != _FIN_TEXT:
        raise ValueError("not a text frame made by encode_text_frame")
    marker = frame[1]
    if marker < 126:
        return frame[2:]
    if marker == 126:
        return frame[4:]
    return frame[10:]


def write_frame(handler: WebSocketHandler, frame: bytes) -> bool:
    """Send ``frame`` on the handler's socket; False if the socket is closing.

    Most viewers keep up, so their stream has nothing queued: then the frame
    goes straight to the kernel with one ``send``, skipping the Future and
    callback that ``IOStream.write`` creates for every call (a third of the
    per-viewer cost). Whatever the kernel does not take, and every frame for a
    viewer that already has bytes queued, goes through ``IOStream.write`` so
    ordering and Tornado's own error handling are kept.
    """
    protocol = handler.ws_connection
    if protocol is None or protocol.is_closing():
        return False
    stream = protocol.stream
    if type(stream) is IOStream and not stream._write_buffer and not stream._connecting:
        try:
            sent = stream.socket.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            sent = 0  # let IOStream.write meet the error and close the stream its way
        if sent == len(frame):
            return True
        frame = frame[sent:]
    try:
        # The returned Future is not awaited: the stream already retrieves its
        # exception, and backpressure is measured by pending_bytes instead.
        stream.write(frame)
    except StreamClosedError:
        return False
    return True


def pending_bytes(handler: WebSocketHandler) -> int:
    """Bytes written to this socket that the kernel has not yet accepted."""
    protocol = handler.ws_connection
    if protocol is None or protocol.stream is None:
        return 0
    stream = protocol.stream
    return stream._total_write_index - stream._total_write_done_index


class WebSocketSubscriber:
    """Adapts a Tornado WebSocketHandler to the hub's ``Subscriber`` protocol.

    One small object per connection (slots, no task, no queue): idle viewers
    must stay cheap.
    """

    __slots__ = ("handler",)

    def __init__(self, handler: WebSocketHandler) -> None:
        self.handler = handler

    def send_frame(self, frame: bytes) -> bool:
        return write_frame(self.handler, frame)

    def pending_bytes(self) -> int:
        return pending_bytes(self.handler)

    def close_for_backpressure(self) -> None:
        self.handler.close(CLOSE_TRY_AGAIN_LATER, "try again later")

    def __repr__(self) -> str:
        return f"<WebSocketSubscriber {self.handler.request.remote_ip}>"


class TornadoInternalsChanged(RuntimeError):
    """Tornado no longer looks the way frames.py needs; do not serve sockets."""


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise TornadoInternalsChanged(
            f"tornado {tornado.version}: {what}; review tornagram/realtime/frames.py"
        )


class _NullConnection:
    """Just enough of an HTTP connection to construct a handler offline."""

    def set_close_callback(self, callback: object) -> None:
        return None


def check_tornado_internals() -> None:
    """Raise TornadoInternalsChanged if anything frames.py relies on moved.

    Needs a running IOLoop (it builds a real IOStream on a socket pair); the
    server calls it at startup and a test calls it on every run.
    """
    app = tornado.web.Application(websocket_ping_interval=None)
    request = tornado.httputil.HTTPServerRequest(
        start_line=tornado.httputil.RequestStartLine("GET", "/", "HTTP/1.1"),
        headers=tornado.httputil.HTTPHeaders({"Host": "localhost", "Sec-WebSocket-Version": "13"}),
        connection=_NullConnection(),  # type: ignore[arg-type]
    )
    handler = WebSocketHandler(app, request)
    _require(
        hasattr(handler, "ws_connection") and handler.ws_connection is None,
        "WebSocketHandler.ws_connection is not None before the handshake",
    )
    _require(handler.get_compression_options() is None, "WebSocketHandler compresses by default")
    protocol = handler.get_websocket_protocol()
    _require(
        type(protocol) is WebSocketProtocol13,
        f"get_websocket_protocol() returned {type(protocol).__name__}",
    )
    assert isinstance(protocol, WebSocketProtocol13)
    _require(protocol.mask_outgoing is False, "server frames would be masked")
    _require(
        getattr(protocol, "_compressor", "missing") is None,
        "a compressor exists although compression is off",
    )
    _require(
        hasattr(protocol, "stream") and callable(getattr(protocol, "is_closing", None)),
        "WebSocketProtocol13 lost .stream or .is_closing()",
    )
    _require(
        protocol.FIN == 0x80 and protocol.OPCODE_MASK == 0x0F, "frame header bit layout changed"
    )

    left, right = socket.socketpair()
    stream = IOStream(left)
    try:
        for name in ("_total_write_index", "_total_write_done_index"):
            _require(isinstance(getattr(stream, name, None), int), f"IOStream.{name} is gone")
        _require(getattr(stream, "_connecting", None) is False, "IOStream._connecting is gone")
        _require(
            stream.socket is left and left.getblocking() is False,
            "IOStream.socket is not the non-blocking socket it was given",
        )
        _require(
            not stream._write_buffer and len(stream._write_buffer) == 0,
            "an empty IOStream._write_buffer is not falsy",
        )
        # Nobody reads ``right``: the kernel fills up and the rest stays queued.
        chunk = b"x" * 65536
        for _ in range(128):
            stream.write(chunk)
        queued = stream._total_write_index - stream._total_write_done_index
        _require(
            0 < queued <= 128 * len(chunk) and queued == len(stream._write_buffer),
            "IOStream write indices no longer count queued bytes",
        )
    finally:
        stream.close()
        right.close()
