"""The live layer through the real site: /ws and /poll with sessions, visibility, rooms,
notifications, resume, limits and shutdown."""

from __future__ import annotations

import asyncio
import json

import pytest
import tornado.httpclient
import tornado.websocket

from tests.helpers import post_id_from, upload
from tests.realtime.support import connect, open_room, receive, receive_until, subscribe


async def test_room_message_reaches_every_viewer(site):
    alice = await site.user_client("alice")
    await open_room(site, alice)
    viewer = await connect(site)  # signed out, a browser on our origin
    assert (await subscribe(viewer, "room:lake"))["op"] == "subscribed"
    r = await alice.post("/rooms/lake/messages", {"body": "hello <b>world</b>"})
    assert r.status_code == 303
    event = await receive_until(viewer, lambda m: m.get("event") == "message.created")
    assert event["channel"] == "room:lake"
    assert event["data"]["body"] == "hello <b>world</b>"  # plain text; the page inserts it as text
    assert event["data"]["author"]["username"] == "alice"
    page = await site.client().get("/rooms/lake")
    assert "hello &lt;b&gt;world&lt;/b&gt;" in page.text


async def test_send_over_the_socket_and_its_limits(site):
    bob = await site.user_client("bob")
    await open_room(site, bob, "chat")
    ws = await connect(site, bob)
    await subscribe(ws, "room:chat")
    await ws.write_message(json.dumps({"op": "send", "channel": "room:chat", "body": "first!"}))
    event = await receive_until(ws, lambda m: m.get("event") == "message.created")
    assert event["data"]["body"] == "first!"
    await ws.write_message(json.dumps({"op": "send", "channel": "room:chat", "body": "x" * 501}))
    error = await receive_until(ws, lambda m: m.get("op") == "error")
    assert error["code"] == "invalid" and "500" in error["message"]
    codes = []
    for i in range(8):
        await ws.write_message(json.dumps({"op": "send", "channel": "room:chat", "body": f"m{i}"}))
    for _ in range(40):
        for item in await receive(ws):
            if item.get("op") == "error":
                codes.append(item["code"])
        if codes:
            break
    assert "rate_limited" in codes


async def test_anonymous_may_listen_but_not_send(site):
    carol = await site.user_client("carol")
    await open_room(site, carol, "open")
    ws = await connect(site)
    await subscribe(ws, "room:open")
    await ws.write_message(json.dumps({"op": "send", "channel": "room:open", "body": "hi"}))
    error = await receive_until(ws, lambda m: m.get("op") == "error")
    assert error["code"] == "sign_in_required"


async def test_origin_rules(site):
    dave = await site.user_client("dave")
    with pytest.raises(tornado.httpclient.HTTPClientError) as exc:
        await connect(site, dave, origin="https://evil.example")
    assert exc.value.code == 403
    with pytest.raises(tornado.httpclient.HTTPClientError) as exc:
        await connect(site, None, origin=None)
    assert exc.value.code == 403
    ws = await connect(site, dave, origin=None)  # no Origin, but a session vouches for it
    assert (await subscribe(ws, f"user:{(await site.ctx.accounts.by_username('dave')).id}"))[
        "op"
    ] == "subscribed"


async def test_channel_permissions_follow_the_visibility_rule(site, image_bytes):
    owner = await site.user_client("erin")
    await owner.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    stranger = await site.user_client("frank")
    ws = await connect(site, stranger)
    assert (await subscribe(ws, f"post:{post_id}"))["code"] == "not_found"
    erin = await site.ctx.accounts.by_username("erin")
    assert (await subscribe(ws, f"user:{erin.id}"))["code"] == "forbidden"
    assert (await subscribe(ws, "room:no-such-room"))["code"] == "not_found"
    bad = await subscribe(ws, "nonsense")
    assert bad["code"] == "bad_request"
    await ws.write_message("not json")
    assert (await receive_until(ws, lambda m: m.get("op") == "error"))["code"] == "bad_request"
    mine = await connect(site, owner)
    assert (await subscribe(mine, f"post:{post_id}"))["op"] == "subscribed"


async def test_live_notification_with_unread_count(site):
    gina = await site.user_client("gina")
    gina_id = (await site.ctx.accounts.by_username("gina")).id
    ws = await connect(site, gina)
    await subscribe(ws, f"user:{gina_id}")
    fan = await site.user_client("hugo")
    await fan.post("/@gina/follow")
    event = await receive_until(ws, lambda m: m.get("event") == "notification.created")
    assert event["data"]["kind"] == "follow" and event["data"]["actor"]["username"] == "hugo"
    assert event["data"]["unread"] == 1
    assert event["data"]["text"] == "hugo started following you."
    # Opening the list in one tab clears the badge in the others.
    assert (await gina.get("/notifications")).status_code == 200
    event = await receive_until(ws, lambda m: m.get("event") == "notifications.read")
    assert event["data"] == {"unread": 0}


