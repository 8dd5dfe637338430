"""Chinese read in context: the words on the page, not only in the table."""

from __future__ import annotations

from tests.helpers import new_post


async def test_zh_tells_following_from_follow_and_says_just_now(site, image_bytes):
    zh = {"Accept-Language": "zh-CN"}
    owner = await site.user_client("zhen")
    fan = await site.user_client("fang")
    before = (await fan.get("/@zhen", headers=zh)).text
    assert ">关注</button>" in before
    await fan.post("/@zhen/follow")
    after = (await fan.get("/@zhen", headers=zh)).text
    assert ">已关注</button>" in after and ">关注</button>" not in after
    post_id = await new_post(owner, image_bytes)
    await fan.post(f"/p/{post_id}/comments", {"body": "好看"})
    page = (await fan.get(f"/p/{post_id}", headers=zh)).text
    assert "刚刚" in page and "0 秒前" not in page
