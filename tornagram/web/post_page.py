"""The photo page, drawn by the photo's own route and again by the comment form when a comment
is refused, so it lives below both domains' handlers."""

from __future__ import annotations

from tornagram.errors import UserError
from tornagram.web import params
from tornagram.web.ui_modules import card_key, relative_time


class PostPageMixin:
    """The photo page: the post card, its comment threads and the comment form. A refused
    comment shows it again with the message under the field and the text as typed."""

    async def render_post_page(
        self, post_id: int, *, exc: UserError | None = None, reply_to: int | None = None
    ) -> None:
        user = self.current_user
        item, threads, earlier_before, version = await self.ctx.post_pages.page(
            user, post_id, params.cursor_argument(self)
        )
        # Replying without JavaScript: ?reply_to=<comment id> names the person in the form.
        reply_name = None
        for thread in threads:
            for comment, person in [(thread.comment, thread.author), *thread.replies]:
                if comment.id == reply_to:
                    reply_name = person.username
        page = dict(
            item=item,
            post=item.post,
            author=item.author,
            threads=threads,
            earlier_before=earlier_before,
            reply_to=reply_to if reply_name else None,
            reply_name=reply_name,
        )
        form = {"body": f"@{reply_name} "} if reply_name else {}
        if exc is not None:
            self.render_form("photos/post.html", exc, **page)
            return
        card = card_key(self, item, detail=True)
        if version is None or card is None:
            self.render("photos/post.html", form=form, **page)
            return
        # Everything from the caches: one rendering for every viewer who sees the same (their
        # like and save and whether the post is theirs are in the card's key; the comments
        # they wrote decide Report and Delete), with their own navigation filled in.
        comments = [(c, p) for t in threads for c, p in [(t.comment, t.author), *t.replies]]
        own = () if user is None else tuple(c.id for c, _p in comments if c.author_id == user.id)
        times = tuple(relative_time(self.locale, c.created_at) for c, _p in comments)
        key = ("post", card, version, earlier_before, own, times, page["reply_to"], reply_name)
        self.render_cached(key, "photos/post.html", shared=True, form=form, **page)
