"""Accounts as the API finds them: by id or ``acct``, through the block rule, and how the
token's person stands with each."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from tornagram.accounts.models import User
from tornagram.accounts.validation import normalize_username
from tornagram.api.entities import relationship
from tornagram.api.pagination import Cursor, keyset, reorder
from tornagram.db.engine import Database
from tornagram.errors import NotFound
from tornagram.graph.models import Block, Follow, FollowRequest
from tornagram.graph.service import GraphService
from tornagram.graph.visibility import not_blocked

NOT_FOUND_MESSAGE = "Record not found"


class AccountReads:
    def __init__(self, db: Database, graph: GraphService) -> None:
        self.db = db
        self.graph = graph

    async def by_id(self, viewer: User | None, user_id: int) -> User:
        """404 for an unknown account and for one blocked either way with the viewer."""
        viewer_id = viewer.id if viewer else None
        async with self.db.read() as session:
            user = (
                await session.execute(
                    select(User).where(User.id == user_id, not_blocked(viewer_id, User.id))
                )
            ).scalar_one_or_none()
        if user is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        return user

    async def by_id_unfiltered(self, user_id: int) -> User:
        """For blocking and unblocking, which must find someone blocked."""
        async with self.db.read() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        return user

    async def by_acct(self, viewer: User | None, acct: str, host: str) -> User:
        """``alice``, ``@alice`` and ``alice@this-host`` name the same person; another host
        names nobody here (there is no federation)."""
        name = (acct or "").strip().lstrip("@")
        name, _, domain = name.partition("@")
        if domain and domain.lower() != host.lower():
            raise NotFound(NOT_FOUND_MESSAGE)
        viewer_id = viewer.id if viewer else None
        async with self.db.read() as session:
            user = (
                await session.execute(
                    select(User).where(
                        User.username == normalize_username(name), not_blocked(viewer_id, User.id)
                    )
                )
            ).scalar_one_or_none()
        if user is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        return user

    async def many(self, user_ids: list[int]) -> list[User]:
        if not user_ids:
            return []
        async with self.db.read() as session:
            users = (await session.execute(select(User).where(User.id.in_(user_ids)))).scalars()
        by_id = {u.id: u for u in users}
        return [by_id[i] for i in user_ids if i in by_id]

    async def relationship(self, viewer: User, other: User) -> dict:
        rel = await self.graph.relationship(viewer, other)
        async with self.db.read() as session:
            requested_by = bool(
                await session.scalar(
                    select(
                        exists().where(
                            FollowRequest.requester_id == other.id,
                            FollowRequest.target_id == viewer.id,
                        )
                    )
                )
            )
        return relationship(other.id, rel, requested_by=requested_by)

    async def people(
        self, viewer: User | None, owner: User, direction: str, cursor: Cursor
    ) -> tuple[list[User], list[int]]:
        """Followers or following of ``owner``, keyed by the other person's id (the follow row
        has no id of its own); people blocked either way with the viewer are left out. A
        private account's lists are for its followers, as on its profile."""
        rel = await self.graph.relationship(viewer, owner)
        if owner.is_private and not rel.can_see_posts_of_private:
            return [], []
        mine, other = (
            (Follow.followee_id, Follow.follower_id)
            if direction == "followers"
            else (Follow.follower_id, Follow.followee_id)
        )
        person = aliased(User)
        viewer_id = viewer.id if viewer else None
        query = (
            select(other, person)
            .join(person, person.id == other)
            .where(mine == owner.id, not_blocked(viewer_id, other))
        )
        async with self.db.read() as session:
            rows = reorder((await session.execute(keyset(query, other, cursor))).all(), cursor)
        return [user for _, user in rows], [key for key, _ in rows]

    async def blocked_by_me(self, viewer: User, cursor: Cursor) -> tuple[list[User], list[int]]:
        query = (
            select(Block.blocked_id, User)
            .join(User, User.id == Block.blocked_id)
            .where(Block.blocker_id == viewer.id)
        )
        async with self.db.read() as session:
            rows = reorder(
                (await session.execute(keyset(query, Block.blocked_id, cursor))).all(), cursor
            )
        return [user for _, user in rows], [key for key, _ in rows]

    async def requests_to_me(self, viewer: User, cursor: Cursor) -> tuple[list[User], list[int]]:
        query = (
            select(FollowRequest.id, User)
            .join(User, User.id == FollowRequest.requester_id)
            .where(FollowRequest.target_id == viewer.id)
        )
        async with self.db.read() as session:
            rows = reorder(
                (await session.execute(keyset(query, FollowRequest.id, cursor))).all(), cursor
            )
        return [user for _, user in rows], [key for key, _ in rows]

    async def request_from(self, viewer: User, requester_id: int) -> int:
        """The id of ``requester_id``'s pending request to the viewer, or NotFound."""
        async with self.db.read() as session:
            request_id = await session.scalar(
                select(FollowRequest.id).where(
                    FollowRequest.requester_id == requester_id,
                    FollowRequest.target_id == viewer.id,
                )
            )
        if request_id is None:
            raise NotFound(NOT_FOUND_MESSAGE)
        return request_id

    async def user_count(self) -> int:
        async with self.db.read() as session:
            return await session.scalar(select(func.count()).select_from(User))
