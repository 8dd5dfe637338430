"""The hub over real loopback sockets: batching, encode-once, backpressure, resume."""

from __future__ import annotations

import asyncio
import json
import struct
import time

import tornado.websocket
from tornado.websocket import websocket_connect

from tests.realtime.rt_support import FrameSink, ManualClock, RawClient, wait_until
from tornagram.realtime import REPLAY_INCOMPLETE, Event, Hub, InProcessBroker
from tornagram.realtime import hub as hub_module


async def connect(port: int, channel: str, since: str | None = None, **kwargs):
    url = f"ws://127.0.0.1:{port}/ws?channel={channel}"
    if since is not None:
        url += f"&since={since}"
    return await websocket_connect(url, **kwargs)


async def read_json(conn, timeout: float = 3.0):
    message = await asyncio.wait_for(conn.read_message(), timeout)
    assert message is not None, "socket closed"
    return json.loads(message)


def as_list(message) -> list[dict]:
    return message if isinstance(message, list) else [message]


async def test_first_event_is_prompt_then_a_busy_channel_batches():
    clock = ManualClock()
    broker = InProcessBroker()
    hub = Hub(broker, tick_secs=0.3, clock=clock)
    viewer = FrameSink()
    await hub.subscribe(viewer, "post:1")

    first = await broker.publish("post:1", "comment.created", {"n": 0})
    await asyncio.sleep(0)  # the broker hands events to listeners on the next loop iteration
    clock.advance(0)  # a quiet channel does not wait for the tick: due at once
    assert viewer.messages == [first.to_wire()]  # a single event is a bare object

    burst = [await broker.publish("post:1", "comment.created", {"n": n}) for n in range(1, 6)]
    await asyncio.sleep(0)
    clock.advance(0.29)  # within the tick after that flush, the burst waits
    assert len(viewer.messages) == 1
    clock.advance(0.01)
    # One frame, a list, oldest first.
    assert viewer.messages[1:] == [[e.to_wire() for e in burst]]
    await hub.close()


async def test_payload_and_frame_are_built_once_per_tick_whatever_the_audience(serve, monkeypatch):
    calls = {"payload": 0, "frame": 0}
    real_payload, real_frame = hub_module.encode_payload, hub_module.encode_text_frame

    def counting_payload(events):
        calls["payload"] += 1
        return real_payload(events)

    def counting_frame(payload):
        calls["frame"] += 1
        return real_frame(payload)

    monkeypatch.setattr(hub_module, "encode_payload", counting_payload)
    monkeypatch.setattr(hub_module, "encode_text_frame", counting_frame)
    broker = InProcessBroker()
    hub = Hub(broker, tick_secs=0.2)
    port = serve(hub)
    clients = [await connect(port, "post:7") for _ in range(6)]
    await wait_until(lambda: hub.count("post:7") == 6)

    published = [await broker.publish("post:7", "like.added", {"n": n}) for n in range(3)]
    for conn in clients:
        assert await read_json(conn) == [e.to_wire() for e in published]
    assert calls == {"payload": 1, "frame": 1}

    more = await broker.publish("post:7", "like.added", {"n": 3})
    for conn in clients:
        assert await read_json(conn) == more.to_wire()
    assert calls == {"payload": 2, "frame": 2}
    for conn in clients:
        conn.close()


