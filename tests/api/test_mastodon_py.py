"""The real client library, Mastodon.py, against a live Tornagram: app registration, the code
flow through the real login and consent pages, photos with alt text, timelines, following,
favourites, comments, paging with fetch_next, the hashtag timeline, deleting and revoking.

Mastodon.py is synchronous (requests); its calls run in a thread so the server, on this
test's event loop, keeps serving."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.api.support import jpeg

mastodon = pytest.importorskip("mastodon")

REDIRECT = "https://photos.example/callback"
SCOPES = ["read", "write", "follow"]


def run(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


async def sign_in_with_the_app(site, username: str):
    """Register an app with Mastodon.py, send a browser through login and consent, and log
    the app in with the code it gets back."""
    client_id, client_secret = await run(
        mastodon.Mastodon.create_app, "Photos for " + username, scopes=SCOPES,
        redirect_uris=REDIRECT, api_base_url=site.base_url,
    )  # fmt: skip
    app = mastodon.Mastodon(
        client_id=client_id, client_secret=client_secret, api_base_url=site.base_url,
        ratelimit_method="throw",
    )  # fmt: skip
    url = await run(app.auth_request_url, redirect_uris=REDIRECT, scopes=SCOPES, state="st8",
                    allow_http=True)
    assert url.startswith(site.base_url + "/oauth/authorize?")
    browser = site.client()
    await browser.signup(username)
    await browser.post("/logout")
    path = url.replace(site.base_url, "")
    r = await browser.get(path)
    assert r.status_code == 302 and r.headers["location"].startswith("/login?")
    next_url = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    r = await browser.post("/login?" + urlencode({"next": next_url}),
                           {"login": username, "password": "correct horse battery"})
    assert r.headers["location"] == next_url
    page = await browser.get(next_url)
    assert page.status_code == 200 and "Authorize" in page.text
    fields = dict(parse_qs(urlsplit(next_url).query))
    form = {k: v[0] for k, v in fields.items() if k in
            ("client_id", "redirect_uri", "response_type", "scope", "state")}
    r = await browser.post("/oauth/authorize", {**form, "decision": "approve"})
    assert r.status_code == 302
    back = parse_qs(urlsplit(r.headers["location"]).query)
    assert back["state"] == ["st8"]
    await run(app.log_in, code=back["code"][0], redirect_uri=REDIRECT, scopes=SCOPES,
              allow_http=True)
    return app, client_id, client_secret


async def test_a_whole_session_with_mastodon_py(site):
    alice, _, _ = await sign_in_with_the_app(site, "alice")
    bob, bob_client_id, bob_client_secret = await sign_in_with_the_app(site, "bob")

    me = await run(alice.account_verify_credentials)
    assert me.username == "alice"
    instance = await run(alice.instance)
    assert instance.version.startswith("4.2.0")

    # Photos with alt text, several to a post.
    # synchronous: Mastodon.py polls GET /api/v1/media/:id (206) until the large renditions
    # are made (200); the second is posted while it may still be processing (the post waits).
    first = await run(alice.media_post, jpeg(80, 60), mime_type="image/jpeg",
                      description="A red field", file_name="red.jpg", synchronous=True)
    second = await run(alice.media_post, jpeg(60, 80, (10, 120, 200)), mime_type="image/jpeg",
                       description="A blue field", file_name="blue.jpg")
    assert first.description == "A red field" and first.url and second.preview_url
    status = await run(alice.status_post, "Fields of colour #Colour", media_ids=[first, second])
    assert [m.description for m in status.media_attachments] == ["A red field", "A blue field"]
    for i in range(4):
        media = await run(alice.media_post, jpeg(40 + i, 40), mime_type="image/jpeg",
                          description=f"Square {i}", file_name="sq.jpg")
        await run(alice.status_post, f"Square {i} #colour", media_ids=[media])

    # Follow, then the home timeline, paged with fetch_next.
    relationship = await run(bob.account_follow, me.id)
    assert relationship.following
    page = await run(bob.timeline_home, limit=2)
    seen = [s.id for s in page]
    while True:
        page = await run(bob.fetch_next, page)
        if not page:
            break
        seen += [s.id for s in page]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    assert seen[-1] == status.id

    # Favourite and comment; the web page shows both.
    favourited = await run(bob.status_favourite, status.id)
    assert favourited.favourited and favourited.favourites_count == 1
    comment = await run(bob.status_post, "Lovely colours", in_reply_to_id=status.id)
    assert comment.in_reply_to_id == status.id
    context = await run(alice.status_context, status.id)
    assert [c.id for c in context.descendants] == [comment.id]
    photo_page = await site.client().get(f"/p/{status.id}")
    assert "Lovely colours" in photo_page.text and 'alt="A red field"' in photo_page.text

    # Notifications: the follow, the favourite and the comment, one each.
    notifications = await run(alice.notifications)
    assert [n.type for n in notifications] == ["mention", "favourite", "follow"]
    assert notifications[0].status.id == comment.id
    assert notifications[1].status.id == status.id

    # Search: people, hashtags, caption words.
    found = await run(bob.search_v2, "Fields", resolve=False)
    assert [s.id for s in found.statuses] == [status.id]
    found = await run(bob.search_v2, "#colo", resolve=False)
    assert [t.name for t in found.hashtags] == ["colour"]
    found = await run(bob.search_v2, "ali", resolve=False, result_type="accounts")
    assert [a.username for a in found.accounts] == ["alice"]

    # The hashtag timeline (case-insensitive), public without a token.
    tagged = await run(bob.timeline_hashtag, "COLOUR")
    assert len(tagged) == 5
    anonymous = mastodon.Mastodon(api_base_url=site.base_url)
    assert len(await run(anonymous.timeline_public)) == 5

    # Delete; it is gone from the web too.
    deleted = await run(bob.status_delete, comment.id)
    assert deleted.id == comment.id
    with pytest.raises(mastodon.MastodonNotFoundError):
        await run(bob.status, comment.id)

    # Revoke: the token stops working at once.
    token = bob.access_token
    await run(bob.revoke_access_token, allow_http=True)
    stale = mastodon.Mastodon(access_token=token, api_base_url=site.base_url)
    with pytest.raises(mastodon.MastodonUnauthorizedError):
        await run(stale.account_verify_credentials)
    assert bob_client_id and bob_client_secret


async def test_streaming_with_mastodon_py(site):
    alice, _, _ = await sign_in_with_the_app(site, "alice")
    bob, _, _ = await sign_in_with_the_app(site, "bob")
    me = await run(alice.account_verify_credentials)
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future = loop.create_future()

    class Listener(mastodon.StreamListener):
        def on_notification(self, notification):
            loop.call_soon_threadsafe(
                lambda: arrived.done() or arrived.set_result(notification)
            )

    handle = await run(alice.stream_user, Listener(), run_async=True, reconnect_async=False)
    try:
        for _ in range(100):  # until the stream is open
            if handle.is_receiving():
                break
            await asyncio.sleep(0.05)
        await run(bob.account_follow, me.id)
        notification = await asyncio.wait_for(arrived, 10)
        assert notification.type == "follow" and notification.account.username == "bob"
    finally:
        await run(handle.close)
