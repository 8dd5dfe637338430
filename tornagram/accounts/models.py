"""Users, their server-side sessions, and the failed logins that throttling counts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from tornagram.db.base import Base, UTCDateTime, snowflake_pk, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = snowflake_pk()
    # Usernames are lower-case by rule, so the column itself is the case-insensitive key.
    username: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str] = mapped_column(String(254))
    # Lower-cased copy that carries the uniqueness: Alice@x.org and alice@x.org are one person.
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(64), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    # Indexed: /media/ asks whether a key is an avatar on every unsigned request.
    avatar_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    avatar_small_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    # None: follow the browser's Accept-Language.
    locale: Mapped[str | None] = mapped_column(String(10), nullable=True)
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the person followed the link mailed to this address; None: not yet.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Two-factor sign-in (accounts/twofactor.py). The TOTP secret while it is on; the one being
    # set up until its first code is confirmed; the last time step a code was accepted for,
    # so that no code works twice.
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # member | moderator | admin (tornagram/moderation/roles.py says what each may do).
    role: Mapped[str] = mapped_column(String(20), default="member", server_default="member")
    # Set while the account is suspended: no one else sees it (graph/visibility.py), and it may
    # only sign in to read why.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Signed up while the site asked for approval: every page leads to the waiting notice
    # until a moderator approves the account (moderation/approvals.py).
    approval_pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The answer to the site's sign-up question, for whoever approves the account.
    signup_answer: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # A moderator asked for a new password: every page leads to the password form until then.
    password_reset_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Counters kept by the services that change them, always with an atomic UPDATE … + 1.
    post_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    follower_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    following_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_pending(self) -> bool:
        return self.approval_pending_since is not None

    @property
    def name(self) -> str:
        """What to call the person in the interface."""
        return self.display_name or self.username

    # What stands in for a missing profile photo: a letter on one of twelve colours. The same
    # rule as modules/avatar.html (which also draws objects that are not User rows), for live
    # comments drawn in the browser.
    @property
    def avatar_initial(self) -> str:
        return self.name[:1].upper()

    @property
    def avatar_hue(self) -> int:
        return (self.id or 0) % 12


class Session(Base):
    """A signed-in device. The cookie carries a random token; only its SHA-256 is stored, so a
    copy of the database cannot be replayed as a cookie."""

    __tablename__ = "sessions"

    id: Mapped[int] = snowflake_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    # Signed in with a second factor (a TOTP or recovery code), shown on the sessions page.
    two_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")


class LoginFailure(Base):
    """One wrong password (or unknown login). Counted per account and per IP over a window."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_account_key_created_at", "account_key", "created_at"),
        Index("ix_login_failures_ip_created_at", "ip", "created_at"),
    )

    id: Mapped[int] = snowflake_pk()
    account_key: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TokenPurpose(StrEnum):
    RESET = "reset"
    CONFIRM_EMAIL = "confirm-email"
    # The step between a right password and a right second-factor code.
    SIGN_IN = "sign-in"


class AccountToken(Base):
    """A single-use link or step: a password reset, an email confirmation, the second step of
    a sign-in. Only the SHA-256 of the random token is stored. ``binding`` ties it to what it
    was issued for: a fingerprint of the password hash (a reset dies when the password
    changes), or the address being confirmed."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),)

    id: Mapped[int] = snowflake_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    binding: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecoveryCode(Base):
    """One of ten single-use codes for signing in without the authenticator; stored hashed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = snowflake_pk()
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReservedUsername(Base):
    """The name of a deleted account, kept from new sign-ups for a while so nobody can pass
    as the person who left."""

    __tablename__ = "reserved_usernames"

    username: Mapped[str] = mapped_column(String(30), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)


class ExportStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class DataExport(Base):
    """A zip of everything a person has here, built in the background (leaving/export.py)."""

    __tablename__ = "data_exports"

    id: Mapped[int] = snowflake_pk()
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=ExportStatus.PENDING)
    # Out of 100.
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
