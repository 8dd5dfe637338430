"""Accounts as the API finds them: by id or ``acct``, through the block rule, and how the
token's person stands with each."""

from __future__ import annotations

from sqlalchemy import exists, func, select

from tornagram.accounts.models import User
from tornagram.accounts.validation import normalize_username
from tornagram.api.entities import relationship
from tornagram.db.engine import Database
from tornagram.errors import NotFound
from tornagram.graph.models import FollowRequest
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

    async def user_count(self) -> int:
        async with self.db.read() as session:
            return await session.scalar(select(func.count()).select_from(User))
