"""Posts, the photos in them (in order), each photo's stored renditions, and caption hashtags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tornagram.db.base import Base, UTCDateTime, snowflake_pk, utcnow

# The square grid crops (photos/imaging.py): 320 px, and 640 px for 2x screens.
THUMB_NAMES = ("thumb", "thumb640")


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        # A profile grid: one author's posts, newest first, by keyset on id.
        Index("ix_posts_author_id_id", "author_id", "id"),
    )

    id: Mapped[int] = snowflake_pk()
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    caption: Mapped[str] = mapped_column(Text, default="")
    photo_count: Mapped[int] = mapped_column(Integer, default=1)
    like_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the caption or an alt text was last changed (the app API's ``edited_at``).
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    photos: Mapped[list[Photo]] = relationship(
        order_by="Photo.position", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    @property
    def frame_ratio_class(self) -> str:
        """The carousel's shape, from the first photo, like the big apps: between 4:5 portrait
        and 1.91:1 landscape, snapped to a few steps so CSS (no inline styles) can size it."""
        first = self.photos[0]
        ratio = first.width / max(first.height, 1)
        steps = (0.8, 1.0, 1.25, 1.5, 1.91)
        nearest = min(steps, key=lambda step: abs(step - ratio))
        return f"ar-{round(nearest * 100):03d}"


class Photo(Base):
    __tablename__ = "photos"
    __table_args__ = (UniqueConstraint("post_id", "position"),)

    id: Mapped[int] = snowflake_pk()
    post_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    blurhash: Mapped[str] = mapped_column(String(100))
    dominant_color: Mapped[str] = mapped_column(String(7))
    alt_text: Mapped[str] = mapped_column(String(1500), default="")
    source_format: Mapped[str] = mapped_column(String(8))
    # Make, model, lens, exposure…: shown on the photo page. Never any location.
    camera: Mapped[dict] = mapped_column(JSON, default=dict)

    renditions: Mapped[list[Rendition]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    def rendition(self, name: str, fmt: str = "jpeg") -> Rendition:
        for rendition in self.renditions:
            if rendition.name == name and rendition.fmt == fmt:
                return rendition
        raise KeyError((name, fmt))

    def renditions_of(self, fmt: str) -> list[Rendition]:
        """Distinct sizes in one format, smallest first (for srcset)."""
        seen: dict[int, Rendition] = {}
        for rendition in self.renditions:
            # Square crops are for grids, never a display size of the whole photo.
            if rendition.fmt == fmt and not rendition.name.startswith("thumb"):
                seen.setdefault(rendition.width, rendition)
        return [seen[w] for w in sorted(seen)]


class Rendition(Base):
    """One stored file. Keys are content hashes, so two rows may share a key (equal bytes)."""

    __tablename__ = "photo_renditions"

    photo_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("photos.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    fmt: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class PostTag(Base):
    __tablename__ = "post_tags"
    __table_args__ = (
        # A tag page: posts with this tag, newest first, by keyset on post_id.
        Index("ix_post_tags_tag_post_id", "tag", "post_id"),
    )

    post_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True)


# -- photos uploaded through the app API, before the status that uses them is posted --------
#
# Photos uploaded through the API before the status that uses them is posted.
#
# The file has been through the upload page's pipeline already (decoded, checked, resized, GPS
# stripped, stored); these rows hold what the post's ``photos`` row will need, and the stored
# renditions, whose keys count as references (photos/media_refs.py) until the status takes them
# over or the upload expires.


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
    # "processing" while the large renditions are made (api/media_processing.py), then
    # "ready", or "failed".
    state: Mapped[str] = mapped_column(String(16), default="ready", server_default="ready")
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
