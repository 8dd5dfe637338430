"""``gc-media``, ``migrate-media`` and ``media copy``: the stored files."""

from __future__ import annotations

import asyncio
import sys

from tornagram.cli.common import command_settings, settings_of
from tornagram.config import ConfigError, build_settings
from tornagram.storage.base import StorageUnavailable


def gc_media_command(args) -> int:
    from tornagram.context import build_context

    settings = settings_of(args)

    async def sweep() -> tuple[list[str], int]:
        from tornagram.server import sweep_crash_debris

        ctx = build_context(settings)
        try:
            debris = 0 if args.dry_run else await sweep_crash_debris(ctx)
            if not args.dry_run:
                # Photos uploaded through the app API that no status took within a day.
                expired = await ctx.api_media.expire_unattached()
                print(f"removed {expired} unattached app upload(s) older than a day")
            removed = await ctx.photos.gc_media(dry_run=args.dry_run, batch=args.batch)
            return removed, debris
        finally:
            await ctx.close()

    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    try:
        removed, debris = asyncio.run(sweep())
    except StorageUnavailable as exc:
        print(f"tornagram: {exc}", file=sys.stderr)
        return 1
    verb = "would remove" if args.dry_run else "removed"
    for key in removed:
        print(f"{verb} {key}")
    print(f"{verb} {len(removed)} unreferenced file(s)")
    if not args.dry_run:
        print(f"removed {debris} temp file(s) left by interrupted uploads and writes")
    return 0


def migrate_media_command(args) -> int:
    from tornagram.context import build_context
    from tornagram.feeds.seed import Progress
    from tornagram.photos.media_moves import migrate_media

    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    settings = command_settings(args)

    async def run():
        ctx = build_context(settings)
        try:
            return await migrate_media(ctx.db, ctx.storage, batch=args.batch, progress=Progress())
        finally:
            await ctx.close()

    try:
        report = asyncio.run(run())
    except KeyboardInterrupt:
        print("tornagram: stopped; run migrate-media again to carry on", file=sys.stderr)
        return 130
    except StorageUnavailable as exc:
        print(f"tornagram: {exc}; run migrate-media again to carry on", file=sys.stderr)
        return 1
    print(f"moved {report.moved} file(s) to secret-derived keys")
    for key in report.missing:
        print(f"missing (rows left as they are): {key}")
    for key in report.damaged:
        print(f"damaged (not what its key names, left as it is): {key}")
    return 0 if not (report.missing or report.damaged) else 1


def media_copy_command(args) -> int:
    from tornagram.feeds.seed import Progress
    from tornagram.storage import open_storage
    from tornagram.storage.base import media_secret
    from tornagram.storage.copy import copy_media

    settings = settings_of(args)
    target_url = args.to.strip()
    if target_url.startswith("s3://"):
        target_settings = build_settings(
            data_dir=args.data_dir, database_url=settings.database_url, media_url=target_url
        )
        target_factory = lambda: open_storage(target_settings)  # noqa: E731
    else:
        from pathlib import Path

        from tornagram.storage.local import LocalStorage

        folder = Path(target_url.removeprefix("file://")).expanduser().resolve()
        if folder == settings.media_dir.resolve() and not settings.media_url:
            raise ConfigError("--to names the folder media is copied from")
        secret = media_secret(settings.cookie_secret)
        target_factory = lambda: LocalStorage(folder, secret=secret)  # noqa: E731

    async def run():
        source, target = open_storage(settings), target_factory()
        try:
            return await copy_media(
                source, target, secret=media_secret(settings.cookie_secret), progress=Progress()
            )
        finally:
            await source.close()
            await target.close()

    try:
        report = asyncio.run(run())
    except StorageUnavailable as exc:
        print(f"tornagram: {exc}; run media copy again to carry on", file=sys.stderr)
        return 1
    print(f"copied {report.copied} object(s); {report.already_there} already there and intact")
    for key in report.damaged:
        print(f"damaged in the source, not copied: {key}")
    for key in report.failed:
        print(f"did not read back right from the target: {key}")
    return 0 if not (report.damaged or report.failed) else 1
