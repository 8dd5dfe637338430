"""SIGTERM finishes what it started: requests in flight are answered and stored."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import tornado.httpclient
import tornado.websocket

from tests.helpers import fixture_bytes, post_id_from, upload
from tests.server.support import (
    RawRequest,
    ServerProcess,
    cookie_header,
    form_body,
    multipart_body,
    wait_until,
)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def servers():
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


async def test_sigterm_answers_and_stores_every_request_in_flight(data_dir, servers):
    server = ServerProcess(data_dir)
    servers.append(server)
    await server.wait_healthy()
    port = server.port

    owner = server.client()
    await owner.signup("oona")
    first = await upload(owner, [("a.jpg", fixture_bytes("camera-gps.jpg"))])
    post_id = post_id_from(first)
    token = await owner.xsrf()
    cookies = cookie_header(owner)

    newcomer = server.client()
    newcomer_token = await newcomer.xsrf()
    signup = RawRequest(port, "POST", "/signup", body=form_body({
        "_xsrf": newcomer_token, "username": "late_comer", "email": "late@example.org",
        "password": "correct horse battery"}), headers={
        "Cookie": cookie_header(newcomer),
        "Content-Type": "application/x-www-form-urlencoded"})
    comment = RawRequest(port, "POST", f"/p/{post_id}/comments", body=form_body(
        {"_xsrf": token, "body": "said just before the end"}), headers={
        "Cookie": cookies, "Content-Type": "application/x-www-form-urlencoded"})
    boundary = "drainboundary7MA4YWxkTrZu0gW"
    slow_upload = RawRequest(port, "POST", "/upload", body=multipart_body(
        boundary, {"_xsrf": token, "caption": "sent slowly #drain", "alt": ""},
        [("photo", "slow.jpg", fixture_bytes("orientation-6.jpg"))]), headers={
        "Cookie": cookies, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    poll = RawRequest(port, "GET", f"/poll?channel=post:{post_id}", headers={"Cookie": cookies})
    # A kept-alive connection that has finished one request and sits idle.
    kept_alive = RawRequest(port, "GET", "/login")
    await kept_alive.send_all()
    status, headers, _ = await kept_alive.response()
    assert status == 200 and headers.get("connection", "").lower() != "close"

    live = await tornado.websocket.websocket_connect(tornado.httpclient.HTTPRequest(
        f"ws://127.0.0.1:{port}/ws", headers={"Cookie": cookies, "Origin": server.base_url}))

    # Each request has its headers (and part of its body) in the server, and waits.
    for request in (signup, comment):
        await request.send_part(len(request.body) - 5)
    await slow_upload.send_part(len(slow_upload.body) // 2)
    await poll.send_all()
    # A round trip on another connection: the server has read what was sent before it.
    async with asyncio.timeout(10):
        for _ in range(3):
            assert (await owner.get("/healthz")).status_code == 200

    server.terminate()
    await wait_until(lambda: "shutting down" in server.log(), 10, "shutdown to begin")

    # Live sockets are told the server is going away, and to come back (1001).
    while await asyncio.wait_for(live.read_message(), 10) is not None:
        pass
    assert live.close_code == 1001

    # Waiting long-polls are answered (no events), not cut.
    status, _headers, body = await poll.response()
    assert status == 200 and json.loads(body) == {"events": []}

    # A new request on the kept-alive connection is answered, and told to close.
    again = RawRequest(port, "GET", "/login")
    again.reader, again.writer = kept_alive.reader, kept_alive.writer
    await again.send_all()
    status, headers, _ = await again.response()
    assert status == 200 and headers["connection"].lower() == "close"

    for request in (signup, comment, slow_upload):
        await request.send_rest()
    results = [await request.response() for request in (signup, comment, slow_upload)]
    for status, headers, body in results:
        assert status == 303, (status, body[:500])
        assert headers["connection"].lower() == "close"
    slow_post_location = results[2][1]["location"]
    assert re.fullmatch(r"/p/[0-9]+", slow_post_location)

    assert await asyncio.to_thread(server.proc.wait, 40) == 0
    for request in (signup, comment, slow_upload, poll, kept_alive):
        request.close()

    # Everything answered was stored: a fresh server on the same data shows it.
    restarted = ServerProcess(data_dir)
    servers.append(restarted)
    await restarted.wait_healthy()
    visitor = restarted.client()
    r = await visitor.login("late_comer")
    assert r.status_code == 303, r.text
    page = await visitor.get(f"/p/{post_id}")
    assert "said just before the end" in page.text
    slow_page = await visitor.get(slow_post_location)
    assert slow_page.status_code == 200 and "#drain" in slow_page.text
    for client in (owner, newcomer, visitor):
        await client.aclose()
