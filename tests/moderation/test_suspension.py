"""A suspension: the account's posts, comments, likes and profile vanish for everyone else on
the next page (caches on), its sessions and sockets end at once, and it can only read why."""

from __future__ import annotations

import asyncio

import tornado.httpclient
import tornado.websocket

from tests.helpers import DEFAULT_PASSWORD
from tests.moderation.support import post_ids, report, resolve, share, staff_client
from tornagram.realtime.control import CLOSE_SESSION_ENDED


async def suspend_by_report(site, mod, reporter, post_id: int) -> None:
    await report(reporter, "post", post_id, "spam")
    rows, _ = await site.ctx.moderation.queue()
    [row] = [r for r in rows if r.report.target_id == post_id]
    assert (await resolve(mod, row.report.id, "suspend", "spam wave")).status_code == 303


async def test_a_suspended_account_vanishes_for_everyone_else(site, image_bytes):
    assert site.ctx.settings.caches
    bo = await site.user_client("bo")
    ana, cy = await site.user_client("ana"), await site.user_client("cy")
    mod = await staff_client(site, "mod")
    await cy.post("/@bo/follow")
    spam = await share(bo, "cheap #deals")
    cy_post = await share(cy, "my dog")
    await bo.post(f"/p/{cy_post}/comments", {"body": "visit my shop"})
    await bo.post(f"/p/{cy_post}/like")
    stranger = site.client()
    # Seen (and cached) before the suspension.
    pages = ("/", "/explore", "/tags/deals", f"/p/{spam}", "/search?q=deals")
    for path in pages:
        assert spam in post_ids((await cy.get(path)).text) or path == "/search?q=deals"
    assert "visit my shop" in (await cy.get(f"/p/{cy_post}")).text
    assert "bo" in (await cy.get(f"/p/{cy_post}/likes")).text
    assert (await stranger.get("/@bo")).status_code == 200

    await suspend_by_report(site, mod, ana, spam)

    for viewer in (cy, ana, stranger):
        assert spam not in post_ids((await viewer.get("/")).text)
        assert spam not in post_ids((await viewer.get("/explore")).text)
        assert spam not in post_ids((await viewer.get("/tags/deals")).text)
        assert "cheap" not in (await viewer.get("/search?q=deals")).text
        assert (await viewer.get(f"/p/{spam}")).status_code == 404
        assert (await viewer.get("/@bo")).status_code == 404
        assert (await viewer.get("/@bo/followers")).status_code == 404
        assert "visit my shop" not in (await viewer.get(f"/p/{cy_post}")).text
    likers = (await cy.get(f"/p/{cy_post}/likes")).text
    assert 'href="/@bo"' not in likers
    # cy's notifications of bo's comment and like are gone too.
    assert "bo</a>" not in (await cy.get("/notifications")).text

    # Lifted: everything is back on the next page.
    bo_user = await site.ctx.accounts.by_username("bo")
    await mod.post(f"/admin/users/{bo_user.id}/unsuspend", {"note": "appeal accepted"})
    assert spam in post_ids((await cy.get("/")).text)
    assert (await stranger.get("/@bo")).status_code == 200
    assert "visit my shop" in (await cy.get(f"/p/{cy_post}")).text
    entries, _ = await site.ctx.moderation.log()
    assert [(e.action, e.actor_name, e.subject_name, e.note) for e in entries[:3]] == [
        ("user.unsuspend", "mod", "bo", "appeal accepted"),
        ("report.suspend", "mod", "bo", "spam wave"),
        ("user.suspend", "mod", "bo", "spam wave"),
    ]


async def test_suspension_ends_sessions_and_sockets_and_leaves_only_the_notice(site, image_bytes):
    bo = await site.user_client("bo")
    ana = await site.user_client("ana")
    mod = await staff_client(site, "mod")
    spam = await share(bo)
    url = site.base_url.replace("http://", "ws://") + "/ws"
    ws = await tornado.websocket.websocket_connect(
        tornado.httpclient.HTTPRequest(
            url, headers={"Cookie": f"session={bo.session_cookie()}", "Origin": site.base_url}
        )
    )
    await suspend_by_report(site, mod, ana, spam)

    async def drain():
        while await ws.read_message() is not None:
            pass

    await asyncio.wait_for(drain(), 5)
    assert ws.close_code == CLOSE_SESSION_ENDED
    # The old cookie is dead: bo is signed out.
    r = await bo.get("/upload")
    assert r.status_code == 302 and r.headers["location"].startswith("/login")
    # Signing in again works, and every page leads to the notice.
    assert (await bo.login("bo", DEFAULT_PASSWORD)).status_code == 303
    for path in ("/", "/explore", "/@bo", f"/p/{spam}", "/settings/profile"):
        r = await bo.get(path)
        assert r.status_code == 302 and r.headers["location"] == "/suspended", path
    notice = await bo.get("/suspended")
    assert notice.status_code == 200 and "suspended" in notice.text
    assert (await bo.post(f"/p/{spam}/comments", {"body": "still here"})).status_code == 403
    assert (await bo.post("/@ana/follow")).status_code == 403
    # It may still take its data away: the notice links the export, which is open to it.
    assert 'href="/settings/export"' in notice.text
    assert (await bo.get("/settings/export")).status_code == 200
    assert (await bo.post("/settings/export")).status_code == 303
    assert (await bo.post("/logout")).status_code == 303
    # Everyone else is not affected by the gate.
    assert (await ana.get("/suspended")).headers["location"] == "/"


async def test_a_suspended_account_cannot_be_reported_or_suspended_twice(site, image_bytes):
    bo, ana = await site.user_client("bo"), await site.user_client("ana")
    mod = await staff_client(site, "mod")
    spam = await share(bo)
    await suspend_by_report(site, mod, ana, spam)
    bo_id = (await site.ctx.accounts.by_username("bo")).id
    assert (await report(ana, "account", bo_id)).status_code == 404
    r = await mod.post(f"/admin/users/{bo_id}/suspend", {"note": ""})
    assert r.status_code == 409 and "already suspended" in r.text
