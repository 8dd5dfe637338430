"""``createuser``, ``reset-password`` and ``set-role``: accounts from the command line."""

from __future__ import annotations

import asyncio
import getpass
import sys

from tornagram.cli.common import command_settings, settings_of


def createuser_command(args) -> int:
    from tornagram.context import build_context
    from tornagram.errors import UserError, english

    settings = command_settings(args)
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


def reset_password_command(args) -> int:
    from tornagram.context import build_context
    from tornagram.errors import UserError

    settings = settings_of(args, migrate_default_sqlite=True, site_url=args.site_url)

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


def set_role_command(args) -> int:
    from tornagram.context import build_context
    from tornagram.errors import UserError

    settings = command_settings(args)

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
