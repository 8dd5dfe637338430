"""Fan-out across processes: two servers share Redis, and a message said through one reaches
a socket held by the other. Also `serve --processes 2` and a site wired to Redis."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import httpx
import tornado.httpclient
import tornado.websocket

from tests.feeds.support import card_ids
from tests.helpers import Client, fixture_bytes, free_port, post_id_from, upload, wait_healthy
from tests.realtime.support import start_server, stop, two_servers
from tornagram.realtime.control import CLOSE_SESSION_ENDED


async def one_person_on_both(base_a: str, base_b: str) -> tuple[Client, Client]:
    """"alice", signed up through A and signed in again (another session) through B."""
    on_a, on_b = Client(base_a), Client(base_b)
    await on_a.signup("alice")
    assert (await on_b.login("alice")).status_code == 303
    return on_a, on_b


async def socket_on(base: str, channel: str, client: Client | None = None):
    """A WebSocket to ``base`` (as ``client``'s session, else signed out), subscribed to
    ``channel``."""
    headers = {"Origin": base}
    if client is not None:
        headers["Cookie"] = f"session={client.session_cookie()}"
    ws = await tornado.websocket.websocket_connect(
        tornado.httpclient.HTTPRequest(base.replace("http://", "ws://") + "/ws", headers=headers)
    )
    await ws.write_message(json.dumps({"op": "subscribe", "channel": channel}))
    ack = json.loads(await asyncio.wait_for(ws.read_message(), 10))
    assert ack == {"op": "subscribed", "channel": channel}
    return ws


async def test_a_message_said_on_a_reaches_a_socket_on_b(tmp_path, any_redis_url):
    async with two_servers(tmp_path, any_redis_url) as (base_a, base_b):
        alice = Client(base_a)
        await alice.signup("alice")
        slug = "r" + uuid.uuid4().hex[:10]
        r = await alice.post("/rooms", {"slug": slug, "title": "Two", "cover": ""})
        assert r.status_code == 303
        ws = await socket_on(base_b, f"room:{slug}")
        r = await alice.post(f"/rooms/{slug}/messages", {"body": "across processes"})
        assert r.status_code == 303
        received = None
        while received is None:
            raw = json.loads(await asyncio.wait_for(ws.read_message(), 10))
            for item in raw if isinstance(raw, list) else [raw]:
                if item.get("event") == "message.created":
                    received = item
        assert received["data"]["body"] == "across processes"
        ws.close()
        await alice.aclose()


def test_serve_with_two_forked_processes(tmp_path, any_redis_url):
    port = free_port()
    proc = start_server(tmp_path, port, any_redis_url, "--processes", "2")
    try:
        wait_healthy(port, proc)
        workers = [
            int(pid)
            for children in Path(f"/proc/{proc.pid}/task").glob("*/children")
            for pid in children.read_text().split()
        ]
        assert len(workers) == 2
        for _ in range(10):
            r = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Connection": "close"})
            assert r.json() == {"status": "ok"}
    finally:
        assert stop(proc) == 0
    # SIGTERM to the parent stopped every worker too.
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


async def test_caches_on_b_hear_what_changed_on_a(tmp_path, any_redis_url):
    """Each process caches sessions, badges and feeds (tornagram/cache/); a change made
    through one must show through the other on the very next page."""
    async with two_servers(tmp_path, any_redis_url) as (base_a, base_b):
        # One account, signed up through A and signed in again through B.
        on_a, on_b = await one_person_on_both(base_a, base_b)
        assert card_ids((await on_b.get("/")).text) == []  # B has now cached it all
        r = await upload(on_a, [("tiny.png", fixture_bytes("tiny.png"))], caption="via A")
        post_id = post_id_from(r)
        assert card_ids((await on_b.get("/")).text) == [post_id]
        r = await on_a.post(f"/p/{post_id}/like")
        assert r.status_code == 303
        page = (await on_b.get("/")).text
        assert 'aria-pressed="true"' in page and "1 like" in page
        # Signing out the other sessions on A ends the one B had cached.
        r = await on_a.post("/settings/sessions/revoke-others")
        assert r.status_code == 303
        page = await on_b.get("/settings/profile")
        assert page.status_code == 302 and "/login" in page.headers["location"]
        await on_a.aclose()
        await on_b.aclose()


async def test_a_session_ended_on_a_closes_its_socket_on_b(tmp_path, any_redis_url):
    async with two_servers(tmp_path, any_redis_url) as (base_a, base_b):
        on_a, on_b = await one_person_on_both(base_a, base_b)
        slug = "r" + uuid.uuid4().hex[:10]
        r = await on_a.post("/rooms", {"slug": slug, "title": "Two", "cover": ""})
        assert r.status_code == 303
        ws = await socket_on(base_b, f"room:{slug}", on_b)
        # "Sign out everywhere else", through A: B closes the socket it holds.
        assert (await on_a.post("/settings/sessions/revoke-others")).status_code == 303
        while await asyncio.wait_for(ws.read_message(), 10) is not None:
            pass
        assert ws.close_code == CLOSE_SESSION_ENDED
        await on_a.aclose()
        await on_b.aclose()


async def test_going_private_on_a_cuts_a_viewer_on_b(tmp_path, redis_url):
    async with two_servers(tmp_path, redis_url) as (base_a, base_b):
        on_a = Client(base_a)
        await on_a.signup("alice")
        post_id = post_id_from(await upload(on_a, [("tiny.png", fixture_bytes("tiny.png"))]))
        channel = f"post:{post_id}"
        ws = await socket_on(base_b, channel)
        r = await on_a.post(
            "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
        )
        assert r.status_code == 303
        message = json.loads(await asyncio.wait_for(ws.read_message(), 10))
        assert message["op"] == "unsubscribed" and message["channel"] == channel
        assert message["code"] == "not_found"
        ws.close()
        await on_a.aclose()
