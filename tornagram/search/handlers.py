"""The search page: people, tags and captions for ``?q=``."""

from __future__ import annotations

from tornagram.search.service import QUERY_MAX_CHARS, TOO_LONG_MESSAGE
from tornagram.web import params
from tornagram.web.base import BaseHandler


class SearchHandler(BaseHandler):
    async def get(self) -> None:
        query = self.get_argument("q", "")
        before_id = params.cursor_argument(self)
        results = await self.ctx.search.search(
            self.current_user, query, before=before_id, thumbnails_only=True
        )
        self.render(
            "search/search.html",
            results=results,
            too_long=self.locale.translate(TOO_LONG_MESSAGE) % {"max": QUERY_MAX_CHARS},
            max_chars=QUERY_MAX_CHARS,
        )
