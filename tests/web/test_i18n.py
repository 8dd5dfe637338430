"""Both languages are complete, and the right one is chosen."""

from __future__ import annotations

import csv

import pytest

from tornagram.i18n import LOCALE_DIR, msgids, plural_msgids


def load(code: str) -> dict[str, str]:
    with open(LOCALE_DIR / f"{code}.csv", encoding="utf-8") as fh:
        return {row[0]: row[1] for row in csv.reader(fh) if row}


@pytest.mark.parametrize("code", ["en_US", "zh_CN"])
def test_every_string_is_translated(code):
    table = load(code)
    missing = sorted(msgids() - set(table))
    assert not missing, f"{code}.csv lacks: {missing}"
    assert all(value.strip() for value in table.values())


def test_placeholders_survive_translation():
    import re

    for source, translated in load("zh_CN").items():
        assert sorted(re.findall(r"%\(\w+\)\w", source)) == sorted(re.findall(r"%\(\w+\)\w", translated)), source


def test_msgid_extraction_finds_all_three_kinds():
    ids = msgids()
    assert "Log in" in ids  # a template's _()
    assert "That username is taken." in ids  # a UserError in a service
    assert "Home" in ids  # an N_() marker


async def test_accept_language_picks_chinese(site):
    r = await site.client().get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "欢迎回来" in r.text and 'lang="zh-CN"' in r.text
    r = await site.client().get("/login", headers={"Accept-Language": "en-US"})
    assert "Welcome back" in r.text


async def test_user_setting_beats_the_browser(site):
    c = await site.user_client("chen")
    await c.post("/settings/profile", {"display_name": "", "bio": "", "locale": "zh_CN"})
    r = await c.get("/", headers={"Accept-Language": "en-US"})
    assert "你好" in r.text
    r = await c.post("/settings/profile", {"display_name": "x" * 65, "bio": "", "locale": "zh_CN"}, headers={"Accept-Language": "en-US"})
    assert "名字最多 64 个字符。" in r.text  # errors come in the user's language too


async def test_footer_language_switch_when_signed_out(site):
    c = site.client()
    r = await c.post("/settings/language", {"locale": "zh_CN", "next": "/login"})
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert "欢迎回来" in (await c.get("/login", headers={"Accept-Language": "en"})).text
    r = await c.post("/settings/language", {"locale": "", "next": "//evil.example"})
    assert r.headers["location"] == "/"
    assert "Welcome back" in (await c.get("/login", headers={"Accept-Language": "en"})).text


async def test_footer_language_switch_saves_for_signed_in_user(site):
    c = await site.user_client("dana")
    await c.post("/settings/language", {"locale": "zh_CN", "next": "/"})
    assert (await site.ctx.accounts.by_username("dana")).locale == "zh_CN"


async def test_bad_language_is_refused(site):
    r = await site.client().post("/settings/language", {"locale": "klingon"})
    assert r.status_code == 400



def plural_rows(code: str) -> dict[str, set[str]]:
    """Tornado's CSV: a third column of "singular" or "plural" says which count a row is for."""
    forms: dict[str, set[str]] = {}
    with open(LOCALE_DIR / f"{code}.csv", encoding="utf-8") as fh:
        for row in csv.reader(fh):
            if len(row) > 2:
                forms.setdefault(row[2], set()).add(row[0])
    return forms


@pytest.mark.parametrize("code", ["en_US", "zh_CN"])
def test_counted_sentences_have_both_forms_marked(code):
    pairs = plural_msgids()
    assert ("%(count)d message", "%(count)d messages") in pairs  # a template's _(one, many, n)
    assert any("%(count)d other liked" in one for one, _ in pairs)  # an NP_() in Python
    forms = plural_rows(code)
    for singular, plural in pairs:
        assert singular in forms.get("singular", set()), singular
        assert plural in forms.get("plural", set()), plural


def test_counted_sentences_read_right_for_one_and_many():
    import tornado.locale

    from tornagram.i18n import load_translations

    load_translations()
    en = tornado.locale.get("en_US")
    one, many = "%(count)d message", "%(count)d messages"
    assert en.translate(one, many, 1) % {"count": 1} == "1 message"
    assert en.translate(one, many, 3) % {"count": 3} == "3 messages"
    assert tornado.locale.get("zh_CN").translate(one, many, 1) % {"count": 1} == "1 条消息"