async def test_a_stalled_viewer_is_closed_with_1013_and_never_slows_the_others(serve):
    broker = InProcessBroker()
    hub = Hub(broker, tick_secs=0.02, max_pending_bytes=256 * 1024)
    port = serve(hub)
    fast = await connect(port, "post:9", max_message_size=1 << 24)
    slow = await RawClient.connect(port, "/ws?channel=post:9", rcvbuf=4096)
    await wait_until(lambda: hub.count("post:9") == 2)

    received: list[tuple[str, float]] = []

    async def read_fast() -> None:
        while True:
            message = await fast.read_message()
            if message is None:
                return
            now = time.time()
            received.extend((m["id"], now - m["data"]["at"]) for m in as_list(json.loads(message)))

    reader = asyncio.create_task(read_fast())
    published = []
    filler = "弹" * 10_000  # ~30 KB per comment: the stalled socket fills quickly
    for _ in range(600):
        event = await broker.publish(
            "post:9", "comment.created", {"at": time.time(), "body": filler}
        )
        published.append(event.id)
        await asyncio.sleep(0.002)
        if hub.count("post:9") == 1 and len(published) >= 20:
            break
    assert hub.count("post:9") == 1, "the stalled viewer should have been dropped"
    for _ in range(10):
        event = await broker.publish("post:9", "comment.created", {"at": time.time(), "body": ""})
        published.append(event.id)
    await wait_until(lambda: len(received) == len(published), what="fast viewer got everything")
    assert [event_id for event_id, _ in received] == published
    worst = max(latency for _, latency in received)
    assert worst < 1.0, f"fast viewer delayed by {worst:.3f}s"

    # The stalled client, once it reads again, finds a close frame with 1013.
    opcode, payload = None, b""
    while opcode != 0x8:
        opcode, payload = await asyncio.wait_for(slow.read_frame(), 10)
    assert struct.unpack("!H", payload[:2])[0] == 1013
    slow.close()
    fast.close()
    await reader


async def test_resume_with_since_sends_missed_then_live_in_order(serve):
    class SlowReplayBroker(InProcessBroker):
        """Live events arrive while the replay is still in flight."""

        def __init__(self) -> None:
            super().__init__()
            self.replaying = asyncio.Event()
            self.release = asyncio.Event()

        async def replay(self, channel, since):
            result = await super().replay(channel, since)
            self.replaying.set()
            await self.release.wait()
            return result

    broker = SlowReplayBroker()
    hub = Hub(broker, tick_secs=0.05)
    port = serve(hub)
    earlier = [await broker.publish("room:lobby", "chat.message", {"n": n}) for n in range(5)]
    conn_future = asyncio.ensure_future(connect(port, "room:lobby", since=earlier[1].id))
    await broker.replaying.wait()
    for n in range(5, 8):
        await broker.publish("room:lobby", "chat.message", {"n": n})
    await asyncio.sleep(0.1)  # a flush happens while the viewer is still joining
    broker.release.set()
    conn = await conn_future
    await broker.publish("room:lobby", "chat.message", {"n": 8})

    seen: list[int] = []
    while len(seen) < 7:
        seen += [m["data"]["n"] for m in as_list(await read_json(conn))]
    assert seen == [2, 3, 4, 5, 6, 7, 8]
    conn.close()


async def test_resume_during_a_batch_does_not_repeat_the_batched_events(serve):
    broker = InProcessBroker()
    hub = Hub(broker, tick_secs=0.5)
    port = serve(hub)
    watcher = await connect(port, "post:8")
    await wait_until(lambda: hub.count("post:8") == 1)
    first = await broker.publish("post:8", "comment.created", {"n": 0})
    assert await read_json(watcher) == first.to_wire()
    # The channel just flushed, so this one waits in the hub for the next tick...
    second = await broker.publish("post:8", "comment.created", {"n": 1})
    # ...while a viewer resumes and gets it by replay.
    resumer = await connect(port, "post:8", since=first.id)
    assert await read_json(resumer) == second.to_wire()
    assert await read_json(watcher) == second.to_wire()
    third = await broker.publish("post:8", "comment.created", {"n": 2})
    assert await read_json(resumer) == third.to_wire(), "the batch must not repeat"
    watcher.close()
    resumer.close()


async def test_resume_beyond_the_window_starts_with_a_gap_marker(serve):
    broker = InProcessBroker(max_events=3)
    hub = Hub(broker)
    port = serve(hub)
    events = [await broker.publish("post:3", "comment.created", {"n": n}) for n in range(6)]
    conn = await connect(port, "post:3", since=events[0].id)
    message = await read_json(conn)
    assert message[0] == {
        "channel": "post:3",
        "event": REPLAY_INCOMPLETE,
        "id": "",
        "data": {"since": events[0].id},
    }
    assert [m["id"] for m in message[1:]] == [e.id for e in events[3:]]
    conn.close()


