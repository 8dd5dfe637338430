"""Saving posts: idempotent, visibility-checked, and private to the person who saved."""

from __future__ import annotations

import re

import pytest

from tests.helpers import make_private, new_post
from tests.interactions.support import HIDDEN, JSON, hidden_post, rows
from tornagram.graph.models import Notification, Save


def grid_posts(html: str) -> list[int]:
    return [int(p) for p in re.findall(r'class="grid-item" href="/p/([0-9]+)"', html)]


async def test_save_is_idempotent_private_and_listed_newest_first(site, image_bytes):
    owner = await site.user_client("amos")
    saver = await site.user_client("bess")
    first = await new_post(owner, image_bytes)
    second = await new_post(owner, image_bytes)
    for _ in range(2):
        r = await saver.post(f"/p/{first}/save")
        assert r.status_code == 303 and r.headers["location"] == f"/p/{first}"
    r = await saver.post(f"/p/{second}/save", headers=JSON)
    assert r.status_code == 200 and r.json() == {"saved": True}
    assert await rows(site, Save) == 2
    assert await rows(site, Notification) == 0  # nobody is told about a bookmark
    page = await saver.get("/saved")
    assert page.status_code == 200 and grid_posts(page.text) == [second, first]
    # Only the saver sees them: the owner's /saved is their own (empty), visitors must log in.
    assert grid_posts((await owner.get("/saved")).text) == []
    assert (await site.client().get("/saved")).status_code == 302
    # The card shows the saved state to the saver only.
    assert 'aria-label="Remove from saved"' in (await saver.get(f"/p/{first}")).text
    assert 'aria-label="Remove from saved"' not in (await owner.get(f"/p/{first}")).text
    for _ in range(2):
        r = await saver.post(f"/p/{first}/unsave", headers=JSON)
        assert r.json() == {"saved": False}
    assert grid_posts((await saver.get("/saved")).text) == [second]


async def test_saved_pages_and_posts_that_became_hidden(site, image_bytes, monkeypatch):
    import tornagram.interactions.reads as reads

    monkeypatch.setattr(reads, "SAVED_PAGE_SIZE", 2)
    owner = await site.user_client("cora")
    saver = await site.user_client("dirk")
    posts = [await new_post(owner, image_bytes) for _ in range(3)]
    for post_id in posts:
        await saver.post(f"/p/{post_id}/save")
    page = (await saver.get("/saved")).text
    assert grid_posts(page) == posts[:0:-1]
    more = re.search(r'href="(/saved\?before=\d+)"', page).group(1)
    assert grid_posts((await saver.get(more)).text) == [posts[0]]
    # The author goes private: the saves stay, but the posts are no longer shown.
    await make_private(owner)
    assert grid_posts((await saver.get("/saved")).text) == []
    assert await rows(site, Save) == 3


@pytest.mark.parametrize("how", HIDDEN)
async def test_a_hidden_post_cannot_be_saved(site, image_bytes, how):
    _owner, viewer, post_id = await hidden_post(site, image_bytes, how)
    for action in ("save", "unsave"):
        assert (await viewer.post(f"/p/{post_id}/{action}", headers=JSON)).status_code == 404
    assert await rows(site, Save) == 0
