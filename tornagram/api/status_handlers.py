"""Statuses, media uploads and timelines."""

from __future__ import annotations

from pathlib import Path

import tornado.web

from tornagram.api.entities import account, upload_media
from tornagram.api.media_processing import FAILED, READY, state_of
from tornagram.errors import UserError
from tornagram.photos.captions import normalize_tag
from tornagram.web.api import ApiError, ApiHandler, BadParameter, Unprocessable
from tornagram.web.params import parse_id, path_id
from tornagram.web.uploads import StreamingFormMixin, UploadLimits

MAX_MEDIA_IDS = 10
VISIBILITIES = ("public", "unlisted", "private")


class StatusesHandler(ApiHandler):
    """POST /api/v1/statuses: a post (1–10 uploaded photos) or a comment (``in_reply_to_id``)."""

    async def post(self) -> None:
        text = self.param("status", "") or ""
        raw_ids = self.param_list("media_ids")
        if len(raw_ids) > MAX_MEDIA_IDS:
            raise Unprocessable("A post can have at most 10 photos")
        media_ids = []
        for raw in raw_ids:
            number = parse_id(raw)
            if number is None:
                raise Unprocessable("media_ids are not valid")
            media_ids.append(number)
        reply_raw = self.param("in_reply_to_id")
        in_reply_to = None
        if reply_raw:
            in_reply_to = parse_id(reply_raw)
            if in_reply_to is None:
                raise ApiError(404, "Record not found")
        visibility = self.param("visibility") or "public"
        if visibility == "direct":
            raise Unprocessable("Direct messages are not supported")
        if visibility not in VISIBILITIES:
            raise Unprocessable("visibility is not valid")
        if (
            self.param("scheduled_at")
            or self.json_body().get("poll")
            or self.get_arguments("poll[options][]")
        ):
            raise Unprocessable("Polls and scheduled posts are not supported")
        # Accepted and not shown: Tornagram has no content warnings.
        self.param_bool("sensitive")
        self.param("spoiler_text")
        self.param("language")
        found = await self.ctx.api_statuses.create(
            self.current_user,
            text=text,
            media_ids=media_ids,
            in_reply_to_id=in_reply_to,
            idempotency_key=(self.request.headers.get("Idempotency-Key") or "")[:200] or None,
        )
        self.write_json(await self.ctx.api_statuses.render(self.current_user, found, self.urls()))


class StatusHandler(ApiHandler):
    async def get(self, status_id: str) -> None:
        found = await self.ctx.api_statuses.find(self.current_user, path_id(status_id))
        self.write_json(await self.ctx.api_statuses.render(self.current_user, found, self.urls()))

    async def put(self, status_id: str) -> None:
        """An edit of a post's caption and its photos' alt texts, through the edit page's
        own service; the photos themselves stay (Tornagram does not swap a post's photos)."""
        viewer = self.current_user
        statuses = self.ctx.api_statuses
        found = await statuses.find(viewer, path_id(status_id))
        if found.comment is not None:
            raise Unprocessable("Comments can't be edited")
        post = found.post
        if post.author_id != viewer.id:
            raise ApiError(403, "Only the author can edit this post")
        photo_ids = [str(photo.id) for photo in post.photos]
        media_ids = self.param_list("media_ids")
        if media_ids and sorted(media_ids) != sorted(photo_ids):
            raise Unprocessable("The photos of a post can't be changed, only their alt text")
        alts = {str(photo.id): photo.alt_text for photo in post.photos}
        for media_id, description in self.media_attributes():
            if media_id not in alts:
                raise Unprocessable("media_attributes names a photo that is not in this post")
            alts[media_id] = description
        caption = self.param("status")
        await self.ctx.photos.edit_post(
            viewer,
            post.id,
            post.caption if caption is None else caption,
            [alts[photo_id] for photo_id in photo_ids],
        )
        found = await statuses.find(viewer, post.id)
        self.write_json(await statuses.render(viewer, found, self.urls()))

    def media_attributes(self) -> list[tuple[str, str]]:
        """(photo id, description) pairs: a JSON array of objects, or the form's
        ``media_attributes[][id]`` and ``media_attributes[][description]`` in order."""
        raw = self.json_body().get("media_attributes")
        if raw is None:
            ids = self.get_arguments("media_attributes[][id]")
            descriptions = self.get_arguments("media_attributes[][description]")
            if len(ids) != len(descriptions):
                raise BadParameter("media_attributes needs an id and a description for each")
            raw = [{"id": i, "description": d} for i, d in zip(ids, descriptions, strict=True)]
        if not isinstance(raw, list) or len(raw) > MAX_MEDIA_IDS:
            raise BadParameter("media_attributes must be an array of at most 10")
        pairs = []
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
                raise BadParameter("media_attributes must name each photo's id")
            description = item.get("description")
            if description is None:
                continue
            if not isinstance(description, str):
                raise BadParameter("description must be a string")
            pairs.append((str(item["id"]), description))
        return pairs

    async def delete(self, status_id: str) -> None:
        viewer = self.current_user
        found = await self.ctx.api_statuses.find(viewer, path_id(status_id))
        self.ctx.api_limits.check("status_delete", viewer.id)
        data = await self.ctx.api_statuses.render(viewer, found, self.urls())
        await self.ctx.api_statuses.delete(viewer, found)
        data["text"] = found.comment.body if found.comment is not None else found.post.caption
        self.write_json(data)


