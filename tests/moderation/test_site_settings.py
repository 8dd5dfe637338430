"""/admin/settings: admins set the site's name, description, rules, contact and registration
mode; the name shows on every page, each change is in the audit log; /about shows it all."""

from __future__ import annotations

import re

from tests.helpers import form_error
from tests.moderation.support import admin_client, save_site, staff_client


async def test_only_admins_open_the_settings(site):
    mod = await staff_client(site, "mod")
    member = await site.user_client("mia")
    for client in (mod, member):
        assert (await client.get("/admin/settings")).status_code == 403
        assert (await save_site(client, name="Taken over")).status_code == 403
    assert (await site.client().get("/admin/settings")).status_code == 302
    assert (await site.ctx.site.current()).name == "Tornagram"
    # A moderator's navigation does not offer the page.
    assert "/admin/settings" not in (await mod.get("/admin/reports")).text


async def test_saving_the_settings_names_the_site_everywhere_and_is_audited(site):
    root = await admin_client(site)
    reader = site.client()
    assert "<title>Explore · Tornagram</title>" in (await reader.get("/explore")).text
    r = await save_site(
        root,
        name="Riverside Photo Club",
        description="Photos from the riverside & <friends>.",
        contact_email="club@example.org",
        rules=["Be kind.", "Only your own photos."],
    )
    assert r.status_code == 303 and r.headers["location"] == "/admin/settings?saved=1"
    page = (await reader.get("/explore")).text
    assert "<title>Explore · Riverside Photo Club</title>" in page
    assert "<span>Riverside Photo Club</span>" in page
    about = (await reader.get("/about")).text
    assert "Photos from the riverside &amp; &lt;friends&gt;." in about
    assert re.search(r"<li>Be kind\.</li>\s*<li>Only your own photos\.</li>", about)
    assert 'href="mailto:club@example.org"' in about
    log = (await root.get("/admin/log")).text
    for action in ("site.name", "site.description", "site.rules", "site.contact"):
        assert f'data-action="{action}"' in log
    assert 'data-action="site.registration"' not in log  # unchanged, not logged
    assert "1. Be kind.\n2. Only your own photos." in log


async def test_rules_are_added_edited_reordered_and_removed_in_the_form(site):
    root = await admin_client(site)
    base = {"name": "Club", "description": "", "contact_email": "", "registration": "open",
            "approval_question": ""}  # fmt: skip

    def rules_in(html: str) -> list[str]:
        return re.findall(r'<textarea id="rule-\d+" name="rule"[^>]*>(.*?)</textarea>', html, re.S)

    r = await root.post("/admin/settings", {**base, "rule": ["First", "Second"], "edit": "add"})
    assert r.status_code == 200 and rules_in(r.text) == ["First", "Second", ""]
    r = await root.post("/admin/settings", {**base, "rule": ["First", "Second"], "edit": "up:1"})
    assert rules_in(r.text) == ["Second", "First"]
    r = await root.post(
        "/admin/settings", {**base, "rule": ["A", "B", "C"], "edit": "down:0", "name": "Kept"}
    )
    assert rules_in(r.text) == ["B", "A", "C"] and 'value="Kept"' in r.text
    r = await root.post("/admin/settings", {**base, "rule": ["A", "B", "C"], "edit": "remove:1"})
    assert rules_in(r.text) == ["A", "C"]
    # Nothing is stored until Save.
    assert (await site.ctx.site.current()).rules == ()
    await root.post("/admin/settings", {**base, "rule": ["A edited", "", "C"]})
    assert (await site.ctx.site.current()).rules == ("A edited", "C")  # empty ones dropped
    assert rules_in((await root.get("/admin/settings")).text) == ["A edited", "C"]


async def test_bad_settings_are_refused_with_what_was_typed_kept(site):
    root = await admin_client(site)
    r = await save_site(
        root, name="", contact_email="not an address", registration="everyone",
        description="kept text", rules=["x" * 501],
    )  # fmt: skip
    assert r.status_code == 400
    errors = form_error(r.text)
    assert "Give the site a name." in errors
    assert "Enter a valid email address." in errors
    assert "Choose who may sign up." in errors
    assert "Keep each rule under 500 characters." in errors
    assert "kept text</textarea>" in r.text and 'value="not an address"' in r.text
    assert (await site.ctx.site.current()).name == "Tornagram"


async def test_about_lists_admins_and_moderators_with_links(site):
    await admin_client(site, "ada")
    await staff_client(site, "mod")
    await site.user_client("mia")
    about = (await site.client().get("/about")).text
    assert 'href="/@ada"' in about and 'href="/@mod"' in about
    assert 'href="/@mia"' not in about
    assert about.index("@ada") < about.index("@mod")  # admins first
    # The footer of every page links it.
    assert 'href="/about"' in (await site.client().get("/explore")).text


async def test_the_settings_page_and_about_in_chinese(site):
    root = await admin_client(site)
    await root.post("/settings/language", {"locale": "zh_CN"})
    page = (await root.get("/admin/settings")).text
    assert "站点设置" in page and "谁可以注册" in page
    assert "关于" in (await root.get("/about")).text
