"""The command line's arguments: one sub-command each, with its options and their
``TORNAGRAM_*`` environment defaults. Parsing imports nothing of the application."""

from __future__ import annotations

import argparse

from tornagram.config import (
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_SIGNUP_IP_BURST,
    DEFAULT_SIGNUP_IP_EVERY_SECS,
    LOG_FORMATS,
    SESSION_STORES,
    env,
    env_bool,
)

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
        "--session-store",
        choices=SESSION_STORES,
        default=env("SESSION_STORE", "database"),
        help="where signed-in sessions live: the database, or the Redis (or Redis Cluster) of "
        "--redis-url (TORNAGRAM_SESSION_STORE; default database)",
    )
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
