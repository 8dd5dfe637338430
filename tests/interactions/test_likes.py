"""Liking through the real HTTP stack: idempotent, exactly counted under concurrency, notified
once, refused (404, nothing changed) where the post is hidden."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from tests.helpers import make_private, new_post
from tests.interactions.support import (
    HIDDEN,
    JSON,
    hidden_post,
    notifications_of,
    owner_and_fan,
    post_row,
    rows,
)
from tornagram.graph.models import FollowRequest, Like


async def test_like_and_unlike_are_idempotent_and_counted(site, image_bytes):
    _owner, fan, post_id = await owner_and_fan(site, image_bytes, "olga", "pablo")
    for _ in range(2):
        r = await fan.post(f"/p/{post_id}/like")
        assert r.status_code == 303 and r.headers["location"] == f"/p/{post_id}"
    assert (await post_row(site, post_id)).like_count == 1
    assert await rows(site, Like) == 1
    assert await notifications_of(site, "olga") == [("like", "pablo")]
    r = await fan.post(f"/p/{post_id}/like", headers=JSON)
    assert r.status_code == 200 and r.json() == {"liked": True, "like_count": 1}
    for _ in range(2):
        r = await fan.post(f"/p/{post_id}/unlike", headers=JSON)
        assert r.json() == {"liked": False, "like_count": 0}
    assert (await post_row(site, post_id)).like_count == 0
    assert await rows(site, Like) == 0
    assert await notifications_of(site, "olga") == []  # the notice is taken back
    # Liking again notifies again, once.
    await fan.post(f"/p/{post_id}/like")
    await fan.post(f"/p/{post_id}/like")
    assert await notifications_of(site, "olga") == [("like", "pablo")]


async def test_liking_your_own_post_notifies_nobody(site, image_bytes):
    owner = await site.user_client("quinn")
    post_id = await new_post(owner, image_bytes)
    r = await owner.post(f"/p/{post_id}/like", headers=JSON)
    assert r.json() == {"liked": True, "like_count": 1}
    assert await notifications_of(site, "quinn") == []


async def test_ten_people_liking_at_once_are_ten_likes(site, image_bytes):
    owner = await site.user_client("rosa")
    post_id = await new_post(owner, image_bytes)
    fans = [await site.user_client(f"fan{i}") for i in range(10)]
    answers = await asyncio.gather(*(f.post(f"/p/{post_id}/like", headers=JSON) for f in fans))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["like_count"] for a in answers)[-1] == 10
    assert (await post_row(site, post_id)).like_count == 10
    # And all at once again (half liking twice, half unliking): still exact.
    answers = await asyncio.gather(
        *(f.post(f"/p/{post_id}/{'unlike' if i % 2 else 'like'}") for i, f in enumerate(fans))
    )
    assert all(a.status_code == 303 for a in answers)
    assert (await post_row(site, post_id)).like_count == 5 == await rows(site, Like)


async def test_redirects_back_to_a_safe_next_only(site, image_bytes):
    owner = await site.user_client("sven")
    post_id = await new_post(owner, image_bytes)
    r = await owner.post(f"/p/{post_id}/like", {"next": f"/?page=2#post-{post_id}"})
    assert r.headers["location"] == f"/?page=2#post-{post_id}"
    r = await owner.post(f"/p/{post_id}/unlike", {"next": "//evil.example/"})
    assert r.headers["location"] == f"/p/{post_id}"


async def test_state_changes_need_post_sign_in_and_xsrf(site, image_bytes):
    owner = await site.user_client("tess")
    post_id = await new_post(owner, image_bytes)
    for action in ("like", "unlike", "save", "unsave", "comments"):
        assert (await owner.get(f"/p/{post_id}/{action}")).status_code == 405, action
        assert (await site.client().post(f"/p/{post_id}/{action}")).status_code == 403, action
        r = await owner.http.post(f"/p/{post_id}/{action}", data={"body": "x"})
        assert r.status_code == 403, action  # no XSRF token
    assert (await owner.get("/comments/1/delete")).status_code == 405
    assert (await post_row(site, post_id)).like_count == 0
    assert (await owner.post("/p/123/like")).status_code == 404


@pytest.mark.parametrize("how", HIDDEN)
async def test_a_hidden_post_cannot_be_liked(site, image_bytes, how):
    _owner, viewer, post_id = await hidden_post(site, image_bytes, how)
    for action in ("like", "unlike"):
        r = await viewer.post(f"/p/{post_id}/{action}", headers=JSON)
        assert r.status_code == 404, (action, r.text)
        assert "does not exist" in r.json()["error"]["message"]
    assert (await viewer.get(f"/p/{post_id}/likes")).status_code == 404
    assert (await post_row(site, post_id)).like_count == 0
    assert await rows(site, Like) == 0
    assert await notifications_of(site, "vera") == []


async def test_private_posts_can_be_liked_by_approved_followers(site, image_bytes):
    owner, fan, post_id = await owner_and_fan(site, image_bytes, "xena", "yuri")
    await make_private(owner)
    assert (await fan.post(f"/p/{post_id}/like")).status_code == 404
    await fan.post("/@xena/follow")
    async with site.ctx.db.read() as s:
        request_id = (await s.execute(select(FollowRequest.id))).scalar_one()
    await owner.post(f"/follow-requests/{request_id}/approve")
    assert (await fan.post(f"/p/{post_id}/like", headers=JSON)).json()["like_count"] == 1


async def test_likers_page_lists_people_newest_first_with_pages(site, image_bytes, monkeypatch):
    import tornagram.interactions.reads as reads

    monkeypatch.setattr(reads, "LIKERS_PAGE_SIZE", 2)
    owner = await site.user_client("zoe")
    post_id = await new_post(owner, image_bytes)
    for name in ("amy", "ben", "cal"):
        fan = await site.user_client(name)
        await fan.post(f"/p/{post_id}/like")
    page = await site.client().get(f"/p/{post_id}/likes")
    assert page.status_code == 200
    assert people(page.text) == ["cal", "ben"]
    more = re.search(rf'href="(/p/{post_id}/likes\?before=\d+)"', page.text).group(1)
    assert people((await site.client().get(more)).text) == ["amy"]
    # The post card links its count to this list.
    card = await site.client().get(f"/p/{post_id}")
    assert f'href="/p/{post_id}/likes"' in card.text and "3 likes" in card.text


def people(html: str) -> list[str]:
    return re.findall(r'class="person-username" href="/@([a-z0-9_.]+)"', html)
