"""Fragments repeated across pages, as Tornado UI modules (``{% module Avatar(user) %}``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import tornado.escape
import tornado.web

from tornagram.accounts.models import User
from tornagram.graph.models import Comment
from tornagram.i18n import N_
from tornagram.notifications.service import UNREAD_BADGE_MAX
from tornagram.photos.captions import render_caption
from tornagram.web.base import TEMPLATE_COMMENT_ID
from tornagram.web.page_slots import XSRF_SLOT, slot, split_at_slots

# On phones: home, explore, search, the upload "+", notifications, profile and settings: a
# phone has no top bar to search or reach settings from. Rooms (Explore's tab) and Saved (the
# profile's) are one tap further.
BOTTOM_BAR = frozenset(
    {"home", "explore", "search", "upload", "notifications", "profile", "settings"}
)

# Sizes match the stored renditions: 150 px for lists and nav, 320 px for the profile header.
SMALL_AVATAR_MAX_PX = 150


class Avatar(tornado.web.UIModule):
    def render(self, user, size: int = 40, link: bool = False) -> str:
        key = user.avatar_small_key if size <= SMALL_AVATAR_MAX_PX // 2 else user.avatar_key
        key = key or user.avatar_key or user.avatar_small_key
        return self.render_string(
            "modules/avatar.html",
            user=user,
            size=size,
            # Avatars are public, as on every photo site: a private account's face and name
            # are what a follow request is decided on.
            src=self.handler.media_src(key),
            link=link,
        )


class Field(tornado.web.UIModule):
    """A labelled input with its error message, keeping what the user typed."""

    def render(
        self,
        name: str,
        label: str,
        *,
        type: str = "text",
        value: str | None = None,
        errors: dict | None = None,
        form: dict | None = None,
        help: str | None = None,
        **attrs,
    ) -> str:
        # A password comes back only when the page passes it on purpose (``value``).
        given = value is not None
        if value is None:
            value = (form or {}).get(name, "")
        error = (errors or {}).get(name)
        return self.render_string(
            "modules/field.html",
            name=name,
            label=label,
            type=type,
            value=value if type != "password" or given else "",
            error=error,
            help=help,
            attrs=attrs,
        )


class Nav(tornado.web.UIModule):
    """The top bar on wide screens and the bottom bar on phones share one list of places."""

    def render(self, placement: str) -> str:
        handler = self.handler
        if getattr(handler, "_shared_capture", False):
            return slot("nav-" + placement)  # filled per response (page_slots)
        return self.draw(placement)

    def draw(self, placement: str) -> str:
        handler = self.handler
        user = handler.current_user
        # Set by BaseHandler.prepare; an error page raised before prepare has none.
        unread = getattr(handler, "unread_notifications", 0)
        fragments = getattr(getattr(handler, "ctx", None), "fragments", None)
        key = (
            "nav",
            placement,
            None if user is None else user.username,
            unread,
            handler.request.path,
            self.locale.code,
        )
        html = fragments.get(key) if fragments is not None else None
        if html is None:
            html = self._render(placement, user, unread)
            if fragments is not None:
                fragments.put(key, html)
        return html

    def _render(self, placement: str, user, unread: int) -> str:
        handler = self.handler
        items = [("home", handler.reverse_url("home"), N_("Home"), "icon-home")]
        items.append(("explore", handler.reverse_url("explore"), N_("Explore"), "icon-compass"))
        items.append(("search", handler.reverse_url("search"), N_("Search"), "icon-search"))
        badges = {}
        if user is not None:
            items.append(("upload", handler.reverse_url("upload"), N_("New post"), "icon-plus"))
            items.append(
                (
                    "notifications",
                    handler.reverse_url("notifications"),
                    N_("Notifications"),
                    "icon-bell",
                )
            )
            # The badge is there (hidden) at 0 too, for live events to fill in
            # (static/js/live-pages.js).
            over = unread > UNREAD_BADGE_MAX
            badges["notifications"] = f"{UNREAD_BADGE_MAX}+" if over else str(unread or "")
            items.append(("rooms", handler.reverse_url("rooms"), N_("Live rooms"), "icon-rooms"))
            items.append(("saved", handler.reverse_url("saved"), N_("Saved"), "icon-bookmark"))
            items.append(
                (
                    "profile",
                    handler.reverse_url("profile", user.username),
                    N_("Profile"),
                    "icon-user",
                )
            )
            items.append(
                (
                    "settings",
                    handler.reverse_url("settings_profile"),
                    N_("Settings"),
                    "icon-settings",
                )
            )
        if placement == "bottom":
            items = [item for item in items if item[0] in BOTTOM_BAR]
        return self.render_string(
            "modules/nav.html",
            items=items,
            placement=placement,
            here=handler.request.path,
            badges=badges,
        )


def viewer_part_html(handler, name: str) -> str | bytes:
    """The viewer's parts of base.html (page_slots.VIEWER_PARTS), from the fragment cache."""
    user = handler.current_user
    if name == "body-attrs":
        if user is None:
            return ""
        return (
            f'data-user-channel="user:{user.id}" '
            f'data-username="{tornado.escape.xhtml_escape(user.username)}"'
        )
    if name in ("nav-top", "nav-bottom"):
        return Nav(handler).draw(name[4:])
    if name == "account":
        fragments = handler.ctx.fragments
        key = (
            "account",
            None
            if user is None
            else (
                user.id,
                user.username,
                user.display_name,
                user.avatar_key,
                user.avatar_small_key,
            ),
            handler.locale.code,
        )
        parts = fragments.get(key)
        if parts is None:
            capture, handler._page_capture = handler._page_capture, []  # forms get slots
            try:
                parts = split_at_slots(handler.render_string("modules/account.html"))
            finally:
                handler._page_capture = capture
            fragments.put(key, parts)
        return handler.fill_xsrf(parts)
    raise ValueError(f"no viewer part {name!r}")


