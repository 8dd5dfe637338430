"""``tornagram`` / ``python -m tornagram``: serve, migrate, createuser, set-role, reset-password,
seed, gc-media, migrate-media, media copy.

The arguments are in ``parser.py``; each group of commands is a module of its own
(``serving``, ``people``, ``media``, ``seeding``), sharing ``common.py``.
"""

from __future__ import annotations

import logging
import sys

from tornagram.cli import media, people, seeding, serving
from tornagram.cli.parser import build_parser
from tornagram.config import ConfigError
from tornagram.logs import configure as configure_logging

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(getattr(args, "log_format", "text"), level=logging.INFO)
    try:
        if args.command == "serve":
            return serving.serve_command(args)
        if args.command == "migrate":
            return serving.migrate_command(args)
        if args.command == "createuser":
            return people.createuser_command(args)
        if args.command == "reset-password":
            return people.reset_password_command(args)
        if args.command == "set-role":
            return people.set_role_command(args)
        if args.command == "gc-media":
            return media.gc_media_command(args)
        if args.command == "migrate-media":
            return media.migrate_media_command(args)
        if args.command == "media":
            return media.media_copy_command(args)
        if args.command == "seed":
            return seeding.seed_command(args)
    except ConfigError as exc:
        print(f"tornagram: {exc}", file=sys.stderr)
        return 2
    return 1
