"""Fan-out across processes: two servers share Redis, and a message said through one reaches
a socket held by the other. Also `serve --processes 2` and a site wired to Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import tornado.httpclient
import tornado.websocket

from tests.helpers import free_port, wait_healthy

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


async def sign_up(base: str, name: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, follow_redirects=False, timeout=30)
    await client.get("/login")
    r = await client.post(
        "/signup",
        data={
            "_xsrf": client.cookies["_xsrf"],
            "username": name,
            "email": f"{name}@example.org",
            "password": "long enough pw",
        },
    )
    assert r.status_code == 303, r.text
    return client


async def test_a_message_said_on_a_reaches_a_socket_on_b(tmp_path, redis_url):
    port_a, port_b = free_port(), free_port()
    a = start_server(tmp_path, port_a, redis_url)
    try:
        await asyncio.to_thread(wait_healthy, port_a, a)
        b = start_server(tmp_path, port_b, redis_url)
        try:
            await asyncio.to_thread(wait_healthy, port_b, b)
            base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            alice = await sign_up(base_a, "alice")
            slug = "r" + uuid.uuid4().hex[:10]
            r = await alice.post(
                "/rooms",
                data={"_xsrf": alice.cookies["_xsrf"], "slug": slug, "title": "Two", "cover": ""},
            )
            assert r.status_code == 303
            ws = await tornado.websocket.websocket_connect(
                tornado.httpclient.HTTPRequest(
                    f"ws://127.0.0.1:{port_b}/ws", headers={"Origin": base_b}
                )
            )
            await ws.write_message(json.dumps({"op": "subscribe", "channel": f"room:{slug}"}))
            ack = json.loads(await asyncio.wait_for(ws.read_message(), 10))
            assert ack == {"op": "subscribed", "channel": f"room:{slug}"}
            r = await alice.post(
                f"/rooms/{slug}/messages",
                data={"_xsrf": alice.cookies["_xsrf"], "body": "across processes"},
            )
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
        finally:
            assert stop(b) == 0
    finally:
        assert stop(a) == 0


def test_serve_with_two_forked_processes(tmp_path, redis_url):
    port = free_port()
    proc = start_server(tmp_path, port, redis_url, "--processes", "2")
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


async def test_caches_on_b_hear_what_changed_on_a(tmp_path, redis_url):
    """Each process caches sessions, badges and feeds (tornagram/cache/); a change made
    through one must show through the other on the very next page."""
    from tests.feeds.support import card_ids
    from tests.helpers import Client, post_id_from, upload
    from tests.photos.conftest import fixture_bytes

    port_a, port_b = free_port(), free_port()
    a = start_server(tmp_path, port_a, redis_url)
    try:
        await asyncio.to_thread(wait_healthy, port_a, a)
        b = start_server(tmp_path, port_b, redis_url)
        try:
            await asyncio.to_thread(wait_healthy, port_b, b)
            base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            on_a = Client(base_a)
            await on_a.signup("alice", password="long enough pw")
            # The same account signed in again, reading through B.
            on_b = Client(base_b)
            r = await on_b.login("alice", password="long enough pw")
            assert r.status_code == 303
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
        finally:
            assert stop(b) == 0
    finally:
        assert stop(a) == 0


async def test_a_session_ended_on_a_closes_its_socket_on_b(tmp_path, redis_url):
    from tests.helpers import Client
    from tornagram.realtime.control import CLOSE_SESSION_ENDED

    port_a, port_b = free_port(), free_port()
    a = start_server(tmp_path, port_a, redis_url)
    try:
        await asyncio.to_thread(wait_healthy, port_a, a)
        b = start_server(tmp_path, port_b, redis_url)
        try:
            await asyncio.to_thread(wait_healthy, port_b, b)
            base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            on_a = Client(base_a)
            await on_a.signup("alice", password="long enough pw")
            on_b = Client(base_b)
            assert (await on_b.login("alice", password="long enough pw")).status_code == 303
            slug = "r" + uuid.uuid4().hex[:10]
            r = await on_a.post("/rooms", {"slug": slug, "title": "Two", "cover": ""})
            assert r.status_code == 303
            ws = await tornado.websocket.websocket_connect(
                tornado.httpclient.HTTPRequest(
                    f"ws://127.0.0.1:{port_b}/ws",
                    headers={"Origin": base_b, "Cookie": f"session={on_b.session_cookie()}"},
                )
            )
            await ws.write_message(json.dumps({"op": "subscribe", "channel": f"room:{slug}"}))
            ack = json.loads(await asyncio.wait_for(ws.read_message(), 10))
            assert ack == {"op": "subscribed", "channel": f"room:{slug}"}
            # "Sign out everywhere else", through A: B closes the socket it holds.
            assert (await on_a.post("/settings/sessions/revoke-others")).status_code == 303
            while await asyncio.wait_for(ws.read_message(), 10) is not None:
                pass
            assert ws.close_code == CLOSE_SESSION_ENDED
            await on_a.aclose()
            await on_b.aclose()
        finally:
            assert stop(b) == 0
    finally:
        assert stop(a) == 0


async def test_going_private_on_a_cuts_a_viewer_on_b(tmp_path, redis_url):
    from tests.helpers import Client
    from tests.photos.conftest import fixture_bytes
    from tests.photos.test_posts import post_id_from, upload

    port_a, port_b = free_port(), free_port()
    a = start_server(tmp_path, port_a, redis_url)
    try:
        await asyncio.to_thread(wait_healthy, port_a, a)
        b = start_server(tmp_path, port_b, redis_url)
        try:
            await asyncio.to_thread(wait_healthy, port_b, b)
            base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
            on_a = Client(base_a)
            await on_a.signup("alice", password="long enough pw")
            post_id = post_id_from(await upload(on_a, [("tiny.png", fixture_bytes("tiny.png"))]))
            channel = f"post:{post_id}"
            ws = await tornado.websocket.websocket_connect(
                tornado.httpclient.HTTPRequest(
                    f"ws://127.0.0.1:{port_b}/ws", headers={"Origin": base_b}
                )
            )
            await ws.write_message(json.dumps({"op": "subscribe", "channel": channel}))
            ack = json.loads(await asyncio.wait_for(ws.read_message(), 10))
            assert ack == {"op": "subscribed", "channel": channel}
            r = await on_a.post(
                "/settings/profile",
                {"display_name": "", "bio": "", "locale": "", "private": "on"},
            )
            assert r.status_code == 303
            message = json.loads(await asyncio.wait_for(ws.read_message(), 10))
            assert message["op"] == "unsubscribed" and message["channel"] == channel
            assert message["code"] == "not_found"
            ws.close()
            await on_a.aclose()
        finally:
            assert stop(b) == 0
    finally:
        assert stop(a) == 0
