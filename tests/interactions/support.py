"""Helpers for the likes, comments and saves tests."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.helpers import post_id_from, upload
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


async def hidden_post(site, image_bytes, how: str):
    """A post by 'vera' that 'walt' may not see, for each way of hiding it."""
    owner = await site.user_client("vera")
    viewer = await site.user_client("walt")
    post_id = await new_post(owner, image_bytes)
    if how == "private":
        await make_private(owner)
    elif how == "author_blocked_viewer":
        assert (await owner.post("/@walt/block")).status_code == 303
    else:
        assert (await viewer.post("/@vera/block")).status_code == 303
    return owner, viewer, post_id


HIDDEN = ["private", "author_blocked_viewer", "viewer_blocked_author"]
