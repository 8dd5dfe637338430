"""The change stamps behind every cache (tornagram/cache/): an entry is served only while
nothing it was read from has changed since its read began, in this process or another."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.helpers import require
from tornagram.cache import Changes, FragmentCache, LocalChanges, RedisChanges, Store


def store(changes: Changes, **kwargs) -> Store:
    return Store(changes, "test", max_entries=kwargs.pop("max_entries", 100), **kwargs)


async def test_an_entry_lives_until_one_of_its_topics_changes():
    changes = LocalChanges()
    cache = store(changes, max_age_secs=60)
    cache.put("k", "v", changes.stamp(), ["post:1", "user:2"])
    await changes.changed(["post:9"])
    assert cache.get("k") == "v"
    await changes.changed(["user:2"])
    assert cache.get("k") is None
    assert (cache.hits, cache.misses) == (1, 1)


async def test_a_change_during_the_read_makes_its_answer_stale_at_once():
    changes = LocalChanges()
    cache = store(changes, max_age_secs=60)
    stamp = changes.stamp()  # the read begins
    await changes.changed(["post:1"])  # a write commits while it runs
    cache.put("k", "old", stamp, ["post:1"])  # the read's answer predates the write
    assert cache.get("k") is None
    # An answer read after the change is kept.
    cache.put("k", "new", changes.stamp(), ["post:1"])
    assert cache.get("k") == "new"


async def test_forgotten_topics_err_towards_reading_again():
    changes = LocalChanges(max_topics=3)
    cache = store(changes, max_age_secs=60)
    cache.put("old", 1, changes.stamp(), ["a"])
    await changes.changed(["a", "b", "c", "d"])  # "a" is forgotten: its stamp joins the floor
    assert cache.get("old") is None
    cache.put("new", 2, changes.stamp(), ["a"])
    assert cache.get("new") == 2


def test_entries_expire_and_the_store_is_bounded():
    now = [0.0]
    changes = LocalChanges()
    cache = store(changes, max_entries=2, max_age_secs=10, clock=lambda: now[0])
    for key in ("a", "b", "c"):
        cache.put(key, key, changes.stamp(), [])
    assert len(cache) == 2 and cache.get("a") is None  # least recently used went first
    now[0] = 11
    assert cache.get("b") is None and cache.get("c") is None


def test_reset_drops_everything():
    changes = LocalChanges()
    cache = store(changes, max_age_secs=60)
    cache.put("k", "v", changes.stamp(), [])
    changes.reset()
    assert len(cache) == 0 and cache.get("k") is None


def test_fragments_are_bounded():
    fragments = FragmentCache(max_entries=2)
    for key in ("a", "b", "c"):
        fragments.put(key, key.encode())
    assert fragments.get("a") is None and fragments.get("c") == b"c"


# -- across processes -----------------------------------------------------------------------


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_a_change_in_one_process_reaches_the_others(redis_url):
    channel = f"tgtest:cache:{uuid.uuid4().hex}"
    a, b = RedisChanges(redis_url, channel=channel), RedisChanges(redis_url, channel=channel)
    await a.start()
    await b.start()
    try:
        await until(lambda: a.usable and b.usable)
        cache_b = store(b, max_age_secs=60)
        cache_b.put("session", "alice", b.stamp(), ["sessions:1"])
        assert cache_b.get("session") == "alice"
        await a.changed(["sessions:1"])
        await until(lambda: cache_b.get("session") is None)
    finally:
        await a.close()
        await b.close()


async def test_without_redis_nothing_is_cached():
    changes = RedisChanges("redis://127.0.0.1:1/0")  # nothing listens there
    await changes.start()
    try:
        await asyncio.sleep(0.2)
        assert not changes.usable
        cache = store(changes, max_age_secs=60)
        cache.put("k", "v", changes.stamp(), [])
        assert cache.get("k") is None
        await changes.changed(["post:1"])  # logged, not raised: the write has committed
    finally:
        await changes.close()


@pytest.mark.slow
async def test_a_redis_restart_drops_what_was_cached_before_it():
    import shutil

    from tests.helpers import free_port, start_redis, wait_for_port

    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server binary", "not on PATH")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis(binary, port)
    a, b = RedisChanges(url, channel="changes"), RedisChanges(url, channel="changes")
    try:
        await wait_for_port(port)
        await a.start()
        await b.start()
        await until(lambda: a.usable and b.usable)
        cache_b = store(b, max_age_secs=60)
        cache_b.put("before", 1, b.stamp(), ["post:1"])
        cache_b.put("untouched", 1, b.stamp(), ["post:9"])  # not read while Redis is away

        server.kill()
        server.wait()
        await until(lambda: not b.usable)
        assert cache_b.get("before") is None  # changes may go unheard now: nothing is served
        await a.changed(["post:1"])  # said into the void; must not raise

        server = start_redis(binary, port)
        await wait_for_port(port)
        await until(lambda: a.usable and b.usable, timeout=15)
        assert cache_b.get("before") is None
        assert cache_b.get("untouched") is None  # nothing from before the outage comes back
        cache_b.put("after", 2, b.stamp(), ["post:2"])
        assert cache_b.get("after") == 2
        await a.changed(["post:2"])
        await until(lambda: cache_b.get("after") is None)
    finally:
        await a.close()
        await b.close()
        server.kill()
        server.wait()
