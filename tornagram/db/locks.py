"""Row locks that only MySQL and MariaDB need.

Inserting a row whose foreign key points at a parent takes a shared lock on the parent in
InnoDB; the counter update that follows (``posts.like_count + 1``) then needs the exclusive
one. Two transactions doing that to the same parent at once each hold the shared lock the other
waits on: a deadlock, and one of them fails. PostgreSQL's foreign-key lock does not conflict
with updating other columns, and SQLite has one writer at a time, so only MySQL takes the
parent's exclusive lock first, here, and the writers queue instead.
"""

from __future__ import annotations

from sqlalchemy import select


async def lock_parents(session, model, *ids: int) -> None:
    """``SELECT … FOR UPDATE`` of ``model`` rows ``ids`` (in id order, so that two
    transactions locking the same rows cannot deadlock) on MySQL; nothing elsewhere."""
    if session.bind.dialect.name != "mysql":
        return
    wanted = sorted(set(ids))
    await session.execute(
        select(model.id).where(model.id.in_(wanted)).order_by(model.id).with_for_update()
    )
