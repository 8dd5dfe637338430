"""Helpers for the likes, comments and saves tests."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.photos.test_posts import post_id_from, upload
from tornagram.graph.models import Notification
from tornagram.photos.models import Post

JSON = {"Accept": "application/json"}


async def user(site, name):
    return await site.ctx.accounts.by_username(name)


async def new_post(client, image_bytes, caption: str = "") -> int:
    return post_id_from(await upload(client, [("t.png", image_bytes("tiny.png"))], caption=caption))


async def post_row(site, post_id: int) -> Post:
    async with site.ctx.db.read() as s:
        return await s.get(Post, post_id)


async def rows(site, model, *where) -> int:
    async with site.ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def notifications_of(site, name) -> list[tuple[str, str]]:
    """(kind, actor's username) for everything ``name`` was told, oldest first."""
    recipient = await user(site, name)
    async with site.ctx.db.read() as s:
        found = (
            await s.execute(
                select(Notification)
                .where(Notification.recipient_id == recipient.id)
                .order_by(Notification.id)
            )
        ).scalars()
        result = []
        for n in found:
            actor = await s.get(type(recipient), n.actor_id)
            result.append((n.kind, actor.username))
        return result


async def make_private(client) -> None:
    r = await client.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    assert r.status_code == 303, r.text
