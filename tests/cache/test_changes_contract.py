"""One contract for every ``Changes``: in one process, through Redis, announce-only and off.

The Redis implementations use the shared Redis on a channel of their own (nothing is flushed);
they skip with a reason when no Redis is reachable, and fail instead under CI=true.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.cache.support import until
from tests.helpers import REDIS_URL, shared_redis
from tornagram.cache import Changes, LocalChanges, NoCaches, RedisChanges

SERVING = {"local", "redis", "redis-cluster"}  # the others never let a cache answer


@pytest.fixture(params=["local", "off", "redis", "redis-announce-only", "redis-cluster"])
async def changes(request) -> AsyncIterator[Changes]:
    kind = request.param
    if kind == "local":
        made: Changes = LocalChanges()
    elif kind == "off":
        made = NoCaches()
    elif kind == "redis-cluster":
        # Sharded pub/sub on the cluster's master for the channel's slot.
        channel = f"tgtest:changes:{uuid.uuid4().hex}"
        made = RedisChanges(request.getfixturevalue("redis_cluster_url"), channel=channel)
    else:
        shared_redis()
        channel = f"tgtest:changes:{uuid.uuid4().hex}"
        made = RedisChanges(REDIS_URL, channel=channel, serve=kind == "redis")
    await made.start()
    if kind in SERVING:
        await until(lambda: made.usable, what="usable after start")
    made.kind = kind  # type: ignore[attr-defined]
    try:
        yield made
    finally:
        await made.close()


def test_is_a_changes(changes):
    assert isinstance(changes, Changes)


def test_only_the_serving_kinds_let_caches_answer(changes):
    assert changes.usable == (changes.kind in SERVING)


async def test_a_change_makes_earlier_reads_of_its_topics_stale(changes):
    stamp = changes.stamp()
    assert changes.fresh(stamp, ["post:1", "user:2"])
    await changes.changed(["post:1"])
    assert not changes.fresh(stamp, ["post:1", "user:2"])
    assert changes.fresh(stamp, ["user:2", "post:3"])  # other topics are untouched
    assert changes.fresh(changes.stamp(), ["post:1"])  # a read after the change is fresh


async def test_stamps_never_go_down(changes):
    seen = [changes.stamp()]
    for topics in (["a"], ["b", "c"], ["a"]):
        await changes.changed(topics)
        seen.append(changes.stamp())
    await changes.everything_changed()
    seen.append(changes.stamp())
    assert seen == sorted(seen) and seen[-1] > seen[0]


async def test_everything_changed_resets_and_tells_the_stores(changes):
    resets: list[int] = []
    changes.on_reset(lambda: resets.append(1))
    stamp = changes.stamp()
    await changes.everything_changed()
    assert resets and not changes.fresh(stamp, [])
    assert changes.fresh(changes.stamp(), ["post:1"])


async def test_changing_nothing_changes_nothing(changes):
    stamp = changes.stamp()
    await changes.changed([])
    assert changes.fresh(stamp, ["post:1"])


async def test_close_then_close_again(changes):
    await changes.close()  # the fixture closes once more
