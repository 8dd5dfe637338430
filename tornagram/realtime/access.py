"""Who may listen to which channel: the pages' visibility rule, applied to live channels."""

from __future__ import annotations

from tornagram.errors import Forbidden, UserError
from tornagram.realtime.channels import parse_channel


class BadChannel(UserError):
    status = 400


async def authorize_subscribe(ctx, user, channel: str) -> tuple[str, str, int | None]:
    """(kind, key, owner) if ``user`` (None when signed out) may subscribe to ``channel``;
    owner is the post's author for a post channel, else None. Raises a UserError otherwise.

    The same check runs again whenever access may have changed (realtime/control.py)."""
    try:
        kind, key = parse_channel(channel)
    except ValueError:
        raise BadChannel("That is not a channel.") from None
    owner = None
    if kind == "post":
        # Raises NotFound for a post the viewer may not see: the photo page's own decision
        # (graph/access.py), read with the post.
        owner = (await ctx.photos.get_post(int(key), user)).post.author_id
    elif kind == "user":
        if user is None or str(user.id) != key:
            raise Forbidden("You can only listen to your own notifications.")
    elif kind == "room":
        await ctx.rooms.room(key, user)
    else:  # the processes' control channel and the posts timeline are not for browsers
        raise BadChannel("That is not a channel.")
    return kind, key, owner
