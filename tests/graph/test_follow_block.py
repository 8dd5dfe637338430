"""Follow, follow requests for private accounts, block — and the photo page's visibility."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from tests.helpers import post_id_from, upload, user
from tornagram.graph.models import Follow, FollowRequest, Notification


async def notifications_of(site, name):
    u = await user(site, name)
    async with site.ctx.db.read() as s:
        return [(n.kind, n.actor_id) for n in (await s.execute(select(Notification).where(Notification.recipient_id == u.id))).scalars()]


async def test_follow_is_idempotent_and_counted(site):
    alice = await site.user_client("alice")
    await site.user_client("bob")
    for _ in range(2):
        r = await alice.post("/@bob/follow")
        assert r.status_code == 303 and r.headers["location"] == "/@bob"
    a, b = await user(site, "alice"), await user(site, "bob")
    assert (a.following_count, b.follower_count) == (1, 1)
    assert await notifications_of(site, "bob") == [("follow", a.id)]
    r = await alice.post("/@bob/follow", headers={"Accept": "application/json"})
    assert r.json() == {"state": "following"}
    for _ in range(2):
        await alice.post("/@bob/unfollow")
    a, b = await user(site, "alice"), await user(site, "bob")
    assert (a.following_count, b.follower_count) == (0, 0)
    assert await notifications_of(site, "bob") == []


async def test_follow_bad_input(site):
    alice = await site.user_client("carla")
    r = await alice.post("/@carla/follow")
    assert r.status_code == 400 and "You can't follow yourself." in html.unescape(r.text)
    assert (await alice.post("/@nobody_at_all/follow")).status_code == 404
    assert (await alice.get("/@carla/follow")).status_code == 405
    assert (await site.client().post("/@carla/follow")).status_code == 403  # signed out
    assert (await user(site, "carla")).follower_count == 0


async def test_private_account_request_approve_and_deny(site, image_bytes):
    owner = await site.user_client("dana")
    await owner.post("/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"})
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    fan, other = await site.user_client("eli"), await site.user_client("fred")
    assert (await fan.get(f"/p/{post_id}")).status_code == 404  # not 403: nothing to probe
    assert (await site.client().get(f"/p/{post_id}")).status_code == 404
    r = await fan.post("/@dana/follow", headers={"Accept": "application/json"})
    assert r.json() == {"state": "requested"}
    await other.post("/@dana/follow")
    assert (await fan.get(f"/p/{post_id}")).status_code == 404  # a request is not a follow
    page = await owner.get("/follow-requests")
    assert page.status_code == 200 and "eli" in page.text and "fred" in page.text
    async with site.ctx.db.read() as s:
        requests = {r.requester_id: r.id for r in (await s.execute(select(FollowRequest))).scalars()}
    eli, fred = await user(site, "eli"), await user(site, "fred")
    assert (await owner.post(f"/follow-requests/{requests[eli.id]}/approve")).status_code == 303
    assert (await owner.post(f"/follow-requests/{requests[fred.id]}/deny")).status_code == 303
    assert (await fan.get(f"/p/{post_id}")).status_code == 200
    assert (await other.get(f"/p/{post_id}")).status_code == 404
    assert (await user(site, "dana")).follower_count == 1
    # Answering twice, or someone else's request, is a clear 404.
    assert (await owner.post(f"/follow-requests/{requests[eli.id]}/approve")).status_code == 404
    assert "follow" in [k for k, _ in await notifications_of(site, "dana")]
    assert "follow_request" not in [k for k, _ in await notifications_of(site, "dana")]


async def test_withdrawn_request_and_going_public_approves_the_rest(site):
    owner = await site.user_client("gail")
    await owner.post("/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"})
    a, b = await site.user_client("hal"), await site.user_client("ivy")
    await a.post("/@gail/follow")
    await b.post("/@gail/follow")
    await a.post("/@gail/unfollow")  # withdraws the request
    r = await owner.post("/settings/profile", {"display_name": "", "bio": "", "locale": ""})
    assert r.status_code == 303
    async with site.ctx.db.read() as s:
        follows = {(f.follower_id, f.followee_id) for f in (await s.execute(select(Follow))).scalars()}
        assert not (await s.execute(select(FollowRequest))).first()
    gail, hal, ivy = await user(site, "gail"), await user(site, "hal"), await user(site, "ivy")
    assert follows == {(ivy.id, gail.id)} and not gail.is_private and hal


async def test_block_cuts_every_tie_both_ways(site, image_bytes):
    blocker = await site.user_client("jack")
    blocked = await site.user_client("kim")
    await blocker.post("/@kim/follow")
    await blocked.post("/@jack/follow")
    post_id = post_id_from(await upload(blocker, [("t.png", image_bytes("tiny.png"))]))
    assert (await blocked.get(f"/p/{post_id}")).status_code == 200
    assert (await blocker.post("/@kim/block")).status_code == 303
    jack, kim = await user(site, "jack"), await user(site, "kim")
    assert (jack.follower_count, jack.following_count, kim.follower_count, kim.following_count) == (0, 0, 0, 0)
    assert (await blocked.get(f"/p/{post_id}")).status_code == 404
    assert (await blocked.post("/@jack/follow")).status_code == 403
    assert (await blocker.post("/@kim/follow")).status_code == 403  # unblock first
    assert (await blocked.get("/@jack/followers")).status_code == 404
    await blocker.post("/@kim/unblock")
    assert (await blocked.get(f"/p/{post_id}")).status_code == 200
    assert (await blocked.post("/@jack/follow")).status_code == 303
    assert (await blocker.post("/@jack/block")).status_code == 400


async def test_follower_lists_and_private_lists(site):
    star = await site.user_client("lena")
    fans = [await site.user_client(f"fan{i}") for i in range(3)]
    for fan in fans:
        await fan.post("/@lena/follow")
    page = await site.client().get("/@lena/followers")
    assert page.status_code == 200 and all(f"fan{i}" in page.text for i in range(3))
    assert "lena" in (await site.client().get("/@fan0/following")).text
    await star.post("/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"})
    hidden = await site.client().get("/@lena/followers")
    assert hidden.status_code == 200 and "fan1" not in hidden.text and "This account is private" in hidden.text
    assert "fan1" in (await fans[0].get("/@lena/followers")).text  # followers may look


async def test_going_public_lets_everyone_in_within_the_one_change(site, monkeypatch):
    """The account turning public and its askers becoming followers are one transaction: if
    letting someone in fails, the account stays private and every request still waits."""
    owner = await site.user_client("nia")
    await owner.post("/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"})
    for name in ("oli", "pia"):
        await (await site.user_client(name)).post("/@nia/follow")
    real_add, added = site.ctx.graph._add_follow, []

    async def add_then_fail(session, follower_id, followee_id):
        await real_add(session, follower_id, followee_id)
        added.append(follower_id)
        if len(added) == 2:
            raise RuntimeError("the database went away")

    monkeypatch.setattr(site.ctx.graph, "_add_follow", add_then_fail)
    nia = await user(site, "nia")
    with pytest.raises(RuntimeError):
        await site.ctx.accounts.update_profile(nia, display_name="", bio="", locale="", is_private=False)
    assert len(added) == 2
    async with site.ctx.db.read() as s:
        assert not (await s.execute(select(Follow))).first()
        assert len((await s.execute(select(FollowRequest))).all()) == 2
    assert (await user(site, "nia")).is_private
    monkeypatch.undo()
    # One service call does it all, with no handler in between.
    await site.ctx.accounts.update_profile(nia, display_name="", bio="", locale="", is_private=False)
    async with site.ctx.db.read() as s:
        assert len((await s.execute(select(Follow))).all()) == 2
        assert not (await s.execute(select(FollowRequest))).first()
