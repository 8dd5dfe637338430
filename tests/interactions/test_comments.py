"""Commenting through the real HTTP stack: validation that stores nothing, escaping, one level
of replies, who may delete, exact counts, notifications, and hidden posts."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.helpers import form_error, make_private, new_post, user
from tests.interactions.support import (
    HIDDEN,
    JSON,
    comment,
    comment_id_from,
    hidden_post,
    notifications_of,
    owner_and_fan,
    post_row,
    rows,
)
from tornagram.graph.models import Comment, Notification


async def all_comments(site) -> list[Comment]:
    async with site.ctx.db.read() as s:
        return list((await s.execute(select(Comment).order_by(Comment.id))).scalars())


async def test_a_comment_is_stored_counted_shown_and_escaped(site, image_bytes):
    _owner, fan, post_id = await owner_and_fan(site, image_bytes, "ada", "bea")
    r = await comment(fan, post_id, "  <script>alert(1)</script> lovely #Sunset  \r\n")
    assert r.status_code == 303
    cid = comment_id_from(r)
    [stored] = await all_comments(site)
    assert stored.id == cid and stored.body == "<script>alert(1)</script> lovely #Sunset"
    assert (await post_row(site, post_id)).comment_count == 1
    page = (await site.client().get(f"/p/{post_id}")).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; lovely" in page
    assert f'id="c{cid}"' in page
    assert '<a class="hashtag" href="/tags/sunset">#Sunset</a>' in page


async def test_scripts_get_json_with_the_rendered_fragment(site, image_bytes):
    owner = await site.user_client("cleo")
    post_id = await new_post(owner, image_bytes)
    r = await comment(owner, post_id, "hi <b>@cleo</b>", json=True)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"id", "parent_id", "html"} and body["parent_id"] is None
    assert isinstance(body["id"], str)
    assert f'id="c{body["id"]}"' in body["html"]
    assert "&lt;b&gt;" in body["html"] and "<b>" not in body["html"]
    assert '<a class="mention" href="/@cleo">@cleo</a>' in body["html"]
    assert f'action="/comments/{body["id"]}/delete"' in body["html"]  # the author may delete
    reply = (await comment(owner, post_id, "and more", parent_id=body["id"], json=True)).json()
    assert reply["parent_id"] == body["id"] and 'class="comment reply"' in reply["html"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Write something before posting your comment."),
        (" \n\t ", "Write something before posting your comment."),
        ("x" * 2201, "Comments can be at most 2200 characters (this one has 2201)."),
    ],
)
async def test_bad_comments_are_refused_with_a_message_and_nothing_is_stored(
    site, image_bytes, body, message
):
    owner = await site.user_client("dina")
    post_id = await new_post(owner, image_bytes)
    r = await comment(owner, post_id, body)
    assert r.status_code == 400
    assert message in form_error(html.unescape(r.text))
    if body.strip():
        assert body in r.text  # what was typed is kept
    assert 'id="comment-form"' in r.text and 'class="post-card post-detail"' in r.text
    r = await comment(owner, post_id, body, json=True)
    assert r.status_code == 400 and r.json()["error"]["message"] == message
    # Scripts get each field's message too, in the same shape as an upload's refusal.
    assert r.json()["error"]["fields"] == {"body": message}
    assert await rows(site, Comment) == 0
    assert (await post_row(site, post_id)).comment_count == 0
    # Exactly 2,200 is fine.
    assert (await comment(owner, post_id, "y" * 2200)).status_code == 303


async def test_replies_are_one_level_deep(site, image_bytes):
    owner = await site.user_client("emma")
    a = await site.user_client("finn")
    b = await site.user_client("gina")
    post_id = await new_post(owner, image_bytes)
    top = comment_id_from(await comment(a, post_id, "first"))
    reply = comment_id_from(await comment(b, post_id, "@finn agreed", parent_id=top))
    deeper = comment_id_from(await comment(a, post_id, "@gina thanks", parent_id=reply))
    by_id = {c.id: c for c in await all_comments(site)}
    assert by_id[top].parent_id is None
    assert by_id[reply].parent_id == top and by_id[deeper].parent_id == top
    assert (await post_row(site, post_id)).comment_count == 3
    page = (await site.client().get(f"/p/{post_id}")).text
    thread = page[page.index(f'id="c{top}"') :]
    assert thread.index(f'id="c{reply}"') < thread.index(f'id="c{deeper}"')
    assert re.search(rf'<ul class="replies"[^>]*>\s*<li class="comment reply" id="c{reply}"', page)
    # A reply to a comment on another post is refused.
    other_post = await new_post(owner, image_bytes)
    r = await comment(a, other_post, "wrong thread", parent_id=top, json=True)
    assert r.status_code == 404 and "replying to" in r.json()["error"]["message"]
    assert await rows(site, Comment) == 3


async def test_reply_link_works_without_javascript(site, image_bytes):
    owner, fan, post_id = await owner_and_fan(site, image_bytes, "hana", "ivan")
    top = comment_id_from(await comment(fan, post_id, "hello"))
    page = (await owner.get(f"/p/{post_id}?reply_to={top}")).text
    assert f'name="parent_id" value="{top}"' in page
    assert "@ivan </textarea>" in page and "Replying to" in page


async def test_notifications_for_comment_reply_and_mention_once_each(site, image_bytes):
    owner = await site.user_client("jana")
    a = await site.user_client("karl")
    b = await site.user_client("lina")
    await site.user_client("mona")
    post_id = await new_post(owner, image_bytes)
    top = comment_id_from(await comment(a, post_id, "nice! @mona @nobody_here @Mona"))
    assert await notifications_of(site, "jana") == [("comment", "karl")]
    assert await notifications_of(site, "mona") == [("mention", "karl")]
    await comment(b, post_id, "@karl @jana yes", parent_id=top)
    assert await notifications_of(site, "karl") == [("reply", "lina")]  # not also a mention
    assert await notifications_of(site, "jana") == [("comment", "karl"), ("comment", "lina")]
    # Acting on your own post, or mentioning yourself, tells nobody.
    await comment(owner, post_id, "thanks all @jana", parent_id=top)
    assert [k for k, _ in await notifications_of(site, "jana")] == ["comment", "comment"]
    assert await notifications_of(site, "karl") == [("reply", "lina"), ("reply", "jana")]
    async with site.ctx.db.read() as s:
        rows_ = (
            await s.execute(select(Notification).where(Notification.kind == "mention"))
        ).scalars()
        assert all(n.post_id == post_id and n.comment_id == top for n in rows_)


async def test_mentions_reach_only_people_who_may_see_the_post(site, image_bytes):
    owner = await site.user_client("nell")
    await make_private(owner)
    await site.user_client("omar")  # not a follower
    await site.user_client("pia")
    post_id = await new_post(owner, image_bytes)
    await comment(owner, post_id, "hey @omar look")
    assert await notifications_of(site, "omar") == []
    # On a public post, someone the commenter has blocked is not told either.
    public_owner = await site.user_client("rex")
    public_post = await new_post(public_owner, image_bytes)
    await public_owner.post("/@pia/block")
    await comment(public_owner, public_post, "@pia @omar")
    assert await notifications_of(site, "pia") == []
    assert await notifications_of(site, "omar") == [("mention", "rex")]


@pytest.mark.parametrize("how", HIDDEN)
async def test_a_hidden_post_cannot_be_commented_on(site, image_bytes, how):
    _owner, viewer, post_id = await hidden_post(site, image_bytes, how)
    r = await comment(viewer, post_id, "let me in", json=True)
    assert r.status_code == 404
    assert "does not exist" in r.json()["error"]["message"]
    assert (await comment(viewer, post_id, "let me in")).status_code == 404
    assert await rows(site, Comment) == 0
    assert (await post_row(site, post_id)).comment_count == 0
    assert await notifications_of(site, "vera") == []


async def test_replying_to_someone_who_blocked_you_is_refused(site, image_bytes):
    owner = await site.user_client("sara")
    a = await site.user_client("tom")
    b = await site.user_client("una")
    post_id = await new_post(owner, image_bytes)
    top = comment_id_from(await comment(a, post_id, "mine"))
    await a.post("/@una/block")
    r = await comment(b, post_id, "hey", parent_id=top, json=True)
    assert r.status_code == 403 and "can't reply" in r.json()["error"]["message"]
    # Una does not see Tom's comment at all, and nothing was stored.
    assert "mine" not in (await b.get(f"/p/{post_id}")).text
    assert await rows(site, Comment) == 1


async def test_who_may_delete_and_the_count_with_replies(site, image_bytes):
    owner = await site.user_client("vic")
    author = await site.user_client("wes")
    other = await site.user_client("xia")
    post_id = await new_post(owner, image_bytes)
    top = comment_id_from(await comment(author, post_id, "top"))
    replies = [
        comment_id_from(await comment(other, post_id, f"r{i}", parent_id=top)) for i in range(3)
    ]
    second = comment_id_from(await comment(other, post_id, "another"))
    assert (await post_row(site, post_id)).comment_count == 5
    # Others may not delete; a signed-out visitor is refused before anything is read.
    r = await other.post(f"/comments/{top}/delete", headers=JSON)
    assert r.status_code == 403 and "author" in r.json()["error"]["message"]
    assert (await site.client().post(f"/comments/{top}/delete")).status_code == 403
    # The top-level comment's author may not delete someone else's reply to it...
    assert (await author.post(f"/comments/{replies[0]}/delete")).status_code == 403
    # ...but the reply's own author may.
    r = await other.post(f"/comments/{replies[0]}/delete", headers=JSON)
    assert r.json() == {"deleted": True, "removed": 1, "comment_count": 4}
    # The post's owner may delete anyone's comment; the thread goes with it.
    r = await owner.post(f"/comments/{top}/delete")
    assert r.status_code == 303 and r.headers["location"] == f"/p/{post_id}#comments"
    assert (await post_row(site, post_id)).comment_count == 1
    assert [c.id for c in await all_comments(site)] == [second]
    assert (await owner.post(f"/comments/{top}/delete")).status_code == 404
    # Deleting a comment takes its notifications with it.
    async with site.ctx.db.read() as s:
        ids = set((await s.execute(select(Notification.comment_id))).scalars())
    assert ids == {second}
    r = await other.post(f"/comments/{second}/delete", headers=JSON)
    assert r.json()["comment_count"] == 0 and await rows(site, Comment) == 0


async def test_comment_pages_show_the_newest_page_oldest_first(site, image_bytes, monkeypatch):
    import tornagram.interactions.reads as reads

    monkeypatch.setattr(reads, "COMMENTS_PAGE_SIZE", 3)
    owner = await site.user_client("yara")
    post_id = await new_post(owner, image_bytes)
    for i in range(5):
        await comment(owner, post_id, f"note-{i}")
    page = (await site.client().get(f"/p/{post_id}")).text
    shown = re.findall(r"note-(\d)", page)
    assert shown == ["2", "3", "4"]
    earlier = re.search(rf'href="(/p/{post_id}\?before=\d+)#comments"', page).group(1)
    assert re.findall(r"note-(\d)", (await site.client().get(earlier)).text) == ["0", "1"]


async def test_long_threads_go_back_page_by_page_on_their_own_page(
    site, image_bytes, monkeypatch
):
    import tornagram.interactions.reads as reads

    monkeypatch.setattr(reads, "REPLIES_PER_THREAD", 2)
    owner, fan, post_id = await owner_and_fan(site, image_bytes, "abe", "bea")
    top = comment_id_from(await comment(owner, post_id, "thread start"))
    for i in range(5):
        await comment(fan, post_id, f"reply-{i}", parent_id=top)
    reader = site.client()
    page = (await reader.get(f"/p/{post_id}")).text
    assert re.findall(r"reply-(\d)", page) == ["3", "4"]
    older = re.search(r'<li class="replies-earlier"><a href="([^"]+)"', page).group(1)
    assert older == f"/comments/{top}/replies"
    seen = []
    url: str | None = older
    while url:
        thread_page = await reader.get(url)
        assert thread_page.status_code == 200
        text = thread_page.text
        assert "thread start" in text  # the comment being replied to heads every page
        seen = re.findall(r"reply-(\d)", text) + seen
        match = re.search(r'<li class="replies-earlier"><a href="([^"]+)"', text)
        url = html.unescape(match.group(1)) if match else None
    assert seen == ["0", "1", "2", "3", "4"]
    # Only top-level comments have a thread page; a hidden post's threads are not found.
    reply = (await all_comments(site))[-1]
    assert (await reader.get(f"/comments/{reply.id}/replies")).status_code == 404
    await make_private(owner)
    assert (await reader.get(older)).status_code == 404


async def test_the_service_refuses_an_unknown_user_comment_politely(site, image_bytes):
    # The live socket calls add_comment directly: the same rules hold there.
    owner = await site.user_client("zane")
    post_id = await new_post(owner, image_bytes)
    zane = await user(site, "zane")
    from tornagram.errors import InvalidInput, NotFound

    with pytest.raises(InvalidInput):
        await site.ctx.interactions.add_comment(zane, post_id, "   ")
    with pytest.raises(NotFound):
        await site.ctx.interactions.add_comment(zane, 42, "hello")
    made = await site.ctx.interactions.add_comment(zane, post_id, "hello")
    assert made.body == "hello" and made.parent_id is None


async def test_live_events_follow_the_commit(site, image_bytes, monkeypatch):
    sent: list[tuple[str, str, dict]] = []

    async def publish(channel, type, data):
        sent.append((channel, type, data))

    monkeypatch.setattr(site.ctx.events, "publish", publish)
    owner = await site.user_client("wren")
    post_id = await new_post(owner, image_bytes)
    # The new post itself is announced to the app API's streams, first and once.
    assert [(ch, t) for ch, t, _ in sent] == [("timeline:posts", "post.created")]
    sent.clear()
    top = (await comment(owner, post_id, "hi <i>@wren</i>", json=True)).json()["id"]
    reply = (await comment(owner, post_id, "again", parent_id=top, json=True)).json()["id"]
    await comment(owner, post_id, "  ")  # refused: nothing goes out
    assert [(ch, t) for ch, t, _ in sent] == [(f"post:{post_id}", "comment.created")] * 2
    data = sent[0][2]
    assert data["id"] == top and data["post_id"] == str(post_id) and data["parent_id"] is None
    assert data["body"] == "hi <i>@wren</i>"
    assert data["html"] == 'hi &lt;i&gt;<a class="mention" href="/@wren">@wren</a>&lt;/i&gt;'
    wren = await site.ctx.accounts.by_username("wren")
    assert data["author"] == {
        "username": "wren", "name": "wren", "avatar": None, "initial": "W", "hue": wren.id % 12
    }
    assert data["created_at"].startswith("20") and sent[1][2]["parent_id"] == top
    sent.clear()
    await owner.post(f"/comments/{top}/delete")
    assert {(t, d["id"]) for _, t, d in sent} == {
        ("comment.deleted", top),
        ("comment.deleted", reply),
    }


async def test_out_of_range_cursors_are_refused_not_errors(site, image_bytes):
    owner = await site.user_client("xavi")
    post_id = await new_post(owner, image_bytes)
    for cursor in ("9999999999999999999", "99999999999999999999", "-1", "abc"):
        # reply_to only names someone in the form: a bad one is no one, the page still shows.
        assert (await owner.get(f"/p/{post_id}?reply_to={cursor}")).status_code == 200
        assert (await owner.get(f"/p/{post_id}?before={cursor}")).status_code == 400
        assert (await owner.get(f"/p/{post_id}/likes?before={cursor}")).status_code == 400
        assert (await owner.get(f"/saved?before={cursor}")).status_code == 400
    r = await comment(owner, post_id, "top level after all", parent_id="9999999999999999999")
    assert r.status_code == 400
    assert "replying to has been deleted." in r.text
    assert "top level after all" in r.text  # the text as typed, to send again
    assert await all_comments(site) == []
    assert (await owner.post("/comments/9999999999999999999/delete")).status_code == 404
