"""Search through the real HTTP stack: people by username or name prefix, hashtags with their
counts, caption words, the visibility rule, paging, and hostile queries."""

from __future__ import annotations

import re

from tests.helpers import new_post
from tests.search.support import more_link, people, posts, search, set_name, tags
from tornagram.search import service as search_module


async def test_people_by_username_prefix_any_case(site):
    me = await site.user_client("sunny")
    for name in ("sunflower", "sun_ra", "moon", "asun"):
        await site.user_client(name)
    for q in ("sun", "SUN", "@Sun", "  sun "):
        assert people((await search(me, q)).text) == ["sun_ra", "sunflower", "sunny"], q
    assert people((await search(me, "sun_")).text) == ["sun_ra"]  # "_" is not a wildcard
    assert people((await search(me, "sunny")).text) == ["sunny"]
    assert people((await search(site.client(), "moo")).text) == ["moon"]  # visitors search too


async def test_people_by_display_name_prefix(site):
    zhang = await site.user_client("zw")
    await set_name(zhang, "张伟")
    emile = await site.user_client("ez")
    await set_name(emile, "Emile Zola")
    other = await site.user_client("other")
    await set_name(other, "Zola Emile")
    assert people((await search(other, "emile")).text) == ["ez"]
    assert people((await search(other, "EMILE z")).text) == ["ez"]
    assert people((await search(other, "张")).text) == ["zw"]
    assert people((await search(other, "伟")).text) == []  # a prefix, not a substring
    assert people((await search(other, "zola")).text) == ["other"]


async def test_people_hidden_by_a_block_either_way(site):
    me = await site.user_client("kai")
    await site.user_client("kaia")
    blocker = await site.user_client("kaib")
    await me.post("/@kaia/block")
    await blocker.post("/@kai/block")
    assert people((await search(me, "kai")).text) == ["kai"]
    assert people((await search(site.client(), "kai")).text) == ["kai", "kaia", "kaib"]


async def test_hashtags_by_prefix_with_the_posts_the_viewer_may_see(site, image_bytes):
    pub = await site.user_client("pub")
    await new_post(pub, image_bytes, "#Sunset over the bay #sunrise")
    await new_post(pub, image_bytes, "Another #sunset")
    secret = await site.user_client("secret")
    await set_name(secret, "", private=True)
    await new_post(secret, image_bytes, "#sunset #sunsecret")
    stranger = site.client()
    assert tags((await search(stranger, "#sun")).text) == [("sunset", 2), ("sunrise", 1)]
    assert tags((await search(stranger, "sun")).text) == [("sunset", 2), ("sunrise", 1)]
    assert tags((await search(stranger, "#SUNS")).text) == [("sunset", 2)]
    # The owner sees their own posts counted, and the tag only they used.
    assert tags((await search(secret, "#sun")).text) == [
        ("sunset", 3),
        ("sunrise", 1),
        ("sunsecret", 1),
    ]
    # "#" searches tags only; "@" people only.
    page = (await search(stranger, "#pub")).text
    assert people(page) == [] and posts(page) == []
    assert tags((await search(stranger, "@sun")).text) == []


async def test_hashtags_in_any_script(site, image_bytes):
    c = await site.user_client("neko")
    await new_post(c, image_bytes, "#猫咪 #café")
    assert tags((await search(c, "#猫")).text) == [("猫咪", 1)]
    assert tags((await search(c, "CAFÉ")).text) == [("café", 1)]
    page = (await search(c, "#猫")).text
    assert 'href="/tags/%E7%8C%AB%E5%92%AA"' in page


async def test_captions_by_words_follow_edits_and_deletes(site, image_bytes):
    c = await site.user_client("ines")
    lake = await new_post(c, image_bytes, "Golden hour at the LAKE, with friends")
    city = await new_post(c, image_bytes, "Night in the city")
    reader = site.client()
    assert posts((await search(reader, "lake")).text) == [lake]
    assert posts((await search(reader, "gold")).text) == [lake]  # words match by prefix
    assert posts((await search(reader, "hour lake")).text) == [lake]  # every word must match
    assert posts((await search(reader, "lake city")).text) == []
    assert posts((await search(reader, "the")).text) == [city, lake]  # newest first
    r = await c.post(f"/p/{lake}/edit", {"caption": "Misty morning", "alt": [""]})
    assert r.status_code == 303
    assert posts((await search(reader, "lake")).text) == []
    assert posts((await search(reader, "misty")).text) == [lake]
    assert (await c.post(f"/p/{city}/delete")).status_code == 303
    assert posts((await search(reader, "night")).text) == []


