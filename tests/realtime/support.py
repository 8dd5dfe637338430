"""What the live tests share: a WebSocket to the real site as a person, reading what it is sent,
subscribing, and a room to talk in; `serve` processes sharing one Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import tornado.httpclient
import tornado.websocket

from tests.helpers import free_port, wait_healthy


async def connect(site, client=None, *, origin: str | None = "same", path: str = "/ws"):
    headers = {}
    if client is not None and client.session_cookie():
        headers["Cookie"] = f"session={client.session_cookie()}"
    if origin == "same":
        headers["Origin"] = site.base_url
    elif origin is not None:
        headers["Origin"] = origin
    url = site.base_url.replace("http://", "ws://") + path
    return await tornado.websocket.websocket_connect(
        tornado.httpclient.HTTPRequest(url, headers=headers)
    )


async def receive(ws, timeout: float = 5.0) -> list[dict]:
    """The next message as a list of objects (the server batches events into lists)."""
    raw = await asyncio.wait_for(ws.read_message(), timeout)
    assert raw is not None, "socket closed"
    value = json.loads(raw)
    return value if isinstance(value, list) else [value]


async def receive_until(ws, predicate, timeout: float = 5.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for item in await receive(ws, max(0.05, deadline - asyncio.get_running_loop().time())):
            if predicate(item):
                return item


async def subscribe(ws, channel: str, since: str | None = None) -> dict:
    message = {"op": "subscribe", "channel": channel}
    if since:
        message["since"] = since
    await ws.write_message(json.dumps(message))
    return await receive_until(
        ws, lambda m: m.get("channel") == channel and m.get("op") in ("subscribed", "error")
    )


async def open_room(site, client, slug="lake", title="By the lake"):
    r = await client.post("/rooms", {"slug": slug, "title": title, "cover": ""})
    assert r.status_code == 303, r.text
    return slug


# -- `serve` processes sharing one Redis ----------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
SECRET = "two-process-secret-" + "z" * 32


def start_server(data_dir: Path, port: int, redis_url: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "TORNAGRAM_COOKIE_SECRET": SECRET, "TORNAGRAM_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tornagram",
            "serve",
            "--port",
            str(port),
            "--redis-url",
            redis_url,
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


@asynccontextmanager
async def two_servers(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[str, str]]:
    """Two `serve` processes on one data directory and one Redis, healthy; their base URLs.
    Each must stop cleanly (exit 0) on SIGTERM."""
    port_a, port_b = free_port(), free_port()
    a = start_server(tmp_path, port_a, redis_url)
    try:
        await asyncio.to_thread(wait_healthy, port_a, a)
        b = start_server(tmp_path, port_b, redis_url)
        try:
            await asyncio.to_thread(wait_healthy, port_b, b)
            yield f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
        finally:
            assert stop(b) == 0
    finally:
        assert stop(a) == 0
