"""One serializer per Mastodon entity, from Tornagram's rows. Handlers never build entities.

Every URL is absolute (``Urls``, from the request's scheme and host); every id is a string;
every time is ISO 8601 UTC with milliseconds. Text becomes HTML from escaped pieces only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tornado.escape import url_escape, xhtml_escape

from tornagram.accounts.models import User
from tornagram.graph.models import Comment
from tornagram.photos.captions import _TOKEN_RE as TOKEN_RE  # the captions' own tokenizer
from tornagram.photos.captions import extract_mentions, extract_tags, normalize_tag
from tornagram.photos.models import MediaUpload, Photo, Post
from tornagram.storage.urls import media_url

# The renditions a photo has, largest first (photos/imaging.py).
LARGE_NAMES = ("full", "1080", "640")
SMALL_NAMES = ("640", "thumb")


@dataclass(frozen=True, slots=True)
class Urls:
    base: str  # "https://host", no trailing slash

    def of(self, path: str) -> str:
        return self.base + path

    def media(self, key: str | None) -> str | None:
        path = media_url(key)
        return self.base + path if path else None

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{url_escape(name, plus=False)}"

    def post(self, post_id: int) -> str:
        return f"{self.base}/p/{post_id}"

    def comment(self, post_id: int, comment_id: int) -> str:
        return f"{self.base}/p/{post_id}#c{comment_id}"


def iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def text_html(text: str, urls: Urls) -> str:
    """Paragraphs and line breaks, hashtags and mentions linked the way Mastodon marks them,
    everything else escaped: typed HTML shows as text."""
    paragraphs = [p for p in (text or "").split("\n\n") if p.strip()]
    out = []
    for paragraph in paragraphs:
        pieces: list[str] = []
        last = 0
        for match in TOKEN_RE.finditer(paragraph):
            pieces.append(xhtml_escape(paragraph[last : match.start()]))
            tag, mention = match.group(1), match.group(2)
            if tag is not None and not tag.isdigit():
                href = xhtml_escape(urls.tag(normalize_tag(tag)))
                pieces.append(
                    f'<a href="{href}" class="mention hashtag" rel="tag">'
                    f"#<span>{xhtml_escape(tag)}</span></a>"
                )
            elif mention is not None:
                name = mention.lower().rstrip(".")
                href = xhtml_escape(urls.profile(name))
                pieces.append(
                    f'<span class="h-card"><a href="{href}" class="u-url mention">'
                    f"@<span>{xhtml_escape(mention)}</span></a></span>"
                )
            else:
                pieces.append(xhtml_escape(match.group(0)))
            last = match.end()
        pieces.append(xhtml_escape(paragraph[last:]))
        out.append("<p>" + "".join(pieces).replace("\n", "<br>") + "</p>")
    return "".join(out)


# -- accounts -------------------------------------------------------------------------------


def account(user: User, urls: Urls) -> dict[str, Any]:
    avatar = urls.media(user.avatar_key) or urls.of("/static/img/avatar-default.png")
    header = urls.of("/static/img/header-default.png")
    return {
        "id": str(user.id),
        "username": user.username,
        "acct": user.username,
        "display_name": user.display_name or "",
        "locked": bool(user.is_private),
        "bot": False,
        "group": False,
        "discoverable": None,
        "indexable": False,
        "noindex": False,
        "created_at": iso(user.created_at),
        "note": text_html(user.bio or "", urls),
        "url": urls.profile(user.username),
        "uri": urls.profile(user.username),
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": user.follower_count or 0,
        "following_count": user.following_count or 0,
        "statuses_count": user.post_count or 0,
        "last_status_at": None,
        "emojis": [],
        "fields": [],
        "roles": [],
    }


def credential_account(user: User, urls: Urls, follow_requests: int) -> dict[str, Any]:
    data = account(user, urls)
    data["source"] = {
        "privacy": "private" if user.is_private else "public",
        "sensitive": False,
        "language": (user.locale or "").split("_")[0] or None,
        "note": user.bio or "",
        "fields": [],
        "follow_requests_count": follow_requests,
    }
    return data


def relationship(other_id: int, rel, *, requested_by: bool = False) -> dict[str, Any]:
    return {
        "id": str(other_id),
        "following": rel.following,
        "showing_reblogs": rel.following,
        "notifying": False,
        "languages": None,
        "followed_by": rel.followed_by,
        "blocking": rel.blocking,
        "blocked_by": rel.blocked_by,
        "muting": False,
        "muting_notifications": False,
        "requested": rel.requested,
        "requested_by": requested_by,
        "domain_blocking": False,
        "endorsed": False,
        "note": "",
    }


# -- media ------------------------------------------------------------------------------------


def _pick(renditions, names):
    by_name = {r.name: r for r in renditions if r.fmt == "jpeg"}
    for name in names:
        if name in by_name:
            return by_name[name]
    return None


def _size(width: int, height: int) -> dict[str, Any]:
    return {
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": round(width / max(height, 1), 6),
    }


def _media(
    media_id: int,
    renditions,
    width: int,
    height: int,
    blurhash: str,
    description: str,
    urls: Urls,
    focus: tuple[float, float] | None = None,
) -> dict[str, Any]:
    large = _pick(renditions, LARGE_NAMES)
    small = _pick(renditions, SMALL_NAMES) or large
    meta: dict[str, Any] = {"original": _size(width, height)}
    if small is not None:
        meta["small"] = _size(small.width, small.height)
    if focus is not None:
        meta["focus"] = {"x": focus[0], "y": focus[1]}
    return {
        "id": str(media_id),
        "type": "image",
        "url": urls.media(large.key) if large else None,
        "preview_url": urls.media(small.key) if small else None,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": description or None,
        "blurhash": blurhash,
    }


def photo_media(photo: Photo, urls: Urls) -> dict[str, Any]:
    return _media(
        photo.id, photo.renditions, photo.width, photo.height, photo.blurhash, photo.alt_text, urls
    )


def upload_media(upload: MediaUpload, urls: Urls) -> dict[str, Any]:
    focus = None
    if upload.focus_x is not None and upload.focus_y is not None:
        focus = (upload.focus_x, upload.focus_y)
    data = _media(
        upload.id,
        upload.files,
        upload.width,
        upload.height,
        upload.blurhash,
        upload.description,
        urls,
        focus,
    )
    if upload.state != "ready":
        data["url"] = None  # the large renditions are still being made (preview_url is set)
    return data


# -- statuses ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ViewerMarks:
    """What the token's person has done to the statuses on a page (None: no token)."""

    liked: set[int] = field(default_factory=set)
    saved: set[int] = field(default_factory=set)


