"""The unread badge on every page and how opening the page clears it; and that notifications
pass the one visibility rule (blocks both ways, posts the reader can no longer see)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.helpers import new_post, user
from tests.notifications.support import badge, lines, notify, quiet_users
from tornagram.graph.models import Notification


async def test_the_badge_counts_unread_on_every_page_and_clears_when_opened(site, image_bytes):
    owner = await site.user_client("ada")
    post_id = await new_post(owner, image_bytes)
    assert badge((await owner.get("/")).text) is None
    for name in ("bob", "cy"):
        fan = await site.user_client(name)
        await fan.post(f"/p/{post_id}/like")
        await fan.post("/@ada/follow")
    for path in ("/", "/@ada", f"/p/{post_id}", "/search?q=x", "/settings/profile", "/nope"):
        r = await owner.get(path)
        assert badge(r.text) == "4", path
    assert 'aria-label="Notifications (4 new)"' in (await owner.get("/")).text
    opened = await owner.get("/notifications")
    assert badge(opened.text) is None  # the reader is looking at them
    assert 'class="notif notif-unread"' in opened.text
    assert badge((await owner.get("/")).text) is None
    async with site.ctx.db.read() as s:
        unread = await s.scalar(
            select(func.count()).select_from(Notification).where(Notification.read_at.is_(None))
        )
    assert unread == 0
    # Something new: the badge is back, and only the new line is highlighted.
    dee = await site.user_client("dee")
    await dee.post(f"/p/{post_id}/like")
    assert badge((await owner.get("/")).text) == "1"
    # Visitors have no bell at all.
    visitor_page = (await site.client().get("/")).text
    assert 'data-nav="notifications"' not in visitor_page and "nav-badge" not in visitor_page


async def test_only_pages_for_members_pay_for_the_count(site, image_bytes, monkeypatch):
    member = await site.user_client("gil")
    post_id = await new_post(member, image_bytes)
    feed, calls = site.ctx.notification_feed, []
    real = feed.unread_count

    async def counted(viewer):
        calls.append(viewer.username)
        return await real(viewer)

    monkeypatch.setattr(feed, "unread_count", counted)
    await site.client().get("/")
    await member.post(f"/p/{post_id}/like", headers={"Accept": "application/json"})
    await member.get("/poll?channel=user:1", headers={"Accept": "application/json"})
    assert calls == []
    await member.get("/")
    assert calls == ["gil"]


async def test_the_badge_stops_counting_at_99(site):
    member = await site.user_client("eli")
    me = await user(site, "eli")
    people = await quiet_users(site, *(f"p{i}" for i in range(101)))
    for person in people:
        await notify(site, me, person, "follow")
    assert badge((await member.get("/")).text) == "99+"
    assert await site.ctx.notification_feed.unread_count(me) == 100  # counting stopped there


async def test_the_phone_bar_has_seven_places_with_the_bell(site):
    member = await site.user_client("fay")
    page = (await member.get("/")).text
    bottom = re.search(r'<nav class="nav nav-bottom".*?</nav>', page, re.S).group(0)
    places = re.findall(r'data-nav="([a-z_]+)"', bottom)
    # Search and settings too: a phone has no top bar to reach them from.
    assert places == ["home", "explore", "search", "upload", "notifications", "profile", "settings"]
    top = re.search(r'<nav class="nav nav-top".*?</nav>', page, re.S).group(0)
    assert re.findall(r'data-nav="([a-z_]+)"', top) == [
        "home",
        "explore",
        "search",
        "upload",
        "notifications",
        "rooms",
        "saved",
        "profile",
        "settings",
    ]
    assert "#icon-bell" in top and "#icon-search" in top and 'href="/explore"' in top
    visitor = (await site.client().get("/")).text
    top = re.search(r'<nav class="nav nav-top".*?</nav>', visitor, re.S).group(0)
    assert re.findall(r'data-nav="([a-z_]+)"', top) == ["home", "explore", "search"]


async def test_blocked_people_vanish_from_notifications_both_ways(site, image_bytes):
    owner = await site.user_client("gus")
    post_id = await new_post(owner, image_bytes)
    rude, gone, nice = [await site.user_client(n) for n in ("rude", "gone", "nice")]
    for fan in (rude, gone, nice):
        assert (await fan.post(f"/p/{post_id}/like")).status_code == 303
    await rude.post(f"/p/{post_id}/comments", {"body": "meh"})
    assert (await owner.post("/@rude/block")).status_code == 303  # blocked by the reader
    assert (await gone.post("/@gus/block")).status_code == 303  # the reader is blocked
    assert badge((await owner.get("/")).text) == "1"
    page = (await owner.get("/notifications")).text
    assert lines(page) == ["nice liked your photo."]
    assert "rude" not in page and "gone" not in page
    # Unblocking brings them back: nothing was deleted.
    await owner.post("/@rude/unblock")
    assert lines((await owner.get("/notifications")).text) == [
        "rude commented: meh",
        "nice and rude liked your photo.",
    ]


async def test_a_mention_in_a_post_the_reader_can_no_longer_see_is_hidden(site, image_bytes):
    author = await site.user_client("hal")
    await author.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    fan = await site.user_client("ivy")
    await fan.post("/@hal/follow")
    requests = (await author.get("/follow-requests")).text
    request_id = re.search(r"/follow-requests/([0-9]+)/approve", requests).group(1)
    await author.post(f"/follow-requests/{request_id}/approve")
    await new_post(author, image_bytes, "With @ivy at the lake")
    assert lines((await fan.get("/notifications")).text) == [
        "hal mentioned you in a post: With @ivy at the lake"
    ]
    await fan.post("/@hal/unfollow")
    assert lines((await fan.get("/notifications")).text) == []
    assert badge((await fan.get("/")).text) is None
