"""Read-through caches that every process keeps in memory, kept honest by change stamps.

A page such as the home feed needs the session, the unread badge, the feed's post ids, each
post's card data and the viewer's likes; read from the database each time, that is seven round
trips and most of the page's cost. The caches here keep those answers in memory, and every write
that could change one says so, after it commits, by naming *topics* (``post:42``, ``user:7``,
``posts-by:7``...). An entry lists the topics it was built from and remembers the stamp taken
before its database read began; it is served only while none of those topics has changed since.

* The stamp is taken *before* the read, so a change that commits while the read is in flight
  makes the entry stale at once, whichever of the two finishes first.
* Other processes hear of changes through Redis (``RedisChanges``), on a plain pub/sub channel
  of its own. While that link is down the caches answer nothing and every read goes to the
  database; when it comes back every entry made before is dropped, since changes may have
  been missed in between.
* Every entry also has a maximum age, a bound on staleness should a change ever go unheard.

The rendered HTML of a post card is cached too, but by *content*: its key holds every value the
card shows (counts, names, the viewer's like, the relative time...), so it never needs
invalidating (``FragmentCache``).

The package: ``topics`` (the names writes announce), ``changes`` (stamps, in one process),
``redis`` (stamps shared through Redis), ``stores`` (the read-through stores). Everything a
caller needs is importable from ``tornagram.cache`` itself.
"""

from __future__ import annotations

from tornagram.cache.changes import MAX_TOPICS, Changes, LocalChanges, NoCaches
from tornagram.cache.redis import (
    CLOSE_DRAIN_SECS,
    DEAD_AFTER_SECS,
    HEALTH_CHECK_SECS,
    MAX_OUTBOX_TOPICS,
    PING_SECS,
    PUBLISH_WAIT_SECS,
    RECONNECT_MAX_SECS,
    REDIS_CHANNEL,
    SOCKET_TIMEOUT_SECS,
    RedisChanges,
    make_changes,
)
from tornagram.cache.stores import FragmentCache, Store
from tornagram.cache.topics import (
    NOTICES_GONE,
    POSTS,
    SITE,
    VISIBILITY,
    graph_topic,
    marks_topic,
    post_topic,
    posts_by_topic,
    sessions_topic,
    unread_topic,
    user_topic,
)

__all__ = [
    "CLOSE_DRAIN_SECS",
    "DEAD_AFTER_SECS",
    "HEALTH_CHECK_SECS",
    "MAX_OUTBOX_TOPICS",
    "MAX_TOPICS",
    "NOTICES_GONE",
    "PING_SECS",
    "POSTS",
    "PUBLISH_WAIT_SECS",
    "RECONNECT_MAX_SECS",
    "REDIS_CHANNEL",
    "SITE",
    "SOCKET_TIMEOUT_SECS",
    "VISIBILITY",
    "Changes",
    "FragmentCache",
    "LocalChanges",
    "NoCaches",
    "RedisChanges",
    "Store",
    "graph_topic",
    "make_changes",
    "marks_topic",
    "post_topic",
    "posts_by_topic",
    "sessions_topic",
    "unread_topic",
    "user_topic",
]
