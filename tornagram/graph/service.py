"""Following, follow requests for private accounts, blocking and muting."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tornagram.accounts.models import User
from tornagram.accounts.service import user_named
from tornagram.db.engine import Database, after_commit
from tornagram.db.ids import IdGenerator
from tornagram.db.locks import lock_parents
from tornagram.db.shapes import VIEWER
from tornagram.errors import Forbidden, InvalidInput, NotFound, UserError
from tornagram.graph.access import (
    Access,
    Relationship,
    decide,
    relationship_columns,
    relationship_from,
)
from tornagram.graph.models import Block, Follow, FollowRequest, Mute

LIST_PAGE_SIZE = 30


class Notices(Protocol):
    """What the graph asks of the notifications domain (``notifications/writer.py``), inside
    its own transaction. A Protocol, so that notifications may read the graph's tables while
    the graph does not import notifications: the two depend on each other one way only."""

    def notify(self, session, *, recipient_id: int, actor_id: int, kind: str) -> None: ...

    async def retract(self, session, *, recipient_id: int, actor_id: int, kind: str) -> None: ...


def insert_ignore(session, model, **values):
    """INSERT … ON CONFLICT DO NOTHING on every engine: doing a thing twice is doing it once.
    MySQL's form is INSERT IGNORE, which like the others reports no row for a duplicate (ON
    DUPLICATE KEY UPDATE would count the untouched row as found)."""
    dialect = session.bind.dialect.name
    if dialect == "mysql":
        return mysql_insert(model).values(**values).prefix_with("IGNORE")
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(model).values(**values).on_conflict_do_nothing()


# Built once: only the two people change.
_FLAGS = select(*relationship_columns(VIEWER, bindparam("other")))


class GraphService:
    def __init__(self, db: Database, ids: IdGenerator, notifications: Notices) -> None:
        self.db = db
        self.ids = ids
        self.notifications = notifications
        # A LiveControl (realtime/control.py): told when someone may no longer see someone.
        self.live = None

    async def relationship(self, viewer: User | None, other: User) -> Relationship:
        if viewer is None or viewer.id == other.id:
            return relationship_from(viewer, other)
        values = {"viewer": viewer.id, "other": other.id}
        flags = await self.db.run_read(lambda session: session.execute(_FLAGS, values).one())
        return relationship_from(viewer, other, flags)

    async def access(self, viewer: User | None, person: User) -> Access:
        """What ``viewer`` may see of ``person`` (graph/access.py): the profile, its lists.
        Raises NotFound, as for a name nobody has, when ``person`` blocked the viewer."""
        return decide(person, await self.relationship(viewer, person)).require_found()

    async def follow(self, viewer: User, username: str) -> str:
        """'following' or 'requested' (private account). Following twice changes nothing."""
        target = await self._target(viewer, username)
        if target.id == viewer.id:
            raise InvalidInput(UserError("You can't follow yourself.", "follow"))
        rel = await self.relationship(viewer, target)
        if rel.blocked_by or rel.blocking:
            # Blocked either way: say no more than that it is not possible.
            raise Forbidden("You can't follow this account.")
        if rel.following:
            return "following"
        async with self.db.write() as session:
            if target.is_private:
                if not rel.requested:
                    request_id = self.ids.next_id()
                    result = await session.execute(
                        insert_ignore(
                            session,
                            FollowRequest,
                            id=request_id,
                            requester_id=viewer.id,
                            target_id=target.id,
                        )
                    )
                    if result.rowcount:
                        self.notifications.notify(
                            session,
                            recipient_id=target.id,
                            actor_id=viewer.id,
                            kind="follow_request",
                        )
                return "requested"
            await self._add_follow(session, viewer.id, target.id)
        return "following"

    async def _add_follow(self, session, follower_id: int, followee_id: int) -> bool:
        await lock_parents(session, User, follower_id, followee_id)
        result = await session.execute(
            insert_ignore(session, Follow, follower_id=follower_id, followee_id=followee_id)
        )
        if not result.rowcount:
            return False
        await session.execute(
            update(User)
            .where(User.id == follower_id)
            .values(following_count=User.following_count + 1)
        )
        await session.execute(
            update(User)
            .where(User.id == followee_id)
            .values(follower_count=User.follower_count + 1)
        )
        self.notifications.notify(
            session, recipient_id=followee_id, actor_id=follower_id, kind="follow"
        )
        return True

    def _access_changed(self, session, author_id: int, viewer_id: int) -> None:
        """After commit: ``viewer_id``'s live subscriptions to ``author_id``'s posts are
        checked again on every process (realtime/control.py), and cut if no longer allowed."""
        if self.live is not None:
            live = self.live
            after_commit(
                session, lambda: live.access_changed(author_id=author_id, viewer_ids=[viewer_id])
            )

    async def _remove_follow(self, session, follower_id: int, followee_id: int) -> bool:
        result = await session.execute(
            delete(Follow).where(
                Follow.follower_id == follower_id, Follow.followee_id == followee_id
            )
        )
        if not result.rowcount:
            return False
        # A private account's posts were visible through this follow.
        self._access_changed(session, followee_id, follower_id)
        await session.execute(
            update(User)
            .where(User.id == follower_id)
            .values(following_count=User.following_count - 1)
        )
        await session.execute(
            update(User)
            .where(User.id == followee_id)
            .values(follower_count=User.follower_count - 1)
        )
        await self.notifications.retract(
            session, recipient_id=followee_id, actor_id=follower_id, kind="follow"
        )
        return True

    async def unfollow(self, viewer: User, username: str) -> None:
        """Also withdraws a pending request. Unfollowing someone you don't follow is a no-op."""
        target = await self._target(viewer, username)
        async with self.db.write() as session:
            await self._remove_follow(session, viewer.id, target.id)
            result = await session.execute(
                delete(FollowRequest).where(
                    FollowRequest.requester_id == viewer.id, FollowRequest.target_id == target.id
                )
            )
            if result.rowcount:
                await self.notifications.retract(
                    session, recipient_id=target.id, actor_id=viewer.id, kind="follow_request"
                )

    async def pending_requests(self, owner: User) -> list[tuple[FollowRequest, User]]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(FollowRequest, User)
                .join(User, User.id == FollowRequest.requester_id)
                .where(FollowRequest.target_id == owner.id)
                .order_by(FollowRequest.id.desc())
            )
            return [(r, u) for r, u in rows]

    async def followed_among(self, viewer: User, user_ids) -> set[int]:
        """Which of ``user_ids`` the viewer follows or has asked to (one query): a new
        follower not among them is offered "Follow back"."""
        ids = set(user_ids)
        if not ids:
            return set()
        async with self.db.read() as session:
            follows = await session.scalars(
                select(Follow.followee_id).where(
                    Follow.follower_id == viewer.id, Follow.followee_id.in_(ids)
                )
            )
            asked = await session.scalars(
                select(FollowRequest.target_id).where(
                    FollowRequest.requester_id == viewer.id, FollowRequest.target_id.in_(ids)
                )
            )
            return set(follows) | set(asked)

    async def pending_request_count(self, owner: User) -> int:
        """How many people wait for an answer: the link to /follow-requests says so."""
        async with self.db.read() as session:
            query = select(func.count()).where(FollowRequest.target_id == owner.id)
            return await session.scalar(query.select_from(FollowRequest)) or 0

    async def answer_request(self, owner: User, request_id: int, approve: bool) -> None:
        async with self.db.write() as session:
            request = (
                await session.execute(
                    select(FollowRequest).where(
                        FollowRequest.id == request_id, FollowRequest.target_id == owner.id
                    )
                )
            ).scalar_one_or_none()
            if request is None:
                raise NotFound("That follow request is no longer pending.")
            await self._answer(session, request, approve=approve)

    async def let_everyone_in(self, session, owner_id: int) -> int:
        """Inside the transaction that makes an account public (``AccountsService
        .update_profile``): everyone who asked to follow it follows it now, newest asker first.
        How many were let in."""
        requests = list(
            await session.scalars(
                select(FollowRequest)
                .where(FollowRequest.target_id == owner_id)
                .order_by(FollowRequest.id.desc())
            )
        )
        for request in requests:
            await self._answer(session, request, approve=True)
        return len(requests)

    async def _answer(self, session, request: FollowRequest, *, approve: bool) -> None:
        await session.execute(delete(FollowRequest).where(FollowRequest.id == request.id))
        await self.notifications.retract(
            session,
            recipient_id=request.target_id,
            actor_id=request.requester_id,
            kind="follow_request",
        )
        if approve:
            await self._add_follow(session, request.requester_id, request.target_id)

    async def block(self, viewer: User, username: str) -> None:
        """The blocked person can no longer see, follow or comment on the blocker; follows and
        requests between them, both ways, are removed."""
        target = await self._target(viewer, username)
        if target.id == viewer.id:
            raise InvalidInput(UserError("You can't block yourself.", "block"))
        async with self.db.write() as session:
            await session.execute(
                insert_ignore(session, Block, blocker_id=viewer.id, blocked_id=target.id)
            )
            # Neither may watch the other's posts any more.
            self._access_changed(session, viewer.id, target.id)
            self._access_changed(session, target.id, viewer.id)
            await self._remove_follow(session, viewer.id, target.id)
            await self._remove_follow(session, target.id, viewer.id)
            await session.execute(
                delete(FollowRequest).where(
                    or_(
                        and_(
                            FollowRequest.requester_id == viewer.id,
                            FollowRequest.target_id == target.id,
                        ),
                        and_(
                            FollowRequest.requester_id == target.id,
                            FollowRequest.target_id == viewer.id,
                        ),
                    )
                )
            )

    async def unblock(self, viewer: User, username: str) -> None:
        target = await self._target(viewer, username)
        async with self.db.write() as session:
            await session.execute(
                delete(Block).where(Block.blocker_id == viewer.id, Block.blocked_id == target.id)
            )

    async def mute(self, viewer: User, username: str) -> None:
        """Quietly: the muted person is not told, and muting twice is muting once."""
        target = await self._target(viewer, username)
        if target.id == viewer.id:
            raise InvalidInput(UserError("You can't mute yourself.", "mute"))
        async with self.db.write() as session:
            await session.execute(
                insert_ignore(session, Mute, muter_id=viewer.id, muted_id=target.id)
            )

    async def unmute(self, viewer: User, username: str) -> None:
        target = await self._target(viewer, username)
        async with self.db.write() as session:
            await session.execute(
                delete(Mute).where(Mute.muter_id == viewer.id, Mute.muted_id == target.id)
            )

    async def muted(self, viewer: User) -> list[User]:
        """Everyone the viewer muted, most recent first."""
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(
                        select(User)
                        .join(Mute, Mute.muted_id == User.id)
                        .where(Mute.muter_id == viewer.id)
                        .order_by(Mute.created_at.desc())
                    )
                ).scalars()
            )

    async def is_blocked_either_way(self, a_id: int, b_id: int) -> bool:
        async with self.db.read() as session:
            return bool(
                await session.scalar(
                    select(
                        exists().where(
                            or_(
                                and_(Block.blocker_id == a_id, Block.blocked_id == b_id),
                                and_(Block.blocker_id == b_id, Block.blocked_id == a_id),
                            )
                        )
                    )
                )
            )

    async def followers(
        self, user: User, *, before: int | None = None
    ) -> tuple[list[User], int | None]:
        return await self._people(Follow.followee_id == user.id, Follow.follower_id, before)

    async def following(
        self, user: User, *, before: int | None = None
    ) -> tuple[list[User], int | None]:
        return await self._people(Follow.follower_id == user.id, Follow.followee_id, before)

    async def _people(self, condition, other_column, before):
        query = select(User).join(Follow, User.id == other_column).where(condition)
        if before is not None:
            query = query.where(other_column < before)
        query = query.order_by(other_column.desc()).limit(LIST_PAGE_SIZE + 1)
        async with self.db.read() as session:
            people = list((await session.execute(query)).scalars())
        more = len(people) > LIST_PAGE_SIZE
        people = people[:LIST_PAGE_SIZE]
        return people, (people[-1].id if more else None)

    async def _target(self, viewer: User, username: str) -> User:
        async with self.db.read() as session:
            return await user_named(session, username)