class ContextHandler(ApiHandler):
    async def get(self, status_id: str) -> None:
        found = await self.ctx.api_statuses.find(self.current_user, path_id(status_id))
        self.write_json(await self.ctx.api_statuses.context(self.current_user, found, self.urls()))


class MarkHandler(ApiHandler):
    """favourite / unfavourite (likes) and bookmark / unbookmark (saves), on posts only."""

    async def post(self, status_id: str, action: str) -> None:
        viewer = self.current_user
        statuses = self.ctx.api_statuses
        found = await statuses.find(viewer, path_id(status_id))
        if found.comment is not None:
            raise Unprocessable("Comments can't be liked or saved")
        post_id = found.post.id
        interactions = self.ctx.interactions
        if action == "favourite":
            await interactions.like(viewer, post_id)
        elif action == "unfavourite":
            await interactions.unlike(viewer, post_id)
        elif action == "bookmark":
            await interactions.save(viewer, post_id)
        else:
            await interactions.unsave(viewer, post_id)
        found = await statuses.find(viewer, post_id)
        self.write_json(await statuses.render(viewer, found, self.urls()))


class ReblogHandler(ApiHandler):
    def post(self, status_id: str) -> None:
        raise Unprocessable("Tornagram has no reblogs")


class FavouritedByHandler(ApiHandler):
    async def get(self, status_id: str) -> None:
        found = await self.ctx.api_statuses.find(self.current_user, path_id(status_id))
        if found.comment is not None:
            self.write_json([])
            return
        cursor = self.cursor(default=40, maximum=80)
        people, row_ids = await self.ctx.api_statuses.likers(
            self.current_user, found.post.id, cursor
        )
        self.write_page([account(p, self.urls()) for p in people], row_ids, cursor)


class MarkedListHandler(ApiHandler):
    """GET /api/v1/favourites and /api/v1/bookmarks, paged by the like and save row ids."""

    async def get(self, kind: str) -> None:
        cursor = self.cursor(default=20, maximum=40)
        statuses = self.ctx.api_statuses
        listing = statuses.favourites if kind == "favourites" else statuses.bookmarks
        pairs, row_ids = await listing(self.current_user, cursor)
        items = await statuses.render_posts(self.current_user, pairs, self.urls())
        self.write_page(items, row_ids, cursor)


# -- media ------------------------------------------------------------------------------------


