"""The pages that list posts: home, explore, tag pages and profiles.

Each answers a whole page, or, when static/js/feeds.js asks for the next page with
``X-Requested-With: fetch``, only the fragment that page adds (its cards or thumbnails and
the next "Older posts" link), which the script appends. Without JavaScript the link is an
ordinary link to the next page.
"""

from __future__ import annotations

import re

from tornado.escape import url_escape

from tornagram.errors import NotFound
from tornagram.feeds import queries
from tornagram.feeds.items import PostItem
from tornagram.graph.access import decide
from tornagram.photos.captions import normalize_tag
from tornagram.web import params
from tornagram.web.base import BaseHandler
from tornagram.web.ui_modules import card_key

FRAGMENT_HEADER = "X-Requested-With"
FRAGMENT_VALUE = "fetch"
# Three rows of three under the landing copy.
LANDING_PREVIEW_SIZE = 9
# What the caption renderer links: word characters in any script, as normalize_tag spells them.
TAG_RE = re.compile(r"\w{1,100}")
EXPLORE_TABS = ("recent", "popular")


class FeedHandler(BaseHandler):
    def is_fragment(self) -> bool:
        return self.request.headers.get(FRAGMENT_HEADER) == FRAGMENT_VALUE

    def render_page(
        self, page_template: str, fragment_template: str, *, cache_key=None, **kwargs
    ) -> None:
        """``cache_key``: everything the page shows (its data's serials, the viewer's part),
        when it all came from the caches; the page is then one rendering for every viewer
        (BaseHandler.render_cached, shared)."""
        # The same URL answers a page or a fragment; caches must keep them apart.
        self.set_header("Vary", FRAGMENT_HEADER)
        if self.is_fragment():
            # render_string, not render: a fragment has no <head> for modules' scripts.
            self.finish(self.render_string(fragment_template, **kwargs))
        elif cache_key is not None:
            self.render_cached(cache_key, page_template, shared=True, **kwargs)
        else:
            self.render(page_template, **kwargs)

    def next_url(self, route: str, *args, **params) -> str | None:
        """The "Older posts" link, or None on the last page."""
        if any(value is None for value in params.values()):
            return None
        query = "&".join(f"{key}={url_escape(str(value))}" for key, value in params.items())
        return f"{self.reverse_url(route, *args)}?{query}"

    async def post_items(self, rows) -> list[PostItem]:
        """Cards with the viewer's likes and saves and a preview of the comments."""
        return await self.ctx.interactions.decorate(self.current_user, rows)


class HomeHandler(FeedHandler):
    """Signed in: the posts of the people you follow, and yours, newest first. Signed out: what
    Tornagram is, with a few recent photos from explore."""

    async def get(self) -> None:
        if self.current_user is None:
            preview = await queries.explore_recent_page(
                self.ctx.db, None, None, size=LANDING_PREVIEW_SIZE
            )
            self.render("feeds/home.html", preview=preview, items=[], next_url=None)
            return
        max_id = params.cursor_argument(self, "max_id")
        items, next_cursor = await self.ctx.home_feed.page(self.current_user, max_id)
        first_page = max_id is None
        page = {
            "preview": None,
            "items": items,
            "first_page": first_page,
            "next_url": self.next_url("home", max_id=next_cursor),
        }
        keys = [card_key(self, item, eager=first_page and i == 0) for i, item in enumerate(items)]
        if self.is_fragment() or None in keys:
            self.render_page("feeds/home.html", "feeds/_cards.html", **page)
            return
        # Every card came from the caches: the page can too (BaseHandler.render_cached).
        self.set_header("Vary", FRAGMENT_HEADER)
        viewer = self.current_user
        self.render_cached(
            (viewer.username, viewer.name, viewer.avatar_key, viewer.avatar_small_key,
             page["next_url"], tuple(keys)),
            "feeds/home.html",
            **page,
        )  # fmt: skip


