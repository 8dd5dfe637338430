"""The caches change nothing anyone sees: one scripted story of people using the site, run
through a caching server, with every main page read after each step from it and from a server
with its caches off on the same database, compared after normalising what differs per response
(XSRF tokens, request ids)."""

from __future__ import annotations

import asyncio
import difflib
import re

import pytest

from tests.cache.support import normalise, running_site, same_browser
from tests.feeds.support import share
from tests.helpers import Client, make_private

PEOPLE = ("alice", "bob", "carol", "dave")


@pytest.mark.slow
async def test_a_caching_and_a_non_caching_server_draw_the_same_pages(settings):
    async with (
        running_site(settings) as cached,
        running_site(settings, caches=False) as plain,
    ):
        people: dict[str, Client] = {}
        twins: dict[str, Client] = {}
        anonymous = cached.client()
        posts: list[int] = []

        async def compare(step: str) -> None:
            # One read each suffices: the step before left the caching server's caches warm, so
            # a write that failed to make an entry stale shows on this first read.
            paths = ["/", "/explore", "/saved", "/@alice/followers", "/tags/lake"]
            paths += [f"/@{name}" for name in PEOPLE if name in people]
            paths += [f"/p/{post}" for post in posts]
            viewers = [*people.items(), ("anonymous", anonymous)]
            for name, client in viewers:
                twin = twins.get(name) or same_browser(client, plain)
                twins[name] = twin
                for path in paths:
                    a, b = await asyncio.gather(client.get(path), twin.get(path))
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
            response = await people[who].post(path, data)
            assert response.status_code in (200, 302, 303), (step, response.status_code)
            await compare(step)

        for name in PEOPLE:
            people[name] = await cached.user_client(name)
        await compare("sign-ups")
        posts.append(await share(people["alice"], "hello #lake with @bob"))
        await compare("alice posts")
        await act("bob follows alice", "bob", "/@alice/follow")
        await act("carol follows alice", "carol", "/@alice/follow")
        await act("alice follows bob", "alice", "/@bob/follow")
        posts.append(await share(people["bob"], "bob's first"))
        await compare("bob posts")
        await act("bob likes", "bob", f"/p/{posts[0]}/like")
        await act("carol likes", "carol", f"/p/{posts[0]}/like")
        await act("carol comments", "carol", f"/p/{posts[0]}/comments", {"body": "lovely @dave"})
        await act(
            "carol renames herself",
            "carol",
            "/settings/profile",
            {"display_name": "Carol C", "bio": "", "locale": ""},
        )
        await act("bob saves", "bob", f"/p/{posts[0]}/save")
        await act("alice edits", "alice", f"/p/{posts[0]}/edit", {"caption": "edited", "alt": ""})
        await act("bob unlikes", "bob", f"/p/{posts[0]}/unlike")
        await act("alice blocks carol", "alice", "/@carol/block")
        private = await people["alice"].post(
            "/settings/profile",
            {"display_name": "Alice", "bio": "hi", "locale": "", "private": "on"},
        )
        assert private.status_code == 303
        await compare("alice goes private")
        await act("dave asks to follow", "dave", "/@alice/follow")
        page = (await people["alice"].get("/follow-requests")).text
        for request_id in re.findall(r"/follow-requests/([0-9]+)/approve", page):
            await act("alice approves", "alice", f"/follow-requests/{request_id}/approve")
        await act("bob unfollows alice", "bob", "/@alice/unfollow")
        await act("alice unblocks carol", "alice", "/@carol/unblock")
        await act("alice deletes her post", "alice", f"/p/{posts[0]}/delete")
        posts.pop(0)
        await compare("after the delete")
        await act("bob signs out", "bob", "/logout")
        del people["bob"], twins["bob"]
        await compare("without bob")
        await make_private(people["dave"])
        await compare("dave goes private")
