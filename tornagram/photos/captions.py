"""Captions: find #hashtags and @mentions, and turn a caption into safe, linked HTML."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from tornado.escape import url_escape, xhtml_escape

from tornagram.errors import InvalidInput, UserError

CAPTION_MAX_CHARS = 2200
# One limit for a photo's alt text, whichever way it comes: the upload and edit pages, and the
# app API's media descriptions (Mastodon's limit, which apps check before sending).
ALT_MAX_CHARS = 1500
TAG_MAX_CHARS = 100
MAX_TAGS_PER_POST = 30

# A tag is letters, digits, marks and underscores in any script (#猫, #café, #2024),
# and starts where a word does, so "a#b" and URLs with fragments are left alone.
_TAG_RE = re.compile(r"(?<![\w&#])#(\w{1,100})")
_MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.]{1,30})(?![\w@])")
_TOKEN_RE = re.compile(f"{_TAG_RE.pattern}|{_MENTION_RE.pattern}")


def alt_text_error() -> UserError:
    return UserError("Alt text can be at most %(max)d characters.", "alt", max=ALT_MAX_CHARS)


def check_alt_texts(alts) -> None:
    """The alt-text rule of a photo; raises InvalidInput for one that is too long."""
    if any(len((alt or "").strip()) > ALT_MAX_CHARS for alt in alts):
        raise InvalidInput(alt_text_error())


def normalize_tag(raw: str) -> str:
    """One spelling per tag: NFC, case-folded. #Cat, #CAT and #cat are the same page."""
    return unicodedata.normalize("NFC", raw).casefold()


def extract_tags(caption: str) -> list[str]:
    tags: list[str] = []
    for match in _TAG_RE.finditer(caption or ""):
        tag = normalize_tag(match.group(1))
        if tag not in tags and not tag.isdigit():
            tags.append(tag)
    return tags[:MAX_TAGS_PER_POST]


# Beyond this many distinct @names in one caption or comment, the rest are linked but not
# notified, so one text cannot page the whole site.
MAX_MENTION_NOTICES = 20


def extract_mentions(caption: str) -> list[str]:
    names: list[str] = []
    for match in _MENTION_RE.finditer(caption or ""):
        name = match.group(1).lower().rstrip(".")
        if name and name not in names:
            names.append(name)
    return names


def clean_caption(raw: str) -> str:
    """Normalise line endings and trim; the length check is the caller's (it knows the field)."""
    return (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def render_caption(
    caption: str, tag_url: Callable[[str], str], user_url: Callable[[str], str]
) -> str:
    """HTML with every character escaped except the links we add ourselves."""
    out: list[str] = []
    last = 0
    text = caption or ""
    for match in _TOKEN_RE.finditer(text):
        out.append(xhtml_escape(text[last : match.start()]))
        tag, mention = match.group(1), match.group(2)
        if tag is not None and not tag.isdigit():
            href = tag_url(url_escape(normalize_tag(tag), plus=False))
            out.append(f'<a class="hashtag" href="{xhtml_escape(href)}">#{xhtml_escape(tag)}</a>')
        elif mention is not None:
            name = mention.lower().rstrip(".")
            href = user_url(name)
            out.append(
                f'<a class="mention" href="{xhtml_escape(href)}">@{xhtml_escape(mention)}</a>'
            )
        else:
            out.append(xhtml_escape(match.group(0)))
        last = match.end()
    out.append(xhtml_escape(text[last:]))
    return "".join(out)
