"""Rooms over plain HTTP: opening one, the list, the room page, and saying something without
JavaScript. What reaches sockets is in tests/realtime/test_live_site.py."""

from __future__ import annotations

from tests.helpers import form_error


async def test_open_a_room_and_find_it_in_the_list(site):
    alice = await site.user_client("alice")
    r = await alice.post("/rooms", {"slug": "Lake", "title": "  By   the lake ", "cover": ""})
    assert r.status_code == 303
    assert r.headers["Location"] == "/rooms/lake"  # addresses are lower-case
    listing = await site.client().get("/rooms")
    assert listing.status_code == 200
    assert 'href="/rooms/lake"' in listing.text
    assert "By the lake" in listing.text  # the title's spaces are tidied


async def test_a_refused_room_keeps_what_was_typed(site):
    alice = await site.user_client("alice")
    await alice.post("/rooms", {"slug": "lake", "title": "By the lake", "cover": ""})
    r = await alice.post("/rooms", {"slug": "lake", "title": "Again", "cover": ""})
    assert r.status_code == 400
    assert "That room address is taken." in form_error(r.text)
    assert 'value="Again"' in r.text
    r = await alice.post("/rooms", {"slug": "pond", "title": "", "cover": ""})
    assert r.status_code == 400
    assert "Give the room a title." in form_error(r.text)


async def test_only_members_open_rooms_or_speak(site):
    stranger = site.client()
    r = await stranger.post("/rooms", {"slug": "lake", "title": "By the lake", "cover": ""})
    assert r.status_code == 403  # a post is refused outright; only pages redirect to sign-in
    alice = await site.user_client("alice")
    await alice.post("/rooms", {"slug": "lake", "title": "By the lake", "cover": ""})
    r = await stranger.post("/rooms/lake/messages", {"body": "hi"})
    assert r.status_code == 403
    view = await site.ctx.rooms.room("lake")
    assert list(await site.ctx.rooms.history(view.room)) == []


async def test_saying_something_without_javascript(site):
    alice = await site.user_client("alice")
    await alice.post("/rooms", {"slug": "lake", "title": "By the lake", "cover": ""})
    bob = await site.user_client("bob")
    r = await bob.post("/rooms/lake/messages", {"body": "hello <b>world</b>"})
    assert r.status_code == 303
    page = await site.client().get("/rooms/lake")
    assert "hello &lt;b&gt;world&lt;/b&gt;" in page.text
    r = await bob.post("/rooms/lake/messages", {"body": "   "})
    assert r.status_code == 400
    assert "Write something first." in form_error(r.text)


async def test_a_room_that_does_not_exist_is_not_found(site):
    assert (await site.client().get("/rooms/nowhere")).status_code == 404
    bob = await site.user_client("bob")
    assert (await bob.post("/rooms/nowhere/messages", {"body": "hi"})).status_code == 404
