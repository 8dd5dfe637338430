"""An HTTPServer that, asked to stop, finishes what it started.

Tornado's ``close_all_connections()`` closes every stream at once: a sign-up being written, an
upload halfway through its body and a response being rendered are all cut. ``drain()`` instead
stops accepting, lets each request already begun run to its end (its response says
``Connection: close``), answers a request arriving on a kept-alive connection the same way,
closes idle connections once nothing is in flight, and cuts what is left only when
the grace period runs out.
"""

from __future__ import annotations

import asyncio
import logging

import tornado.httpserver
from tornado import httputil
from tornado.http1connection import HTTP1Connection

log = logging.getLogger(__name__)


def _check_internals() -> None:
    # drain() sets HTTP1Connection._disconnect_on_finish and watches _finish_future: refuse to
    # start on a Tornado whose connection no longer has them, rather than cut requests again.
    probe = HTTP1Connection.__init__.__code__.co_names
    for name in ("_disconnect_on_finish", "_finish_future"):
        if name not in probe:
            raise RuntimeError(f"tornado.http1connection.HTTP1Connection has no {name}")


_check_internals()


class DrainingHTTPServer(tornado.httpserver.HTTPServer):
    def initialize(self, *args, **kwargs) -> None:
        super().initialize(*args, **kwargs)
        self.draining = False
        # Server connection → the request it is serving now (absent while idle between requests).
        self._busy: dict[object, HTTP1Connection] = {}
        self._quiet = asyncio.Event()

    def start_request(self, server_conn, request_conn) -> httputil.HTTPMessageDelegate:
        inner = super().start_request(server_conn, request_conn)
        return _Tracked(self, server_conn, request_conn, inner)

    @property
    def requests_in_flight(self) -> int:
        return len(self._busy)

    def _began(self, server_conn, request_conn: HTTP1Connection) -> None:
        self._busy[server_conn] = request_conn
        if self.draining:
            # A request on a kept-alive connection after drain began is answered, then the
            # connection is closed: the header tells the client (or nginx) not to reuse it.
            request_conn._disconnect_on_finish = True
        request_conn._finish_future.add_done_callback(
            lambda _f: self._ended(server_conn, request_conn)
        )

    def _ended(self, server_conn, request_conn: HTTP1Connection) -> None:
        if self._busy.get(server_conn) is request_conn:
            del self._busy[server_conn]
        if self.draining and not self._busy:
            self._quiet.set()

    def on_close(self, server_conn) -> None:
        self._busy.pop(server_conn, None)
        super().on_close(server_conn)
        if self.draining and not self._busy:
            self._quiet.set()

    def _close_idle(self) -> None:
        for conn in list(self._connections):
            if conn not in self._busy:
                conn.stream.close()

    async def drain(self, grace_secs: float) -> bool:
        """Stop accepting, let requests in flight finish; True if all did within the grace."""
        self.stop()
        self.draining = True
        for request_conn in self._busy.values():
            request_conn._disconnect_on_finish = True
        # Idle kept-alive connections stay open while others finish: a request that arrives on
        # one is answered (with Connection: close) rather than met by a reset.
        if self._busy:
            try:
                await asyncio.wait_for(self._quiet.wait(), grace_secs)
            except TimeoutError:
                log.warning(
                    "%d requests were still running after %gs; closing them",
                    len(self._busy),
                    grace_secs,
                )
                await self.close_all_connections()
                return False
        self._close_idle()
        await self.close_all_connections()
        return True


class _Tracked(httputil.HTTPMessageDelegate):
    """Passes everything through; tells the server when a request has begun."""

    def __init__(self, server, server_conn, request_conn, inner) -> None:
        self.server = server
        self.server_conn = server_conn
        self.request_conn = request_conn
        self.inner = inner

    def headers_received(self, start_line, headers):
        self.server._began(self.server_conn, self.request_conn)
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk):
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        self.inner.finish()

    def on_connection_close(self) -> None:
        self.inner.on_connection_close()
