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
