"""Registered apps, their one-time authorization codes and their access tokens.

Secrets, codes and tokens are random strings of which only the SHA-256 is stored (as session
tokens are): a copy of the database cannot be replayed against the API. Apps are never
vacuumed away; a token lives until it is revoked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tornagram.db.base import Base, UTCDateTime, snowflake_pk, utcnow


class OAuthApp(Base):
    __tablename__ = "oauth_apps"

    id: Mapped[int] = snowflake_pk()
    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(500), default="")
    # In the order given, one per line.
    redirect_uris: Mapped[str] = mapped_column(Text)
    # Space-separated, as registered.
    scopes: Mapped[str] = mapped_column(String(1000))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def redirect_uri_list(self) -> list[str]:
        return [uri for uri in self.redirect_uris.split("\n") if uri]

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class AuthorizationCode(Base):
    """A code handed to the app after consent: one use, ten minutes, bound to everything the
    person approved."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = snowflake_pk()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(Text)
    scopes: Mapped[str] = mapped_column(String(1000))
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccessToken(Base):
    __tablename__ = "oauth_tokens"

    id: Mapped[int] = snowflake_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scopes: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()
