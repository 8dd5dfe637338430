"""``tornagram`` / ``python -m tornagram``: serve, migrate, createuser, set-role, reset-password,
seed, gc-media, migrate-media, media copy."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys

from tornagram.config import (
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_SIGNUP_IP_BURST,
    DEFAULT_SIGNUP_IP_EVERY_SECS,
    LOG_FORMATS,
    ConfigError,
    build_settings,
    env,
    env_bool,
)
from tornagram.logs import configure as configure_logging
from tornagram.storage.base import StorageUnavailable

# The same three as tornagram.moderation.models.Role; written out so that parsing the command
# line imports nothing of the application.
ROLES = ("member", "moderator", "admin")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=env("DATA_DIR", "./var"),
        help="where the SQLite database, media and cookie secret live "
        "(TORNAGRAM_DATA_DIR; default ./var)",
    )
    parser.add_argument(
        "--database-url",
        default=env("DATABASE_URL", ""),
        help="sqlite+aiosqlite:///path, postgresql+asyncpg://user@host/db "
        "or mysql+asyncmy://user:pass@host/db "
        "(TORNAGRAM_DATABASE_URL; default: SQLite in the data dir)",
    )


def _media(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--media-url",
        default=env("MEDIA_URL", ""),
        help="where media is stored: s3://bucket/prefix (endpoint, region and credentials "
        "from the AWS_* variables, or ?endpoint=…&region=…); default: the data dir "
        "(TORNAGRAM_MEDIA_URL)",
    )


def _announce(parser: argparse.ArgumentParser) -> None:
    # A command run against a live site must tell its processes what it changed, or their
    # caches keep serving what was there before.
    parser.add_argument(
        "--redis-url",
        default=env("REDIS_URL", ""),
        help="the live site's Redis, to announce the changes to its caches (TORNAGRAM_REDIS_URL)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tornagram", description="Tornagram photo sharing")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web server")
    _common(serve)
    serve.add_argument("--host", default=env("HOST", "127.0.0.1"), help="TORNAGRAM_HOST")
    serve.add_argument("--port", type=int, default=int(env("PORT", "8888")), help="TORNAGRAM_PORT")
    serve.add_argument(
        "--debug",
        action="store_true",
        default=env_bool("DEBUG"),
        help="tracebacks in error pages and reload on code change (TORNAGRAM_DEBUG)",
    )
    serve.add_argument("--redis-url", default=env("REDIS_URL", ""), help="TORNAGRAM_REDIS_URL")
    serve.add_argument(
        "--processes",
        type=int,
        default=int(env("PROCESSES", "1")),
        help="worker processes; more than 1 needs --redis-url (TORNAGRAM_PROCESSES)",
    )
    serve.add_argument(
        "--behind-proxy",
        action="store_true",
        default=env_bool("BEHIND_PROXY"),
        help="trust X-Forwarded-For/-Proto from a reverse proxy (TORNAGRAM_BEHIND_PROXY)",
    )
    serve.add_argument(
        "--site-url",
        default=env("SITE_URL", ""),
        help="where people reach the site, e.g. https://photos.example.org; the host of "
        "absolute links such as og:url (TORNAGRAM_SITE_URL)",
    )
    _media(serve)
    serve.add_argument(
        "--media-public-url",
        default=env("MEDIA_PUBLIC_URL", ""),
        help="serve public media from here (a CDN or the bucket) instead of through /media/ "
        "(TORNAGRAM_MEDIA_PUBLIC_URL)",
    )
    serve.add_argument(
        "--signed-url-ttl-secs",
        type=int,
        default=int(env("SIGNED_URL_TTL_SECS", "3600")),
        help="how long a private photo's signed URL works (TORNAGRAM_SIGNED_URL_TTL_SECS)",
    )
    serve.add_argument(
        "--smtp-url",
        default=env("SMTP_URL", ""),
        help="mail server: smtp://user:pass@host:587 (STARTTLS) or smtps://…:465 (TLS); "
        "without it mail is written to <data-dir>/outbox (TORNAGRAM_SMTP_URL)",
    )
    serve.add_argument(
        "--mail-from",
        default=env("MAIL_FROM", ""),
        help="sender of the site's mail, e.g. 'Tornagram <photos@example.org>' "
        "(TORNAGRAM_MAIL_FROM)",
    )
    serve.add_argument(
        "--require-email-confirmation",
        action="store_true",
        default=env_bool("REQUIRE_EMAIL_CONFIRMATION"),
        help="new accounts may post only after confirming their email "
        "(TORNAGRAM_REQUIRE_EMAIL_CONFIRMATION)",
    )
    serve.add_argument(
        "--signup-ip-burst",
        type=int,
        default=int(env("SIGNUP_IP_BURST", str(DEFAULT_SIGNUP_IP_BURST))),
        help="sign-ups one address may make at once (TORNAGRAM_SIGNUP_IP_BURST)",
    )
    serve.add_argument(
        "--signup-ip-every-secs",
        type=float,
        default=float(env("SIGNUP_IP_EVERY_SECS", str(DEFAULT_SIGNUP_IP_EVERY_SECS))),
        help="then one more sign-up every this many seconds (TORNAGRAM_SIGNUP_IP_EVERY_SECS)",
    )
    serve.add_argument(
        "--max-upload-bytes",
        type=int,
        default=int(env("MAX_UPLOAD_BYTES", str(DEFAULT_MAX_UPLOAD_BYTES))),
        help="largest accepted photo file (TORNAGRAM_MAX_UPLOAD_BYTES)",
    )

    serve.add_argument(
        "--metrics-port",
        type=int,
        default=int(env("METRICS_PORT", "0")),
        help="serve Prometheus metrics at /metrics on this port, on --metrics-host; worker i "
        "of --processes N on this port plus i (TORNAGRAM_METRICS_PORT; default: off)",
    )
    serve.add_argument(
        "--metrics-host",
        default=env("METRICS_HOST", "127.0.0.1"),
        help="address of the metrics port (TORNAGRAM_METRICS_HOST; default 127.0.0.1)",
    )
    serve.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default=env("LOG_FORMAT", "text"),
        help="text lines, or one JSON object a line (TORNAGRAM_LOG_FORMAT; default text)",
    )

    migrate = sub.add_parser("migrate", help="bring the database schema up to date")
    _common(migrate)

    createuser = sub.add_parser("createuser", help="create an account from the command line")
    _common(createuser)
    _announce(createuser)
    createuser.add_argument("username")
    createuser.add_argument("--email", required=True)
    createuser.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    createuser.add_argument(
        "--role",
        choices=ROLES,
        default="member",
        help="member (default), moderator or admin",
    )
    set_role = sub.add_parser(
        "set-role", help="make an account a member, moderator or admin (recorded in the audit log)"
    )
    _common(set_role)
    _announce(set_role)
    set_role.add_argument("username")
    set_role.add_argument("role", choices=ROLES)
    reset = sub.add_parser(
        "reset-password", help="print a one-hour password-reset link for an account (no mail)"
    )
    _common(reset)
    reset.add_argument("username")
    reset.add_argument(
        "--site-url",
        default=env("SITE_URL", ""),
        help="where people reach the site; the host of the link (TORNAGRAM_SITE_URL)",
    )
    gc = sub.add_parser("gc-media", help="delete stored media files that nothing refers to")
    _common(gc)
    _media(gc)
    gc.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    gc.add_argument(
        "--batch", type=int, default=500, help="keys checked and deleted per transaction"
    )
    move = sub.add_parser(
        "migrate-media",
        help="rewrite media stored under plain content-hash keys to the site's secret keys",
    )
    _common(move)
    _media(move)
    _announce(move)
    move.add_argument("--batch", type=int, default=200, help="files moved per transaction")
    media = sub.add_parser("media", help="copy media between backends")
    media_sub = media.add_subparsers(dest="media_command", required=True)
    copy = media_sub.add_parser(
        "copy", help="copy every stored object to another backend, verifying each (re-runnable)"
    )
    _common(copy)
    _media(copy)
    copy.add_argument(
        "--to", required=True, help="the backend to copy to: s3://bucket/prefix, or a folder"
    )
    seed = sub.add_parser(
        "seed", help="fill an empty database with realistic demo users, follows, posts, likes"
    )
    _common(seed)
    _media(seed)
    _announce(seed)
    seed.add_argument("--users", type=int, default=200, help="accounts to create (default 200)")
    seed.add_argument("--posts", type=int, default=2000, help="posts to create (default 2000)")
    seed.add_argument(
        "--follows", type=int, default=50, help="accounts each user follows, on average"
    )
    seed.add_argument(
        "--likes-per-post", type=float, default=3.0, help="likes per post, on average"
    )
    seed.add_argument("--random-seed", type=int, default=1, help="same seed, same data")
    seed.add_argument(
        "--password",
        default=None,
        help="password of every seeded account (default: tornagram-seed)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(getattr(args, "log_format", "text"), level=logging.INFO)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "migrate":
            return _migrate(args)
        if args.command == "createuser":
            return _createuser(args)
        if args.command == "reset-password":
            return _reset_password(args)
        if args.command == "set-role":
            return _set_role(args)
        if args.command == "gc-media":
            return _gc_media(args)
        if args.command == "migrate-media":
            return _migrate_media(args)
        if args.command == "media":
            return _media_copy(args)
        if args.command == "seed":
            return _seed(args)
    except ConfigError as exc:
        print(f"tornagram: {exc}", file=sys.stderr)
        return 2
    return 1


def _serve(args) -> int:
    from tornagram.server import serve

    settings = build_settings(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        debug=args.debug,
        redis_url=args.redis_url,
        processes=args.processes,
        behind_proxy=args.behind_proxy,
        max_upload_bytes=args.max_upload_bytes,
        site_url=args.site_url,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        log_format=args.log_format,
        smtp_url=args.smtp_url,
        mail_from=args.mail_from,
        require_email_confirmation=args.require_email_confirmation,
        media_url=args.media_url,
        media_public_url=args.media_public_url,
        signed_url_ttl_secs=args.signed_url_ttl_secs,
        signup_ip_burst=args.signup_ip_burst,
        signup_ip_every_secs=args.signup_ip_every_secs,
        allow_loopback_fetch=env_bool("ALLOW_LOOPBACK_FETCH"),
        caches=env_bool("CACHES", True),
    )
    if settings.debug and settings.processes == 1:
        from dataclasses import replace

        settings = replace(settings, autoreload=True)
    serve(settings)
    return 0


def _settings(args, *, migrate_default_sqlite: bool = False, **overrides):
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


def _migrate(args) -> int:
    from tornagram.db import migrate

    settings = _settings(args)
    migrate.upgrade(settings.database_url)
    print(f"database is at revision {migrate.head_revision()}")
    return 0


def _command_settings(args):
    """A command has no caches of its own, but announces its changes to a live site's. The site's
    own SQLite file is brought up to the current schema first, as ``_settings`` does."""
    return _settings(args, migrate_default_sqlite=True, redis_url=args.redis_url, caches=False)


def _createuser(args) -> int:
    from tornagram.context import build_context
    from tornagram.errors import UserError, english

    settings = _command_settings(args)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            print("tornagram: the passwords do not match", file=sys.stderr)
            return 2

    async def create() -> int:
        ctx = build_context(settings)
        try:
            user = await ctx.accounts.create_user(args.username, args.email, password)
            if args.role != "member":
                user = await ctx.moderation.set_role(user.username, args.role)
        except UserError as exc:
            for err in exc.by_field().values():
                print(f"tornagram: {err.render(english)}", file=sys.stderr)
            return 2
        finally:
            await ctx.close()
        role = f", {user.role}" if user.role != "member" else ""
        print(f"created @{user.username} (id {user.id}{role})")
        return 0

    return asyncio.run(create())


def _reset_password(args) -> int:
    from tornagram.context import build_context
    from tornagram.errors import UserError

    settings = _settings(args, migrate_default_sqlite=True, site_url=args.site_url)

    async def make_link() -> int:
        ctx = build_context(settings)
        try:
            link = await ctx.recovery.reset_link_for(args.username)
        except UserError as exc:
            print(f"tornagram: {exc.render(lambda s: s)}", file=sys.stderr)
            return 2
        finally:
            await ctx.close()
        print(link)
        return 0

    return asyncio.run(make_link())


def _set_role(args) -> int:
    from tornagram.context import build_context
    from tornagram.errors import UserError

    settings = _command_settings(args)

    async def run() -> int:
        ctx = build_context(settings)
        try:
            user = await ctx.moderation.set_role(args.username, args.role)
        except UserError as exc:
            for err in exc.by_field().values():
                print(f"tornagram: {err.render(lambda s: s)}", file=sys.stderr)
            return 2
        finally:
            await ctx.close()
        print(f"@{user.username} is now {user.role}")
        return 0

    return asyncio.run(run())


def _gc_media(args) -> int:
    from tornagram.context import build_context

    settings = _settings(args)

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


def _migrate_media(args) -> int:
    from tornagram.context import build_context
    from tornagram.feeds.seed import Progress
    from tornagram.photos.media_moves import migrate_media

    if args.batch < 1:
        raise ConfigError("--batch must be at least 1")
    settings = _command_settings(args)

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


def _media_copy(args) -> int:
    from tornagram.feeds.seed import Progress
    from tornagram.storage import open_storage
    from tornagram.storage.base import media_secret
    from tornagram.storage.copy import copy_media

    settings = _settings(args)
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


def _seed(args) -> int:
    from tornagram.context import build_context
    from tornagram.feeds.seed import DEFAULT_PASSWORD, SeedError, SeedPlan, seed

    settings = _command_settings(args)
    plan = SeedPlan(
        users=args.users,
        posts=args.posts,
        follows=args.follows,
        likes_per_post=args.likes_per_post,
        seed=args.random_seed,
        password=args.password or DEFAULT_PASSWORD,
    )

    async def run():
        ctx = build_context(settings)
        try:
            result = await seed(ctx.db, ctx.storage, plan, hash_params=settings.password_hash)
            # Written in bulk, below the services: nothing cached anywhere can stand.
            await ctx.db.changes.everything_changed()
            return result
        finally:
            await ctx.close()

    try:
        result = asyncio.run(run())
    except SeedError as exc:
        print(f"tornagram: {exc}", file=sys.stderr)
        return 2
    summary = ", ".join(f"{count:,} {name}" for name, count in result.counts.items())
    print(f"seeded {summary} in {result.secs:.1f} s; every account's password is {plan.password!r}")
    return 0
