"""Notifications and search."""

from __future__ import annotations

from tornagram.api.entities import account, tag
from tornagram.api.notifications import KNOWN_TYPES
from tornagram.web.api import ApiError, ApiHandler, BadParameter
from tornagram.web.params import parse_id, path_id

SEARCH_TYPES = ("accounts", "hashtags", "statuses")


class NotificationsHandler(ApiHandler):
    async def get(self) -> None:
        cursor = self.cursor(default=40, maximum=80)
        types = self.param_list("types")
        exclude = self.param_list("exclude_types")
        if any(t not in KNOWN_TYPES for t in (*types, *exclude)):
            raise BadParameter("types are not valid")
        raw_account = self.param("account_id")
        account_id = parse_id(raw_account) if raw_account else None
        if raw_account and account_id is None:
            raise BadParameter("account_id is not valid")
        reads = self.ctx.api_notifications
        rows = await reads.page(
            self.current_user, cursor, types=types, exclude_types=exclude, account_id=account_id
        )
        items = await reads.render(self.current_user, rows, self.urls())
        self.write_page(items, [n.id for n, _ in rows], cursor)


class NotificationHandler(ApiHandler):
    async def get(self, notification_id: str) -> None:
        reads = self.ctx.api_notifications
        row = await reads.one(self.current_user, path_id(notification_id))
        items = await reads.render(self.current_user, [row], self.urls())
        if not items:
            raise ApiError(404, "Record not found")
        self.write_json(items[0])


class DismissHandler(ApiHandler):
    async def post(self, notification_id: str) -> None:
        await self.ctx.notification_feed.dismiss(self.current_user, path_id(notification_id))
        self.write_json({})


class ClearHandler(ApiHandler):
    async def post(self) -> None:
        await self.ctx.notification_feed.dismiss(self.current_user)
        self.write_json({})


class UnreadCountHandler(ApiHandler):
    async def get(self) -> None:
        count = await self.ctx.notification_feed.unread_count(self.current_user)
        self.write_json({"count": count})


class SearchHandler(ApiHandler):
    """GET /api/v2/search: people by name prefix, hashtags, and captions' words."""

    async def get(self) -> None:
        query = self.param("q", "") or ""
        kind = self.param("type") or None
        if kind is not None and kind not in SEARCH_TYPES:
            raise BadParameter("type is not valid")
        limit = self.param_int("limit", 20, low=1, high=40)
        # Only together with a type, as Mastodon has it.
        offset = self.param_int("offset", 0, low=0, high=10_000) if kind else 0
        for ignored in ("resolve", "following", "exclude_unreviewed"):
            self.param_bool(ignored)  # no federation: accepted, nothing to change
        found = await self.ctx.search.search(self.current_user, query)
        urls = self.urls()
        window = slice(offset, offset + limit)
        answer = {"accounts": [], "statuses": [], "hashtags": []}
        if kind in (None, "accounts"):
            answer["accounts"] = [account(u, urls) for u in found.people[window]]
        if kind in (None, "hashtags"):
            answer["hashtags"] = [tag(name, urls) for name, _count in found.tags[window]]
        if kind in (None, "statuses"):
            answer["statuses"] = await self.ctx.api_statuses.render_posts(
                self.current_user, found.posts[window], urls
            )
        self.write_json(answer)
