"""Live connections lose what their rights no longer cover: a socket or long poll closes when
its session ends, and a subscription ends when the viewer may no longer see the channel."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.helpers import DEFAULT_PASSWORD
from tests.realtime.test_live_site import connect, open_room, receive_until, subscribe
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
