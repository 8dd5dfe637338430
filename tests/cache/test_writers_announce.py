"""Every writer announces what it changed, whatever its own cache setting: a server with its
caches off, and commands (createuser, seed) run against a live site."""

from __future__ import annotations

import asyncio

import pytest

from tests.cache.support import own_redis, running_site, until
from tests.feeds.support import share
from tests.helpers import run_cli
from tests.notifications.support import badge
from tornagram.cache import REDIS_CHANNEL, RedisChanges, user_topic


async def eventually(read, expected, what: str) -> None:
    for _ in range(200):
        if await read() == expected:
            return
        await asyncio.sleep(0.05)
    assert await read() == expected, what


async def test_a_writer_with_caches_off_is_heard_by_one_with_caches(settings):
    async with (
        own_redis() as redis,
        running_site(settings, redis_url=redis.url, caches=False) as writer,
        running_site(settings, redis_url=redis.url) as reader,
    ):
        assert not writer.ctx.db.changes.usable  # its own caches stay off
        await until(lambda: reader.ctx.db.changes.usable, what="subscribed")
        owner = await reader.user_client("olga")
        post = await share(owner, "hello")
        fan = await writer.user_client("pablo")
        assert (await fan.post("/@olga/follow")).status_code == 303

        async def home_cards() -> str:
            return (await owner.get("/")).text

        async def olga_badge() -> str | None:
            return badge(await home_cards())

        # The reader caches olga's badge and home; the writer's changes must reach both.
        assert await olga_badge() == "1"
        assert await olga_badge() == "1"
        assert (await fan.post(f"/p/{post}/like")).status_code == 303
        await eventually(olga_badge, "2", "olga's badge on the caching server")
        assert 'data-like-count="1"' in await home_cards()


@pytest.mark.slow
async def test_commands_against_a_live_site_announce_their_changes(settings, tmp_path):
    async with own_redis() as redis:
        listener = RedisChanges(redis.url, channel=REDIS_CHANNEL)
        resets: list[int] = []
        listener.on_reset(lambda: resets.append(1))
        await listener.start()
        try:
            await until(lambda: listener.usable, what="subscribed")
            common = ("--database-url", settings.database_url, "--data-dir", str(tmp_path / "var"))
            common += ("--redis-url", redis.url)
            before = len(resets)
            result = await asyncio.to_thread(
                run_cli,
                "seed", "--users", "3", "--posts", "2", "--follows", "1", *common,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            await until(lambda: len(resets) > before, what="seed's reset heard")

            stamp = listener.stamp()
            result = await asyncio.to_thread(
                run_cli,
                "createuser", "fern", "--email", "fern@example.org", "--password-stdin", *common,
                input="a good long password\n",
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            user_id = int(result.stdout.rsplit("(id ", 1)[1].rstrip(")\n"))
            await until(
                lambda: not listener.fresh(stamp, [user_topic(user_id)]),
                what="createuser's change heard",
            )

        finally:
            await listener.close()
