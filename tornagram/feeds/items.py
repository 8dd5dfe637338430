"""What a post card needs to show, gathered once per page for every post on it."""

from __future__ import annotations

from dataclasses import dataclass, field

from tornagram.accounts.models import User
from tornagram.photos.models import Post


@dataclass(slots=True)
class PostItem:
    post: Post  # with photos and renditions loaded
    author: User
    liked: bool = False  # by the viewer
    saved: bool = False  # by the viewer
    # A preview of the comments: (comment, its author), oldest first.
    comments: list = field(default_factory=list)
    # Set when everything above came from the caches (feeds/cache.py): numbers that change
    # whenever any of it is read again, so the rendered card can be cached by them.
    version: tuple | None = None
