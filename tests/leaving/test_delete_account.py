"""Deleting an account: everything of theirs goes, counts stay right, nothing is left in storage."""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import func, select

from tests.helpers import DEFAULT_PASSWORD, post_photo
from tornagram.accounts.models import Session, User
from tornagram.graph.models import Comment, Follow, Like, Notification, Save
from tornagram.photos.models import Post


async def count(site, model, *where) -> int:
    async with site.ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def row(site, model, key):
    async with site.ctx.db.read() as s:
        return await s.get(model, key)


async def user(site, name) -> User:
    return await site.ctx.accounts.by_username(name)


async def stored_keys(site) -> set[str]:
    return {key async for key in site.ctx.storage.iter_keys()}


def delete_form(**extra):
    return {"username": "alice", "password": DEFAULT_PASSWORD, **extra}


async def test_delete_removes_everything_and_keeps_counts_right(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    carol = await site.user_client("carol")
    mine = [await post_photo(alice, 1, "mine #sun"), await post_photo(alice, 2)]
    alice_keys = await stored_keys(site)
    theirs = await post_photo(bob, 3, "bob's")
    bob_keys = await stored_keys(site) - alice_keys
    assert alice_keys and bob_keys
    alice_id = (await user(site, "alice")).id
    # Alice's traces on Bob's post, and Bob's and Carol's on hers.
    assert (await alice.post(f"/p/{theirs}/like")).status_code in (200, 303)
    await alice.post(f"/p/{theirs}/save")
    await alice.post(f"/p/{theirs}/comments", {"body": "lovely"})
    alice_comment = await _last_comment(site, theirs)
    await carol.post(f"/p/{theirs}/comments", {"body": "agreed", "parent_id": str(alice_comment)})
    await carol.post(f"/p/{theirs}/comments", {"body": "mine stays"})
    await bob.post(f"/p/{mine[0]}/like")
    await bob.post(f"/p/{mine[0]}/comments", {"body": "nice one"})
    await alice.post("/@bob/follow")
    await carol.post("/@alice/follow")
    await bob.post("/@alice/follow")
    await alice.post("/@carol/follow")
    before = await row(site, Post, theirs)
    assert (before.like_count, before.comment_count) == (1, 3)

    page = await alice.get("/settings/delete")
    assert page.status_code == 200
    done = await alice.post("/settings/delete", delete_form())
    assert done.status_code == 200, done.text
    assert "deleted" in done.text
    assert alice.session_cookie() is None

    after = await row(site, Post, theirs)
    assert (after.like_count, after.comment_count) == (0, 1)
    bob_row, carol_row = await user(site, "bob"), await user(site, "carol")
    assert (bob_row.follower_count, bob_row.following_count) == (0, 0)
    assert (carol_row.follower_count, carol_row.following_count) == (0, 0)
    assert await count(site, Post, Post.id.in_(mine)) == 0
    assert await count(site, Session, Session.user_id == alice_id) == 0
    assert await count(site, Like) == 0
    assert await count(site, Save) == 0
    assert await count(site, Follow) == 0
    assert await count(site, Comment) == 1
    assert await count(site, Notification, Notification.post_id.in_(mine)) == 0
    assert await count(site, Notification, Notification.actor_id == alice_id) == 0
    assert await count(site, Notification, Notification.recipient_id == alice_id) == 0
    # Nothing of hers in media storage; Bob's files are all there.
    left = await stored_keys(site)
    assert not (alice_keys & left)
    assert bob_keys <= left
    assert await site.ctx.photos.gc_media(dry_run=True) == []
    # Gone from every page.
    viewer = site.client()
    assert (await viewer.get("/@alice")).status_code == 404
    assert (await viewer.get(f"/p/{mine[0]}")).status_code == 404
    assert "@alice" not in (await bob.get("/")).text.replace("@bob", "")
    assert (await viewer.get("/login")).status_code == 200
    assert (await site.client().login("alice")).status_code == 400


async def _last_comment(site, post_id: int) -> int:
    async with site.ctx.db.read() as s:
        return await s.scalar(select(func.max(Comment.id)).where(Comment.post_id == post_id))


async def test_the_name_is_reserved_for_30_days(site):
    alice = await site.user_client("alice")
    assert (await alice.post("/settings/delete", delete_form())).status_code == 200
    again = await site.client().post(
        "/signup", {"username": "alice", "email": "new@example.org", "password": DEFAULT_PASSWORD}
    )
    assert again.status_code == 400 and "taken" in again.text
    # The address is free at once.
    other = site.client()
    ok = await other.post(
        "/signup", {"username": "someone", "email": "alice@example.org", "password": DEFAULT_PASSWORD}
    )
    assert ok.status_code == 303


async def test_wrong_password_or_name_deletes_nothing(site):
    alice = await site.user_client("alice")
    await post_photo(alice, 5)
    keys = await stored_keys(site)
    wrong_pw = await alice.post("/settings/delete", delete_form(password="not it at all"))
    assert wrong_pw.status_code == 400 and "password is not right" in wrong_pw.text
    wrong_name = await alice.post("/settings/delete", delete_form(username="bob"))
    assert wrong_name.status_code == 400 and "Type your username" in wrong_name.text
    assert await stored_keys(site) == keys
    assert (await alice.get("/settings/profile")).status_code == 200
    assert (await site.client().get("/@alice")).status_code == 200


async def test_with_two_factor_a_code_is_needed(site):
    alice = await site.user_client("alice")
    await alice.post("/settings/security/setup")
    me = await user(site, "alice")
    secret = me.totp_pending_secret
    totp = pyotp.TOTP(secret)
    done = await alice.post("/settings/security/enable", {"code": totp.at(time.time() - 30)})
    assert done.status_code == 200
    page = await alice.get("/settings/delete")
    assert 'name="code"' in page.text
    refused = await alice.post("/settings/delete", delete_form(code="000000"))
    assert refused.status_code == 400
    assert (await site.client().get("/@alice")).status_code == 200
    ok = await alice.post("/settings/delete", delete_form(code=totp.now()))
    assert ok.status_code == 200


async def test_xsrf_and_sign_in_are_required(site):
    alice = await site.user_client("alice")
    assert (await alice.post("/settings/delete", delete_form(), xsrf=False)).status_code == 403
    assert (await site.client().get("/settings/delete")).status_code == 302
    assert (await site.client().get("/@alice")).status_code == 200


async def test_live_connections_end_with_the_account(site):
    import asyncio

    import tornado.httpclient
    import tornado.websocket

    from tornagram.realtime.control import CLOSE_SESSION_ENDED

    alice = await site.user_client("alice")
    laptop = site.client()
    assert (await laptop.login("alice")).status_code == 303
    sockets = []
    for client in (alice, laptop):
        request = tornado.httpclient.HTTPRequest(
            site.base_url.replace("http://", "ws://") + "/ws",
            headers={"Cookie": f"session={client.session_cookie()}", "Origin": site.base_url},
        )
        sockets.append(await tornado.websocket.websocket_connect(request))

    assert (await alice.post("/settings/delete", delete_form())).status_code == 200

    async def closed(ws):
        while await ws.read_message() is not None:
            pass
        return ws.close_code

    codes = await asyncio.wait_for(asyncio.gather(*(closed(ws) for ws in sockets)), 10)
    assert codes == [CLOSE_SESSION_ENDED, CLOSE_SESSION_ENDED]