@tornado.web.stream_request_body
class MediaUploadHandler(StreamingFormMixin, ApiHandler):
    """POST /api/v2/media (202 while processing, or 200 when done) and the deprecated
    /api/v1/media (200 once processed). The photo is streamed to disk like the upload page's;
    the token and its scope are checked before a byte of the body is read."""

    def initialize(self, ctx, scopes=None, deprecated: bool = False) -> None:
        super().initialize(ctx, scopes)
        self.deprecated = deprecated

    def get_upload_limits(self) -> UploadLimits:
        return UploadLimits(max_file_bytes=self.ctx.settings.max_upload_bytes, max_files=1)

    def get_upload_tmp_dir(self) -> Path:
        return self.ctx.settings.data_dir / "tmp"

    async def prepare(self) -> None:
        await super().prepare()

    async def post(self) -> None:
        if self.deprecated:
            self.set_header("Deprecation", "true")
        form = self.form
        files = [f for f in form.files.get("file", []) if f.size > 0]
        if not files:
            raise Unprocessable("file is missing")
        viewer = self.current_user
        self.ctx.api_limits.check("media_upload", viewer.id)
        self.ctx.upload_pixels.check(user=viewer.id, ip=self.client_ip or None)
        upload = await self.ctx.api_media.upload(
            viewer, files[0].path, form.get("description") or None, form.get("focus") or None,
            wait=self.deprecated,
        )  # fmt: skip
        # v2: 202 (url null, preview_url set) while the large renditions are made, 200 once
        # done; the deprecated v1 waits for them and answers 200.
        state = state_of(upload)
        if state == FAILED:
            raise Unprocessable("The photo could not be processed")
        self.write_json(upload_media(upload, self.urls()), 200 if state == READY else 202)

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, UserError) and not isinstance(exc, ApiError) and status_code == 413:
            self.set_status(422)
        super().write_error(status_code, **kwargs)


class MediaHandler(ApiHandler):
    """GET, PUT and DELETE /api/v1/media/:id: the caller's own unattached upload (or, for GET,
    a photo of theirs that a status has taken)."""

    async def get(self, media_id: str) -> None:
        """206 while the large renditions are made, 200 when ready, 422 if that failed."""
        upload = await self.ctx.api_media.own(self.current_user, path_id(media_id))
        state = state_of(upload)
        if state == FAILED:
            raise Unprocessable("The photo could not be processed")
        self.write_json(upload_media(upload, self.urls()), 200 if state == READY else 206)

    async def put(self, media_id: str) -> None:
        upload = await self.ctx.api_media.update(
            self.current_user,
            path_id(media_id),
            self.param("description"),
            self.param("focus"),
        )
        self.write_json(upload_media(upload, self.urls()))

    async def delete(self, media_id: str) -> None:
        await self.ctx.api_media.remove(self.current_user, path_id(media_id))
        self.write_json({})


# -- timelines --------------------------------------------------------------------------------


class HomeTimelineHandler(ApiHandler):
    async def get(self) -> None:
        cursor = self.cursor(default=20, maximum=40)
        pairs = await self.ctx.api_statuses.home(self.current_user, cursor)
        items = await self.ctx.api_statuses.render_posts(self.current_user, pairs, self.urls())
        self.write_page(items, [post.id for post, _ in pairs], cursor)


class PublicTimelineHandler(ApiHandler):
    async def get(self) -> None:
        cursor = self.cursor(default=20, maximum=40)
        # One site, no federation: local, remote and only_media change nothing but remote,
        # which has nothing to show.
        remote = self.param_bool("remote")
        self.param_bool("local")
        self.param_bool("only_media")
        pairs = [] if remote else await self.ctx.api_statuses.public(self.current_user, cursor)
        items = await self.ctx.api_statuses.render_posts(self.current_user, pairs, self.urls())
        self.write_page(items, [post.id for post, _ in pairs], cursor)


class TagTimelineHandler(ApiHandler):
    async def get(self, raw_tag: str) -> None:
        tag = normalize_tag(raw_tag).lstrip("#")
        if not tag or len(tag) > 100:
            raise BadParameter("The hashtag is not valid")
        cursor = self.cursor(default=20, maximum=40)
        pairs = await self.ctx.api_statuses.tagged(self.current_user, tag, cursor)
        items = await self.ctx.api_statuses.render_posts(self.current_user, pairs, self.urls())
        self.write_page(items, [post.id for post, _ in pairs], cursor)