async def test_captions_in_chinese(site, image_bytes):
    c = await site.user_client("mei")
    spaced = await new_post(c, image_bytes, "今天 猫 很可爱")
    run = await new_post(c, image_bytes, "我爱猫")
    if site.ctx.db.dialect == "mysql":
        # MySQL and MariaDB find Chinese anywhere in a run (ngram, or the same rule by regexp).
        assert posts((await search(c, "猫")).text) == [run, spaced]
        assert posts((await search(c, "爱猫")).text) == [run]
        assert posts((await search(c, "可爱")).text) == [spaced]
    else:
        assert posts((await search(c, "猫")).text) == [spaced]
    # A run of CJK text without spaces is one word: it is found by its beginning only.
    assert posts((await search(c, "我爱")).text) == [run]


async def test_captions_with_emoji_and_accents(site, image_bytes):
    c = await site.user_client("emo")
    cafe = await new_post(c, image_bytes, "Café 😀 au lait #café 猫")
    await new_post(c, image_bytes, "cafeteria")
    assert posts((await search(c, "CAFÉ")).text) == [cafe]
    assert posts((await search(c, "lait")).text) == [cafe]
    page = (await c.get(f"/p/{cafe}")).text
    assert "Café 😀 au lait" in page


async def test_private_posts_never_reach_strangers(site, image_bytes):
    owner = await site.user_client("priv")
    await set_name(owner, "", private=True)
    hidden = await new_post(owner, image_bytes, "secret picnic")
    stranger = await site.user_client("stranger")
    asker = await site.user_client("asker")
    await asker.post("/@priv/follow")  # a request is not a follow
    for client in (site.client(), stranger, asker):
        page = (await search(client, "picnic")).text
        assert posts(page) == [] and "secret picnic" not in page
    assert posts((await search(owner, "picnic")).text) == [hidden]
    requests = (await owner.get("/follow-requests")).text
    request_id = re.search(r"/follow-requests/([0-9]+)/approve", requests).group(1)
    await owner.post(f"/follow-requests/{request_id}/approve")
    assert posts((await search(asker, "picnic")).text) == [hidden]
    # Blocked either way: gone again.
    await owner.post("/@asker/block")
    assert posts((await search(asker, "picnic")).text) == []
    public = await site.user_client("pubb")
    shown = await new_post(public, image_bytes, "public picnic")
    await public.post("/@stranger/block")
    assert posts((await search(stranger, "picnic")).text) == []
    assert posts((await search(site.client(), "picnic")).text) == [shown]


async def test_caption_results_page_by_keyset(site, image_bytes, monkeypatch):
    monkeypatch.setattr(search_module, "POSTS_PAGE_SIZE", 2)
    c = await site.user_client("pager")
    ids = [await new_post(c, image_bytes, f"tree number {i}") for i in range(3)]
    first = (await search(c, "tree")).text
    assert posts(first) == [ids[2], ids[1]]
    url = more_link(first)
    assert url and url.startswith("/search?q=tree&before=")
    second = (await c.get(url)).text
    assert posts(second) == [ids[0]] and more_link(second) is None
    assert people(second) == [] and tags(second) == []  # only more posts on later pages


HOSTILE = [
    "%",
    "_",
    "%%",
    "a%",
    '"',
    '"unbalanced',
    "*",
    "sun*",
    "'",
    "it's",
    "NEAR",
    "NEAR(sun set)",
    "sun NEAR set",
    "AND",
    "OR",
    "NOT sun",
    "-sun",
    "sun:*",
    "a & b | !c",
    "()",
    "(sun",
    "^sun",
    "\\",
    "caption:sun",
    "{sun}",
    "\x00",
    "#",
    "@",
    "#%",
    "@_",
    "\U0010ffff",
    "😀",
]


# Queries whose words are all beginnings of the caption's words, once their syntax is text.
MATCHING = {"sun*", "-sun", "sun:*", "(sun", "^sun", "{sun}"}


async def test_metacharacters_are_only_text(site, image_bytes):
    c = await site.user_client("meta")
    await site.user_client("sunset_fan")
    post_id = await new_post(c, image_bytes, "#sun set by the 100% sunny beach")
    for q in HOSTILE:
        page = (await search(c, q)).text
        # Nothing matches everything: "%" and "_" are not wildcards, "*" is not a query, and
        # NEAR, NOT, OR and column filters are words like any other.
        assert people(page) == [], q
        assert tags(page) == [], q
        assert posts(page) == ([post_id] if q in MATCHING else []), q


async def test_empty_and_too_long_queries_get_a_friendly_page(site):
    c = site.client()
    page = (await search(c, "")).text
    assert "Find people by username or name" in page
    assert (await c.get("/search")).status_code == 200
    page = (await search(c, "   ")).text
    assert "Find people by username or name" in page
    page = (await search(c, "x" * 101)).text
    assert "Searches can be at most 100 characters." in page
    assert 'maxlength="100"' in page
    page = (await search(c, "x" * 100)).text
    assert "Nothing found for" in page
    for before in ("12abc", "9" * 19, "9" * 30, "-1", "²"):
        r = await c.get("/search", params={"q": "sun", "before": before})
        assert r.status_code == 400 and "This page link is not valid" in r.text