# A card is the page's width less its 1 rem margins on a phone, 614 px wide above that.
PHOTO_SIZES = "(max-width: 646px) calc(100vw - 2rem), 614px"
# The photo page: from 1000 px the page is the 935 px content width and the photo takes what
# the 335 px comments pane leaves (--post-photo-width in static/css/social.css).
DETAIL_PHOTO_SIZES = "(min-width: 1000px) 566px, " + PHOTO_SIZES


class PhotoImage(tornado.web.UIModule):
    """A photo with srcset over its renditions, WebP first, and its size fixed before it loads
    (width/height attributes), so the page never reflows. The blurhash and dominant colour are
    painted behind it by static/js/photos.js until the image arrives."""

    def render(self, photo, author, *, sizes: str = PHOTO_SIZES, lazy=True):
        def media(key: str) -> str:
            return self.handler.photo_src(key, author)

        def srcset(fmt: str) -> str:
            return ", ".join(f"{media(r.key)} {r.width}w" for r in photo.renditions_of(fmt))

        fallback = (
            photo.rendition("1080")
            if any(r.name == "1080" for r in photo.renditions)
            else photo.rendition("full")
        )
        return self.render_string(
            "modules/photo_image.html",
            photo=photo,
            alt=photo.alt_text
            or self.locale.translate("Photo by @%(name)s") % {"name": author.username},
            src=media(fallback.key),
            jpeg_srcset=srcset("jpeg"),
            webp_srcset=srcset("webp"),
            sizes=sizes,
            lazy=lazy,
        )


class Thumb(tornado.web.UIModule):
    """A square grid cell linking to the post."""

    # Three across: a third of a phone's width, at most 293 px in the 935 px column.
    SIZES = "(max-width: 935px) 33vw, 293px"

    def render(self, post, author) -> str:
        photo = post.photos[0]

        def media(key: str) -> str:
            return self.handler.photo_src(key, author)

        def srcset(fmt: str) -> str:
            # Photos stored before "thumb640" existed have the 320 px crop only.
            found = {r.name: r for r in photo.renditions if r.fmt == fmt}
            return ", ".join(
                f"{media(found[name].key)} {found[name].width}w"
                for name in ("thumb", "thumb640")
                if name in found
            )

        return self.render_string(
            "modules/thumb.html",
            post=post,
            photo=photo,
            src=media(photo.rendition("thumb").key),
            srcset=srcset("jpeg"),
            webp_srcset=srcset("webp"),
            sizes=self.SIZES,
            alt=photo.alt_text
            or self.locale.translate("Photo by @%(name)s") % {"name": author.username},
        )


