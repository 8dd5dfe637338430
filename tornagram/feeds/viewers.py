"""What pages need to know of the viewer, cached per viewer so entries of the content can be
shared by every viewer (feeds/cache.py, web/page_slots.py).

Most of a photo page or a grid is the same for everyone who may see it. What differs is small,
and is read here once per viewer rather than once per viewer *and* page:

* ``marked``: every post the viewer liked and every post they saved, as two sets
  [marks:viewer]; a page asks "liked?" of a set instead of the database.
* ``plain``: whether the viewer blocks, is blocked by or mutes anyone, and whether they follow
  any private account [graph:viewer, user:viewer, visibility]. A viewer with none of these reads
  explore, tags and public comment threads exactly as a signed-out visitor does, so they share
  that entry.
* ``named``: a profile's owner by name [user:owner];
* ``relationship``: how the viewer stands with anyone, from whom the viewer follows, asked,
  is followed by, blocks, is blocked by and mutes, as six sets [graph:viewer: every follow,
  request and block names both people, a mute its muter].

Each entry is stamped and dropped by its topics like every other (tornagram/cache).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy import exists, or_, select

from tornagram.accounts.models import User
from tornagram.accounts.service import user_named
from tornagram.cache import VISIBILITY, Store, graph_topic, marks_topic, user_topic
from tornagram.db.engine import Database
from tornagram.graph.access import Relationship, relationship_from
from tornagram.graph.models import Block, Follow, FollowRequest, Like, Mute, Save

MAX_AGE_SECS = 300
_serials = itertools.count(1)
# A viewer with more marks than this is asked per page instead (a set of ints is ~60 bytes an
# id): 5,000 marks is about 300 KB, the most one viewer's entry may take.
MARKED_MAX = 5_000
MARKED_ENTRIES = 2_000
MARKED_BYTES = 2 * 1024 * 1024
PLAIN_ENTRIES = 20_000
NAMED_ENTRIES = 5_000
NAMED_BYTES = 2 * 1024 * 1024
# Whom a viewer follows, is followed by, blocks...: sets of ids, ~60 bytes an id.
GRAPH_ENTRIES = 5_000
GRAPH_BYTES = 2 * 1024 * 1024
GRAPH_MAX = 5_000
# A User row as an ORM object with its state: ~3 KiB (measured with tracemalloc).
USER_BYTES = 3_072


@dataclass(frozen=True, slots=True)
class Plain:
    """Whether the viewer stands apart from nobody: no blocks either way, no mutes."""

    no_blocks: bool
    # ... and follows no private account and is public: reads every list as a visitor does.
    reads_as_visitor: bool


class ViewerFacts:
    def __init__(self, db: Database) -> None:
        self.db = db
        changes = db.changes
        self._marked = Store(
            changes,
            "marked",
            max_entries=MARKED_ENTRIES,
            max_age_secs=MAX_AGE_SECS,
            max_bytes=MARKED_BYTES,
            size=lambda value: 64 * (len(value[0]) + len(value[1])),
        )
        self._plain = Store(changes, "plain", max_entries=PLAIN_ENTRIES, max_age_secs=MAX_AGE_SECS)
        self._named = Store(
            changes,
            "named",
            max_entries=NAMED_ENTRIES,
            max_age_secs=MAX_AGE_SECS,
            max_bytes=NAMED_BYTES,
            size=lambda value: USER_BYTES,
        )
        self._graph = Store(
            changes,
            "graph-sets",
            max_entries=GRAPH_ENTRIES,
            max_age_secs=MAX_AGE_SECS,
            max_bytes=GRAPH_BYTES,
            size=lambda sets: 64 * sum(map(len, sets)),
        )

    @property
    def stores(self) -> list[Store]:
        return [self._marked, self._plain, self._named, self._graph]

    async def marks(self, viewer: User, post_id: int) -> tuple[bool, bool]:
        """(liked, saved) of one post by the viewer."""
        found = self._marked.get(viewer.id)
        if found is None:
            stamp = self._marked.changes.stamp()
            async with self.db.read() as session:
                liked = frozenset(
                    (
                        await session.execute(
                            select(Like.post_id).where(Like.user_id == viewer.id).limit(MARKED_MAX)
                        )
                    ).scalars()
                )
                saved = frozenset(
                    (
                        await session.execute(
                            select(Save.post_id).where(Save.user_id == viewer.id).limit(MARKED_MAX)
                        )
                    ).scalars()
                )
            if len(liked) >= MARKED_MAX or len(saved) >= MARKED_MAX:
                return await self._marks_of_one(viewer, post_id)
            found = (liked, saved)
            self._marked.put(viewer.id, found, stamp, (marks_topic(viewer.id),))
        return post_id in found[0], post_id in found[1]

    async def _marks_of_one(self, viewer: User, post_id: int) -> tuple[bool, bool]:
        async with self.db.read() as session:
            liked = await session.scalar(
                select(exists().where(Like.user_id == viewer.id, Like.post_id == post_id))
            )
            saved = await session.scalar(
                select(exists().where(Save.user_id == viewer.id, Save.post_id == post_id))
            )
        return bool(liked), bool(saved)

    async def plain(self, viewer: User) -> Plain:
        found = self._plain.get(viewer.id)
        if found is None:
            stamp = self._plain.changes.stamp()
            blocks = or_(Block.blocker_id == viewer.id, Block.blocked_id == viewer.id)
            private_follows = (
                select(Follow.followee_id)
                .join(User, User.id == Follow.followee_id)
                .where(Follow.follower_id == viewer.id, User.is_private.is_(True))
            )
            async with self.db.read() as session:
                apart, follows_private = (
                    await session.execute(
                        select(
                            or_(exists().where(blocks), exists().where(Mute.muter_id == viewer.id)),
                            exists(private_follows),
                        )
                    )
                ).one()
            found = Plain(
                no_blocks=not apart,
                reads_as_visitor=not apart and not follows_private and not viewer.is_private,
            )
            topics = (graph_topic(viewer.id), user_topic(viewer.id), VISIBILITY)
            self._plain.put(viewer.id, found, stamp, topics)
        return found

    async def named(self, username: str) -> tuple[User, int | None]:
        """The account with this name and the serial of its load (None: not from the caches,
        never rendered from them). NotFound, never cached, for a name nobody has."""
        found = self._named.get(username)
        if found is None:
            stamp = self._named.changes.stamp()
            async with self.db.read() as session:
                user = await user_named(session, username)
            found = (user, next(_serials) if self.db.changes.usable else None)
            self._named.put(username, found, stamp, (user_topic(user.id),))
        return found

    async def relationship(self, graph, viewer: User | None, other: User) -> Relationship:
        """How the viewer stands with ``other``: six lookups in the viewer's graph sets."""
        if viewer is None or viewer.id == other.id:
            return await graph.relationship(viewer, other)
        sets = await self._graph_sets(viewer)
        if sets is None:
            return await graph.relationship(viewer, other)
        o = other.id
        return relationship_from(viewer, other, tuple(o in found for found in sets))

    async def _graph_sets(self, viewer: User) -> tuple[frozenset[int], ...] | None:
        """Whom the viewer follows, has asked to follow, is followed by, blocks, is blocked by
        and mutes, in ``relationship_columns``' order [graph:viewer]. None for someone with
        more than GRAPH_MAX in any of them (asked per person instead)."""
        found = self._graph.get(viewer.id)
        if found is None:
            stamp = self._graph.changes.stamp()
            v = viewer.id
            queries = (
                select(Follow.followee_id).where(Follow.follower_id == v),
                select(FollowRequest.target_id).where(FollowRequest.requester_id == v),
                select(Follow.follower_id).where(Follow.followee_id == v),
                select(Block.blocked_id).where(Block.blocker_id == v),
                select(Block.blocker_id).where(Block.blocked_id == v),
                select(Mute.muted_id).where(Mute.muter_id == v),
            )
            async with self.db.read() as session:
                sets = []
                for query in queries:
                    ids = frozenset((await session.execute(query.limit(GRAPH_MAX + 1))).scalars())
                    if len(ids) > GRAPH_MAX:
                        return None
                    sets.append(ids)
            found = tuple(sets)
            self._graph.put(viewer.id, found, stamp, (graph_topic(v),))
        return found
