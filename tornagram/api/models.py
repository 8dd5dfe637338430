"""Photos uploaded through the API before the status that uses them is posted.

The file has been through the upload page's pipeline already (decoded, checked, resized, GPS
stripped, stored); these rows hold what the post's ``photos`` row will need, and the stored
renditions, whose keys count as references (photos/media_refs.py) until the status takes them
over or the upload expires.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tornagram.db.base import Base, UTCDateTime, snowflake_pk, utcnow


class MediaUpload(Base):
    __tablename__ = "api_media_uploads"
    __table_args__ = (Index("ix_api_media_uploads_owner_id_id", "owner_id", "id"),)

    # Becomes the photo's id when a status takes it: stable from upload to post.
    id: Mapped[int] = snowflake_pk()
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(String(1500), default="")
    focus_x: Mapped[float | None] = mapped_column(Float, nullable=True)
    focus_y: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    blurhash: Mapped[str] = mapped_column(String(100))
    dominant_color: Mapped[str] = mapped_column(String(7))
    source_format: Mapped[str] = mapped_column(String(8))
    camera: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    files: Mapped[list[MediaUploadFile]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )


class MediaUploadFile(Base):
    """One stored rendition of an upload (the same shape as ``photo_renditions``)."""

    __tablename__ = "api_media_upload_files"

    upload_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("api_media_uploads.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    fmt: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
