"""Redis across processes and across a Redis restart, over real sockets."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tornado.websocket import websocket_connect

from tests.helpers import free_port, start_redis, wait_for_port
from tests.realtime.rt_support import wait_until
from tornagram.realtime import BrokerUnavailable, Hub
from tornagram.realtime.redis_broker import RedisBroker

REPO = Path(__file__).resolve().parents[2]


async def read_events(conn, count: int, timeout: float = 5.0) -> list[dict]:
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while len(events) < count:
        message = await asyncio.wait_for(conn.read_message(), deadline - time.monotonic())
        assert message is not None, "socket closed"
        decoded = json.loads(message)
        events += decoded if isinstance(decoded, list) else [decoded]
    return events


@pytest.mark.slow
async def test_delivery_survives_a_redis_restart(serve, redis_server_binary):
    port = free_port()
    redis_proc = start_redis(redis_server_binary, port)
    broker = RedisBroker(f"redis://127.0.0.1:{port}/0", prefix="tgtest:restart:")
    try:
        await wait_for_port(port)
        await broker.start()
        assert broker.healthy
        hub = Hub(broker, tick_secs=0.05)
        ws_port = serve(hub)
        conn = await websocket_connect(f"ws://127.0.0.1:{ws_port}/ws?channel=post:1")
        await wait_until(lambda: hub.count("post:1") == 1)
        before = await broker.publish("post:1", "comment.created", {"n": 1})
        assert [e["id"] for e in await read_events(conn, 1)] == [before.id]

        redis_proc.kill()
        redis_proc.wait()
        await wait_until(lambda: not broker.healthy, timeout=5, what="broker notices the outage")
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            await broker.publish("post:1", "comment.created", {"n": 2})
        assert time.monotonic() - started < 1.5, "publish must fail fast while Redis is down"

        redis_proc = start_redis(redis_server_binary, port)
        restarted = time.monotonic()
        await wait_for_port(port)
        while True:  # the first publish after the restart that Redis accepts
            try:
                after = await broker.publish("post:1", "comment.created", {"n": 3})
                break
            except BrokerUnavailable:
                assert time.monotonic() - restarted < 10
                await asyncio.sleep(0.05)
        got = await read_events(conn, 1, timeout=10 - (time.monotonic() - restarted))
        while got[-1]["id"] != after.id:
            got += await read_events(conn, 1, timeout=10 - (time.monotonic() - restarted))
        # The comment published while Redis was away is gone for good: the socket that stayed
        # open is told so (the page reloads its comments), then hears what came after.
        assert {e["event"] for e in got[:-1]} == {"replay.incomplete"}
        assert got[0]["data"] == {"since": before.id}
        assert time.monotonic() - restarted < 10
        assert broker.healthy
        conn.close()
    finally:
        await broker.close()
        redis_proc.kill()
        redis_proc.wait()


async def test_two_hubs_in_one_process_share_events(serve, make_redis_broker):
    broker_a = await make_redis_broker()
    broker_b = await make_redis_broker()
    hub_a, hub_b = Hub(broker_a), Hub(broker_b)
    serve(hub_a)
    port_b = serve(hub_b)
    conn = await websocket_connect(f"ws://127.0.0.1:{port_b}/ws?channel=room:lobby")
    await wait_until(lambda: hub_b.count("room:lobby") == 1)
    event = await broker_a.publish("room:lobby", "chat.message", {"text": "来自 A"})
    assert await read_events(conn, 1) == [event.to_wire()]
    # ...and a viewer of B resuming from before it gets it by replay through Redis.
    late = await websocket_connect(
        f"ws://127.0.0.1:{port_b}/ws?channel=room:lobby&since={int(event.id.split('-')[0]) - 1}-0"
    )
    assert await read_events(late, 1) == [event.to_wire()]
    conn.close()
    late.close()


@pytest.mark.slow
async def test_an_event_published_here_reaches_a_socket_on_another_process(
    redis_url, redis_prefix, make_redis_broker
):
    publisher = await make_redis_broker()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    peer = subprocess.Popen(
        [sys.executable, "-m", "tests.realtime.peer_server", "--port", str(port),
         "--redis-url", redis_url, "--prefix", redis_prefix],
        cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    try:
        assert peer.stdout is not None
        line = await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(None, peer.stdout.readline), 20
        )
        assert line.strip() == b"READY", line
        conn = await websocket_connect(f"ws://127.0.0.1:{port}/ws?channel=post:77")
        # The peer subscribes asynchronously after the handshake; publish until it hears.
        deadline = time.monotonic() + 10
        sent = []
        while True:
            sent.append(await publisher.publish("post:77", "comment.created", {"n": len(sent)}))
            try:
                message = await asyncio.wait_for(conn.read_message(), 0.3)
                break
            except TimeoutError:
                assert time.monotonic() < deadline, "peer process never delivered"
        first = json.loads(message)
        first = first[0] if isinstance(first, list) else first
        assert first["id"] in {e.id for e in sent} and first["channel"] == "post:77"
        conn.close()
    finally:
        assert peer.stdin is not None
        peer.stdin.close()
        try:
            peer.wait(10)
        except subprocess.TimeoutExpired:
            peer.kill()
            peer.wait()
