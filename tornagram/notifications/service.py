"""Reading notifications: the page, grouped the way people read it ("alice and 3 others liked
your photo"), the unread count in the navigation, and marking them seen.

Grouping. Likes of one post, comments on one post, follows, and follow requests that arrive on
the same UTC day form one group (a comment group shows the newest comment's words); replies and
mentions stay one row each, with a snippet of the text. A group
sits where its newest notification is, and is unread while any of its members is.

Pages are keyset pages over notification ids. Ids are time-ordered, so a group's day is an id
range, and a group cut by the end of a page is counted over its whole day (one aggregate query);
the next page leaves out groups whose newest member was on an earlier page.

Everything passes the one visibility rule: nothing from a person blocked either way, nothing
about a post the reader cannot see (a mention in a private account's caption after unfollowing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased, selectinload

from tornagram.accounts.models import User
from tornagram.cache import NOTICES_GONE, VISIBILITY, Store, graph_topic, unread_topic
from tornagram.db.base import utcnow
from tornagram.db.engine import Database
from tornagram.db.ids import SEQUENCE_BITS, WORKER_BITS, id_time_ms, lowest_id_at
from tornagram.db.shapes import IDS, VIEWER, shape
from tornagram.graph.models import Comment, Notification, not_muted
from tornagram.graph.visibility import can_see_user_id, not_blocked
from tornagram.photos.models import THUMB_NAMES, Photo, Post, Rendition
from tornagram.realtime.channels import user_channel

GROUPED_KINDS = frozenset({"like", "comment", "follow", "follow_request"})
# Grouped per photo as well as per day: five comments on one photo are one row.
PER_POST_KINDS = frozenset({"like", "comment"})
# Rows read per step. Groups collapse many rows into one line, so a page of rows is a screenful.
ROWS_PER_STEP = 60
# When groups shown on earlier pages swallow a whole step, read a few more before giving up.
MAX_STEPS = 4
# The badge says "99+" beyond this; counting stops there, so it costs the same for everyone.
UNREAD_BADGE_MAX = 99
SNIPPET_MAX_CHARS = 80
DAY_MS = 86_400_000
# The ids of one UTC day: the id epoch is a midnight, so ``id // DAY_ID_SPAN`` numbers the day.
DAY_ID_SPAN = DAY_MS << (WORKER_BITS + SEQUENCE_BITS)

N = Notification


@dataclass(slots=True)
class NotificationGroup:
    kind: str
    actors: list[User]  # distinct, newest first (those on this page)
    actor_count: int  # everyone in the group, also those beyond this page
    latest_id: int
    latest_at: datetime
    unread: bool
    post: Post | None = None  # with photos and renditions (for the thumb)
    post_author: User | None = None
    comment: Comment | None = None
    post_id: int | None = None
    comment_id: int | None = None
    # Grouped kinds: the id range of the group's day.
    window: tuple[int, int] | None = None
    _actor_ids: set[int] = field(default_factory=set)

    @property
    def snippet(self) -> str:
        """The comment's words, or the caption's for a mention in a post."""
        text = self.comment.body if self.comment is not None else ""
        if not text and self.kind == "mention" and self.post is not None:
            text = self.post.caption
        return shorten(text)


@dataclass(slots=True)
class NotificationPage:
    groups: list[NotificationGroup]
    next_before: int | None  # the ``before`` of the next page, None on the last


def shorten(text: str, limit: int = SNIPPET_MAX_CHARS) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def visible_to(viewer_id: int):
    """The visibility rule for a notification row: no block either way with its actor, an actor
    the reader has not muted, and a post (if any) that the reader may see."""
    post_visible = exists().where(Post.id == N.post_id, can_see_user_id(viewer_id, Post.author_id))
    return and_(
        not_blocked(viewer_id, N.actor_id),
        not_muted(viewer_id, N.actor_id),
        or_(N.post_id.is_(None), post_visible),
    )


def _day_window(notification_id: int) -> tuple[int, int]:
    start_ms = id_time_ms(notification_id) // DAY_MS * DAY_MS
    return lowest_id_at(start_ms), lowest_id_at(start_ms + DAY_MS)


# The badge's query, built once: only the viewer changes.
_UNREAD = select(func.count()).select_from(
    select(N.id)
    .where(N.recipient_id == VIEWER, N.read_at.is_(None), visible_to(VIEWER))
    .limit(UNREAD_BADGE_MAX + 1)
    .subquery()
)


def count_unread(session, viewer: User) -> int:
    """The badge, as part of a read (sync, see ``Database.run_read``)."""
    return session.execute(_UNREAD, {"viewer": viewer.id}).scalar_one()


def _rows_query(first: bool):
    """A step of a notifications page (the shape: the viewer, and the cursor unless first)."""
    # Aliased: the visibility rule's subqueries name the plain users table themselves.
    Actor = aliased(User)
    query = (
        select(N, Actor)
        .join(Actor, Actor.id == N.actor_id)
        .where(N.recipient_id == VIEWER, visible_to(VIEWER))
        .order_by(N.id.desc())
        .limit(ROWS_PER_STEP + 1)
    )
    return query if first else query.where(N.id < bindparam("before"))


def _groups_query():
    """The counts of a step's groups over their days (see ``_count_grouped``)."""
    day = (N.id // DAY_ID_SPAN).label("day")
    return (
        select(
            N.kind,
            N.post_id,
            day,
            func.count(func.distinct(N.actor_id)).label("actors"),
            func.max(N.id).label("latest"),
            func.count(case((N.read_at.is_(None), 1))).label("unread"),
            # Two distinct people of the group, to name a second one from beyond the page.
            func.min(N.actor_id).label("lowest_actor"),
            func.max(N.actor_id).label("highest_actor"),
        )
        .where(
            N.recipient_id == VIEWER,
            N.kind.in_(bindparam("kinds", expanding=True)),
            N.id >= bindparam("low"),
            N.id < bindparam("high"),
            visible_to(VIEWER),
        )
        .group_by(N.kind, N.post_id, day)
    )


# A line shows its post's first photo as a thumbnail only: no other photo or size is loaded.
_THUMBS = (
    select(Post, User)
    .join(User, User.id == Post.author_id)
    .where(Post.id.in_(IDS))
    .options(
        selectinload(Post.photos.and_(Photo.position == 0)).selectinload(
            Photo.renditions.and_(Rendition.name.in_(THUMB_NAMES))
        )
    )
)
_COMMENTS = select(Comment).where(Comment.id.in_(IDS))

# Per member: the badge figure (see unread_count).
UNREAD_CACHE_ENTRIES = 20_000
UNREAD_CACHE_MAX_AGE_SECS = 60


class NotificationsService:
    def __init__(self, db: Database, events=None) -> None:
        self.db = db
        # An EventPublisher: opening the list tells the reader's other tabs (notifications.read).
        self.events = events
        self._unread = Store(
            db.changes,
            "unread",
            max_entries=UNREAD_CACHE_ENTRIES,
            max_age_secs=UNREAD_CACHE_MAX_AGE_SECS,
        )

    async def unread_count(self, viewer: User) -> int:
        """Unread and visible, up to UNREAD_BADGE_MAX + 1. Reads the partial index of unread
        rows only (ix_notifications_unread); asked on every page a member opens, so the answer
        is cached until a notice for them arrives or goes, or what they may see changes."""
        count = self._unread.get(viewer.id)
        if count is not None:
            return count
        stamp = self._unread.changes.stamp()
        count = await self.db.run_read(count_unread, viewer)
        self.keep_unread(viewer, count, stamp)
        return count

    def unread_stamp(self) -> int:
        """Taken before a read that counts the badge itself (``count_unread``)."""
        return self._unread.changes.stamp()

    def keep_unread(self, viewer: User, count: int, stamp: int) -> None:
        """Cache a badge counted by ``count_unread`` in a read that began after ``stamp``."""
        self._unread.put(
            viewer.id,
            count,
            stamp,
            (unread_topic(viewer.id), graph_topic(viewer.id), VISIBILITY, NOTICES_GONE),
        )

    async def mark_all_seen(self, viewer: User, up_to_id: int | None = None) -> int:
        """Marks unread notifications read, up to the newest one the reader was shown, so one
        that arrived while the page was being made still counts as new."""
        query = update(N).where(N.recipient_id == viewer.id, N.read_at.is_(None))
        if up_to_id is not None:
            query = query.where(N.id <= up_to_id)
        async with self.db.write() as session:
            result = await session.execute(query.values(read_at=utcnow()))
            if result.rowcount and self.events is not None:
                # The badge in every other open tab; the count is read after the commit (a
                # notice newer than the list shown stays unread).
                async def read_data() -> dict:
                    return {"unread": await self.unread_count(viewer)}

                self.events.on_commit(
                    session, user_channel(viewer.id), "notifications.read", read_data
                )
        return result.rowcount

    async def dismiss(self, viewer: User, notification_id: int | None = None) -> int:
        """Remove one of the reader's notifications (or, with no id, all of them): gone from
        every list, the badge included."""
        query = delete(N).where(N.recipient_id == viewer.id)
        if notification_id is not None:
            query = query.where(N.id == notification_id)
        async with self.db.write() as session:
            result = await session.execute(query)
        return result.rowcount

    async def page(self, viewer: User, before: int | None = None) -> NotificationPage:
        return await self.db.run_read(self._read_page, viewer.id, before)

    @classmethod
    def _read_page(cls, session, viewer_id: int, before: int | None) -> NotificationPage:
        """The whole page as one read (sync, see Database.run_read)."""
        groups: list[NotificationGroup] = []
        cursor = before
        for _ in range(MAX_STEPS):
            rows, more = cls._rows(session, viewer_id, cursor)
            if not rows:
                cursor = None
                break
            step = cls._group(rows)
            cls._count_grouped(session, viewer_id, step, before=cursor)
            groups.extend(g for g in step if g.actor_count)
            cursor = rows[-1][0].id if more else None
            if groups or cursor is None:
                break
        cls._attach_posts_and_comments(session, groups)
        return NotificationPage(groups=groups, next_before=cursor)

    # -- steps of page() -----------------------------------------------------------------------

    @staticmethod
    def _rows(session, viewer_id: int, before: int | None):
        query = shape(("notification-rows", before is None), lambda: _rows_query(before is None))
        values = {"viewer": viewer_id, "before": before}
        rows = [tuple(row) for row in session.execute(query, values)]
        return rows[:ROWS_PER_STEP], len(rows) > ROWS_PER_STEP

    @staticmethod
    def _group(rows) -> list[NotificationGroup]:
        """Rows arrive newest first, so each group's first row is its newest."""
        groups: list[NotificationGroup] = []
        by_key: dict[tuple, NotificationGroup] = {}
        for notification, actor in rows:
            if notification.kind in GROUPED_KINDS:
                window = _day_window(notification.id)
                post_id = notification.post_id if notification.kind in PER_POST_KINDS else None
                key = (notification.kind, post_id, window)
            else:
                window, post_id, key = None, notification.post_id, ("one", notification.id)
            group = by_key.get(key)
            if group is None:
                group = NotificationGroup(
                    kind=notification.kind,
                    actors=[],
                    actor_count=0,
                    latest_id=notification.id,
                    latest_at=notification.created_at,
                    unread=False,
                    post_id=post_id,
                    comment_id=notification.comment_id,
                    window=window,
                )
                by_key[key] = group
                groups.append(group)
            if actor.id not in group._actor_ids:
                group._actor_ids.add(actor.id)
                group.actors.append(actor)
                group.actor_count += 1
            group.unread = group.unread or notification.read_at is None
        return groups

    @staticmethod
    def _count_grouped(session, viewer_id: int, groups, *, before: int | None) -> None:
        """Counts each group over its whole day, in one query. A group whose newest member is
        at or above ``before`` was shown on an earlier page: its count becomes 0 (left out).

        One GROUP BY over the days the groups span (the recipient's index, one range) rather
        than one SELECT per group: the visibility rule is in the statement once, not once per
        group. Rows for groups not on this page come back too and are ignored."""
        grouped = [g for g in groups if g.window is not None]
        if not grouped:
            return
        query = shape(("notification-groups",), _groups_query)
        values = {
            "viewer": viewer_id,
            "kinds": sorted({g.kind for g in grouped}),
            "low": min(g.window[0] for g in grouped),
            "high": max(g.window[1] for g in grouped),
        }
        by_key = {(g.kind, g.post_id, g.window[0] // DAY_ID_SPAN): g for g in grouped}
        rows = []
        for row in session.execute(query, values):
            group = by_key.get((row.kind, row.post_id, row.day))
            if group is not None:
                rows.append((group, row))
        wanted: dict[int, list[NotificationGroup]] = {}
        for group, row in rows:
            if before is not None and row.latest is not None and row.latest >= before:
                group.actor_count = 0
                continue
            group.actor_count = max(row.actors, len(group.actors))
            group.unread = group.unread or bool(row.unread)
            if group.actor_count >= 2 and len(group.actors) == 1:
                known = group.actors[0].id
                other = row.highest_actor if row.highest_actor != known else row.lowest_actor
                wanted.setdefault(other, []).append(group)
        if wanted:
            people = session.execute(select(User).where(User.id.in_(wanted)))
            for person in people.scalars():
                for group in wanted[person.id]:
                    group.actors.append(person)

    @staticmethod
    def _attach_posts_and_comments(session, groups: list[NotificationGroup]) -> None:
        post_ids = {g.post_id for g in groups if g.post_id is not None}
        comment_ids = {g.comment_id for g in groups if g.comment_id is not None}
        posts: dict[int, tuple[Post, User]] = {}
        comments: dict[int, Comment] = {}
        if post_ids:
            result = session.execute(_THUMBS, {"ids": list(post_ids)})
            posts = {post.id: (post, author) for post, author in result.all()}
        if comment_ids:
            result = session.execute(_COMMENTS, {"ids": list(comment_ids)})
            comments = {c.id: c for c in result.scalars()}
        for group in groups:
            group.post, group.post_author = posts.get(group.post_id, (None, None))
            group.comment = comments.get(group.comment_id) if group.comment_id else None
