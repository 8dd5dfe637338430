"""@mentions in captions notify the people named: existing ones, who may see the post, not the
author; an edit notifies only the newly named; a refused post notifies nobody."""

from __future__ import annotations

import re

from tests.helpers import new_post, upload
from tests.notifications.support import lines, notifications_of


async def private(client) -> None:
    r = await client.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    assert r.status_code == 303


async def approve_all(owner) -> None:
    page = (await owner.get("/follow-requests")).text
    for request_id in re.findall(r"/follow-requests/([0-9]+)/approve", page):
        assert (await owner.post(f"/follow-requests/{request_id}/approve")).status_code == 303


async def test_a_new_post_notifies_the_people_it_names(site, image_bytes):
    author = await site.user_client("ansel")
    await site.user_client("bo")
    await site.user_client("cleo")
    post_id = await new_post(
        author, image_bytes, "Sunset with @Bo and @cleo. (@bo again, @ansel, @ghost, me@cleo)"
    )
    assert await notifications_of(site, "bo") == [("mention", "ansel", post_id)]
    assert await notifications_of(site, "cleo") == [("mention", "ansel", post_id)]
    assert await notifications_of(site, "ansel") == []  # not oneself
    bo_page = (await site.clients[1].get("/notifications")).text
    assert lines(bo_page) == [
        "ansel mentioned you in a post: Sunset with @Bo and @cleo. (@bo again, @ansel, @ghost, me@cleo)"
    ]
    assert f'href="/p/{post_id}"' in bo_page


async def test_a_private_post_notifies_only_those_who_may_see_it(site, image_bytes):
    author = await site.user_client("dora")
    await private(author)
    friend = await site.user_client("finn")
    await friend.post("/@dora/follow")
    await approve_all(author)
    blocked = await site.user_client("blocked")
    await blocked.post("/@dora/follow")
    await approve_all(author)
    await author.post("/@blocked/block")
    await site.user_client("stranger")
    asker = await site.user_client("asker")
    await asker.post("/@dora/follow")  # asked, not yet approved
    await new_post(author, image_bytes, "@finn @stranger @asker @blocked look")
    assert [k for k, *_ in await notifications_of(site, "finn")] == ["mention"]
    for name in ("stranger", "asker", "blocked"):
        assert await notifications_of(site, name) == [], name


async def test_a_public_post_does_not_notify_someone_blocked_either_way(site, image_bytes):
    author = await site.user_client("gale")
    blocker = await site.user_client("hush")
    await blocker.post("/@gale/block")
    await new_post(author, image_bytes, "hi @hush")
    assert await notifications_of(site, "hush") == []


async def test_editing_notifies_only_the_newly_named(site, image_bytes):
    author = await site.user_client("iris")
    for name in ("jon", "kim"):
        await site.user_client(name)
    post_id = await new_post(author, image_bytes, "with @jon")
    r = await author.post(f"/p/{post_id}/edit", {"caption": "with @jon and @kim", "alt": [""]})
    assert r.status_code == 303, r.text
    r = await author.post(f"/p/{post_id}/edit", {"caption": "@kim @jon @kim!", "alt": [""]})
    assert r.status_code == 303
    assert await notifications_of(site, "jon") == [("mention", "iris", post_id)]
    assert await notifications_of(site, "kim") == [("mention", "iris", post_id)]
    # A refused edit (too long) changes nothing and notifies no one.
    await site.user_client("lou")
    r = await author.post(f"/p/{post_id}/edit", {"caption": "@lou " + "x" * 2200, "alt": [""]})
    assert r.status_code == 400
    assert await notifications_of(site, "lou") == []


async def test_a_name_taken_out_of_the_caption_takes_its_notice_away(site, image_bytes):
    author = await site.user_client("quin")
    for name in ("rae", "sol"):
        await site.user_client(name)
    post_id = await new_post(author, image_bytes, "with @rae and @sol")
    r = await author.post(f"/p/{post_id}/edit", {"caption": "with @sol only", "alt": [""]})
    assert r.status_code == 303, r.text
    assert await notifications_of(site, "rae") == []
    assert await notifications_of(site, "sol") == [("mention", "quin", post_id)]
    r = await author.post(f"/p/{post_id}/edit", {"caption": "no one now", "alt": [""]})
    assert r.status_code == 303
    assert await notifications_of(site, "sol") == []


async def test_a_refused_upload_notifies_no_one(site):
    author = await site.user_client("max")
    await site.user_client("ned")
    r = await upload(author, [("bad.jpg", b"not an image")], caption="for @ned")
    assert r.status_code == 400
    assert await notifications_of(site, "ned") == []


async def test_deleting_the_post_takes_the_mention_away(site, image_bytes):
    author = await site.user_client("ola")
    await site.user_client("pat")
    post_id = await new_post(author, image_bytes, "hey @pat")
    assert len(await notifications_of(site, "pat")) == 1
    assert (await author.post(f"/p/{post_id}/delete")).status_code == 303
    assert await notifications_of(site, "pat") == []
