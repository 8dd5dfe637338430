"""``serve`` and ``migrate``."""

from __future__ import annotations

from tornagram.cli.common import settings_of
from tornagram.config import build_settings, env_bool


def serve_command(args) -> int:
    from tornagram.server import serve

    settings = build_settings(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        debug=args.debug,
        redis_url=args.redis_url,
        session_store=args.session_store,
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


def migrate_command(args) -> int:
    from tornagram.db import migrate

    settings = settings_of(args)
    migrate.upgrade(settings.database_url)
    print(f"database is at revision {migrate.head_revision()}")
    return 0
