"""Posts in the live streams: ``update``, ``status.update`` and ``delete`` on the user, public
and hashtag streams, each subscriber reading them through the visibility rule."""

from __future__ import annotations

import asyncio
import json

import tornado.httpclient

from tests.api.support import STREAM_WAIT_SECS as WAIT_SECS
from tests.api.support import post_photo
from tests.api.support import stream_connect as connect
from tests.api.support import stream_message as next_message


async def _id(http) -> str:
    return (await http.get("/api/v1/accounts/verify_credentials")).json()["id"]


async def _events(conn, count: int) -> list[tuple[list, str, object]]:
    got = []
    while len(got) < count:
        message = await next_message(conn)
        assert message is not None, "the stream closed"
        if message.get("event") == "notification":
            continue
        payload = message["payload"]
        got.append((message["stream"], message["event"],
                    payload if message["event"] == "delete" else json.loads(payload)))
    return got


async def test_posts_reach_user_public_and_hashtag_streams(site, api):
    alice = await api("alice")
    bob = await api("bob")
    conn = await connect(site, alice.token, "stream=user")
    for message in ({"type": "subscribe", "stream": "public"},
                    {"type": "subscribe", "stream": "hashtag", "tag": "#Cats"},
                    {"type": "subscribe", "stream": "hashtag:local"}):
        conn.write_message(json.dumps(message))
    assert (await next_message(conn))["error"] == "Missing tag name parameter"
    await asyncio.sleep(0.3)
    # Someone alice does not follow: public and the hashtag, not her home.
    first = await post_photo(bob, "Hello #cats")
    got = await _events(conn, 2)
    assert sorted(tuple(s) for s, _, _ in got) == [("hashtag", "cats"), ("public",)]
    assert {e for _, e, _ in got} == {"update"}
    assert got[0][2]["id"] == first["id"] and got[0][2]["favourited"] is False
    # Her own post enters her home timeline too.
    own = await post_photo(alice, "Mine")
    got = await _events(conn, 2)
    assert sorted(tuple(s) for s, _, _ in got) == [("public",), ("user",)]
    assert got[0][2]["id"] == own["id"]
    # Followed: bob's next post reaches her home; his edit is a status.update, his delete
    # a delete, each where the post was.
    await alice.post(f"/api/v1/accounts/{await _id(bob)}/follow")
    second = await post_photo(bob, "Again #cats")
    got = await _events(conn, 3)
    assert sorted(tuple(s) for s, _, _ in got) == [("hashtag", "cats"), ("public",), ("user",)]
    await bob.put(f"/api/v1/statuses/{second['id']}", json={"status": "Edited #cats"})
    got = await _events(conn, 3)
    assert {e for _, e, _ in got} == {"status.update"}
    assert all("Edited" in p["content"] for _, _, p in got)
    await bob.delete(f"/api/v1/statuses/{second['id']}")
    got = await _events(conn, 3)
    assert {(e, p) for _, e, p in got} == {("delete", second["id"])}
    # Unsubscribing ends a stream and keeps the others.
    conn.write_message(json.dumps({"type": "unsubscribe", "stream": "public"}))
    await asyncio.sleep(0.3)
    third = await post_photo(bob, "#cats once more")
    got = await _events(conn, 2)
    assert sorted(tuple(s) for s, _, _ in got) == [("hashtag", "cats"), ("user",)]
    assert got[0][2]["id"] == third["id"]
    conn.close()


async def test_streams_respect_private_blocked_and_suspended_authors(site, api):
    alice = await api("alice")
    carol = await api("carol")  # private, not followed by alice
    erin = await api("erin")  # blocks alice
    bob = await api("bob")  # public: the marker that everything before was skipped
    await carol.patch("/api/v1/accounts/update_credentials", json={"locked": True})
    await erin.post(f"/api/v1/accounts/{await _id(alice)}/block")
    conn = await connect(site, alice.token, "stream=public")
    conn.write_message(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "cats"}))
    await asyncio.sleep(0.3)
    hidden = [await post_photo(carol, "secret #cats"), await post_photo(erin, "no #cats")]
    await carol.delete(f"/api/v1/statuses/{hidden[0]['id']}")
    await erin.delete(f"/api/v1/statuses/{hidden[1]['id']}")
    marker = await post_photo(bob, "marker #cats")
    got = await _events(conn, 2)
    assert {p["id"] for _, _, p in got} == {marker["id"]}
    # A suspended author is seen by no one.
    bob_user = await site.ctx.accounts.by_username("bob")
    async with site.ctx.db.write() as session:
        from sqlalchemy import update

        from tornagram.accounts.models import User
        from tornagram.db.base import utcnow

        await session.execute(update(User).where(User.id == bob_user.id).values(suspended_at=utcnow()))
    await post_photo(bob, "suspended #cats")
    marker = await post_photo(alice, "mine #cats")
    got = await _events(conn, 2)
    assert {p["id"] for _, _, p in got} == {marker["id"]}
    conn.close()


async def test_a_token_without_read_statuses_gets_no_posts(site, api):
    alice = await api("alice", scope="read:notifications")
    bob = await api("bob")
    conn = await connect(site, alice.token, "stream=public")
    assert (await next_message(conn))["status"] == 403
    conn.write_message(json.dumps({"type": "subscribe", "stream": "user"}))
    await asyncio.sleep(0.3)
    status = await post_photo(bob, "hi")
    # The user stream carries her notifications, never the posts.
    alice_id = str((await site.ctx.accounts.by_username("alice")).id)
    await bob.post(f"/api/v1/accounts/{alice_id}/follow")
    message = await next_message(conn)
    assert message["event"] == "notification", message
    assert json.loads(message["payload"])["type"] == "follow"
    assert status["id"] not in message["payload"]
    conn.close()


async def test_public_and_hashtag_event_streams(site, api):
    alice = await api("alice")
    bob = await api("bob")
    r = await alice.get("/api/v1/streaming/hashtag")
    assert r.status_code == 400 and r.json()["error"]
    chunks: list[str] = []
    got = asyncio.Event()

    def on_chunk(chunk: bytes) -> None:
        chunks.append(chunk.decode())
        if "event: update" in "".join(chunks):
            got.set()

    request = tornado.httpclient.HTTPRequest(
        site.base_url + "/api/v1/streaming/hashtag/local?tag=Cats",
        headers={"Authorization": f"Bearer {alice.token}"},
        streaming_callback=on_chunk, request_timeout=60,
    )
    fetch = asyncio.ensure_future(tornado.httpclient.AsyncHTTPClient().fetch(request, raise_error=False))
    while not chunks:
        await asyncio.sleep(0.05)
    await post_photo(bob, "not tagged")
    status = await post_photo(bob, "tagged #cats")
    await asyncio.wait_for(got.wait(), WAIT_SECS)
    data = "".join(chunks).split("event: update\ndata: ", 1)[1].split("\n\n", 1)[0]
    assert json.loads(data)["id"] == status["id"]
    assert "not tagged" not in "".join(chunks)
    user = await site.ctx.accounts.by_username("alice")
    apps = await site.ctx.oauth.authorized_apps(user)
    await site.ctx.oauth.revoke_app(user, apps[0].app.id)
    assert (await asyncio.wait_for(fetch, WAIT_SECS)).code == 200
