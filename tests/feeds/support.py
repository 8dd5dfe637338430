"""Helpers for the feed tests: people, posts, and reading post ids out of pages."""

from __future__ import annotations

import re

from sqlalchemy import update

from tests.helpers import fixture_bytes, post_id_from, upload
from tornagram.photos.models import Post

FRAGMENT = {"X-Requested-With": "fetch"}
_POST_LINK = re.compile(r'href="/p/([0-9]+)"')
_CARD = re.compile(r'<article class="post-card[^"]*" id="post-([0-9]+)"')
_NEXT = re.compile(r'<a class="btn" rel="next" href="([^"]+)"')


async def share(client, caption: str = "") -> int:
    """Posts one small photo through the real upload form; returns the post id."""
    response = await upload(client, [("tiny.png", fixture_bytes("tiny.png"))], caption=caption)
    return post_id_from(response)


async def approve_all(site, owner_client) -> None:
    page = await owner_client.get("/follow-requests")
    for request_id in re.findall(r"/follow-requests/([0-9]+)/approve", page.text):
        response = await owner_client.post(f"/follow-requests/{request_id}/approve")
        assert response.status_code == 303


async def set_likes(site, post_id: int, likes: int) -> None:
    async with site.ctx.db.write() as session:
        await session.execute(update(Post).where(Post.id == post_id).values(like_count=likes))


def card_ids(html: str) -> list[int]:
    """Post ids of the feed cards on a page, in page order."""
    return [int(i) for i in _CARD.findall(html)]


def grid_ids(html: str) -> list[int]:
    """Post ids of the grid thumbnails on a page, in page order."""
    cells = re.findall(r'<a class="grid-item" href="/p/([0-9]+)"', html)
    return [int(i) for i in cells]


def linked_ids(html: str) -> set[int]:
    return {int(i) for i in _POST_LINK.findall(html)}


def next_link(html: str) -> str | None:
    match = _NEXT.search(html)
    return match.group(1).replace("&amp;", "&") if match else None


async def walk(client, first_url: str, ids_of, *, fragment: bool = False) -> list[int]:
    """Every post id over all keyset pages from ``first_url``, following "Older posts"."""
    seen: list[int] = []
    url: str | None = first_url
    pages = 0
    while url:
        response = await client.get(url, headers=FRAGMENT if fragment and pages else None)
        assert response.status_code == 200, (url, response.status_code)
        seen.extend(ids_of(response.text))
        url = next_link(response.text)
        pages += 1
        assert pages < 50
    return seen