async def test_presence_counts_and_unwatches_after_the_last_viewer_leaves(serve):
    class RecordingBroker(InProcessBroker):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[tuple[str, str]] = []

        async def watch(self, channel):
            self.calls.append(("watch", channel))
            await super().watch(channel)

        async def unwatch(self, channel):
            self.calls.append(("unwatch", channel))
            await super().unwatch(channel)

    broker = RecordingBroker()
    hub = Hub(broker, unwatch_linger_secs=0.2)
    port = serve(hub)
    clients = [await connect(port, "room:cats,post:4") for _ in range(3)]
    await wait_until(lambda: hub.count("room:cats") == 3 and hub.count("post:4") == 3)
    assert sorted(broker.calls) == [("watch", "post:4"), ("watch", "room:cats")]
    event = await broker.publish("post:4", "like.added", {})
    for conn in clients:
        assert await read_json(conn) == event.to_wire()

    clients[0].close()
    await wait_until(lambda: hub.count("room:cats") == 2 and hub.count("post:4") == 2)
    for conn in clients[1:]:
        conn.close()
    await wait_until(lambda: hub.count("room:cats") == 0 and hub.count("post:4") == 0)
    assert all(kind == "watch" for kind, _ in broker.calls), "unwatch waits for the linger"
    await wait_until(lambda: len(broker.calls) == 4, what="unwatch after linger")
    assert sorted(broker.calls[2:]) == [("unwatch", "post:4"), ("unwatch", "room:cats")]


async def test_compression_is_never_negotiated(serve):
    hub = Hub(InProcessBroker())
    port = serve(hub)
    conn = await connect(port, "post:1", compression_options={})
    assert "Sec-WebSocket-Extensions" not in conn.headers
    conn.close()


class PlainSocket(tornado.websocket.WebSocketHandler):
    def on_message(self, message):
        return None


async def test_idle_hub_sockets_cost_no_tasks_beyond_tornados_own(serve):
    hub = Hub(InProcessBroker())
    port = serve(hub, (r"/plain", PlainSocket))

    async def tasks_added(path: str) -> tuple[int, list]:
        before = len(asyncio.all_tasks())
        conns = [await websocket_connect(f"ws://127.0.0.1:{port}{path}") for _ in range(20)]
        await asyncio.sleep(0.1)
        added = len(asyncio.all_tasks()) - before
        return added, conns

    plain_added, plain = await tasks_added("/plain")
    hub_added, subscribed = await tasks_added("/ws?channel=post:1")
    assert hub.count("post:1") == 20
    assert hub_added <= plain_added, (hub_added, plain_added)
    for conn in plain + subscribed:
        conn.close()


async def test_hub_rejects_bad_channel_and_since():
    hub = Hub(InProcessBroker())

    class Nobody:
        def send_frame(self, frame):
            return True

        def pending_bytes(self):
            return 0

        def close_for_backpressure(self):
            return None

    for channel, since in (("photo:1", None), ("post:1", "yesterday")):
        try:
            await hub.subscribe(Nobody(), channel, since=since)
        except ValueError:
            pass
        else:
            raise AssertionError(f"accepted {channel!r} since={since!r}")
    assert hub.count("post:1") == 0
    await hub.close()


async def test_a_gap_marker_from_the_broker_reaches_viewers_in_order():
    """After an outage the broker hands the hub a replay.incomplete marker (no id) per channel;
    it goes out in the channel's next frame, before what came after it."""
    clock = ManualClock()
    broker = InProcessBroker()
    hub = Hub(broker, clock=clock)
    viewer = FrameSink()
    await hub.subscribe(viewer, "post:1")
    hub.deliver(Event("post:1", REPLAY_INCOMPLETE, {"since": "5-0"}))
    after = await broker.publish("post:1", "comment.created", {"n": 1})
    await asyncio.sleep(0)
    clock.advance(0)
    assert viewer.messages == [
        [
            {"channel": "post:1", "event": REPLAY_INCOMPLETE, "id": "", "data": {"since": "5-0"}},
            after.to_wire(),
        ]
    ]
    await hub.close()
