"""Per-user rate limits on likes and comments (429 with Retry-After), and the token buckets
behind them."""

from __future__ import annotations

import html

import pytest

from tests.helpers import form_error, new_post
from tests.interactions.support import JSON, post_row, rows
from tornagram.errors import TooManyRequests
from tornagram.graph.models import Comment
from tornagram.ratelimit import DEFAULT_RATES, Rate, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(site):
    fake = FakeClock()
    site.ctx.rate_limits.clock = fake
    assert site.ctx.interactions.limiter is site.ctx.rate_limits  # one set of buckets
    return fake


async def test_likes_burst_30_then_one_a_second(site, image_bytes, clock):
    c = await site.user_client("abe")
    post_id = await new_post(c, image_bytes)
    for i in range(30):
        r = await c.post(f"/p/{post_id}/{'unlike' if i % 2 else 'like'}", headers=JSON)
        assert r.status_code == 200, i
    r = await c.post(f"/p/{post_id}/like", headers=JSON)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["error"]["message"] == (
        "You're doing that too fast. Please wait 1 second and try again."  # not "1 seconds"
    )
    zh = await c.post(f"/p/{post_id}/like", headers={**JSON, "Accept-Language": "zh-CN"})
    assert zh.json()["error"]["message"] == "操作太快了，请等待 1 秒后再试。"
    assert (await post_row(site, post_id)).like_count == 0  # refused before anything changed
    r = await c.post(f"/p/{post_id}/like")  # a plain form gets the error page, same status
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    clock.now += 1
    assert (await c.post(f"/p/{post_id}/like", headers=JSON)).status_code == 200
    # Another person has their own bucket.
    other = await site.user_client("bo")
    assert (await other.post(f"/p/{post_id}/like", headers=JSON)).json()["like_count"] == 2


async def test_comments_burst_10_then_one_every_3_seconds(site, image_bytes, clock):
    c = await site.user_client("cy")
    post_id = await new_post(c, image_bytes)
    for i in range(10):
        assert (await c.post(f"/p/{post_id}/comments", {"body": f"c{i}"})).status_code == 303
    r = await c.post(f"/p/{post_id}/comments", {"body": "one too many"}, headers=JSON)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    # Without JavaScript the page comes back with the message, keeping the text.
    r = await c.post(f"/p/{post_id}/comments", {"body": "one too many"})
    assert r.status_code == 429 and r.headers["Retry-After"] == "3"
    assert "Please wait 3 seconds and try again." in form_error(html.unescape(r.text))[0]
    assert "one too many</textarea>" in r.text
    assert await rows(site, Comment) == 10
    assert (await post_row(site, post_id)).comment_count == 10
    clock.now += 3
    assert (await c.post(f"/p/{post_id}/comments", {"body": "now ok"})).status_code == 303


async def test_a_refused_comment_costs_no_token(site, image_bytes, clock):
    c = await site.user_client("dee")
    post_id = await new_post(c, image_bytes)
    for _ in range(12):
        assert (await c.post(f"/p/{post_id}/comments", {"body": " "})).status_code == 400
    assert (await c.post(f"/p/{post_id}/comments", {"body": "real"})).status_code == 303


def test_bucket_refills_and_says_how_long_to_wait():
    clock = FakeClock()
    limiter = RateLimiter({"x": Rate(burst=2, per_secs=4.0)}, clock=clock)
    limiter.check("x", 1)
    limiter.check("x", 1)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("x", 1)
    assert refused.value.retry_after_secs == 4 and refused.value.status == 429
    clock.now += 3
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("x", 1)
    assert refused.value.retry_after_secs == 1
    clock.now += 1
    limiter.check("x", 1)
    limiter.check("x", 2)  # keys are independent


def test_idle_buckets_are_forgotten_and_memory_is_bounded():
    clock = FakeClock()
    limiter = RateLimiter({"x": Rate(burst=3, per_secs=1.0)}, clock=clock, max_keys=50)
    for user_id in range(40):
        limiter.check("x", user_id)
    assert len(limiter) == 40
    clock.now += 1  # each used one token of three: full again after a second
    for user_id in range(100, 120):
        limiter.check("x", user_id)
    # Each check forgets a few refilled buckets, so idle ones drain away as traffic goes on.
    assert len(limiter) < 40
    for user_id in range(1000, 1200):
        limiter.check("x", user_id)
    assert len(limiter) <= 50
    # Forgetting a full bucket changes nothing: a returning user still has the full burst.
    clock.now += 10
    for _ in range(3):
        limiter.check("x", 5)
    with pytest.raises(TooManyRequests):
        limiter.check("x", 5)


def test_default_rates():
    assert DEFAULT_RATES["like"] == Rate(burst=30, per_secs=1.0)
    assert DEFAULT_RATES["comment"] == Rate(burst=10, per_secs=3.0)


async def test_live_comments_and_room_messages_share_the_send_bucket_in_the_services(
    site, image_bytes, clock
):
    """However a message arrives (the socket, the room's form), the service takes the token."""
    assert site.ctx.rooms.limiter is site.ctx.rate_limits
    c = await site.user_client("sal")
    post_id = await new_post(c, image_bytes)
    sal = await site.ctx.accounts.by_username("sal")
    await site.ctx.rooms.open_room(sal, "chat", "Chat", None)
    for i in range(DEFAULT_RATES["send"].burst):
        if i % 2:
            await site.ctx.rooms.say(sal, "chat", f"hi {i}")
        else:
            await site.ctx.interactions.add_comment(sal, post_id, f"hi {i}", live=True)
    with pytest.raises(TooManyRequests):
        await site.ctx.rooms.say(sal, "chat", "one too many")
    with pytest.raises(TooManyRequests):
        await site.ctx.interactions.add_comment(sal, post_id, "one too many", live=True)
    # A comment from the photo page's form is not danmaku: only its own bucket applies.
    await site.ctx.interactions.add_comment(sal, post_id, "from the form")
    clock.now += DEFAULT_RATES["send"].per_secs
    await site.ctx.rooms.say(sal, "chat", "after a second")