def _tags(text: str, urls: Urls) -> list[dict[str, Any]]:
    return [{"name": t, "url": urls.tag(t)} for t in extract_tags(text)]


def _mentions(text: str, known: dict[str, User], urls: Urls) -> list[dict[str, Any]]:
    out = []
    for name in extract_mentions(text):
        user = known.get(name)
        if user is not None:
            out.append(
                {"id": str(user.id), "username": user.username, "acct": user.username,
                 "url": urls.profile(user.username)}
            )  # fmt: skip
    return out


def _status_base(
    *,
    status_id: int,
    url: str,
    created_at,
    author: User,
    text: str,
    urls: Urls,
    visibility: str,
    marks: ViewerMarks | None,
    mentioned: dict[str, User],
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(status_id),
        "uri": url,
        "url": url,
        "created_at": iso(created_at),
        "edited_at": None,
        "account": account(author, urls),
        "content": text_html(text, urls),
        "visibility": visibility,
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": [],
        "application": None,
        "mentions": _mentions(text, mentioned, urls),
        "tags": _tags(text, urls),
        "emojis": [],
        "reblogs_count": 0,
        "favourites_count": 0,
        "replies_count": 0,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "reblog": None,
        "poll": None,
        "card": None,
        "language": None,
        "text": None,
        "filtered": [],
    }
    if marks is not None:
        data.update(favourited=False, bookmarked=False, reblogged=False, muted=False)
    return data


def post_status(
    post: Post,
    author: User,
    urls: Urls,
    marks: ViewerMarks | None = None,
    mentioned: dict[str, User] | None = None,
    viewer: User | None = None,
) -> dict[str, Any]:
    data = _status_base(
        status_id=post.id,
        url=urls.post(post.id),
        created_at=post.created_at,
        author=author,
        text=post.caption,
        urls=urls,
        visibility="private" if author.is_private else "public",
        marks=marks,
        mentioned=mentioned or {},
    )
    data["media_attachments"] = [photo_media(photo, urls) for photo in post.photos]
    data["favourites_count"] = post.like_count or 0
    data["replies_count"] = post.comment_count or 0
    # Set by an edit only (updated_at also moves when a like or comment changes a counter).
    data["edited_at"] = iso(post.edited_at)
    if marks is not None:
        data["favourited"] = post.id in marks.liked
        data["bookmarked"] = post.id in marks.saved
        if viewer is not None and viewer.id == author.id:
            data["pinned"] = False
    return data


def comment_status(
    comment: Comment,
    author: User,
    post_author: User,
    urls: Urls,
    *,
    replied_author_id: int | None,
    replies: int,
    marks: ViewerMarks | None = None,
    mentioned: dict[str, User] | None = None,
) -> dict[str, Any]:
    data = _status_base(
        status_id=comment.id,
        url=urls.comment(comment.post_id, comment.id),
        created_at=comment.created_at,
        author=author,
        text=comment.body,
        urls=urls,
        visibility="private" if post_author.is_private else "public",
        marks=marks,
        mentioned=mentioned or {},
    )
    data["in_reply_to_id"] = str(comment.parent_id or comment.post_id)
    data["in_reply_to_account_id"] = str(replied_author_id or post_author.id)
    data["replies_count"] = replies
    return data


def tag(name: str, urls: Urls) -> dict[str, Any]:
    return {"name": name, "url": urls.tag(name), "history": [], "following": False}
