"""The social graph and what people do to posts: follows, follow requests, blocks, likes,
comments, saves, and the notifications they cause."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    exists,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from tornagram.db.base import Base, UTCDateTime, snowflake_pk, utcnow


def _user_fk(**kwargs) -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), **kwargs)


def _post_fk(**kwargs) -> Mapped[int]:
    return mapped_column(BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), **kwargs)


class Follow(Base):
    """An accepted follow. Pending ones (to private accounts) are FollowRequest rows."""

    __tablename__ = "follows"
    __table_args__ = (
        # "Who follows X" and the follower count; the primary key serves "whom does X follow".
        Index("ix_follows_followee_id_follower_id", "followee_id", "follower_id"),
    )

    follower_id: Mapped[int] = _user_fk(primary_key=True)
    followee_id: Mapped[int] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowRequest(Base):
    __tablename__ = "follow_requests"

    id: Mapped[int] = snowflake_pk()
    requester_id: Mapped[int] = _user_fk()
    target_id: Mapped[int] = _user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("requester_id", "target_id"),
        Index("ix_follow_requests_target_id_id", "target_id", "id"),
    )


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (Index("ix_blocks_blocked_id_blocker_id", "blocked_id", "blocker_id"),)

    blocker_id: Mapped[int] = _user_fk(primary_key=True)
    blocked_id: Mapped[int] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mute(Base):
    """The muter no longer sees the muted person's posts in the home feed, their comments, or
    notices of what they do. The muted person is not told and nothing else changes: they may
    still follow, see and comment (that is what a block is for)."""

    __tablename__ = "mutes"

    muter_id: Mapped[int] = _user_fk(primary_key=True)
    muted_id: Mapped[int] = _user_fk(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def not_muted(viewer_id: int | None, author_id_column) -> ColumnElement[bool]:
    """A condition on an author for what the viewer reads: not someone the viewer muted. A
    viewer's own choice, so it sits apart from the visibility rule that binds everyone."""
    if viewer_id is None:
        return true()
    return ~exists().where(Mute.muter_id == viewer_id, Mute.muted_id == author_id_column)


class Like(Base):
    __tablename__ = "likes"

    # Its own id orders "who liked" newest first with keyset pages.
    id: Mapped[int] = snowflake_pk()
    post_id: Mapped[int] = _post_fk()
    user_id: Mapped[int] = _user_fk()
    __table_args__ = (
        UniqueConstraint("post_id", "user_id"),
        Index("ix_likes_post_id_id", "post_id", "id"),
        Index("ix_likes_user_id", "user_id"),
    )


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = snowflake_pk()
    post_id: Mapped[int] = _post_fk()
    author_id: Mapped[int] = _user_fk()
    # Replies are one level deep: a reply's parent is always a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("comments.id", ondelete="CASCADE"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_comments_post_id_id", "post_id", "id"),
        Index("ix_comments_parent_id", "parent_id"),
        Index("ix_comments_author_id", "author_id"),
    )


class Save(Base):
    """A bookmark, private to the person who saved."""

    __tablename__ = "saves"

    id: Mapped[int] = snowflake_pk()
    user_id: Mapped[int] = _user_fk()
    post_id: Mapped[int] = _post_fk()
    __table_args__ = (
        UniqueConstraint("user_id", "post_id"),
        Index("ix_saves_user_id_id", "user_id", "id"),
        Index("ix_saves_post_id", "post_id"),
    )


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = snowflake_pk()
    recipient_id: Mapped[int] = _user_fk()
    actor_id: Mapped[int] = _user_fk()
    # like | comment | reply | mention | follow | follow_request
    kind: Mapped[str] = mapped_column(String(20))
    post_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), nullable=True
    )
    comment_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("comments.id", ondelete="CASCADE"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_notifications_recipient_id_id", "recipient_id", "id"),
        # The navigation counts unread notifications on every page. Only unread rows are in
        # this index (opening the page marks them read), so the count stays a short scan.
        Index(
            "ix_notifications_unread",
            "recipient_id",
            sqlite_where=text("read_at IS NULL"),
            postgresql_where=text("read_at IS NULL"),
        ),
        Index("ix_notifications_actor_id", "actor_id"),
        Index("ix_notifications_post_id", "post_id"),
    )
