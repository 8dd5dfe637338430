"""Live connections lose what their rights no longer cover: a socket or long poll closes when
its session ends, and a subscription ends when the viewer may no longer see the channel."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.helpers import DEFAULT_PASSWORD, post_id_from, upload
from tests.realtime.support import connect, open_room, receive_until, subscribe
from tornagram.realtime.control import CLOSE_SESSION_ENDED


async def closed(ws, timeout: float = 5.0) -> int | None:
    """Read until the server closes the socket; its close code."""
    async def drain():
        while await ws.read_message() is not None:
            pass

    await asyncio.wait_for(drain(), timeout)
    return ws.close_code


class OldCookie:
    def __init__(self, cookie: str) -> None:
        self.cookie = cookie

    def session_cookie(self) -> str:
        return self.cookie


async def newest_session_id(site, username: str) -> int:
    sessions = await site.ctx.accounts.sessions_of(await site.ctx.accounts.by_username(username))
    return max(s.id for s in sessions)


async def end_by_revoke(site, phone, laptop):
    await phone.post(f"/settings/sessions/{await newest_session_id(site, 'ada')}/revoke")


async def end_by_revoke_others(site, phone, laptop):
    await phone.post("/settings/sessions/revoke-others")


async def end_by_password(site, phone, laptop):
    new = "another long pw 1"
    r = await phone.post(
        "/settings/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": new, "confirm_password": new},
    )
    assert r.status_code == 303


async def end_by_sign_out(site, phone, laptop):
    await laptop.post("/logout")


@pytest.mark.parametrize(
    "end_session", [end_by_revoke, end_by_revoke_others, end_by_password, end_by_sign_out]
)
async def test_ending_a_session_closes_its_socket(site, end_session):
    phone = await site.user_client("ada")
    laptop = site.client()
    assert (await laptop.login("ada")).status_code == 303  # the newest session
    await open_room(site, phone, "den")
    ada_id = (await site.ctx.accounts.by_username("ada")).id
    ws = await connect(site, laptop)
    assert (await subscribe(ws, f"user:{ada_id}"))["op"] == "subscribed"
    assert (await subscribe(ws, "room:den"))["op"] == "subscribed"
    # The phone's own socket, whose session stays, must stay open.
    phone_ws = None
    if end_session is not end_by_password:
        phone_ws = await connect(site, phone)
        assert (await subscribe(phone_ws, "room:den"))["op"] == "subscribed"
    cookie = laptop.session_cookie()

    await end_session(site, phone, laptop)
    assert await closed(ws) == CLOSE_SESSION_ENDED

    # The old cookie opens only a signed-out socket now: it may listen, not post as Ada.
    again = await connect(site, OldCookie(cookie))
    assert (await subscribe(again, "room:den"))["op"] == "subscribed"
    assert (await subscribe(again, f"user:{ada_id}"))["code"] == "forbidden"
    await again.write_message(json.dumps({"op": "send", "channel": "room:den", "body": "me?"}))
    error = await receive_until(again, lambda m: m.get("op") == "error")
    assert error["code"] == "sign_in_required"
    if phone_ws is not None:
        await phone.post("/rooms/den/messages", {"body": "still here"})
        event = await receive_until(phone_ws, lambda m: m.get("event") == "message.created")
        assert event["data"]["body"] == "still here"


async def test_ending_a_session_ends_its_long_poll(site):
    phone = await site.user_client("bea")
    laptop = site.client()
    assert (await laptop.login("bea")).status_code == 303
    bea_id = (await site.ctx.accounts.by_username("bea")).id
    waiting = asyncio.create_task(laptop.get("/poll", params={"channel": f"user:{bea_id}"}))
    while site.ctx.hub.count(f"user:{bea_id}") < 1:
        await asyncio.sleep(0.01)
    await phone.post("/settings/sessions/revoke-others")
    # Answered now, long before the poll's own 25 s wait, and with a refusal that stops it.
    r = await asyncio.wait_for(waiting, 5)
    assert r.status_code == 401
    assert site.ctx.hub.count(f"user:{bea_id}") == 0


async def test_a_socket_whose_session_ended_unannounced_cannot_post(site):
    """Even if the announcement is lost (the broker was down), sending checks the session."""
    phone = await site.user_client("cy")
    laptop = site.client()
    assert (await laptop.login("cy")).status_code == 303
    await open_room(site, phone, "quiet")
    ws = await connect(site, laptop)
    assert (await subscribe(ws, "room:quiet"))["op"] == "subscribed"
    site.ctx.accounts.live = None  # nobody is told
    try:
        await phone.post("/settings/sessions/revoke-others")
    finally:
        site.ctx.accounts.live = site.ctx.live
    await ws.write_message(json.dumps({"op": "send", "channel": "room:quiet", "body": "from a dead session"}))
    assert await closed(ws) == CLOSE_SESSION_ENDED
    page = await site.client().get("/rooms/quiet")
    assert "from a dead session" not in page.text


# -- access that changes after subscribing ---------------------------------------------------


async def go_private(client) -> None:
    r = await client.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    assert r.status_code == 303


async def cut(ws, channel: str) -> dict:
    return await receive_until(
        ws, lambda m: m.get("op") == "unsubscribed" and m.get("channel") == channel
    )


async def comment_reaches(ws, client, post_id: int, body: str) -> dict:
    r = await client.post(f"/p/{post_id}/comments", {"body": body})
    assert r.status_code in (302, 303), r.text
    return await receive_until(
        ws, lambda m: m.get("event") == "comment.created" and m["data"]["body"] == body
    )


async def test_going_private_cuts_strangers_and_anonymous_viewers(site, image_bytes):
    owner = await site.user_client("dora")
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    channel = f"post:{post_id}"
    fan = await site.user_client("fay")
    assert (await fan.post("/@dora/follow")).status_code in (302, 303)
    stranger = await site.user_client("gus")
    sockets = {
        "anonymous": await connect(site),
        "stranger": await connect(site, stranger),
        "follower": await connect(site, fan),
        "owner": await connect(site, owner),
    }
    for ws in sockets.values():
        assert (await subscribe(ws, channel))["op"] == "subscribed"
    poll = asyncio.create_task(site.client().get("/poll", params={"channel": channel}))
    while site.ctx.hub.count(channel) < 5:
        await asyncio.sleep(0.01)

    await go_private(owner)
    for who in ("anonymous", "stranger"):
        message = await cut(sockets[who], channel)
        assert message["code"] == "not_found" and message["message"], who
    assert (await asyncio.wait_for(poll, 5)).status_code == 404
    # The follower and the owner still hear the post; the others are no longer subscribed.
    assert site.ctx.hub.count(channel) == 2
    await comment_reaches(sockets["follower"], owner, post_id, "only for followers now")
    await comment_reaches(sockets["owner"], fan, post_id, "seen")
    # Resubscribing is refused, exactly as for a post that was private from the start.
    assert (await subscribe(sockets["stranger"], channel))["code"] == "not_found"


async def test_blocking_cuts_the_blocked_viewer_only(site, image_bytes):
    owner = await site.user_client("hal")
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    channel = f"post:{post_id}"
    pest = await site.user_client("ike")
    pest_ws = await connect(site, pest)
    anonymous = await connect(site)
    for ws in (pest_ws, anonymous):
        assert (await subscribe(ws, channel))["op"] == "subscribed"
    assert (await owner.post("/@ike/block")).status_code in (302, 303)
    assert (await cut(pest_ws, channel))["code"] == "not_found"
    await comment_reaches(anonymous, owner, post_id, "still public")
    assert site.ctx.hub.count(channel) == 1
    # The pest can no longer comment over the socket either.
    await pest_ws.write_message(json.dumps({"op": "send", "channel": channel, "body": "hey"}))
    error = await receive_until(pest_ws, lambda m: m.get("op") == "error")
    assert error["code"] == "not_found"


async def test_unfollowing_a_private_account_cuts_its_posts(site, image_bytes):
    owner = await site.user_client("jo")
    fan = await site.user_client("kai")
    assert (await fan.post("/@jo/follow")).status_code in (302, 303)
    await go_private(owner)
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    channel = f"post:{post_id}"
    ws = await connect(site, fan)
    assert (await subscribe(ws, channel))["op"] == "subscribed"
    assert (await fan.post("/@jo/unfollow")).status_code in (302, 303)
    assert (await cut(ws, channel))["code"] == "not_found"
    assert site.ctx.hub.count(channel) == 0


async def test_deleting_a_post_cuts_every_viewer(site, image_bytes):
    owner = await site.user_client("lou")
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    channel = f"post:{post_id}"
    viewers = [await connect(site), await connect(site, owner)]
    for ws in viewers:
        assert (await subscribe(ws, channel))["op"] == "subscribed"
    assert (await owner.post(f"/p/{post_id}/delete")).status_code in (302, 303)
    for ws in viewers:
        assert (await cut(ws, channel))["code"] == "not_found"
    assert site.ctx.hub.count(channel) == 0
