"""Topics: what a write changes and what a cached entry depends on (see tornagram/cache)."""

from __future__ import annotations

from functools import lru_cache

# Everything that depends on who may see what (a user going private, a block) names this.
VISIBILITY = "visibility"
# Notifications removed with what they were about (a deleted post or comment): whose badge
# changed is not known without a query, so every badge is read again.
NOTICES_GONE = "notices-gone"
# Any post written (new, edited, liked, deleted): what lists posts from everyone (explore, a
# tag) depends on it.
POSTS = "posts"
# The site's own settings (moderation/site.py): its name is on every page.
SITE = "site"


# -- topics: what a write changes and what an entry depends on ------------------------------


# Topic names are interned (lru_cache): a feed page's entry lists ~200 of them, and thousands
# of entries share the same few strings instead of each holding copies.


@lru_cache(maxsize=100_000)
def user_topic(user_id: int) -> str:
    """The user's own row: name, avatar, language, privacy."""
    return f"user:{user_id}"


@lru_cache(maxsize=100_000)
def sessions_topic(user_id: int) -> str:
    """The user's sessions: sign out, revoke, a new password."""
    return f"sessions:{user_id}"


@lru_cache(maxsize=100_000)
def graph_topic(user_id: int) -> str:
    """Whom the user follows or blocks, or is followed or blocked by."""
    return f"graph:{user_id}"


@lru_cache(maxsize=100_000)
def posts_by_topic(user_id: int) -> str:
    """A post by the user appeared or went away."""
    return f"posts-by:{user_id}"


@lru_cache(maxsize=100_000)
def post_topic(post_id: int) -> str:
    """A post's card changed: caption, counts, comments."""
    return f"post:{post_id}"


@lru_cache(maxsize=100_000)
def marks_topic(user_id: int) -> str:
    """The user's likes and saves."""
    return f"marks:{user_id}"


@lru_cache(maxsize=100_000)
def unread_topic(user_id: int) -> str:
    """The user's unread notifications."""
    return f"unread:{user_id}"
