"""What the photo tests check after a post is refused or deleted: no row and no file left."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tornagram.photos.models import Photo, Post, PostTag, Rendition


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
