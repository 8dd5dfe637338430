"""``seed``: demo accounts and posts."""

from __future__ import annotations

import asyncio
import sys

from tornagram.cli.common import command_settings


def seed_command(args) -> int:
    from tornagram.context import build_context
    from tornagram.feeds.seed import DEFAULT_PASSWORD, SeedError, SeedPlan, seed

    settings = command_settings(args)
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
