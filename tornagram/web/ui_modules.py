"""Fragments repeated across pages, as Tornado UI modules (``{% module Avatar(user) %}``)."""

from __future__ import annotations

from datetime import UTC

import tornado.web

from tornagram.i18n import N_
from tornagram.photos.captions import render_caption

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
            src=self.handler.reverse_url("media", key) if key else None,
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
        if value is None:
            value = (form or {}).get(name, "")
        error = (errors or {}).get(name)
        return self.render_string(
            "modules/field.html",
            name=name,
            label=label,
            type=type,
            value=value if type != "password" else "",
            error=error,
            help=help,
            attrs=attrs,
        )


class Nav(tornado.web.UIModule):
    """The top bar on wide screens and the bottom bar on phones share one list of places."""

    def render(self, placement: str) -> str:
        handler = self.handler
        user = handler.current_user
        items = [("home", handler.reverse_url("home"), N_("Home"), "icon-home")]
        if user is not None:
            items.append(("upload", handler.reverse_url("upload"), N_("New post"), "icon-plus"))
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
        return self.render_string(
            "modules/nav.html", items=items, placement=placement, here=handler.request.path
        )


class PhotoImage(tornado.web.UIModule):
    """A photo with srcset over its renditions, WebP first, and its size fixed before it loads
    (width/height attributes), so the page never reflows. The blurhash and dominant colour are
    painted behind it by static/js/photos.js until the image arrives."""

    def render(self, photo, author, *, sizes: str = "(max-width: 640px) 100vw, 600px", lazy=True):
        media = self.handler.reverse_url

        def srcset(fmt: str) -> str:
            return ", ".join(
                f"{media('media', r.key)} {r.width}w" for r in photo.renditions_of(fmt)
            )

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
            src=media("media", fallback.key),
            jpeg_srcset=srcset("jpeg"),
            webp_srcset=srcset("webp"),
            sizes=sizes,
            lazy=lazy,
        )


class Thumb(tornado.web.UIModule):
    """A square grid cell linking to the post."""

    def render(self, post, author) -> str:
        photo = post.photos[0]
        return self.render_string(
            "modules/thumb.html",
            post=post,
            photo=photo,
            src=self.handler.reverse_url("media", photo.rendition("thumb").key),
            webp=self.handler.reverse_url("media", photo.rendition("thumb", "webp").key),
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


class RelativeTime(tornado.web.UIModule):
    """ "5 minutes ago" in the reader's language, with the exact time in a tooltip."""

    def render(self, when) -> str:
        naive_utc = when.astimezone(UTC).replace(tzinfo=None)
        return self.render_string(
            "modules/time.html",
            iso=when.astimezone(UTC).isoformat(),
            relative=self.locale.format_date(naive_utc, relative=True),
            full=self.locale.format_date(naive_utc, full_format=True, relative=False),
        )
