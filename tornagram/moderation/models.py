"""Reports people file and the audit log of what moderators did."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from tornagram.db.base import Base, UTCDateTime, snowflake_pk, utcnow


class Role(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


# Higher may act on lower: a moderator suspends members, an admin anyone but themselves.
ROLE_RANK = {Role.MEMBER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


def rank(role: str) -> int:
    return ROLE_RANK.get(Role(role) if role in ROLE_RANK else Role.MEMBER, 0)


def is_moderator(user) -> bool:
    return user is not None and rank(user.role) >= ROLE_RANK[Role.MODERATOR]


def is_admin(user) -> bool:
    return user is not None and rank(user.role) >= ROLE_RANK[Role.ADMIN]


class TargetKind(StrEnum):
    POST = "post"
    COMMENT = "comment"
    ACCOUNT = "account"


class Reason(StrEnum):
    SPAM = "spam"
    HARASSMENT = "harassment"
    NUDITY = "nudity"
    VIOLENCE = "violence"
    COPYRIGHT = "copyright"
    OTHER = "other"


class Resolution(StrEnum):
    DISMISS = "dismiss"
    REMOVE = "remove"
    WARN = "warn"
    SUSPEND = "suspend"


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Report(Base):
    """One person's report of one post, comment or account. Reporting the same thing again
    updates this row (the unique key), so a queue counts people, not clicks.

    ``target_id`` has no foreign key: it names a post, a comment or an account by ``kind``, and
    the report outlives removed content (the queue then says it is gone)."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("reporter_id", "kind", "target_id", name="uq_reports_reporter_target"),
        Index("ix_reports_status_id", "status", "id"),
        Index("ix_reports_kind_target_id", "kind", "target_id"),
    )

    id: Mapped[int] = snowflake_pk()
    reporter_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(BigInteger)
    # The account answerable for the target: the author of a post or comment, or the account.
    subject_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=ReportStatus.OPEN)
    resolution: Mapped[str | None] = mapped_column(String(10), nullable=True)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntry(Base):
    """One moderator action: who, what, to whom, when, why. Only ever inserted (the service has
    no update or delete for it); names are copied so the entry reads the same after an account
    is deleted."""

    __tablename__ = "moderation_log"

    id: Mapped[int] = snowflake_pk()
    actor_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    actor_name: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    subject_name: Mapped[str] = mapped_column(String(30), default="")
    report_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistrationMode(StrEnum):
    OPEN = "open"
    APPROVAL = "approval"  # new accounts wait for a moderator
    INVITE = "invite"  # only through an invite link
    CLOSED = "closed"


class SiteConfig(Base):
    """The site's own settings, one row (id 1), written from /admin/settings. Until an admin
    saves them the defaults below apply (moderation/site.py)."""

    __tablename__ = "site_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300), default="")
    # The rules, in order: a JSON list of strings.
    rules: Mapped[str] = mapped_column(Text)
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    registration: Mapped[str] = mapped_column(String(10), default=RegistrationMode.OPEN)
    approval_question: Mapped[str] = mapped_column(String(300), default="")
    members_may_invite: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invite(Base):
    """A sign-up link: valid until ``expires_at`` for ``max_uses`` accounts, unless revoked.
    ``uses`` only ever grows, by one atomic UPDATE in the transaction that makes the account."""

    __tablename__ = "invites"

    id: Mapped[int] = snowflake_pk()
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_by_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_uses: Mapped[int] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
