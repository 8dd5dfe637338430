"""Muting: the muted person's posts leave your home feed, their comments leave the posts you
read, their notices leave your list and badge; on the next page, with the caches on. They are
not told, and nothing changes for them."""

from __future__ import annotations

import re

from tests.helpers import post_id_from, upload


async def share(client, image_bytes, caption: str = "") -> int:
    response = await upload(client, [("tiny.png", image_bytes("tiny.png"))], caption=caption)
    return post_id_from(response)


def post_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/p/([0-9]+)"', html)}


async def test_muting_hides_and_unmuting_brings_back(site, image_bytes):
    assert site.ctx.settings.caches
    ana, bo = await site.user_client("ana"), await site.user_client("bo")
    await ana.post("/@bo/follow")
    bo_post = await share(bo, image_bytes, "loud")
    ana_post = await share(ana, image_bytes, "mine")
    await bo.post(f"/p/{ana_post}/comments", {"body": "first!!!"})
    await bo.post(f"/p/{ana_post}/like")
    assert bo_post in post_ids((await ana.get("/")).text)  # read, and cached
    assert "first!!!" in (await ana.get(f"/p/{ana_post}")).text
    assert "bo</a>" in (await ana.get("/notifications")).text

    r = await ana.post("/@bo/mute")
    assert r.status_code == 303 and r.headers["location"] == "/@bo"
    assert (await ana.post("/@bo/mute")).status_code == 303  # twice is once
    assert bo_post not in post_ids((await ana.get("/")).text)
    assert "first!!!" not in (await ana.get(f"/p/{ana_post}")).text
    await bo.post(f"/p/{ana_post}/comments", {"body": "again"})
    notices = (await ana.get("/notifications")).text
    assert "bo</a>" not in notices
    # Not a block: bo's profile and photo stay open to ana, and bo sees everything as before.
    assert (await ana.get(f"/p/{bo_post}")).status_code == 200
    assert "Unmute" in (await ana.get("/@bo")).text
    assert "first!!!" in (await bo.get(f"/p/{ana_post}")).text
    assert "mute" not in (await bo.get("/notifications")).text.lower().replace("muted", "")

    listed = await ana.get("/settings/muted")
    assert 'href="/@bo"' in listed.text
    r = await ana.post("/@bo/unmute", {"next": "/settings/muted"})
    assert r.headers["location"] == "/settings/muted"
    assert "You have not muted anyone" in (await ana.get("/settings/muted")).text
    assert bo_post in post_ids((await ana.get("/")).text)
    assert "first!!!" in (await ana.get(f"/p/{ana_post}")).text


async def test_mute_refusals(site):
    ana = await site.user_client("ana")
    assert (await ana.post("/@ana/mute")).status_code == 400
    assert (await ana.post("/@nobody/mute")).status_code == 404
    assert (await ana.post("/@ana/mute", xsrf=False)).status_code == 403
    stranger = site.client()
    assert (await stranger.post("/@ana/mute")).status_code == 403
    r = await stranger.get("/settings/muted")
    assert r.status_code == 302 and r.headers["location"].startswith("/login")
