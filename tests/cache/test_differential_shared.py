"""Entries shared between viewers change nothing anyone sees, whichever process wrote.

One scripted story (posts, likes, comments and replies, follows, a mute, a block, a profile
edit, going private, a suspension, a comment and a post deleted...) is acted out by people
signed in to two servers on one database and one Redis: some act through a caching server,
some through one with its caches off, which only announces its changes. After every step each
person, and a visitor, reads every main page from both servers, one after another, so a page
rendered for one viewer is on hand when the next one asks; the HTML must be the same but for
what differs per response (XSRF tokens, nonces, the moving clock).
"""

from __future__ import annotations

import asyncio
import difflib

import pytest

from tests.cache.support import normalise, own_redis, running_site, same_browser, until
from tests.feeds.support import share
from tests.helpers import Client
from tests.moderation.support import staff_client

# Who acts through which server: the caching one, or the one that only announces.
THROUGH_CACHED = ("alice", "carol", "erin")
THROUGH_PLAIN = ("bob", "dave")
PEOPLE = (*THROUGH_CACHED, *THROUGH_PLAIN)


@pytest.mark.slow
async def test_shared_entries_draw_every_viewer_what_a_non_caching_server_draws(settings):
    async with (
        own_redis() as redis,
        running_site(settings, redis_url=redis.url) as cached,
        running_site(settings, caches=False, redis_url=redis.url) as plain,
    ):
        acting: dict[str, Client] = {}  # each person's client on the server they act through
        readers: dict[str, tuple[Client, Client]] = {}  # (on the caching one, on the other)
        posts: list[int] = []
        anonymous = (cached.client(), plain.client())

        async def heard() -> None:
            # A write through the non-caching server reaches the caching one over Redis: wait
            # until it has arrived (the rule under test is "stale once heard", not the timing).
            stamp = plain.ctx.db.changes.stamp()
            await until(lambda: cached.ctx.db.changes.stamp() >= stamp, what="the announcement")

        async def compare(step: str) -> None:
            await heard()
            paths = ["/", "/explore", "/tags/lake", *(f"/@{name}" for name in PEOPLE)]
            paths += [f"/p/{post}" for post in posts]
            viewers = [*readers.items(), ("visitor", anonymous)]
            for path in paths:
                # Every viewer in turn on the same path: shared renderings are reused.
                for name, (mine, theirs) in viewers:
                    a, b = await asyncio.gather(mine.get(path), theirs.get(path))
                    assert a.status_code == b.status_code, (step, name, path)
                    left, right = normalise(a.text), normalise(b.text)
                    if left != right:
                        diff = "\n".join(
                            difflib.unified_diff(
                                right.splitlines(), left.splitlines(), "uncached", "cached",
                                lineterm="", n=1,
                            )
                        )  # fmt: skip
                        raise AssertionError(f"after {step!r}, {name} on {path}:\n{diff}")

        async def act(step: str, who: str, path: str, data: dict | None = None) -> None:
            response = await acting[who].post(path, data)
            assert response.status_code in (200, 302, 303), (step, response.status_code)
            await compare(step)

        async def shares(step: str, who: str, caption: str) -> int:
            post_id = await share(acting[who], caption)
            posts.append(post_id)
            await compare(step)
            return post_id

        for name in PEOPLE:
            site, other = (cached, plain) if name in THROUGH_CACHED else (plain, cached)
            client = await site.user_client(name)
            acting[name] = client
            twin = same_browser(client, other)
            readers[name] = (client, twin) if site is cached else (twin, client)
        mod = await staff_client(cached, "mod")
        await compare("sign-ups")

        first = await shares("alice posts", "alice", "hello #lake with @bob")
        second = await shares("bob posts", "bob", "bob at the #lake")
        third = await shares("dave posts", "dave", "dave's #lake")
        for who, whom in (("bob", "alice"), ("carol", "alice"), ("dave", "bob"), ("erin", "bob")):
            await act(f"{who} follows {whom}", who, f"/@{whom}/follow")
        await act("bob likes", "bob", f"/p/{first}/like")
        await act("erin likes", "erin", f"/p/{second}/like")
        await act("dave saves", "dave", f"/p/{first}/save")
        await act("carol comments", "carol", f"/p/{first}/comments", {"body": "lovely @dave"})
        await act("dave comments", "dave", f"/p/{first}/comments", {"body": "from dave"})
        carols = await _id_of(cached, first, "carol")
        await act(
            "bob replies", "bob", f"/p/{first}/comments", {"body": "agreed", "parent_id": carols}
        )
        await act("erin mutes dave", "erin", "/@dave/mute")
        await act(
            "carol edits her profile",
            "carol",
            "/settings/profile",
            {"display_name": "Carol C", "bio": "lakes", "locale": ""},
        )
        await act(
            "alice edits", "alice", f"/p/{first}/edit", {"caption": "edited #lake", "alt": ""}
        )
        await act("bob unlikes", "bob", f"/p/{first}/unlike")
        await act("alice blocks carol", "alice", "/@carol/block")
        daves = await _id_of(cached, first, "dave")
        await act("dave deletes his comment", "dave", f"/comments/{daves}/delete")
        await act(
            "bob goes private",
            "bob",
            "/settings/profile",
            {"display_name": "Bob", "bio": "", "locale": "", "private": "on"},
        )
        await act("carol asks bob", "carol", "/@bob/follow")
        bob_id = (await cached.ctx.accounts.by_username("bob")).id
        response = await mod.post(f"/admin/users/{bob_id}/suspend", {"note": "spam"})
        assert response.status_code in (302, 303), response.status_code
        await compare("bob is suspended")
        response = await mod.post(f"/admin/users/{bob_id}/unsuspend", {"note": "appeal"})
        assert response.status_code in (302, 303), response.status_code
        await compare("bob is back")
        await act("erin unmutes dave", "erin", "/@dave/unmute")
        await act("alice unblocks carol", "alice", "/@carol/unblock")
        # A suspension signs bob out everywhere; dave deletes through the same server instead.
        await act("dave deletes his post", "dave", f"/p/{third}/delete")
        posts.remove(third)
        await compare("after the delete")


async def _id_of(site, post_id: int, username: str) -> int:
    threads, _before = await site.ctx.interactions.comments(None, post_id)
    return next(t.comment.id for t in threads if t.author.username == username)
