"""Fragments repeated across pages, as Tornado UI modules (``{% module Avatar(user) %}``)."""

from __future__ import annotations

import tornado.web

from tornagram.i18n import N_

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
