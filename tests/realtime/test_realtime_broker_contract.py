"""One contract for every broker: the in-process one and Redis.

The ``broker`` fixture is parametrised over both; Redis tests skip with a
reason when no Redis is reachable, and fail instead under CI=true.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from tests.helpers import free_port
from tests.realtime.rt_support import wait_until
from tornagram.realtime import BrokerUnavailable, Event, event_id_key
from tornagram.realtime.broker import REPLAY_MAX_AGE_SECS, REPLAY_MAX_EVENTS, InProcessBroker
from tornagram.realtime.redis_broker import RedisBroker


async def publish_many(broker, channel: str, count: int) -> list[Event]:
    return [await broker.publish(channel, "comment.created", {"n": n}) for n in range(count)]


async def test_ids_increase_within_a_channel(broker):
    events = await publish_many(broker, "post:1", 30)
    for event in events:
        assert re.fullmatch(r"[0-9]+-[0-9]+", event.id)
    keys = [event_id_key(e.id) for e in events]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    other = await broker.publish("room:lobby", "chat.message", {"text": "hi"})
    assert event_id_key(other.id) > (0, 0)


async def test_publish_returns_the_event_as_delivered(broker):
    event = await broker.publish("post:5", "comment.created", {"body": "你好", "tags": ("a",)})
    assert event.channel == "post:5" and event.type == "comment.created"
    assert event.data == {"body": "你好", "tags": ["a"]}  # JSON shape on every backend


async def test_replay_returns_exactly_the_missed_events(broker):
    events = await publish_many(broker, "post:2", 12)
    result = await broker.replay("post:2", events[3].id)
    assert result.complete
    assert [e.id for e in result.events] == [e.id for e in events[4:]]
    assert [e.data["n"] for e in result.events] == list(range(4, 12))
    assert all(e.channel == "post:2" and e.type == "comment.created" for e in result.events)
    up_to_date = await broker.replay("post:2", events[-1].id)
    assert up_to_date.complete and up_to_date.events == []


async def test_replay_beyond_the_window_reports_a_gap(broker):
    events = await publish_many(broker, "post:3", REPLAY_MAX_EVENTS + 250)
    ids = [e.id for e in events]
    stale = await broker.replay("post:3", ids[0])
    assert not stale.complete
    kept = [e.id for e in stale.events]
    # What is returned is a gap-free suffix of what was published.
    assert kept == ids[len(ids) - len(kept) :]
    assert len(kept) >= REPLAY_MAX_EVENTS - 1
    # The last REPLAY_MAX_EVENTS events are always replayable, completely.
    recent = await broker.replay("post:3", ids[-REPLAY_MAX_EVENTS - 1])
    assert recent.complete
    assert [e.id for e in recent.events] == ids[-REPLAY_MAX_EVENTS:]


async def test_replay_of_a_quiet_channel_trusts_only_recent_ids(broker):
    now_ms = int(time.time() * 1000)
    recent = await broker.replay("post:404", f"{now_ms - 1000}-0")
    assert recent.complete and recent.events == []
    old_ms = now_ms - (REPLAY_MAX_AGE_SECS + 60) * 1000
    old = await broker.replay("post:404", f"{old_ms}-0")
    assert not old.complete


async def test_listener_hears_only_watched_channels(broker):
    heard: list[Event] = []
    broker.add_listener(heard.append)
    await broker.watch("post:10")
    await broker.publish("post:11", "comment.created", {"n": 0})
    await broker.publish("post:10", "comment.created", {"n": 1})
    await broker.publish("post:10", "comment.created", {"n": 2})
    await wait_until(lambda: len(heard) >= 2, what="two events on post:10")
    await asyncio.sleep(0.2)
    assert [(e.channel, e.data["n"]) for e in heard] == [("post:10", 1), ("post:10", 2)]
    assert heard[0].id and event_id_key(heard[0].id) < event_id_key(heard[1].id)

    await broker.unwatch("post:10")
    await broker.publish("post:10", "comment.created", {"n": 3})
    await asyncio.sleep(0.2)
    assert len(heard) == 2


async def test_bad_input_is_rejected(broker):
    with pytest.raises(ValueError):
        await broker.publish("photo:1", "comment.created", {})
    with pytest.raises(ValueError):
        await broker.publish("post:1", "Comment Created", {})
    with pytest.raises(TypeError):
        await broker.publish("post:1", "comment.created", {"when": object()})
    with pytest.raises(ValueError):
        await broker.replay("post:1", "0; DROP")
    with pytest.raises(ValueError):
        await broker.watch("nope")


async def test_broker_is_healthy_when_started(broker):
    assert broker.healthy


def test_in_process_window_expires_by_age():
    clock = [1_000_000.0]
    broker = InProcessBroker(clock=lambda: clock[0])

    async def scenario() -> None:
        first = await broker.publish("post:1", "comment.created", {"n": 1})
        clock[0] += 60
        second = await broker.publish("post:1", "comment.created", {"n": 2})
        clock[0] += REPLAY_MAX_AGE_SECS - 30  # first is now too old, second is not
        result = await broker.replay("post:1", "0-0")
        assert not result.complete and [e.id for e in result.events] == [second.id]
        # A client that saw ``first`` missed only ``second``, which is still kept.
        resumed = await broker.replay("post:1", first.id)
        assert resumed.complete and [e.id for e in resumed.events] == [second.id]
        assert (await broker.replay("post:1", second.id)).complete

    asyncio.run(scenario())


async def test_redis_down_fails_fast_and_recovers_nothing_silently():
    broker = RedisBroker(f"redis://127.0.0.1:{free_port()}/0", prefix="tgtest:down:")
    started = time.monotonic()
    await broker.start()
    try:
        assert not broker.healthy
        await broker.watch("post:1")  # recorded; subscribed when Redis appears
        t0 = time.monotonic()
        with pytest.raises(BrokerUnavailable):
            await broker.publish("post:1", "comment.created", {})
        with pytest.raises(BrokerUnavailable):
            await broker.replay("post:1", "1-0")
        assert time.monotonic() - t0 < 1.0
        assert time.monotonic() - started < 4.0
    finally:
        await broker.close()
