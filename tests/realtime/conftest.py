"""Fixtures for the realtime tests: brokers, hub servers on free ports, Redis."""

from __future__ import annotations

import asyncio
import io
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import redis

from tests.helpers import REDIS_URL, require
from tests.realtime.rt_support import hub_app, listen
from tornagram.realtime import Hub, InProcessBroker
from tornagram.realtime.redis_broker import RedisBroker


@pytest.fixture
def redis_server_binary() -> str:
    path = shutil.which("redis-server")
    require(path is not None, "redis-server binary", "not on PATH")
    assert path is not None
    return path


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """Keys of one test, so tests never see each other's streams."""
    prefix = f"tgtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    except (redis.RedisError, OSError):
        pass  # no Redis, nothing to clean


@pytest.fixture
async def make_redis_broker(redis_url, redis_prefix) -> AsyncIterator[Callable[..., RedisBroker]]:
    brokers: list[RedisBroker] = []

    async def make(**kwargs) -> RedisBroker:
        broker = RedisBroker(redis_url, prefix=redis_prefix, **kwargs)
        await broker.start()
        assert broker.healthy, "Redis broker did not connect"
        brokers.append(broker)
        return broker

    yield make
    for broker in brokers:
        await broker.close()


@pytest.fixture(params=["redis", "redis-cluster"])
def any_redis_url(request) -> str:
    """A single Redis, then a Redis Cluster: what runs on one must run on the other."""
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return request.getfixturevalue("redis_cluster_url")


@pytest.fixture(params=["inprocess", "redis", "redis-cluster"])
def broker_backend(request) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_url")  # skips, or fails under CI, without Redis
    if request.param == "redis-cluster":
        request.getfixturevalue("redis_cluster_url")
    return request.param


@pytest.fixture
async def broker(
    request, broker_backend, redis_prefix
) -> AsyncIterator[InProcessBroker | RedisBroker]:
    if broker_backend == "inprocess":
        broker: InProcessBroker | RedisBroker = InProcessBroker()
    elif broker_backend == "redis-cluster":
        broker = RedisBroker(request.getfixturevalue("redis_cluster_url"), prefix=redis_prefix)
    else:
        broker = RedisBroker(REDIS_URL, prefix=redis_prefix)
    await broker.start()
    assert broker.healthy, f"{broker_backend} broker did not start"
    yield broker
    await broker.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Hub], int]]:
    """Start a hub-backed WebSocket server on a free port; returns the port."""
    servers = []
    hubs: list[Hub] = []

    def start(hub: Hub, *extra_routes) -> int:
        server, port = listen(hub_app(hub, *extra_routes))
        servers.append(server)
        hubs.append(hub)
        return port

    yield start
    # Each step is bounded so that a stuck close fails this test with the stuck tasks named,
    # instead of hanging the whole run.
    for server in servers:
        server.stop()
        await _bounded(server.close_all_connections(), "closing the test server's connections")
    for hub in hubs:
        await _bounded(hub.close(), "closing a hub")


async def _bounded(step, what: str, timeout: float = 15.0) -> None:
    try:
        await asyncio.wait_for(step, timeout)
    except TimeoutError:
        stacks = io.StringIO()
        for task in asyncio.all_tasks():
            task.print_stack(file=stacks)
        pytest.fail(f"{what} took over {timeout:.0f} s; tasks:\n{stacks.getvalue()}")
