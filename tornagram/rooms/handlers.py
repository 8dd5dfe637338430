"""Room pages: the list, opening a room, a room itself, and saying something without JS."""

from __future__ import annotations

import tornado.web

from tornagram.errors import UserError
from tornagram.realtime.channels import room_channel
from tornagram.web import params
from tornagram.web.base import BaseHandler


class RoomsHandler(BaseHandler):
    async def render_list(self, exc: UserError | None = None) -> None:
        rooms = await self.ctx.rooms.rooms()
        covers = (
            await self.ctx.rooms.my_posts_for_cover(self.current_user) if self.current_user else []
        )
        watching = {room.id: self.ctx.hub.count(room_channel(room.slug)) for room, _ in rooms}
        page = dict(
            rooms=rooms,
            covers=covers,
            watching=watching,
            room_covers=await self.ctx.rooms.covers(rooms, self.current_user),
        )
        if exc is not None:
            self.render_form("rooms/list.html", exc, **page)
        else:
            self.render("rooms/list.html", **page)

    async def get(self) -> None:
        await self.render_list()

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            cover_post_id = params.optional_id(
                self.get_body_argument("cover", ""),
                "Choose one of your own posts as the cover.",
                "cover",
            )
            room = await self.ctx.rooms.open_room(
                self.current_user,
                self.get_body_argument("slug", ""),
                self.get_body_argument("title", ""),
                cover_post_id,
            )
        except UserError as exc:
            await self.render_list(exc)
            return
        self.see_other(self.reverse_url("room", room.slug))


class RoomHandler(BaseHandler):
    async def get(self, slug: str) -> None:
        view = await self.ctx.rooms.room(slug, self.current_user)
        history = await self.ctx.rooms.history(view.room)
        self.render(
            "rooms/room.html",
            view=view,
            history=history,
            channel=room_channel(view.room.slug),
            watching=self.ctx.hub.count(room_channel(view.room.slug)),
        )


class RoomMessageHandler(BaseHandler):
    """Saying something with a plain form post (the live page sends over the socket)."""

    @tornado.web.authenticated
    async def post(self, slug: str) -> None:
        try:
            message = await self.ctx.rooms.say(
                self.current_user, slug, self.get_body_argument("body", "")
            )
        except UserError as exc:
            if self.wants_json():
                raise
            view = await self.ctx.rooms.room(slug, self.current_user)
            history = await self.ctx.rooms.history(view.room)
            self.render_form(
                "rooms/room.html",
                exc,
                view=view,
                history=history,
                channel=room_channel(slug),
                watching=self.ctx.hub.count(room_channel(slug)),
            )
            return
        if self.wants_json():
            self.finish({"id": str(message.id)})
            return
        self.see_other(self.reverse_url("room", slug) + f"#m{message.id}")
