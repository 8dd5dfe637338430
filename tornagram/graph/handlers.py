"""Follow, unfollow, block, mute; follower lists; answering follow requests; the muted list."""

from __future__ import annotations

import tornado.web

from tornagram.web import params
from tornagram.web.base import BaseHandler


class _GraphAction(BaseHandler):
    """POST /@<username>/<action>. JSON for scripts, otherwise back to where the user was."""

    async def act(self, username: str) -> str:
        raise NotImplementedError

    @tornado.web.authenticated
    async def post(self, username: str) -> None:
        state = await self.act(username)
        if self.wants_json():
            self.finish({"state": state})
            return
        self.see_other(self.next_url(self.reverse_url("profile", username.lower())))


class FollowHandler(_GraphAction):
    async def act(self, username: str) -> str:
        return await self.ctx.graph.follow(self.current_user, username)


class UnfollowHandler(_GraphAction):
    async def act(self, username: str) -> str:
        await self.ctx.graph.unfollow(self.current_user, username)
        return "none"


class BlockHandler(_GraphAction):
    async def act(self, username: str) -> str:
        await self.ctx.graph.block(self.current_user, username)
        return "blocking"


class UnblockHandler(_GraphAction):
    async def act(self, username: str) -> str:
        await self.ctx.graph.unblock(self.current_user, username)
        return "none"


class MuteHandler(_GraphAction):
    async def act(self, username: str) -> str:
        await self.ctx.graph.mute(self.current_user, username)
        return "muted"


class UnmuteHandler(_GraphAction):
    async def act(self, username: str) -> str:
        await self.ctx.graph.unmute(self.current_user, username)
        return "none"


class MutedHandler(BaseHandler):
    """/settings/muted: who you muted, each with a way back."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.render("graph/muted.html", people=await self.ctx.graph.muted(self.current_user))


class _PeopleList(BaseHandler):
    title = ""
    direction = ""

    async def get(self, username: str) -> None:
        profile = await self.ctx.accounts.by_username(username)
        # A person's lists are part of what the profile shows only to those who see its posts.
        access = await self.ctx.graph.access(self.current_user, profile)
        people, next_before = [], None
        if access.content:
            page = getattr(self.ctx.graph, self.direction)
            people, next_before = await page(profile, before=params.cursor_argument(self))
        self.render(
            "graph/people.html",
            profile=profile,
            people=people,
            next_before=next_before,
            direction=self.direction,
            hidden=access.hidden,
        )


class FollowersHandler(_PeopleList):
    direction = "followers"


class FollowingHandler(_PeopleList):
    direction = "following"


class FollowRequestsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        requests = await self.ctx.graph.pending_requests(self.current_user)
        self.render("graph/follow_requests.html", requests=requests)


class AnswerRequestHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, request_id: str, answer: str) -> None:
        await self.ctx.graph.answer_request(
            self.current_user, params.path_id(request_id), approve=answer == "approve"
        )
        if self.wants_json():
            self.finish({"answered": answer})
            return
        self.see_other(self.reverse_url("follow_requests"))
