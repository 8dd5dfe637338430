"""What the commands share: their settings, built from the parsed arguments."""

from __future__ import annotations

from tornagram.config import build_settings


def settings_of(args, *, migrate_default_sqlite: bool = False, **overrides):
    """The settings a command names (and ``overrides``), and, for commands that work on the
    site's own SQLite file, that file brought up to the current schema first (a named database
    is migrated on purpose, with ``tornagram migrate``)."""
    settings = build_settings(
        data_dir=args.data_dir,
        database_url=args.database_url,
        media_url=getattr(args, "media_url", ""),
        **overrides,
    )
    if migrate_default_sqlite and settings.uses_default_sqlite:
        from tornagram.db import migrate

        migrate.upgrade(settings.database_url)
    return settings


def command_settings(args):
    """A command has no caches of its own, but announces its changes to a live site's. The site's
    own SQLite file is brought up to the current schema first, as ``settings_of`` does."""
    return settings_of(args, migrate_default_sqlite=True, redis_url=args.redis_url, caches=False)
