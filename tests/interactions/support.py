"""What the likes, comments and saves tests share: a post with an owner and a fan, commenting
through the form, and counting rows."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.helpers import make_private, new_post, user
from tornagram.graph.models import Notification
from tornagram.photos.models import Post

JSON = {"Accept": "application/json"}


async def owner_and_fan(site, image_bytes, owner: str, fan: str):
    """Two signed-in people and a post of the first one's: (owner, fan, post id)."""
    owner_client = await site.user_client(owner)
    fan_client = await site.user_client(fan)
    return owner_client, fan_client, await new_post(owner_client, image_bytes)


async def comment(client, post_id, body, parent_id=None, json=False):
    data = {"body": body}
    if parent_id is not None:
        data["parent_id"] = str(parent_id)
    return await client.post(f"/p/{post_id}/comments", data, headers=JSON if json else {})


def comment_id_from(response) -> int:
    match = re.fullmatch(r"/p/[0-9]+#c([0-9]+)", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


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
