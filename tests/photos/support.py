"""What the photo tests share: small generated images, and what they check after a post is
refused or deleted (no row and no file left)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from tornagram.photos.models import Photo, Post, PostTag, Rendition


def small_png(seed: int) -> bytes:
    image = Image.new("RGB", (96, 64), ((seed * 37) % 256, (seed * 11) % 256, 90))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


async def rows(site, model) -> int:
    async with site.ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def assert_nothing_left(site) -> None:
    for model in (Post, Photo, Rendition, PostTag):
        assert await rows(site, model) == 0, model
    assert files_under(site.ctx.settings.media_dir) == []
    assert files_under(site.ctx.settings.data_dir / "tmp") == []
