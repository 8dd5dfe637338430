"""The one visibility rule on every feed surface: home, explore, popular, tags, profile grids, and
the fragments infinite scroll fetches. A private account's posts reach only itself and its
approved followers; a block, either way, hides everything."""

from __future__ import annotations

from dataclasses import dataclass

from tests.feeds.support import FRAGMENT, approve_all, share
from tests.helpers import Client, make_private

# A cursor above every id: the fragment of "the page after a post newer than all of them".
TOP = str(2**62)


@dataclass
class World:
    owner: Client  # private, approved fan
    fan: Client  # follows owner (approved)
    asker: Client  # asked to follow owner, not approved
    stranger: Client
    public: Client
    visitor: Client  # signed out
    secret: int  # owner's post, #shared
    open_post: int  # public's post, #shared


async def build_world(site) -> World:
    owner = await site.user_client("owner")
    fan = await site.user_client("fan")
    asker = await site.user_client("asker")
    stranger = await site.user_client("stranger")
    public = await site.user_client("public")
    await make_private(owner)
    await fan.post("/@owner/follow")
    await approve_all(site, owner)
    await asker.post("/@owner/follow")  # pending
    await fan.post("/@public/follow")
    await stranger.post("/@public/follow")
    secret = await share(owner, "only for friends #shared")
    open_post = await share(public, "for everyone #shared")
    return World(owner, fan, asker, stranger, public, site.client(), secret, open_post)


def surfaces(username: str, fragment: bool):
    """Every surface (and its fragment) that could list a post of ``username``."""
    pages = ["/explore", "/explore?tab=popular", "/tags/shared", f"/@{username}"]
    if fragment:
        return [
            (f"/?max_id={TOP}", FRAGMENT),
            (f"/explore?max_id={TOP}", FRAGMENT),
            (f"/explore?tab=popular&cursor=999999.{TOP}", FRAGMENT),
            (f"/tags/shared?max_id={TOP}", FRAGMENT),
            (f"/@{username}?max_id={TOP}", FRAGMENT),
        ]
    return [("/", None)] + [(p, None) for p in pages]


async def shows(client: Client, post_id: int, username: str, *, fragment=False) -> dict:
    found = {}
    for url, headers in surfaces(username, fragment):
        response = await client.get(url, headers=headers)
        assert response.status_code in (200, 404), (url, response.status_code)
        found[url] = response.status_code == 200 and f'href="/p/{post_id}"' in response.text
    return found


async def test_private_posts_reach_only_the_owner_and_approved_followers(site):
    w = await build_world(site)
    for fragment in (False, True):
        owner = await shows(w.owner, w.secret, "owner", fragment=fragment)
        fan = await shows(w.fan, w.secret, "owner", fragment=fragment)
        # Explore is for public accounts only; home, tags and the profile follow the rule.
        explore = {u for u in owner if u.startswith("/explore")}
        assert {u for u, seen in owner.items() if not seen} == explore
        assert {u for u, seen in fan.items() if not seen} == explore
        for who in (w.asker, w.stranger, w.public, w.visitor):
            assert not any((await shows(who, w.secret, "owner", fragment=fragment)).values())
    # The tag page's count agrees with what each one sees.
    assert "2 posts" in (await w.fan.get("/tags/shared")).text
    assert "1 post" in (await w.stranger.get("/tags/shared")).text
    assert "1 post" in (await w.visitor.get("/tags/shared")).text


async def test_public_posts_reach_everyone_until_a_block(site):
    w = await build_world(site)
    for who in (w.fan, w.stranger, w.visitor, w.owner):
        seen = await shows(who, w.open_post, "public")
        # Home: the followers' feeds, and the landing page's preview of explore.
        assert seen.pop("/") is (who is not w.owner)
        assert all(seen.values()), seen
    # The author blocks the stranger: gone everywhere, the profile is a 404.
    assert (await w.public.post("/@stranger/block")).status_code == 303
    for fragment in (False, True):
        assert not any((await shows(w.stranger, w.open_post, "public", fragment=fragment)).values())
    assert (await w.stranger.get("/@public")).status_code == 404
    assert (await w.stranger.get(f"/@public?max_id={TOP}", headers=FRAGMENT)).status_code == 404
    # The other way round: the fan blocks the author and no longer sees their posts either.
    assert (await w.fan.post("/@public/block")).status_code == 303
    for fragment in (False, True):
        assert not any((await shows(w.fan, w.open_post, "public", fragment=fragment)).values())
    # Unblocking brings the public posts back (but not the follow).
    await w.public.post("/@stranger/unblock")
    seen = await shows(w.stranger, w.open_post, "public")
    assert not seen.pop("/") and all(seen.values())


async def test_a_private_profile_shows_its_header_but_not_its_posts(site):
    w = await build_world(site)
    for who in (w.stranger, w.visitor, w.asker):
        page = await who.get("/@owner")
        assert page.status_code == 200
        assert "This account is private" in page.text
        assert 'class="profile-header"' in page.text and "<strong>1</strong> post" in page.text
        assert 'class="grid-item"' not in page.text and f"/p/{w.secret}" not in page.text
    assert "Your request to follow is waiting" in (await w.asker.get("/@owner")).text
    fan_page = await w.fan.get("/@owner")
    assert (
        "This account is private" not in fan_page.text and f'href="/p/{w.secret}"' in fan_page.text
    )


async def test_blocking_hides_the_blockers_profile_and_shows_unblock_to_the_blocker(site):
    w = await build_world(site)
    await w.owner.post("/@stranger/block")
    assert (await w.stranger.get("/@owner")).status_code == 404
    page = await w.owner.get("/@stranger")
    assert page.status_code == 200
    assert 'action="/@stranger/unblock"' in page.text and "You blocked @stranger." in page.text
