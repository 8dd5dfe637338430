"""Ids and cursors from the outside: one rule for every route (tornagram/web/params.py).

An id that we could never have issued (zero, negative, beyond 2**63 - 1, not ASCII digits) is
a 404 in a path; a cursor that is not one is a 400 with a message. Nothing is ever a 500: the
walk below takes every route in the route table, puts bad values into each of its path groups
and into the cursors, and sends them as a signed-in person with a valid XSRF token."""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.helpers import post_id_from, upload
from tornagram.app import make_app
from tornagram.web import params

JSON = {"Accept": "application/json"}
# Zero, negative, the largest id (valid, names nothing), one past it, 20 digits, non-numeric,
# and digits str.isdigit() believes in but no link of ours would spell.
BAD_IDS = [
    "0",
    "00",
    "-1",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "99999999999999999999",
    "123456789012345678901234",
    "abc",
    "1e3",
    "0x10",
    " 1",
    "²",
    "٣",
    "１",
    "1\x00",
]
CURSOR_NAMES = ["before", "max_id", "cursor", "reply_to", "since", "channel"]
FORM_ID_NAMES = ["parent_id", "cover", "before"]


def route_patterns(ctx) -> list[tuple[str, str, list[str]]]:
    """(name, regex, the regex of each path group) for every URLSpec in the route table."""
    app = make_app(ctx)
    found = []
    for rule in app.wildcard_router.rules:
        pattern = rule.matcher.regex.pattern.rstrip("$")
        groups = re.findall(r"\(([^()]*)\)", pattern)
        found.append((rule.name or "", pattern, groups))
    return found


def fill(pattern: str, values: list[str]) -> str:
    """The pattern with each group replaced in turn by ``values`` (already URL-escaped)."""
    it = iter(values)
    return re.sub(r"\([^()]*\)", lambda _m: next(it), pattern)


def sample_for(group: str, good: dict[str, str]) -> str:
    """A value that names something real for this group's regex, so that a bad value in the
    other group of the same route still reaches the handler."""
    if "approve" in group:
        return "approve"
    if "A-Za-z" in group:
        return good["username"]
    if "0-9]{1" in group and "a-z" not in group:
        return good["id"]
    if "a-z0-9-" in group:
        return good["room"]
    return good["other"]


def quoted(value: str) -> str:
    return quote(value, safe="")


def test_parse_id_takes_only_ids_we_could_issue():
    assert params.parse_id("1") == 1
    assert params.parse_id(str(params.MAX_ID)) == params.MAX_ID
    for bad in BAD_IDS[:3] + BAD_IDS[4:]:
        assert params.parse_id(bad) is None, bad


async def test_huge_ids_in_paths_are_404_and_bad_cursors_400(site, image_bytes):
    alice = await site.user_client("alice")
    post_id = post_id_from(await upload(alice, [("t.png", image_bytes("tiny.png"))]))
    huge = "99999999999999999999"
    for path in (
        f"/comments/{huge}/replies",
        "/comments/9223372036854775808/replies",
        "/comments/0/replies",
        "/p/9223372036854775808",
        "/p/0",
    ):
        assert (await alice.get(path)).status_code == 404, path
    for path in (f"/settings/sessions/{huge}/revoke", f"/follow-requests/{huge[:19]}/approve"):
        assert (await alice.post(path)).status_code == 404, path
    for path in (
        "/saved",
        "/notifications",
        "/search?q=x&",
        "/@alice/followers",
        "/@alice/following",
        f"/p/{post_id}",
        f"/p/{post_id}/likes",
    ):
        sep = "&" if "?" in path else "?"
        for cursor in (huge, "²", "٣", "-5", "abc"):
            r = await alice.get(f"{path}{sep}before={quoted(cursor)}")
            assert r.status_code == 400, (path, cursor, r.status_code)
            assert "This page link is not valid" in r.text
    # A good cursor still pages.
    assert (await alice.get(f"/saved?before={post_id}")).status_code == 200
    r = await alice.post("/rooms", {"slug": "den", "title": "Den", "cover": "²"})
    assert r.status_code == 400
    assert "Choose one of your own posts as the cover." in r.text


async def test_every_route_survives_bad_ids_and_cursors(site, image_bytes):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    post_id = post_id_from(await upload(alice, [("t.png", image_bytes("tiny.png"))]))
    r = await alice.post("/rooms", {"slug": "den", "title": "Den", "cover": str(post_id)})
    assert r.status_code == 303, r.text
    await bob.post(f"/p/{post_id}/comments", {"body": "hello"})
    good = {"username": "bob", "id": str(post_id), "room": "den", "other": "cat"}
    token = await alice.xsrf()

    failures: list[str] = []
    answered = 0

    async def send(method: str, url: str, **kwargs) -> None:
        nonlocal answered
        if method == "GET":
            r = await alice.get(url, **kwargs)
        else:
            data = {"_xsrf": token, "body": "hi", "slug": "x", "title": "x"}
            data.update(kwargs.pop("data", {}))
            r = await alice.http.post(url, data=data, **kwargs)
        answered += 1
        if r.status_code >= 500:
            failures.append(f"{method} {url} {kwargs.get('data', '')} -> {r.status_code}")

    # Signing out would end the walk's session: that route goes last.
    routes = sorted(route_patterns(site.ctx), key=lambda route: route[0] == "logout")
    for name, pattern, groups in routes:
        samples = [sample_for(group, good) for group in groups]
        paths = [fill(pattern, samples)]
        for i in range(len(groups)):
            for bad in BAD_IDS:
                paths.append(fill(pattern, [*samples[:i], quoted(bad), *samples[i + 1 :]]))
        # Pages and JSON take different paths through the handlers: alternate between them.
        for i, path in enumerate(paths):
            headers = JSON if i % 2 else {}
            await send("GET", path, headers=headers)
            if name != "logout":
                await send("POST", path, headers=headers)
        base = paths[0]
        for i, bad in enumerate(BAD_IDS):
            headers = JSON if i % 2 else {}
            query = "&".join(f"{n}={quoted(bad)}" for n in CURSOR_NAMES)
            await send("GET", f"{base}?{query}", headers=headers)
            await send("GET", f"{base}?tab=popular&cursor={quoted(bad)}")
            if name != "logout":
                await send("POST", base, data={n: bad for n in FORM_ID_NAMES}, headers=headers)
    assert not failures, "\n".join(failures[:50])
    assert answered > 1500
