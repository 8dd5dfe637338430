"""The rooms list as a grid of covers, and a room with no message yet."""

from __future__ import annotations

import re

from tests.helpers import counting_statements, new_post


async def test_rooms_list_shows_each_room_with_its_cover(site, image_bytes):
    owner = await site.user_client("cora")
    post_id = await new_post(owner, image_bytes)
    await owner.post("/rooms", {"slug": "harbour", "title": "Harbour at night", "cover": str(post_id)})
    await owner.post("/rooms", {"slug": "plain", "title": "No cover here", "cover": ""})
    page = (await site.client().get("/rooms")).text
    grid = re.search(r'<ul class="room-grid">.*?</ul>', page, re.S).group(0)
    cards = re.findall(r'<li class="room-card">.*?</li>', grid, re.S)
    assert len(cards) == 2
    harbour = next(c for c in cards if "Harbour at night" in c)
    assert re.search(r'<img src="/media/[^"]+" width="320" height="320"', harbour)
    plain = next(c for c in cards if "No cover here" in c)
    assert "room-cover-empty" in plain
    # A room with nothing said yet: an empty list (hidden by :empty), no blank box.
    room = (await site.client().get("/rooms/plain")).text
    assert '<ol class="message-list" data-message-list aria-live="polite"></ol>' in room


async def test_rooms_list_reads_the_covers_in_one_query(site, image_bytes):
    owner = await site.user_client("ines")
    me = await site.ctx.accounts.by_username("ines")
    for i in range(4):
        post_id = await new_post(owner, image_bytes)
        await owner.post("/rooms", {"slug": f"room-{i}", "title": f"Room {i}", "cover": str(post_id)})
    rooms = await site.ctx.rooms.rooms()
    with counting_statements(site) as one:
        covers = await site.ctx.rooms.covers(rooms[:1], me)
    with counting_statements(site) as four:
        covers = await site.ctx.rooms.covers(rooms, me)
    assert sorted(covers) == sorted(room.id for room, _ in rooms)
    assert all(post.photos and post.photos[0].renditions for post in covers.values())
    # Posts, then their photos, then the renditions: the same three however many rooms.
    selects = [[q for q in run if q.lstrip().upper().startswith("SELECT")] for run in (one, four)]
    assert len(selects[0]) == len(selects[1]) == 3, four


async def test_the_address_example_is_a_valid_address_in_every_language(site):
    from tornagram.rooms.service import SLUG_RE

    client = await site.user_client("ulla")
    for language in ("en-US", "zh-CN"):
        page = (await client.get("/rooms", headers={"Accept-Language": language})).text
        help_text = re.search(r'<p class="field-help"[^>]*>([^<]*/rooms/[^<]*)</p>', page).group(1)
        example = re.search(r"/rooms/(\S+)", help_text).group(1)
        assert SLUG_RE.match(example), (language, example)
