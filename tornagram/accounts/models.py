"""Users, their server-side sessions, and the failed logins that throttling counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
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
    # Counters kept by the services that change them, always with an atomic UPDATE … + 1.
    post_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    follower_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    following_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

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
