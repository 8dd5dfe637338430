"""The notifications page groups likes, comments and follows ("alice and 2 others liked your
photo"), keeps replies and mentions one to a line, and pages without repeating a group."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.helpers import new_post, user
from tests.notifications.support import add_comment_row, lines, notify, quiet_users, unread_lines
from tornagram.db.ids import lowest_id_at
from tornagram.graph.models import Notification
from tornagram.notifications import service as notification_feed


async def test_likes_and_follows_group_through_the_real_routes(site, image_bytes):
    owner = await site.user_client("olga")
    post_id = await new_post(owner, image_bytes, "Harbour at dawn")
    fans = {name: await site.user_client(name) for name in ("bob", "carol", "alice")}
    for name in ("bob", "carol", "alice"):  # alice is the newest
        r = await fans[name].post(f"/p/{post_id}/like")
        assert r.status_code == 303, r.text
    for name in ("carol", "bob"):
        assert (await fans[name].post("/@olga/follow")).status_code == 303
    r = await owner.get("/notifications")
    assert r.status_code == 200
    assert lines(r.text) == [
        "bob and carol started following you.",
        "alice and 2 others liked your photo.",
    ]
    assert len(unread_lines(r.text)) == 2
    # The like line shows the photo as a small square linking to the post.
    assert f'<a class="notif-thumb" href="/p/{post_id}">' in r.text
    assert 'width="44" height="44"' in r.text
    # Names link to profiles.
    assert '<a class="notif-actor" href="/@alice">alice</a>' in r.text
    # Opened once: the second time nothing is new.
    again = await owner.get("/notifications")
    assert lines(again.text) == lines(r.text) and unread_lines(again.text) == []


async def test_comments_group_per_photo_replies_and_mentions_stay_one_to_a_line(site, image_bytes):
    owner = await site.user_client("pia")
    post_id = await new_post(owner, image_bytes)
    bob = await site.user_client("bob")
    r = await bob.post(f"/p/{post_id}/comments", {"body": "Lovely <b>light</b> here"})
    assert r.status_code == 303, r.text
    comment_id = int(r.headers["location"].rsplit("#c", 1)[1])
    await bob.post(f"/p/{post_id}/comments", {"body": "And the colours!"})
    r = await owner.post(
        f"/p/{post_id}/comments", {"body": "Thanks @bob", "parent_id": str(comment_id)}
    )
    assert r.status_code == 303, r.text
    reply_anchor = r.headers["location"]  # /p/<id>#c<reply id>
    # One person's two comments on one photo: one line, with the newest words.
    assert lines((await owner.get("/notifications")).text) == ["bob commented: And the colours!"]
    page = (await bob.get("/notifications")).text
    assert lines(page) == ["pia replied to your comment: Thanks @bob"]
    assert f'<a class="notif-thumb" href="{reply_anchor}">' in page  # to the reply itself
    await bob.post(f"/p/{post_id}/comments", {"body": "Lovely <b>light</b> again"})
    owners = (await owner.get("/notifications")).text
    assert "Lovely &lt;b&gt;light&lt;/b&gt; again" in owners and "<b>light" not in owners


async def test_five_comments_on_one_photo_are_one_line_and_a_new_follower_gets_follow_back(
    site, image_bytes
):
    owner = await site.user_client("rhea")
    post_id = await new_post(owner, image_bytes)
    other_post = await new_post(owner, image_bytes)
    names = ("ana", "bea", "cat", "dan", "eli")  # eli is the newest
    for name in names:
        fan = await site.user_client(name)
        assert (await fan.post(f"/p/{post_id}/comments", {"body": f"from {name}"})).status_code == 303
    await fan.post(f"/p/{other_post}/comments", {"body": "this one too"})
    await fan.post("/@rhea/follow")
    page = (await owner.get("/notifications")).text
    assert lines(page) == [
        "eli started following you.",
        "eli commented: this one too",
        "eli, dan and 3 others commented: from eli",
    ]
    follow_row = re.search(r'<li class="notif[^"]*" data-kind="follow">.*?</li>', page, re.S).group(0)
    assert 'action="/@eli/follow"' in follow_row and ">Follow back</button>" in follow_row
    zh = (await owner.get("/notifications", headers={"Accept-Language": "zh-CN"})).text
    assert "和另外 3 人评论了" in zh
    # Followed back: the row offers the profile instead.
    r = await owner.post("/@eli/follow", {"next": "/notifications"})
    assert r.status_code == 303 and r.headers["location"] == "/notifications"
    page = (await owner.get("/notifications")).text
    follow_row = re.search(r'<li class="notif[^"]*" data-kind="follow">.*?</li>', page, re.S).group(0)
    assert "Follow back" not in follow_row and ">View profile</a>" in follow_row


async def test_grouping_rules_with_rows_written_by_the_writer(site, image_bytes):
    """Rows made through NotificationWriter, as other services do: one like group per post,
    named newest first; likes of another post apart; an older day is its own group."""
    owner = await site.user_client("quinn")
    first = await new_post(owner, image_bytes)
    second = await new_post(owner, image_bytes)
    me = await user(site, "quinn")
    a, b, c, d, e = await quiet_users(site, "ann", "ben", "cai", "dee", "eve")
    # Yesterday's like of the first post, written with an id from that day.
    yesterday_ms = int(datetime.now(UTC).timestamp() * 1000) - 86_400_000
    async with site.ctx.db.write() as s:
        s.add(
            Notification(
                id=lowest_id_at(yesterday_ms) + 1,
                recipient_id=me.id,
                actor_id=e.id,
                kind="like",
                post_id=first,
                created_at=datetime.fromtimestamp(yesterday_ms / 1000, UTC),
            )
        )
    for actor in (a, b, c, d):
        await notify(site, me, actor, "like", post_id=first)
    await notify(site, me, a, "like", post_id=second)
    await notify(site, me, c, "follow")
    await notify(site, me, me, "like", post_id=second)  # one's own like is never news
    assert lines((await owner.get("/notifications")).text) == [
        "cai started following you.",
        "ann liked your photo.",
        "dee and 3 others liked your photo.",
        "eve liked your photo.",
    ]


async def test_two_people_are_both_named_and_requests_link_to_the_requests_page(site):
    owner = await site.user_client("rita")
    await owner.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    for name in ("sam", "tia"):
        c = await site.user_client(name)
        assert (await c.post("/@rita/follow")).status_code == 303
    page = (await owner.get("/notifications")).text
    assert lines(page) == ["tia and sam asked to follow you."]
    assert 'href="/follow-requests"' in page


async def test_pages_never_repeat_a_group_and_count_it_whole(site, image_bytes, monkeypatch):
    monkeypatch.setattr(notification_feed, "ROWS_PER_STEP", 5)
    owner = await site.user_client("uma")
    post_id = await new_post(owner, image_bytes)
    me = await user(site, "uma")
    people = await quiet_users(site, *(f"fan{i}" for i in range(8)))
    for i, person in enumerate(people[:3]):
        comment = await add_comment_row(site, post_id, person, f"comment {i}")
        await notify(site, me, person, "comment", post_id=post_id, comment_id=comment.id)
    for person in people:
        await notify(site, me, person, "like", post_id=post_id)
    comment = await add_comment_row(site, post_id, people[0], "hi @uma")
    await notify(site, me, people[0], "mention", post_id=post_id, comment_id=comment.id)

    first = (await owner.get("/notifications")).text
    # Five rows were read (the mention and four likes), but the group counts all eight.
    assert lines(first) == [
        "fan0 mentioned you in a comment: hi @uma",
        "fan7 and 7 others liked your photo.",
    ]
    seen = lines(first)
    url = _next(first)
    while url:
        page = (await owner.get(url)).text
        seen += lines(page)
        url = _next(page)
    assert seen == [
        "fan0 mentioned you in a comment: hi @uma",
        "fan7 and 7 others liked your photo.",
        # The comments on the photo are one line, counted whole; the second name may come
        # from beyond the page.
        "fan2, fan0 and 1 other commented: comment 2",
    ]
    assert (await owner.get("/notifications?before=12")).status_code == 200
    # A cursor that is not one is refused with a message, not shown as the first page.
    for before in ("abc", "-5", "9" * 19, "9" * 40, "²"):
        r = await owner.get("/notifications", params={"before": before})
        assert r.status_code == 400 and "This page link is not valid" in r.text, before
    assert "No older notifications." in (await owner.get("/notifications?before=1")).text


async def test_the_second_name_comes_from_beyond_the_page(site, image_bytes, monkeypatch):
    monkeypatch.setattr(notification_feed, "ROWS_PER_STEP", 2)
    owner = await site.user_client("vera")
    post_id = await new_post(owner, image_bytes)
    me = await user(site, "vera")
    x, y = await quiet_users(site, "xena", "yuri")
    await notify(site, me, x, "like", post_id=post_id)
    await notify(site, me, y, "follow")
    await notify(site, me, x, "follow")
    await notify(site, me, y, "like", post_id=post_id)
    # Rows read: yuri's like and xena's follow; the others of both groups are further down.
    assert lines((await owner.get("/notifications")).text) == [
        "yuri and xena liked your photo.",
        "xena and yuri started following you.",
    ]


async def test_the_page_needs_a_member(site):
    r = await site.client().get("/notifications")
    assert r.status_code == 302 and r.headers["location"].startswith("/login?next=")


def _next(page_html: str) -> str | None:
    match = re.search(r'<a class="btn" rel="next" href="([^"]+)"', page_html)
    return match.group(1).replace("&amp;", "&") if match else None


async def test_one_more_person_is_one_other_in_both_languages(site, image_bytes):
    owner = await site.user_client("wren")
    post_id = await new_post(owner, image_bytes)
    me = await user(site, "wren")
    people = await quiet_users(site, "xavi", "yoko", "zane")
    for person in people:
        comment = await add_comment_row(site, post_id, person, f"from {person.username}")
        await notify(site, me, person, "comment", post_id=post_id, comment_id=comment.id)
    assert lines((await owner.get("/notifications")).text) == [
        "zane, yoko and 1 other commented: from zane"
    ]
    zh = (await owner.get("/notifications", headers={"Accept-Language": "zh-CN"})).text
    assert "zane</a>、<a" in zh and "和另外 1 人评论了" in zh
    # Three people more: the plural, in English.
    more = await quiet_users(site, "abe", "bo")
    for person in more:
        await notify(site, me, person, "like", post_id=post_id)
    await notify(site, me, people[0], "like", post_id=post_id)
    assert "xavi and 2 others liked your photo." in lines((await owner.get("/notifications")).text)
