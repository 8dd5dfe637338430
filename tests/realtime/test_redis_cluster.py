"""The broker on a Redis Cluster: channels are sharded over the masters, and events published
through one process reach listeners in another whichever master holds their channel. (The
broker contract suite runs on the cluster too, through the ``broker`` fixture.)"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from tests.helpers import LocalRedisCluster
from tests.realtime.rt_support import wait_until
from tornagram.cache import RedisChanges
from tornagram.config import ConfigError, build_settings
from tornagram.realtime import BrokerUnavailable
from tornagram.realtime.events import REPLAY_INCOMPLETE
from tornagram.realtime.redis_broker import RedisBroker
from tornagram.redis_client import RedisUrlError, cluster_nodes, connect, safe_url


@pytest.fixture
async def cluster_brokers(redis_cluster_url):
    prefix = f"tgtest:{uuid.uuid4().hex[:12]}:"
    brokers = [RedisBroker(redis_cluster_url, prefix=prefix) for _ in range(2)]
    for broker in brokers:
        await broker.start()
        assert broker.healthy
    yield brokers
    for broker in brokers:
        await broker.close()


def shard_subscribers(url: str, subjects: list[str]) -> dict[int, int]:
    """Subscribers of ``subjects`` counted on each master (by port)."""
    found = {}
    for host, port in cluster_nodes(url)[0]:
        node = redis.Redis(host=host, port=port, decode_responses=True)
        replies = node.execute_command("PUBSUB", "SHARDNUMSUB", *subjects)
        node.close()
        found[port] = sum(int(n) for n in replies[1::2])
    return found


async def test_channels_spread_over_the_masters_and_reach_the_other_process(
    cluster_brokers, redis_cluster_url
):
    publisher, watcher = cluster_brokers
    heard = []
    watcher.add_listener(heard.append)
    channels = [f"post:{n}" for n in range(1, 25)]
    for channel in channels:
        await watcher.watch(channel)
    subjects = [watcher._subject(channel) for channel in channels]
    per_master = shard_subscribers(redis_cluster_url, subjects)
    # Each channel is subscribed once, on the master owning its slot, and not all on one.
    assert sum(per_master.values()) == len(channels)
    assert sum(1 for count in per_master.values() if count) >= 2, per_master
    sent = [await publisher.publish(channel, "comment.created", {"c": channel}) for channel in channels]
    await wait_until(lambda: len(heard) == len(channels), 10, "every channel's event")
    assert sorted((e.channel, e.id) for e in heard) == sorted((e.channel, e.id) for e in sent)
    # Unwatching leaves the masters with no subscription of ours.
    for channel in channels:
        await watcher.unwatch(channel)
    await wait_until(
        lambda: sum(shard_subscribers(redis_cluster_url, subjects).values()) == 0,
        10,
        "the shard subscriptions to go",
    )


async def test_a_channel_stream_and_its_subject_share_a_slot(cluster_brokers, redis_cluster_url):
    broker = cluster_brokers[0]
    client = connect(redis_cluster_url)
    try:
        for channel in ("post:7", "room:lobby", "user:12", "control:live"):
            assert client.keyslot(broker._stream_key(channel)) == client.keyslot(
                broker._subject(channel)
            )
        # And the replay window is read back from the master that holds it.
        event = await broker.publish("room:lobby", "chat.message", {"text": "猫"})
        result = await broker.replay("room:lobby", "0-0")
        assert [e.id for e in result.events][-1] == event.id
    finally:
        await client.aclose()


def test_cluster_urls_are_checked(tmp_path):
    assert cluster_nodes("redis+cluster://10.0.0.1:7000,[::1]:7001") == (
        [("10.0.0.1", 7000), ("::1", 7001)],
        None,
        None,
    )
    assert cluster_nodes("redis+cluster://app:s%40cret@h:7000")[1:] == ("app", "s@cret")
    # Log lines name the nodes, never the password.
    assert safe_url("redis+cluster://app:s3cret@h:7000,g:7000") == (
        "redis+cluster://app:***@h:7000,g:7000"
    )
    assert safe_url("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert safe_url("redis://h:6379/0") == "redis://h:6379/0"
    for bad in ("redis+cluster://h", "redis+cluster://h:0", "redis+cluster://h:7000,"):
        with pytest.raises(RedisUrlError):
            cluster_nodes(bad)
    with pytest.raises(ConfigError, match="redis\\+cluster://"):
        build_settings(data_dir=tmp_path, cookie_secret="s" * 40, redis_url="http://h:1")


async def test_a_site_on_the_cluster_starts_and_publishes(tmp_path, redis_cluster_url):
    from tornagram.context import build_context

    settings = build_settings(
        data_dir=tmp_path, cookie_secret="s" * 40, redis_url=redis_cluster_url
    )
    ctx = build_context(settings)
    await ctx.start()
    try:
        assert ctx.broker.healthy
        await wait_until(lambda: ctx.db.changes.usable, 10, "the cache changes subscription")
        await ctx.db.changes.changed({"post:1"})
        assert ctx.db.changes.published >= 1
    finally:
        await asyncio.wait_for(ctx.close(), 30)


@pytest.fixture
def own_cluster(tmp_path, redis_cluster_url):
    """A cluster of this test's own, to stop a node of (``redis_cluster_url`` says whether
    Redis 7 is here at all)."""
    cluster = LocalRedisCluster(tmp_path / "cluster")
    problem = cluster.start()
    assert problem is None, problem
    yield cluster
    cluster.stop()


async def test_a_master_that_restarts_loses_no_channel(own_cluster):
    prefix = f"tgtest:{uuid.uuid4().hex[:12]}:"
    watcher = RedisBroker(own_cluster.url, prefix=prefix)
    publisher = RedisBroker(own_cluster.url, prefix=prefix)
    await watcher.start()
    await publisher.start()
    heard = []
    watcher.add_listener(heard.append)
    try:
        client = connect(own_cluster.url)
        await client.initialize()
        # Two channels on different masters.
        owner = {}
        for n in range(1, 50):
            port = client.get_node_from_key(watcher._subject(f"post:{n}")).port
            owner.setdefault(port, f"post:{n}")
        await client.aclose()
        (down_port, down_channel), (_up_port, up_channel) = list(owner.items())[:2]
        for channel in (down_channel, up_channel):
            await watcher.watch(channel)
        await publisher.publish(down_channel, "comment.created", {"n": "before"})
        await wait_until(lambda: len(heard) == 1, 10, "the first event")

        own_cluster.stop_node(down_port)
        await wait_until(lambda: not watcher.healthy, 10, "the watcher to notice")
        with pytest.raises(BrokerUnavailable):
            await publisher.publish(down_channel, "comment.created", {"n": "lost"})
        await asyncio.to_thread(own_cluster.restart_node, down_port)
        await wait_until(lambda: watcher.healthy, 20, "the watcher to subscribe again")

        await publish_when_taken(publisher, down_channel, "after")
        await publish_when_taken(publisher, up_channel, "after")
        await wait_until(
            lambda: {e.channel for e in heard if e.data.get("n") == "after"}
            == {down_channel, up_channel},
            10,
            "events after the restart on both channels",
        )
        # The publish that failed is not silently missing: both channels were told of a gap.
        markers = {e.channel for e in heard if e.type == REPLAY_INCOMPLETE}
        assert markers == {down_channel, up_channel}
    finally:
        await watcher.close()
        await publisher.close()


async def publish_when_taken(broker, channel: str, n: str, *, tries: int = 300) -> None:
    for _ in range(tries):
        try:
            await broker.publish(channel, "comment.created", {"n": n})
            return
        except BrokerUnavailable:
            await asyncio.sleep(0.1)
    raise AssertionError(f"{channel} never took a publish again")


@pytest.fixture
def replicated_cluster(tmp_path, redis_cluster_url):
    cluster = LocalRedisCluster(tmp_path / "replicated", replicas=1)
    problem = cluster.start()
    assert problem is None, problem
    yield cluster
    cluster.stop()


async def test_a_replica_promoted_in_place_of_a_dead_master_carries_the_channel(
    replicated_cluster,
):
    prefix = f"tgtest:{uuid.uuid4().hex[:12]}:"
    watcher = RedisBroker(replicated_cluster.url, prefix=prefix)
    publisher = RedisBroker(replicated_cluster.url, prefix=prefix)
    await watcher.start()
    await publisher.start()
    heard = []
    opened: list[RedisChanges] = []
    watcher.add_listener(heard.append)
    try:
        channel = "post:42"
        client = connect(replicated_cluster.url)
        await client.initialize()
        master = client.get_node_from_key(watcher._subject(channel)).port
        # The cache announcements on the same master, in two processes.
        changes_channel = next(
            name
            for name in (f"tgtest:changes:{uuid.uuid4().hex}" for _ in range(1000))
            if client.get_node_from_key(name).port == master
        )
        await client.aclose()
        writer = RedisChanges(replicated_cluster.url, channel=changes_channel)
        reader = RedisChanges(replicated_cluster.url, channel=changes_channel)
        opened.extend((writer, reader))
        await writer.start()
        await reader.start()
        await wait_until(lambda: writer.usable and reader.usable, 10, "cache subscriptions")
        await watcher.watch(channel)
        await publisher.publish(channel, "comment.created", {"n": "before"})
        await wait_until(lambda: len(heard) == 1, 10, "the first event")

        replicated_cluster.stop_node(master)
        # The cluster promotes the master's replica after its node timeout (2 s here).
        await publish_when_taken(publisher, channel, "after")
        await wait_until(
            lambda: any(e.data.get("n") == "after" for e in heard), 20, "the event after failover"
        )
        assert [e.channel for e in heard if e.type == REPLAY_INCOMPLETE] == [channel]
        # The caches stood aside while their master was gone, and hear changes again now.
        await wait_until(lambda: writer.usable and reader.usable, 20, "cache subscriptions back")
        stamp = reader.stamp()
        await writer.changed(["post:9"])
        await wait_until(lambda: not reader.fresh(stamp, ["post:9"]), 10, "the change heard")
        client = connect(replicated_cluster.url)
        await client.initialize()
        assert client.get_node_from_key(watcher._subject(channel)).port != master
        await client.aclose()
    finally:
        await watcher.close()
        await publisher.close()
        for changes in opened:
            await changes.close()
