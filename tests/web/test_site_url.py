"""og:url and og:image are built from --site-url, never from the Host header a client sent
(only --debug falls back to the request, for development)."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.helpers import post_id_from, upload
from tornagram.config import ConfigError, build_settings, check_site_url

EVIL = {"Host": "evil.example"}


def og(html: str, prop: str) -> str | None:
    match = re.search(rf'<meta property="{prop}" content="([^"]*)"', html)
    return match.group(1) if match else None


@pytest.fixture
def settings(settings):
    return replace(settings, site_url="https://photos.example.org/base")


async def test_og_links_come_from_the_site_url_not_the_host_header(site, image_bytes):
    c = await site.user_client("olga")
    post_id = post_id_from(await upload(c, [("t.png", image_bytes("tiny.png"))]))
    for headers in ({}, EVIL):
        page = (await c.get(f"/p/{post_id}", headers=headers)).text
        assert og(page, "og:url") == f"https://photos.example.org/base/p/{post_id}"
        assert og(page, "og:image").startswith("https://photos.example.org/base/media/")
        assert "evil.example" not in page


async def test_without_a_site_url_production_leaves_the_links_out_debug_uses_the_request(
    site, image_bytes
):
    c = await site.user_client("omar")
    post_id = post_id_from(await upload(c, [("t.png", image_bytes("tiny.png"))]))
    site.ctx.settings = replace(site.ctx.settings, site_url="")
    page = (await c.get(f"/p/{post_id}", headers=EVIL)).text
    assert og(page, "og:url") is None and og(page, "og:image") is None
    assert "evil.example" not in page and og(page, "og:title")
    site.ctx.settings = replace(site.ctx.settings, debug=True)
    page = (await c.get(f"/p/{post_id}?dev=1")).text
    assert og(page, "og:url") == f"{site.base_url}/p/{post_id}"


@pytest.mark.parametrize(
    "bad",
    ["photos.example.org", "ftp://x.org", "https://", "https://u:p@x.org", "https://x.org/?a=1",
     "https://x.org/#f", "https://x.org:99999", "https://x .org"],
)  # fmt: skip
def test_site_url_must_be_a_plain_http_address(bad, tmp_path):
    with pytest.raises(ConfigError):
        build_settings(data_dir=tmp_path, cookie_secret="s" * 40, site_url=bad)


def test_site_url_is_kept_without_a_trailing_slash():
    assert check_site_url("https://photos.example.org/") == "https://photos.example.org"
    assert check_site_url("") == ""
