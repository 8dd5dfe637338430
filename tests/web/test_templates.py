"""Every template compiles; the pages that use them are rendered by the route tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import tornado.template

TEMPLATES = Path(__file__).resolve().parents[2] / "tornagram" / "templates"
ALL = sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("name", ALL)
def test_template_compiles(name):
    loader = tornado.template.Loader(str(TEMPLATES))
    assert loader.load(name).code


async def test_every_page_template_renders_for_visitor_and_member(site):
    member = await site.user_client("erik")
    visitor = site.client()
    pages = ["/", "/login", "/signup", "/@erik", "/nope"]
    for client in (visitor, member):
        for path in pages:
            r = await client.get(path)
            assert r.status_code in (200, 302, 404), path
            assert "{{" not in r.text and "{%" not in r.text
    for path in ("/settings/profile", "/settings/password", "/settings/sessions",
                 "/settings/security", "/settings/delete", "/settings/export", "/settings/email"):
        r = await member.get(path)
        assert r.status_code == 200
