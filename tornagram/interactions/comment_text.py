"""Comment bodies: the length rule, and safe HTML with #tags and @mentions linked (the same
renderer as captions, so a comment reads like a caption)."""

from __future__ import annotations

from tornagram.errors import InvalidInput, UserError
from tornagram.photos.captions import (
    MAX_MENTION_NOTICES,
    clean_caption,
    extract_mentions,
    render_caption,
)

COMMENT_MAX_CHARS = 2200


def clean_comment(raw: str | None) -> str:
    """Trimmed text with \\n line endings, or InvalidInput with a message for the ``body`` field."""
    body = clean_caption(raw or "")
    if not body:
        raise InvalidInput(UserError("Write something before posting your comment.", "body"))
    if len(body) > COMMENT_MAX_CHARS:
        raise InvalidInput(
            UserError(
                "Comments can be at most %(max)d characters (this one has %(count)d).",
                "body",
                max=COMMENT_MAX_CHARS,
                count=len(body),
            )
        )
    return body


def mentioned_names(body: str) -> list[str]:
    return extract_mentions(body)[:MAX_MENTION_NOTICES]


def comment_html(body: str) -> str:
    """Escaped HTML with links, for places that have no request at hand (live events)."""
    return render_caption(body, tag_url=lambda tag: "/tags/" + tag, user_url=lambda n: "/@" + n)