class ExploreHandler(FeedHandler):
    async def get(self) -> None:
        tab = self.get_argument("tab", "recent")
        if tab not in EXPLORE_TABS:
            tab = "recent"
        db, viewer = self.ctx.db, self.current_user
        if tab == "popular":
            cursor = queries.parse_popular_cursor(self.get_argument("cursor", None))
            page = await queries.explore_popular_page(db, viewer, cursor)
            next_url = self.next_url("explore", tab="popular", cursor=page.next_cursor)
        else:
            max_id = params.cursor_argument(self, "max_id")
            page = await self.ctx.grids.explore_recent(viewer, max_id)
            next_url = self.next_url("explore", max_id=page.next_cursor)
        self.render_page(
            "feeds/explore.html",
            "feeds/_grid.html",
            cache_key=_grid_key("explore", page, next_url),
            tab=tab,
            page=page,
            next_url=next_url,
        )


class TagHandler(FeedHandler):
    async def get(self, raw_tag: str) -> None:
        tag = normalize_tag(raw_tag)
        if not TAG_RE.fullmatch(tag) or tag.isdigit():
            raise NotFound("There is no such tag.")
        if tag != raw_tag:
            # One address per tag: #Cat and #CAT are /tags/cat.
            query = f"?{self.request.query}" if self.request.query else ""
            self.redirect(self.reverse_url("tag", tag) + query, permanent=True)
            return
        max_id = params.cursor_argument(self, "max_id")
        page = await self.ctx.grids.tag(self.current_user, tag, max_id)
        next_url = self.next_url("tag", tag, max_id=page.next_cursor)
        if self.is_fragment():
            self.render_page("feeds/tag.html", "feeds/_grid.html", page=page, next_url=next_url)
            return
        count = await self.ctx.grids.tag_count(self.current_user, tag)
        key = _grid_key("tag", page, next_url)
        self.render_page(
            "feeds/tag.html",
            "feeds/_grid.html",
            cache_key=None if key is None else (*key, tag, count),
            tag=tag,
            page=page,
            next_url=next_url,
            post_count=count,
            count_capped=count > queries.TAG_COUNT_CAP,
        )


class ProfileHandler(FeedHandler):
    """The header (who, counts, the follow button) and the grid of posts, or "This account is
    private" for those the owner has not let in. Someone the owner blocked gets the same 404
    as for a name nobody has (the decision: graph/access.py)."""

    async def get(self, username: str) -> None:
        viewers = self.ctx.viewers
        profile, profile_version = await viewers.named(username)
        relationship = await viewers.relationship(self.ctx.graph, self.current_user, profile)
        access = decide(profile, relationship).require_found()
        hidden = not access.content
        max_id = params.cursor_argument(self, "max_id")
        if hidden:
            page = queries.Page([])
        else:
            page = await self.ctx.grids.profile(self.current_user, profile, max_id)
        # Your own profile links to your follow requests, with how many wait.
        pending = await self.ctx.graph.pending_request_count(profile) if relationship.is_self else 0
        next_url = self.next_url("profile", profile.username, max_id=page.next_cursor)
        key = None
        if profile_version is not None and (hidden or _version(page) is not None):
            key = ("profile", profile_version, relationship, hidden, pending, _version(page),
                   next_url, profile.created_at)  # fmt: skip
        self.render_page(
            "feeds/profile.html",
            "feeds/_grid.html",
            cache_key=key,
            profile=profile,
            relationship=relationship,
            hidden=hidden,
            pending_requests=pending,
            page=page,
            next_url=next_url,
        )


def _version(page) -> int | None:
    return getattr(page, "version", None)


def _grid_key(kind: str, page, next_url: str | None) -> tuple | None:
    """A grid page's cache key: its load's serial (feeds/cache.VersionedPage), None when it
    did not come from the caches."""
    version = _version(page)
    return None if version is None else (kind, version, next_url)
