"""Accounts: the token's own, lookups, a profile's statuses, following and relationships."""

from __future__ import annotations

from tornagram.api.entities import account, credential_account
from tornagram.errors import UserError
from tornagram.web.api import ApiError, ApiHandler, BadParameter
from tornagram.web.params import parse_id, path_id

MAX_RELATIONSHIPS = 80


class UpdateCredentialsHandler(ApiHandler):
    """PATCH /api/v1/accounts/update_credentials: the profile settings page's own change
    (display name, bio, avatar, private); what is not sent stays as it is."""

    async def patch(self) -> None:
        user = self.current_user
        files = self.request.files.get("avatar") or []
        avatar = files[0]["body"] if files and files[0]["body"] else None
        locked = self.param("locked")
        language = self.param("source[language]")
        if language is None:
            language = (self.json_body().get("source") or {}).get("language")
        await self.ctx.accounts.update_profile(
            user,
            display_name=_text(self.param("display_name"), user.display_name),
            bio=_text(self.param("note"), user.bio),
            locale=_text(language, user.locale or ""),
            is_private=None if locked is None else self.param_bool("locked"),
            avatar=avatar,
        )
        count = await self.ctx.graph.pending_request_count(user)
        self.write_json(credential_account(user, self.urls(), count))


def _text(value, current: str | None) -> str:
    if value is None:
        return current or ""
    if not isinstance(value, str):
        raise BadParameter("Text fields must be strings")
    return value


class AccountSearchHandler(ApiHandler):
    """GET /api/v1/accounts/search: username and display-name prefix, as the search page."""

    async def get(self) -> None:
        query = self.param("q", "") or ""
        limit = self.param_int("limit", 40, low=1, high=80)
        offset = self.param_int("offset", 0, low=0, high=10_000)
        for ignored in ("resolve", "following"):
            self.param_bool(ignored)  # no federation; see docs/api.md
        people = await self.ctx.search.people(self.current_user, query)
        urls = self.urls()
        self.write_json([account(u, urls) for u in people[offset : offset + limit]])


class LookupHandler(ApiHandler):
    async def get(self) -> None:
        acct = self.param("acct")
        if not acct:
            raise BadParameter("acct is missing")
        user = await self.ctx.api_accounts.by_acct(self.current_user, acct, self.request.host)
        self.write_json(account(user, self.urls()))


class AccountHandler(ApiHandler):
    async def get(self, account_id: str) -> None:
        user = await self.ctx.api_accounts.by_id(self.current_user, path_id(account_id))
        self.write_json(account(user, self.urls()))


class AccountStatusesHandler(ApiHandler):
    async def get(self, account_id: str) -> None:
        author = await self.ctx.api_accounts.by_id(self.current_user, path_id(account_id))
        cursor = self.cursor(default=20, maximum=40)
        if self.param_bool("pinned"):
            self.write_json([])  # Tornagram has no pinned posts
            return
        # Every post has photos (only_media changes nothing) and comments are not profile
        # statuses (exclude_replies neither); both are accepted.
        self.param_bool("only_media")
        self.param_bool("exclude_replies")
        pairs = await self.ctx.api_statuses.by_account(self.current_user, author, cursor)
        items = await self.ctx.api_statuses.render_posts(self.current_user, pairs, self.urls())
        self.write_page(items, [post.id for post, _ in pairs], cursor)


class FollowHandler(ApiHandler):
    """POST …/follow and …/unfollow (``action`` from the route)."""

    async def post(self, account_id: str, action: str) -> None:
        viewer = self.current_user
        target = await self.ctx.api_accounts.by_id(viewer, path_id(account_id))
        if target.id == viewer.id:
            raise ApiError(403, "You can't follow yourself")
        if action == "follow":
            await self.ctx.graph.follow(viewer, target.username)
        else:
            await self.ctx.graph.unfollow(viewer, target.username)
        self.write_json(await self.ctx.api_accounts.relationship(viewer, target))


class RelationshipsHandler(ApiHandler):
    async def get(self) -> None:
        raw = self.param_list("id")
        if len(raw) > MAX_RELATIONSHIPS:
            raise BadParameter("id has too many values")
        # An id that names nobody gets no relationship, like an unknown one.
        ids = [number for number in map(parse_id, raw) if number is not None]
        viewer = self.current_user
        people = await self.ctx.api_accounts.many(ids)
        answers = []
        for person in people:
            try:
                answers.append(await self.ctx.api_accounts.relationship(viewer, person))
            except UserError:
                continue
        self.write_json(answers)


class BlockHandler(ApiHandler):
    """POST …/block and …/unblock: through the graph service, which also ends follows and
    requests both ways."""

    async def post(self, account_id: str, action: str) -> None:
        viewer = self.current_user
        target = await self.ctx.api_accounts.by_id_unfiltered(path_id(account_id))
        if target.id == viewer.id:
            raise ApiError(403, "You can't block yourself")
        if action == "block":
            await self.ctx.graph.block(viewer, target.username)
        else:
            await self.ctx.graph.unblock(viewer, target.username)
        self.write_json(await self.ctx.api_accounts.relationship(viewer, target))


class PeopleHandler(ApiHandler):
    """GET …/followers and …/following, keyed by the listed person's id."""

    async def get(self, account_id: str, direction: str) -> None:
        owner = await self.ctx.api_accounts.by_id(self.current_user, path_id(account_id))
        cursor = self.cursor(default=40, maximum=80)
        people, keys = await self.ctx.api_accounts.people(
            self.current_user, owner, direction, cursor
        )
        self.write_page([account(p, self.urls()) for p in people], keys, cursor)


class BlocksHandler(ApiHandler):
    async def get(self) -> None:
        cursor = self.cursor(default=40, maximum=80)
        people, keys = await self.ctx.api_accounts.blocked_by_me(self.current_user, cursor)
        self.write_page([account(p, self.urls()) for p in people], keys, cursor)


class FollowRequestsHandler(ApiHandler):
    async def get(self) -> None:
        cursor = self.cursor(default=40, maximum=80)
        people, keys = await self.ctx.api_accounts.requests_to_me(self.current_user, cursor)
        self.write_page([account(p, self.urls()) for p in people], keys, cursor)


class AnswerRequestHandler(ApiHandler):
    """POST /api/v1/follow_requests/:account_id/authorize or /reject: by the asker's account
    id, as Mastodon has it; answered by the graph service as on the web page."""

    async def post(self, account_id: str, answer: str) -> None:
        viewer = self.current_user
        requester = await self.ctx.api_accounts.by_id_unfiltered(path_id(account_id))
        request_id = await self.ctx.api_accounts.request_from(viewer, requester.id)
        await self.ctx.graph.answer_request(viewer, request_id, approve=answer == "authorize")
        self.write_json(await self.ctx.api_accounts.relationship(viewer, requester))
