"""Who may listen to which channel: the pages' visibility rule, applied to live channels."""

from __future__ import annotations

from tornagram.errors import Forbidden, NotFound, UserError
from tornagram.realtime.channels import parse_channel


class BadChannel(UserError):
    status = 400


async def authorize_subscribe(ctx, user, channel: str) -> tuple[str, str]:
    """(kind, key) if ``user`` (None when signed out) may subscribe to ``channel``."""
    try:
        kind, key = parse_channel(channel)
    except ValueError:
        raise BadChannel("That is not a channel.") from None
    if kind == "post":
        # Raises NotFound for a post the viewer may not see, exactly as the photo page does.
        await ctx.photos.get_post(int(key), user)
    elif kind == "user":
        if user is None or str(user.id) != key:
            raise Forbidden("You can only listen to your own notifications.")
    elif kind == "room":
        await ctx.rooms.room(key, user)
    else:  # pragma: no cover - parse_channel knows no other kinds
        raise NotFound("That is not a channel.")
    return kind, key
