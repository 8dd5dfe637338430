"""Leaving: /settings/delete (and /settings/export, the data to take along)."""

from __future__ import annotations

import asyncio

import tornado.web

from tornagram.db.base import utcnow
from tornagram.errors import UserError
from tornagram.web import params
from tornagram.web.base import BaseHandler

DOWNLOAD_CHUNK_BYTES = 256 * 1024


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
                ip=self.client_ip,
            )
        except UserError as exc:
            self.render_form("accounts/settings_delete.html", exc)
            return
        self.end_session()
        self.current_user = None
        self.render("accounts/deleted.html")


class ExportHandler(BaseHandler):
    # A suspended account may still take its data away.
    open_while_restricted = True

    @tornado.web.authenticated
    async def get(self) -> None:
        export = await self.ctx.exports.latest(self.current_user)
        self.render("accounts/settings_export.html", export=export, now=utcnow())

    @tornado.web.authenticated
    async def post(self) -> None:
        await self.ctx.exports.start(self.current_user)
        self.see_other(self.reverse_url("settings_export"))


class ExportStatusHandler(BaseHandler):
    """What the page's script polls while the zip is built."""

    # A suspended account may still take its data away.
    open_while_restricted = True

    @tornado.web.authenticated
    async def get(self, export_id: str) -> None:
        export = await self.ctx.exports.owned(self.current_user, params.path_id(export_id))
        self.set_header("Cache-Control", "no-store")
        self.write({"status": str(export.status), "progress": export.progress})


class ExportDownloadHandler(BaseHandler):
    # A suspended account may still take its data away.
    open_while_restricted = True

    @tornado.web.authenticated
    async def get(self, export_id: str) -> None:
        path = await self.ctx.exports.download_path(self.current_user, params.path_id(export_id))
        name = f"tornagram-{self.current_user.username}-{export_id}.zip"
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        self.set_header("Cache-Control", "private, no-store")
        loop = asyncio.get_running_loop()
        size = await loop.run_in_executor(None, lambda: path.stat().st_size)
        self.set_header("Content-Length", str(size))
        # Read in pieces off the loop; flush each so memory stays flat for a large zip.
        with open(path, "rb") as fh:  # noqa: ASYNC230 - every read below is in the executor
            while chunk := await loop.run_in_executor(None, fh.read, DOWNLOAD_CHUNK_BYTES):
                self.write(chunk)
                await self.flush()
        self.finish()
