"""What each written row says has changed: one entry per table, read by hooks on every write
session, so a write cannot forget to tell the caches (tornagram/cache/).

``Database.write`` sessions collect topics from every row they touch:

* rows added, changed or deleted through the ORM, after each flush;
* ``insert``/``update``/``delete`` statements run on the session: inserts from the values they
  carry, updates and deletes from the rows their WHERE clause matches, read (only the columns
  the table's entry needs) just before the statement runs, in the same transaction.

Every table in the schema has an entry, ``None`` for tables no cached answer reads; a test fails
for a new table without one. Topics a row cannot name (rows removed by a foreign-key cascade, a
value that changed rather than was written) are still said by hand with ``db.engine.changed``,
each with a comment saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from tornagram.cache import (
    POSTS,
    SITE,
    graph_topic,
    marks_topic,
    post_topic,
    posts_by_topic,
    sessions_topic,
    unread_topic,
    user_topic,
)

# Where a write session keeps the topics its transaction changes, until it commits.
CHANGED = "tornagram_changed"

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TableTopics:
    """``topics(row)`` for a row written to the table, which has at least ``columns``."""

    columns: tuple[str, ...]
    topics: Callable[[Row], Iterable[str]]
    # Updates that set only these columns change nothing any cache shows.
    quiet_updates: frozenset[str] = frozenset()


def _both(a: str, b: str) -> TableTopics:
    # A follow, request or block between two people: what each sees, and their counts, change.
    return TableTopics(
        (a, b),
        lambda row: (
            graph_topic(row[a]),
            graph_topic(row[b]),
            user_topic(row[a]),
            user_topic(row[b]),
        ),
    )


TOPICS: dict[str, TableTopics | None] = {
    "users": TableTopics(("id",), lambda row: (user_topic(row["id"]),)),
    "sessions": TableTopics(
        ("user_id",),
        lambda row: (sessions_topic(row["user_id"]),),
        # Seen-at bookkeeping, written while the cached session is in use.
        quiet_updates=frozenset({"last_seen_at"}),
    ),
    "login_failures": None,  # read by the login throttle, never cached
    "follows": _both("follower_id", "followee_id"),
    "follow_requests": _both("requester_id", "target_id"),
    "blocks": _both("blocker_id", "blocked_id"),
    # What the muter reads changes; the muted person sees nothing different.
    "mutes": TableTopics(("muter_id",), lambda row: (graph_topic(row["muter_id"]),)),
    "posts": TableTopics(
        ("id", "author_id"),
        lambda row: (post_topic(row["id"]), posts_by_topic(row["author_id"]), POSTS),
    ),
    "photos": TableTopics(("post_id",), lambda row: (post_topic(row["post_id"]),)),
    "photo_renditions": None,  # written only with their photo, which names the post
    "post_tags": TableTopics(("post_id",), lambda row: (post_topic(row["post_id"]),)),
    "likes": TableTopics(
        ("user_id", "post_id"),
        lambda row: (marks_topic(row["user_id"]), post_topic(row["post_id"])),
    ),
    "saves": TableTopics(("user_id",), lambda row: (marks_topic(row["user_id"]),)),
    "comments": TableTopics(("post_id",), lambda row: (post_topic(row["post_id"]),)),
    "notifications": TableTopics(
        ("recipient_id",), lambda row: (unread_topic(row["recipient_id"]),)
    ),
    # Read by the moderators' pages, never cached; what a suspension hides is said by the
    # service with ``changed(session, VISIBILITY)``.
    "reports": None,
    "moderation_log": None,
    "site_settings": TableTopics(("id",), lambda row: (SITE,)),
    "invites": None,  # read at sign-up and on /invites, never cached
    "rooms": None,  # rooms and their messages are read live, never cached
    "room_messages": None,
    # Reset, confirmation and sign-in tokens, recovery codes, reserved names and exports are
    # read fresh by the pages that use them, never cached.
    "account_tokens": None,
    "recovery_codes": None,
    "reserved_usernames": None,
    "data_exports": None,
    # The app API's tables: read per request by token, never cached.
    "oauth_apps": None,
    "oauth_codes": None,
    "oauth_tokens": None,
    "api_media_uploads": None,
    "api_media_upload_files": None,
}


def entry(table: str) -> TableTopics | None:
    try:
        return TOPICS[table]
    except KeyError:
        raise LookupError(
            f"table {table!r} has no entry in tornagram/db/topics.py: say which cache topics "
            "its rows change (or None if no cached answer reads it)"
        ) from None


def note(session: Session, topics: Iterable[str]) -> None:
    session.info.setdefault(CHANGED, set()).update(topics)


def install(session_class: type[Session]) -> None:
    """Collect the topics of every row written through sessions of ``session_class``."""
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "do_orm_execute", _on_execute)


def _after_flush(session: Session, _flush_context) -> None:
    # The session's new, dirty and deleted sets still hold what this flush wrote.
    for obj in session.new:
        _note_object(session, obj, None)
    for obj in session.deleted:
        _note_object(session, obj, None)
    for obj in session.dirty:
        state = inspect(obj)
        columns = frozenset(attr.key for attr in state.attrs if attr.history.has_changes())
        if columns:
            _note_object(session, obj, columns)


def _note_object(session: Session, obj: object, columns: frozenset[str] | None) -> None:
    state = inspect(obj)
    mapper = state.mapper
    table = entry(mapper.local_table.name)
    if table is None or (columns is not None and columns <= table.quiet_updates):
        return
    row = {
        name: state.attrs[mapper.get_property_by_column(mapper.local_table.c[name]).key].value
        for name in table.columns
    }
    note(session, table.topics(row))


def _on_execute(state: ORMExecuteState) -> None:
    if state.is_select:
        return
    statement = state.statement
    target = getattr(statement, "table", None)
    if target is None:
        return
    table = entry(target.name)
    if table is None:
        return
    session = state.session
    if state.is_insert:
        note(session, _topics(table, _inserted_rows(state)))
        return
    if state.is_update:
        columns = _set_columns(statement)
        if columns is not None and columns <= table.quiet_updates:
            return
    # The rows this update or delete will touch, read first in the same transaction.
    query = select(*(target.c[name] for name in table.columns))
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    rows = [row._mapping for row in session.execute(query)]
    note(session, _topics(table, rows))


def _topics(table: TableTopics, rows: Iterable[Row]) -> list[str]:
    return [topic for row in rows for topic in table.topics(row)]


def _inserted_rows(state: ORMExecuteState) -> list[Row]:
    compiled = state.statement.compile(bind=state.session.get_bind())
    values = {key: value for key, value in compiled.params.items()}
    many = state.parameters
    if isinstance(many, list):
        return [{**values, **row} for row in many]
    if many:
        return [{**values, **many}]
    return [values]


def _set_columns(statement) -> frozenset[str] | None:
    # The SET clause's columns (None: unknown, so the update counts as changing everything).
    values = getattr(statement, "_values", None)
    if not values:
        return None
    return frozenset(key if isinstance(key, str) else key.key for key in values)
