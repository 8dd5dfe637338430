"""The streaming API over WebSocket (token as the subprotocol, as browsers must send it) and as
server-sent events: notifications arrive live, and revoking the token closes the stream."""

from __future__ import annotations

import asyncio
import json

import tornado.httpclient
import tornado.websocket

from tests.api.support import STREAM_WAIT_SECS, post_photo, stream_connect, stream_message

WAIT_SECS = STREAM_WAIT_SECS
connect, next_message = stream_connect, stream_message


async def test_notifications_arrive_on_the_websocket(site, api):
    alice = await api("alice")
    bob = await api("bob")
    alice_id = (await alice.get("/api/v1/accounts/verify_credentials")).json()["id"]
    conn = await connect(site, alice.token)
    # The token came as the subprotocol and is echoed, or browsers drop the connection.
    assert conn.selected_subprotocol == alice.token
    conn.write_message(json.dumps({"type": "subscribe", "stream": "user:notification"}))
    conn.write_message(json.dumps({"type": "subscribe", "stream": "nonsense"}))
    assert await next_message(conn) == {"error": "Unknown stream type", "status": 400}
    await bob.post(f"/api/v1/accounts/{alice_id}/follow")
    seen = {}
    while len(seen) < 2:
        message = await next_message(conn)
        assert message["event"] == "notification"
        seen[message["stream"][0]] = json.loads(message["payload"])
    assert set(seen) == {"user", "user:notification"}
    assert seen["user"]["type"] == "follow" and seen["user"]["account"]["username"] == "bob"
    # Revoking the token closes the stream at once.
    user = await _user(site, "alice")
    apps = await site.ctx.oauth.authorized_apps(user)
    await site.ctx.oauth.revoke_app(user, apps[0].app.id)
    assert await next_message(conn) is None
    assert conn.close_code == 4001


async def _user(site, username):
    return await site.ctx.accounts.by_username(username)


async def test_a_bad_or_unreading_token_is_refused_before_the_upgrade(site, api):
    writer = await api("alice", scope="write")
    for token in ("nope", writer.token):
        try:
            await connect(site, token)
        except tornado.httpclient.HTTPClientError as exc:
            assert exc.code == 401
        else:
            raise AssertionError("the upgrade was allowed")
    reader = await api("bob", scope="read:notifications")
    conn = await connect(site, reader.token, "stream=public")
    assert (await next_message(conn))["error"]
    conn.close()
    health = await site.client().http.get("/api/v1/streaming/health")
    assert health.text == "OK" and health.headers["content-type"].startswith("text/plain")


async def test_server_sent_events(site, api):
    alice = await api("alice")
    bob = await api("bob")
    post = await post_photo(alice)
    lines: list[str] = []
    got = asyncio.Event()

    def on_chunk(chunk: bytes) -> None:
        lines.append(chunk.decode())
        if "event: notification" in "".join(lines):
            got.set()

    client = tornado.httpclient.AsyncHTTPClient()
    request = tornado.httpclient.HTTPRequest(
        site.base_url + "/api/v1/streaming/user/notification",
        headers={"Authorization": f"Bearer {alice.token}"},
        streaming_callback=on_chunk, request_timeout=60,
    )
    fetch = asyncio.ensure_future(client.fetch(request, raise_error=False))
    while not lines:
        await asyncio.sleep(0.05)
    await bob.post(f"/api/v1/statuses/{post['id']}/favourite")
    await asyncio.wait_for(got.wait(), WAIT_SECS)
    text = "".join(lines)
    event = text.split("event: notification\ndata: ", 1)[1].split("\n\n", 1)[0]
    assert json.loads(event)["type"] == "favourite"
    # Revoked: the stream ends.
    user = await _user(site, "alice")
    apps = await site.ctx.oauth.authorized_apps(user)
    await site.ctx.oauth.revoke_app(user, apps[0].app.id)
    response = await asyncio.wait_for(fetch, WAIT_SECS)
    assert response.code == 200
