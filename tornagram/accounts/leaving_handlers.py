"""Leaving: /settings/delete (and /settings/export, the data to take along)."""

from __future__ import annotations

import tornado.web

from tornagram.errors import UserError
from tornagram.web.base import BaseHandler


class DeleteAccountHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.render("accounts/settings_delete.html")

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            await self.ctx.deletion.delete_account(
                self.current_user,
                password=self.get_body_argument("password", ""),
                code=self.get_body_argument("code", ""),
                typed_name=self.get_body_argument("username", ""),
            )
        except UserError as exc:
            self.render_form("accounts/settings_delete.html", exc)
            return
        self.end_session()
        self.current_user = None
        self.render("accounts/deleted.html")
