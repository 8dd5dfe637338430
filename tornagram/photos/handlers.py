"""Pages for posting photos, viewing a post, editing and deleting it."""

from __future__ import annotations

from pathlib import Path

import tornado.web

from tornagram.errors import UserError
from tornagram.photos.captions import ALT_MAX_CHARS
from tornagram.photos.fairness import pixels_charged
from tornagram.photos.service import MAX_PHOTOS_PER_POST, PhotoUpload
from tornagram.web import params
from tornagram.web.base import BaseHandler
from tornagram.web.post_page import PostPageMixin
from tornagram.web.uploads import StreamingFormMixin, UploadLimits

PHOTO_FIELD = "photo"


class UploadPageMixin:
    def render_upload(self, exc: UserError | None = None, **form) -> None:
        if exc is not None:
            self.set_status(exc.status)
        self.render(
            "photos/upload.html",
            errors=self.field_errors(exc),
            form=form,
            max_photos=MAX_PHOTOS_PER_POST,
            alt_max=ALT_MAX_CHARS,
            max_upload_mb=self.ctx.settings.max_upload_bytes // (1024 * 1024),
        )

    def check_pixel_budget(self) -> None:
        """Refuse (429, with Retry-After) while this person or address has used its pixels."""
        self.ctx.upload_pixels.check(user=self.current_user.id, ip=self.client_ip or None)

    def charge_pixels(self, post) -> None:
        self.ctx.upload_pixels.charge(
            pixels_charged(post.photos), user=self.current_user.id, ip=self.client_ip or None
        )

    def answer_error(self, exc: UserError, **form) -> None:
        self.say_when_to_retry(exc)
        if self.wants_json():
            self.set_status(exc.status)
            self.finish(self.error_body(exc.status, exc))
            return
        self.render_upload(exc, **form)

    def answer_created(self, post) -> None:
        url = self.reverse_url("post", post.id)
        if self.wants_json():
            self.set_status(201)
            self.finish({"id": str(post.id), "url": url})
        else:
            self.see_other(url)


@tornado.web.stream_request_body
class UploadHandler(UploadPageMixin, StreamingFormMixin, BaseHandler):
    """GET: the upload page. POST: 1–10 photos streamed to disk, then processed off the loop."""

    def get_upload_limits(self) -> UploadLimits:
        return UploadLimits(
            max_file_bytes=self.ctx.settings.max_upload_bytes, max_files=MAX_PHOTOS_PER_POST
        )

    def get_upload_tmp_dir(self) -> Path:
        return self.ctx.settings.data_dir / "tmp"

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.method == "POST" and self.current_user is None:
            # Refuse before a single byte of the body is read.
            raise tornado.web.HTTPError(403)
        if self.request.method == "POST":
            self.check_pixel_budget()  # likewise: a refused upload costs no bandwidth

    @tornado.web.authenticated
    def get(self) -> None:
        self.render_upload()

    async def post(self) -> None:
        form = self.form
        caption = form.get("caption")
        alts = form.get_all("alt")
        files = [f for f in form.files.get(PHOTO_FIELD, []) if f.size > 0]
        uploads = [
            PhotoUpload(path=f.path, alt=alts[i] if i < len(alts) else "", filename=f.filename)
            for i, f in enumerate(files)
        ]
        try:
            post = await self.ctx.photos.create_post(self.current_user, uploads, caption)
        except UserError as exc:
            self.answer_error(exc, caption=caption)
            return
        self.charge_pixels(post)
        self.answer_created(post)


class UrlImportHandler(UploadPageMixin, BaseHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        url = self.get_body_argument("url", "")
        caption = self.get_body_argument("caption", "")
        try:
            self.check_pixel_budget()
            post = await self.ctx.photos.import_from_url(self.current_user, url, caption)
        except UserError as exc:
            self.answer_error(exc, url=url, url_caption=caption)
            return
        self.charge_pixels(post)
        self.answer_created(post)



class PostHandler(PostPageMixin, BaseHandler):
    async def get(self, post_id: str) -> None:
        await self.render_post_page(
            params.path_id(post_id),
            # Only a hint for the form: a stale or odd value just means no one is named.
            reply_to=params.parse_id(self.get_query_argument("reply_to", None)),
        )


class PostEditHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self, post_id: str) -> None:
        view = await self.ctx.photos.get_post(params.path_id(post_id), self.current_user)
        if view.post.author_id != self.current_user.id:
            raise tornado.web.HTTPError(403)
        self.render("photos/edit.html", post=view.post, errors={}, form={}, alt_max=ALT_MAX_CHARS)

    @tornado.web.authenticated
    async def post(self, post_id: str) -> None:
        pid = params.path_id(post_id)
        try:
            await self.ctx.photos.edit_post(
                self.current_user,
                pid,
                self.get_body_argument("caption", ""),
                self.get_body_arguments("alt"),
            )
        except UserError as exc:
            if exc.status != 400:
                raise
            view = await self.ctx.photos.get_post(pid, self.current_user)
            self.render_form("photos/edit.html", exc, post=view.post, alt_max=ALT_MAX_CHARS)
            return
        self.see_other(self.reverse_url("post", pid))


class PostDeleteHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, post_id: str) -> None:
        await self.ctx.photos.delete_post(self.current_user, params.path_id(post_id))
        self.see_other(self.reverse_url("profile", self.current_user.username))
