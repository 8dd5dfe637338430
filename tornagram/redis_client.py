"""One Redis URL → one asyncio client, for a single Redis or a Redis Cluster.

``redis://host:port/db`` (and ``rediss://``, ``unix://``) is a single Redis. A URL of the form
``redis+cluster://host:port[,host:port…]`` (optionally ``redis+cluster://user:pass@…``) names
some nodes of a Redis Cluster; the client learns the rest from them. Everything that uses Redis
(the live-event broker, the cache-change announcements) makes its client here and then speaks
the same few commands either way:

* ``publish`` and ``pubsub()`` are *sharded* on a cluster (SPUBLISH, SSUBSCRIBE, Redis 7+): a
  channel lives on the master that owns its hash slot, so no node carries every channel's
  traffic, as a cluster's classic PUBLISH would (it is sent to every node).
* keys and a channel that one Lua script touches together must share a slot: their callers
  wrap the part they share in a hash tag (``tg:stream:{post:42}``, ``tg:ch:{post:42}``).

A subscriber notices a slot that moved (a failover, a resharding) because the node says
``sunsubscribe`` unasked; ``ShardedPubSub`` then fails like a lost connection, and the caller's
own reconnect loop subscribes again, at the new owner, and replays what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.parse
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError

from tornagram.config import ConfigError

CLUSTER_SCHEME = "redis+cluster"
# A subscribed node that has said nothing (not even a pong) for this long is taken for dead.
DEAD_AFTER_SECS = 3.0


class RedisUrlError(ConfigError):
    """A Redis URL that cannot work; the message says why."""


def is_cluster(url: str) -> bool:
    return url.split("://", 1)[0].lower() == CLUSTER_SCHEME


def cluster_nodes(url: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    """The ``(host, port)`` pairs of a ``redis+cluster://`` URL, and its user and password."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    rest = rest.split("/", 1)[0].split("?", 1)[0]
    username = password = None
    if "@" in rest:
        auth, rest = rest.rsplit("@", 1)
        user, _, secret = auth.partition(":")
        username = urllib.parse.unquote(user) or None
        password = urllib.parse.unquote(secret) or None
    nodes = []
    for part in rest.split(","):
        host, sep, port = part.strip().rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise RedisUrlError(
                f"a Redis Cluster URL lists host:port pairs, e.g. "
                f"redis+cluster://10.0.0.1:7000,10.0.0.2:7000, not {part.strip()!r}"
            )
        nodes.append((host.strip("[]"), int(port)))
    return nodes, username, password


def safe_url(url: str) -> str:
    """``url`` fit for a log line: any password in it replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    auth, at, hosts = rest.partition("@")
    user, colon, _secret = auth.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}{at}{hosts}"


def connect(url: str, **kwargs: Any) -> aioredis.Redis | Cluster:
    """A client for ``url``; ``kwargs`` (timeouts, retry, decoding) apply to every connection."""
    if not is_cluster(url):
        return aioredis.from_url(url, **kwargs)
    nodes, username, password = cluster_nodes(url)
    if username:
        kwargs.setdefault("username", username)
    if password:
        kwargs.setdefault("password", password)
    return Cluster(nodes, kwargs)


class Cluster(RedisCluster):
    """redis-py's cluster client, whose ``publish`` and ``pubsub`` are the sharded kinds."""

    def __init__(self, nodes: list[tuple[str, int]], connection_kwargs: dict[str, Any]) -> None:
        # Kept for the connections ShardedPubSub opens to each master itself.
        self.node_kwargs = dict(connection_kwargs)
        super().__init__(
            startup_nodes=[ClusterNode(host, port) for host, port in nodes], **connection_kwargs
        )

    async def publish(self, channel, message, **kwargs):  # type: ignore[override]
        return await self.spublish(channel, message)

    def pubsub(self, **_kwargs) -> ShardedPubSub:  # type: ignore[override]
        return ShardedPubSub(self)


