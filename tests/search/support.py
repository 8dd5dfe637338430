"""Reading the search page: which people, tags and posts it shows."""

from __future__ import annotations

import html
import re


async def search(client, q: str, **params):
    r = await client.get("/search", params={"q": q, **params})
    assert r.status_code == 200, (q, r.status_code, r.text[:500])
    return r


def _section(page: str, name: str) -> str:
    match = re.search(rf'aria-labelledby="search-{name}">.*?</section>', page, re.S)
    return match.group(0) if match else ""


def people(page: str) -> list[str]:
    return re.findall(r'class="person-username" href="/@([a-z0-9_.]+)"', _section(page, "people"))


def tags(page: str) -> list[tuple[str, int]]:
    found = re.findall(
        r'class="hashtag" href="[^"]+">#([^<]+)</a> <span class="muted"><strong>([0-9]+)</strong>',
        _section(page, "tags"),
    )
    return [(html.unescape(tag), int(count)) for tag, count in found]


def posts(page: str) -> list[int]:
    return [
        int(i) for i in re.findall(r'class="grid-item" href="/p/([0-9]+)"', _section(page, "posts"))
    ]


def more_link(page: str) -> str | None:
    match = re.search(r'rel="next" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


async def set_name(client, display_name: str, private: bool = False) -> None:
    form = {"display_name": display_name, "bio": "", "locale": ""}
    if private:
        form["private"] = "on"
    r = await client.post("/settings/profile", form)
    assert r.status_code == 303, r.text