class Caption(tornado.web.UIModule):
    def render(self, text: str) -> str:
        handler = self.handler
        return render_caption(
            text,
            tag_url=lambda tag: "/tags/" + tag,
            user_url=lambda name: handler.reverse_url("profile", name),
        )


def _naive_utc(when):
    return when.astimezone(UTC).replace(tzinfo=None)


# (language, time) -> (the words, until when they hold). A card shows "3 hours ago" on every
# view: working it out is a good part of drawing a cached card, and the words change slowly.
_relative_words: dict = {}
RELATIVE_WORDS_MAX = 50_000
# Younger than this reads "just now" (刚刚), not "0 seconds ago".
JUST_NOW_SECS = 10
JUST_NOW = N_("just now")


def relative_time(locale, when) -> str:
    """ "5 minutes ago", in ``locale``; at most a few seconds behind for recent times and a
    minute behind for times over an hour ago."""
    now = time.monotonic()
    key = (locale.code, when)
    memo = _relative_words.get(key)
    if memo is not None and memo[1] > now:
        return memo[0]
    naive_utc = _naive_utc(when)
    age = (datetime.now(UTC) - when).total_seconds()
    if age < JUST_NOW_SECS:
        words = locale.translate(JUST_NOW)
    else:
        words = locale.format_date(naive_utc, relative=True)
    holds = 1 if age < 60 else 10 if age < 3600 else 60
    if len(_relative_words) >= RELATIVE_WORDS_MAX:
        _relative_words.clear()
    _relative_words[key] = (words, now + holds)
    return words


class RelativeTime(tornado.web.UIModule):
    """ "5 minutes ago" in the reader's language, with the exact time in a tooltip."""

    def render(self, when) -> str:
        naive_utc = _naive_utc(when)
        return self.render_string(
            "modules/time.html",
            iso=when.astimezone(UTC).isoformat(),
            relative=relative_time(self.locale, when),
            full=self.locale.format_date(naive_utc, full_format=True, relative=False),
        )


def _returning_page(handler, detail: bool) -> str | None:
    """The page a card's plain form posts come back to: this one (a feed keeps its place), or
    None for the post's own page (the photo page, and never a URL that only accepts POST)."""
    if detail or handler.request.method != "GET":
        return None
    return handler.request.uri


def _back_url(handler, post, detail: bool) -> str:
    page = _returning_page(handler, detail)
    return handler.reverse_url("post", post.id) if page is None else f"{page}#post-{post.id}"


def card_key(handler, item, detail: bool = False, eager: bool = False) -> tuple | None:
    """Everything a post card shows, when its data came from the caches (item.version, see
    feeds/cache.py): the data by the serials of its loads, the viewer's part, the language,
    the time as it reads now and the page it comes back to. None: not cacheable."""
    if item.version is None:
        return None
    post = item.post
    viewer = handler.current_user
    locale = handler.locale
    back = _returning_page(handler, detail)
    # A private author's photos carry signed URLs, good for one signing window's lifetime: the
    # card is drawn anew in each window, so a cached card never hands out a dying URL.
    window = handler.ctx.media_urls.window() if item.author.is_private else None
    return (
        post.id,
        window,
        item.version,
        item.liked,
        item.saved,
        None if viewer is None else viewer.id == post.author_id,
        detail,
        eager,
        back,
        locale.code,
        relative_time(locale, post.created_at),
    )


class Toggle(tornado.web.UIModule):
    """A mark the viewer turns on or off (like, save) as one plain form: it posts to the "on" or
    the "off" route and comes back to ``back``; static/js/social.js flips it in place, reading
    both routes and both labels from the form."""

    def render(
        self,
        kind: str,
        post_id: int,
        active: bool,
        *,
        on_route: str,
        off_route: str,
        label_on: str,
        label_off: str,
        icon: str,
        back: str,
        xsrf_html: str,
        form_class: str = "action-form",
        button_class: str = "icon-btn",
    ) -> bytes:
        return self.render_string(
            "modules/toggle.html",
            kind=kind,
            post_id=post_id,
            active=active,
            on_route=on_route,
            off_route=off_route,
            label_on=label_on,
            label_off=label_off,
            icon=icon,
            icons=self.handler.static_url("img/icons.svg"),
            back=back,
            xsrf_html=xsrf_html,
            form_class=form_class,
            button_class=button_class,
        )


