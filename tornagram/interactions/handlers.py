"""Likes, comments and saves over HTTP. Scripts that send ``Accept: application/json`` get JSON;
a plain form post gets a 303 back to the page it came from, so every action works without
JavaScript."""

from __future__ import annotations

import tornado.web

from tornagram.errors import InvalidInput, TooManyRequests
from tornagram.web import params
from tornagram.web.base import BaseHandler
from tornagram.web.post_page import PostPageMixin


class _PostAction(BaseHandler):
    """POST /p/<id>/<action>: the action's state as JSON, or back to the post (or ``next``)."""

    async def act(self, post_id: int) -> dict:
        raise NotImplementedError

    @tornado.web.authenticated
    async def post(self, post_id: str) -> None:
        pid = params.path_id(post_id)
        state = await self.act(pid)
        if self.wants_json():
            self.finish(state)
            return
        self.see_other(self.next_url(self.reverse_url("post", pid)))


class LikeHandler(_PostAction):
    async def act(self, post_id: int) -> dict:
        count = await self.ctx.interactions.like(self.current_user, post_id)
        return {"liked": True, "like_count": count}


class UnlikeHandler(_PostAction):
    async def act(self, post_id: int) -> dict:
        count = await self.ctx.interactions.unlike(self.current_user, post_id)
        return {"liked": False, "like_count": count}


class SaveHandler(_PostAction):
    async def act(self, post_id: int) -> dict:
        await self.ctx.interactions.save(self.current_user, post_id)
        return {"saved": True}


class UnsaveHandler(_PostAction):
    async def act(self, post_id: int) -> dict:
        await self.ctx.interactions.unsave(self.current_user, post_id)
        return {"saved": False}


class LikersHandler(BaseHandler):
    async def get(self, post_id: str) -> None:
        pid = params.path_id(post_id)
        people, next_before = await self.ctx.interactions.likers(
            self.current_user, pid, before=params.cursor_argument(self)
        )
        self.render("interactions/likers.html", post_id=pid, people=people, next_before=next_before)


class RepliesHandler(BaseHandler):
    """GET /comments/<id>/replies: a thread on its own, for the replies the post page leaves
    out (it shows the newest REPLIES_PER_THREAD of each), with older pages by ``before``."""

    async def get(self, comment_id: str) -> None:
        thread, post, next_before = await self.ctx.interactions.replies(
            self.current_user,
            params.path_id(comment_id),
            before=params.cursor_argument(self),
        )
        self.render(
            "interactions/replies.html",
            thread=thread,
            post_id=post.id,
            next_before=next_before,
            post_owner_id=post.author_id,
        )


class CommentsHandler(PostPageMixin, BaseHandler):
    """POST /p/<id>/comments with ``body`` and, for a reply, ``parent_id``."""

    @tornado.web.authenticated
    async def post(self, post_id: str) -> None:
        pid = params.path_id(post_id)
        parent_id = None  # a malformed one is refused below, with the form shown again
        try:
            parent_id = params.optional_id(
                self.get_body_argument("parent_id", ""),
                "The comment you're replying to has been deleted.",
                "body",
            )
            comment = await self.ctx.interactions.add_comment(
                self.current_user, pid, self.get_body_argument("body", ""), parent_id
            )
        except (InvalidInput, TooManyRequests) as exc:
            if self.wants_json():
                raise  # BaseHandler answers {"error": {...}} with the status (and Retry-After)
            # The page again, with the message under the field and the text as typed.
            await self.render_post_page(pid, exc=exc, reply_to=parent_id)
            return
        if self.wants_json():
            html = self.render_string(
                "interactions/comment.html",
                entry=comment,
                entry_author=self.current_user,
                replies=[],
                earlier_replies=None,
                post_owner_id=None,  # the author may always delete their own comment
            )
            self.finish(
                {
                    "id": str(comment.id),
                    "parent_id": str(comment.parent_id) if comment.parent_id else None,
                    "html": html.decode(),
                }
            )
            return
        self.see_other(f"{self.reverse_url('post', pid)}#c{comment.id}")


class CommentDeleteHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, comment_id: str) -> None:
        deleted = await self.ctx.interactions.delete_comment(
            self.current_user, params.path_id(comment_id)
        )
        if self.wants_json():
            self.finish(
                {
                    "deleted": True,
                    "removed": deleted.removed,
                    "comment_count": deleted.comment_count,
                }
            )
            return
        self.see_other(self.next_url(self.reverse_url("post", deleted.post_id) + "#comments"))


class SavedHandler(BaseHandler):
    """GET /saved: your bookmarks, seen by you alone."""

    @tornado.web.authenticated
    async def get(self) -> None:
        posts, next_before = await self.ctx.interactions.saved(
            self.current_user, before=params.cursor_argument(self)
        )
        self.render("interactions/saved.html", posts=posts, next_before=next_before)
