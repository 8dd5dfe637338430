"""Start and stop: migrate, bind, fork, serve until SIGTERM, then shut down gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

import tornado.httpserver
import tornado.netutil
import tornado.process

from tornagram.app import make_app
from tornagram.config import ConfigError, Settings
from tornagram.context import build_context
from tornagram.db import migrate
from tornagram.metrics import metrics_app
from tornagram.realtime import check_tornado_internals
from tornagram.web.draining import DrainingHTTPServer
from tornagram.web.uploads import remove_stale_upload_parts

log = logging.getLogger(__name__)

# Ordinary form posts (sign-up, settings with an avatar) are held in memory, so they are capped
# low; photo uploads stream and set their own, larger limit per request.
MAX_FORM_BODY_BYTES = 12 * 1024 * 1024
# In-flight requests (a slow upload's body included) get this long to finish after SIGTERM
# before their connections are cut: under systemd's TimeoutStopSec=35 in docs/deployment.md.
SHUTDOWN_GRACE_SECS = 25


def prepare_database(settings: Settings) -> None:
    """The embedded default migrates itself; a shared database is migrated on purpose."""
    if settings.uses_default_sqlite:
        migrate.upgrade(settings.database_url)
        return
    if not migrate.is_up_to_date(settings.database_url):
        raise ConfigError(
            "the database schema is not up to date: run `tornagram migrate --database-url …` "
            "before starting the server"
        )


def serve(settings: Settings) -> None:
    prepare_database(settings)
    sockets = tornado.netutil.bind_sockets(settings.port, settings.host)
    # Bound before forking, so a port in use stops the start rather than each worker in turn.
    metrics_sockets = [
        _bind_metrics(settings.metrics_port + i, settings.metrics_host)
        for i in range(settings.processes if settings.metrics_port else 0)
    ]
    task_id = None
    if settings.processes > 1:
        parent_pid = os.getpid()
        _forward_stop_signals(parent_pid)
        # Forks before any loop, engine or thread exists; each child builds its own. The
        # parent stays in fork_processes, restarting a worker that crashes, and exits once
        # every worker has stopped cleanly.
        task_id = tornado.process.fork_processes(settings.processes)
        _die_with_parent()
    worker_base = int(os.environ.get("TORNAGRAM_WORKER_ID", os.getpid() & 0x3FF))
    worker_id = (worker_base + (task_id or 0)) & 0x3FF
    own_metrics = None
    for i, bound in enumerate(metrics_sockets):
        if i == (task_id or 0):
            own_metrics = bound
        else:
            for sock in bound:  # another worker's port
                sock.close()
    asyncio.run(run_server(settings, sockets, worker_id=worker_id, metrics_sockets=own_metrics))


def _bind_metrics(port: int, host: str) -> list:
    try:
        return tornado.netutil.bind_sockets(port, host)
    except OSError as exc:
        raise ConfigError(f"cannot listen for metrics on {host}:{port}: {exc.strerror}") from exc


def start_http_server(ctx, sockets) -> DrainingHTTPServer:
    """Serve ``ctx``'s application on already-bound sockets (tests use this too)."""
    server = DrainingHTTPServer(
        # Never Tornado's xheaders: it trusts a client-set X-Real-Ip. The application reads
        # our proxy's headers itself (web/proxy.py) when --behind-proxy is given.
        make_app(ctx),
        max_body_size=MAX_FORM_BODY_BYTES,
    )
    server.add_sockets(sockets)
    return server


def _child_pids() -> list[int]:
    pids = []
    for children in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        pids.extend(int(pid) for pid in children.read_text().split())
    return pids


def _forward_stop_signals(parent_pid: int) -> None:
    """SIGTERM to the parent (systemd, Ctrl-C, a test) stops every worker gracefully."""

    def forward(signum, _frame) -> None:
        if os.getpid() != parent_pid:
            return  # a worker that has not installed its own handlers yet
        for pid in _child_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)


def _die_with_parent() -> None:
    """If the parent is killed outright, its workers get SIGTERM rather than living on."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1  # the name from <sys/prctl.h>
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the forwarded SIGTERM above still covers the normal case


async def sweep_crash_debris(ctx) -> int:
    """Remove temp files a crash left: upload parts in <data-dir>/tmp and half-written media
    (``.tmp-*``). Only old ones: another process on the same data dir may be writing its own."""
    parts = await asyncio.to_thread(remove_stale_upload_parts, ctx.settings.data_dir / "tmp")
    # Only a backend that writes through temporary files has any (S3 uploads are atomic).
    sweep = getattr(ctx.storage, "remove_stale_temp_files", None)
    media = await sweep() if sweep is not None else 0
    if parts or media:
        log.info("removed %d stale upload and %d stale media temp files", parts, media)
    return parts + media


def start_metrics_server(ctx, sockets) -> tornado.httpserver.HTTPServer | None:
    """Serve ``/metrics`` on its own sockets (tornagram/metrics.py), when metrics are on."""
    if ctx.metrics is None or not sockets:
        return None
    server = tornado.httpserver.HTTPServer(metrics_app(ctx.metrics))
    server.add_sockets(sockets)
    return server


async def run_server(
    settings: Settings, sockets, *, worker_id: int | None = None, metrics_sockets=None
) -> None:
    # Refuse to serve live sockets on a Tornado whose internals no longer match frames.py.
    check_tornado_internals()
    ctx = build_context(settings, worker_id=worker_id)
    await ctx.start()
    await sweep_crash_debris(ctx)
    server = start_http_server(ctx, sockets)
    metrics_server = start_metrics_server(ctx, metrics_sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ctx.ready = True
    log.info(
        "Tornagram is serving at http://%s:%d/ (database: %s)",
        settings.host,
        settings.port,
        settings.database_url.split("://", 1)[0],
    )
    if metrics_server is not None:
        host, port = metrics_sockets[0].getsockname()[:2]
        log.info("metrics at http://%s:%d/metrics", host, port)
    await stop.wait()
    log.info("shutting down: no new connections, finishing requests in flight")
    ctx.ready = False
    ctx.stopping = True
    # Live sockets would hold the shutdown open: tell them to come back later (1001), and answer
    # waiting long-polls now, so their clients reconnect to a process that is staying.
    ctx.close_sockets()
    await server.drain(SHUTDOWN_GRACE_SECS)
    if metrics_server is not None:
        metrics_server.stop()
    await ctx.close()