class PostCard(tornado.web.UIModule):
    """A post as a card (feeds/items.PostItem): header with the owner's menu, the photos, the
    action row (like, comment, save, share), the like count, the caption, a preview of the
    comments and the time. ``detail`` is the photo page, where the full comments follow the
    card instead of the preview. Every action is a plain form; static/js/social.js makes them
    instant."""

    def render(self, item, detail: bool = False, eager: bool = False) -> bytes:
        handler = self.handler
        key = card_key(handler, item, detail, eager)
        fragments = handler.ctx.fragments if key is not None else None
        if fragments is not None:
            html = fragments.get(key)
            if html is not None:
                return handler.fill_xsrf(html)
        post = item.post
        post_url = handler.reverse_url("post", post.id)
        html = self.render_string(
            "modules/post_card.html",
            item=item,
            post=post,
            author=item.author,
            detail=detail,
            eager=eager or detail,
            DETAIL_PHOTO_SIZES=DETAIL_PHOTO_SIZES,
            post_url=post_url,
            back=_back_url(handler, post, detail),
            # Each form's token goes in per response (BaseHandler.fill_xsrf): a cached card
            # holds a slot for it.
            xsrf_html=XSRF_SLOT,
        )
        if fragments is not None:
            html = split_at_slots(html)
            fragments.put(key, html)
        return handler.fill_xsrf(html)

    def html_head(self) -> str:
        # Module scripts run once per URL however often they are listed.
        return "".join(
            f'<script type="module" src="{self.handler.static_url(path)}"></script>'
            for path in ("js/photos.js", "js/social.js")
        )


class PeopleList(tornado.web.UIModule):
    """Avatar, username and name for each person: followers, likers, search results."""

    def render(self, people) -> str:
        return self.render_string("modules/people_list.html", people=people)


# Stand-ins in the photo page's live-comment template, which live-pages.js replaces with the
# values of each comment that arrives live. Far from anything a real comment could contain:
# an id above every id we issue, a name no sign-up accepts, a key that is all zeros.
TEMPLATE_USERNAME = "live-template-name"
TEMPLATE_AVATAR_KEY = "00/00/" + "0" * 64 + ".jpg"


class LiveCommentTemplate(tornado.web.UIModule):
    """``<template>``s of one comment, drawn by the very ``social/comment.html`` that lists
    comments, for this viewer (their language, Reply if signed in, Delete as they could use
    it), with stand-in values. A comment that arrives live is a clone with the values
    replaced, so it looks exactly like the same comment after a reload."""

    def render(self, post) -> str:
        viewer = self.current_user
        author = User(
            id=0,
            username=TEMPLATE_USERNAME,
            display_name="",
            avatar_key=TEMPLATE_AVATAR_KEY,
            avatar_small_key=TEMPLATE_AVATAR_KEY,
        )
        without_photo = User(id=0, username=TEMPLATE_USERNAME, display_name="")
        comment = Comment(
            id=TEMPLATE_COMMENT_ID,
            post_id=post.id,
            # As if the viewer wrote it, so Delete is drawn whenever they could ever use it;
            # the script keeps it only for their own comments or on their own post.
            author_id=viewer.id if viewer else 0,
            parent_id=None,
            body="",
            created_at=datetime.now(UTC),
        )
        return self.render_string(
            "interactions/_comment_template.html",
            entry=comment,
            entry_author=author,
            without_photo=without_photo,
            replies=[],
            earlier_replies=None,
            post_owner_id=post.author_id,
            stand_in_id=TEMPLATE_COMMENT_ID,
            stand_in_name=TEMPLATE_USERNAME,
            stand_in_avatar=self.handler.media_src(TEMPLATE_AVATAR_KEY),
        )