class ShardedPubSub:
    """What our subscribers use of redis-py's ``PubSub`` (``subscribe``, ``unsubscribe``,
    ``get_message``, ``ping``, ``aclose``), over a cluster's sharded pub/sub.

    Each channel is subscribed on the master that owns its slot, one connection per master;
    a reader per connection puts what arrives on one queue, so each channel's messages come out
    in the order its node sent them. Messages look like ``PubSub``'s: ``subscribe`` for a
    confirmation, ``message`` for a message, ``pong`` for a pong.
    """

    def __init__(self, cluster: Cluster, *, dead_after_secs: float = DEAD_AFTER_SECS) -> None:
        self._cluster = cluster
        self._dead_after = dead_after_secs
        self._clients: dict[str, aioredis.Redis] = {}
        self._pubsubs: dict[str, Any] = {}
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._heard_at: dict[str, float] = {}
        self._node_of: dict[str, str] = {}
        self._leaving: set[str] = set()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = False

    async def subscribe(self, *channels: str) -> None:
        await self._cluster.initialize()
        for channel in channels:
            node = self._cluster.get_node_from_key(channel)
            pubsub = self._pubsub_on(node)
            self._node_of[channel] = node.name
            self._leaving.discard(channel)
            try:
                await pubsub.ssubscribe(channel)
            except Exception:
                # The node may be gone for good (failed over): ask the cluster where the slots
                # are now, so the caller's next attempt goes to the current owner.
                with contextlib.suppress(Exception):
                    await self._cluster.nodes_manager.initialize()
                raise
            self._start_reader(node.name)

    async def unsubscribe(self, *channels: str) -> None:
        for channel in channels:
            name = self._node_of.pop(channel, None)
            if name is not None and name in self._pubsubs:
                self._leaving.add(channel)
                await self._pubsubs[name].sunsubscribe(channel)

    # The signature of redis-py's PubSub.get_message, which callers already use.
    async def get_message(
        self,
        timeout: float = 0.0,  # noqa: ASYNC109
        **_kwargs,
    ) -> dict[str, Any] | None:
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    async def ping(self) -> None:
        now = time.monotonic()
        for name, pubsub in list(self._pubsubs.items()):
            if not pubsub.subscribed:
                # Nothing left on this node: nothing to hear, and a pong would go unread.
                self._heard_at[name] = now
                continue
            if now - self._heard_at.get(name, now) > self._dead_after:
                raise TimeoutError(f"Redis Cluster node {name} stopped answering pings")
            await pubsub.ping()

    async def aclose(self) -> None:
        self._closed = True
        readers = list(self._readers.values())
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for pubsub in self._pubsubs.values():
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                await client.aclose()
        self._readers.clear()
        self._pubsubs.clear()
        self._clients.clear()

    # -- per node ------------------------------------------------------------------------

    def _pubsub_on(self, node: ClusterNode) -> Any:
        pubsub = self._pubsubs.get(node.name)
        if pubsub is None:
            client = aioredis.Redis(
                host=node.host, port=node.port, **self._cluster.node_kwargs
            )
            self._clients[node.name] = client
            pubsub = self._pubsubs[node.name] = client.pubsub()
            self._heard_at[node.name] = time.monotonic()
        return pubsub

    def _start_reader(self, name: str) -> None:
        if name not in self._readers:
            self._readers[name] = asyncio.create_task(
                self._read(name), name=f"redis-cluster-pubsub-{name}"
            )

    async def _read(self, name: str) -> None:
        pubsub = self._pubsubs[name]
        try:
            while not self._closed:
                message = await pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                self._heard_at[name] = time.monotonic()
                kind = message["type"]
                if kind == "smessage":
                    self._queue.put_nowait({**message, "type": "message"})
                elif kind == "ssubscribe":
                    self._queue.put_nowait({**message, "type": "subscribe"})
                elif kind == "sunsubscribe":
                    channel = message["channel"]
                    channel = channel.decode() if isinstance(channel, bytes) else channel
                    if channel in self._leaving:
                        self._leaving.discard(channel)
                        continue
                    # Unasked: the slot moved to another node (failover, resharding).
                    raise RedisConnectionError(f"the slot of {channel} moved away from {name}")
                elif kind == "pong":
                    self._queue.put_nowait(message)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._queue.put_nowait(exc)