async def test_resume_with_since_has_no_gaps_or_duplicates(site):
    ivan = await site.user_client("ivan")
    await open_room(site, ivan, "resume")
    ws = await connect(site)
    await subscribe(ws, "room:resume")
    await ivan.post("/rooms/resume/messages", {"body": "one"})
    first = await receive_until(ws, lambda m: m.get("event") == "message.created")
    ws.close()
    for body in ("two", "three", "four"):
        await ivan.post("/rooms/resume/messages", {"body": body})
    again = await connect(site)
    await again.write_message(
        json.dumps({"op": "subscribe", "channel": "room:resume", "since": first["id"]})
    )
    seen = []
    while len(seen) < 3:
        for item in await receive(again):
            if item.get("event") == "message.created":
                seen.append(item["data"]["body"])
    await ivan.post("/rooms/resume/messages", {"body": "five"})
    live = await receive_until(again, lambda m: m.get("event") == "message.created")
    assert seen == ["two", "three", "four"] and live["data"]["body"] == "five"


async def test_long_poll_replays_and_waits(site):
    jane = await site.user_client("jane")
    await open_room(site, jane, "poll")
    poller = site.client()
    waiting = asyncio.create_task(poller.get("/poll", params={"channel": "room:poll"}))
    while site.ctx.hub.count("room:poll") < 1:
        await asyncio.sleep(0.01)
    await jane.post("/rooms/poll/messages", {"body": "ping"})
    r = await waiting
    events = r.json()["events"]
    assert [e["data"]["body"] for e in events] == ["ping"]
    await jane.post("/rooms/poll/messages", {"body": "pong"})
    r = await poller.get("/poll", params={"channel": "room:poll", "since": events[-1]["id"]})
    assert [e["data"]["body"] for e in r.json()["events"]] == ["pong"]
    assert (await poller.get("/poll", params={"channel": "user:1"})).status_code == 403
    assert (
        await poller.get("/poll", params={"channel": "room:poll", "since": "garbage"})
    ).status_code == 400


async def test_shutdown_says_going_away(site):
    kim = await site.user_client("kim")
    ws = await connect(site, kim)
    await subscribe(ws, f"user:{(await site.ctx.accounts.by_username('kim')).id}")
    site.ctx.close_sockets()
    assert await asyncio.wait_for(ws.read_message(), 5) is None
    assert ws.close_code == 1001


async def test_likes_reach_everyone_on_the_photo_page(site, image_bytes):
    owner = await site.user_client("lena")
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    viewer = await connect(site)  # anonymous, on a public post
    assert (await subscribe(viewer, f"post:{post_id}"))["op"] == "subscribed"
    fan = await site.user_client("milo")
    assert (await fan.post(f"/p/{post_id}/like")).status_code == 303
    event = await receive_until(viewer, lambda m: m.get("event") == "like.changed")
    assert event["data"] == {"post_id": str(post_id), "count": 1}
    assert (await fan.post(f"/p/{post_id}/unlike")).status_code == 303
    event = await receive_until(viewer, lambda m: m.get("event") == "like.changed")
    assert event["data"]["count"] == 0


async def test_a_comment_notification_quotes_the_comment(site, image_bytes):
    owner = await site.user_client("nell")
    owner_id = (await site.ctx.accounts.by_username("nell")).id
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    ws = await connect(site, owner)
    await subscribe(ws, f"user:{owner_id}")
    fan = await site.user_client("otto")
    body = "so  pretty <b>really</b> " + "x" * 200
    assert (await fan.post(f"/p/{post_id}/comments", {"body": body})).status_code == 303
    event = await receive_until(ws, lambda m: m.get("event") == "notification.created")
    assert event["data"]["kind"] == "comment" and event["data"]["post_id"] == str(post_id)
    excerpt = event["data"]["excerpt"]
    # Plain text (the page inserts it as text), spaces folded, cut with an ellipsis.
    assert excerpt.startswith("so pretty <b>really</b> xxx") and excerpt.endswith("…")
    assert len(excerpt) == 120
    assert (await fan.post("/@nell/follow")).status_code in (302, 303)
    event = await receive_until(ws, lambda m: m.get("event") == "notification.created")
    assert event["data"]["kind"] == "follow" and event["data"]["excerpt"] is None
