"""Profile, password and device settings, and the public profile page."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import DEFAULT_PASSWORD, form_error

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "images"


def media_files(site) -> list[Path]:
    return sorted(p for p in site.ctx.settings.media_dir.rglob("*") if p.is_file())


async def test_edit_profile_and_see_it_on_the_public_page(site):
    c = await site.user_client("nina")
    r = await c.post("/settings/profile", {"display_name": "  Nina   Simone ", "bio": "Sings <b>jazz</b>", "locale": ""})
    assert r.status_code == 303 and r.headers["location"] == "/settings/profile?saved=1"
    page = await site.client().get("/@nina")
    assert page.status_code == 200
    assert "Nina Simone" in page.text
    assert "Sings &lt;b&gt;jazz&lt;/b&gt;" in page.text and "<b>jazz</b>" not in page.text
    assert 'property="og:title"' in page.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("display_name", "n" * 65, "Names can be at most 64"), ("bio", "b" * 301, "Bios can be at most 300"),
     ("locale", "xx_XX", "Choose a language")],
)
async def test_profile_rejects_bad_fields_and_keeps_the_old_values(site, field, value, message):
    c = await site.user_client("olga")
    await c.post("/settings/profile", {"display_name": "Olga", "bio": "hello", "locale": ""})
    data = {"display_name": "Olga", "bio": "hello", "locale": "", field: value}
    r = await c.post("/settings/profile", data)
    assert r.status_code == 400
    assert any(message in m for m in form_error(r.text))
    user = await site.ctx.accounts.by_username("olga")
    assert (user.display_name, user.bio, user.locale) == ("Olga", "hello", None)


def jpeg_bytes(size=(400, 300), color=(200, 30, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


async def test_avatar_upload_is_processed_stored_and_served(site):
    c = await site.user_client("pete")
    r = await c.http.post(
        "/settings/profile",
        data={"_xsrf": await c.xsrf(), "display_name": "", "bio": "", "locale": ""},
        files={"avatar": ("me.jpg", (FIXTURES / "camera-gps.jpg").read_bytes(), "image/jpeg")},
    )
    assert r.status_code == 303, r.text
    user = await site.ctx.accounts.by_username("pete")
    assert user.avatar_key and user.avatar_small_key
    media = await c.get(f"/media/{user.avatar_key}")
    assert media.status_code == 200
    assert media.headers["content-type"] == "image/jpeg"
    assert media.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in media.headers["cache-control"]
    img = Image.open(io.BytesIO(media.content))
    assert img.size == (320, 320)
    assert not img.getexif()  # the GPS and camera tags did not survive
    assert b"GPS" not in media.content
    page = await c.get("/@pete")
    assert f"/media/{user.avatar_key}" in page.text


async def test_bad_avatar_is_refused_and_nothing_is_stored(site):
    c = await site.user_client("quin")
    r = await c.http.post(
        "/settings/profile",
        data={"_xsrf": await c.xsrf(), "display_name": "Quin", "bio": "", "locale": ""},
        files={"avatar": ("evil.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "image/svg+xml")},
    )
    assert r.status_code == 400
    assert form_error(r.text)
    assert media_files(site) == []
    user = await site.ctx.accounts.by_username("quin")
    assert user.avatar_key is None and user.display_name == ""


async def test_replacing_and_removing_avatar_cleans_up_files(site):
    c = await site.user_client("rosa")
    for color in ((10, 200, 10), (10, 10, 200)):
        r = await c.http.post(
            "/settings/profile",
            data={"_xsrf": await c.xsrf(), "display_name": "", "bio": "", "locale": ""},
            files={"avatar": ("a.jpg", jpeg_bytes(color=color), "image/jpeg")},
        )
        assert r.status_code == 303
    assert len(media_files(site)) == 2  # the first avatar's two files are gone
    r = await c.post("/settings/profile", {"display_name": "", "bio": "", "locale": "", "remove_avatar": "on"})
    assert r.status_code == 303
    assert media_files(site) == []
    assert (await site.ctx.accounts.by_username("rosa")).avatar_key is None


async def test_change_password_ends_every_other_session(site):
    phone = await site.user_client("sam")
    laptop = site.client()
    assert (await laptop.login("sam")).status_code == 303
    r = await phone.post("/settings/password", {"current_password": DEFAULT_PASSWORD, "new_password": "new password 1", "confirm_password": "new password 1"})
    assert r.status_code == 303
    assert (await phone.get("/settings/password")).status_code == 200  # this device got a new session
    assert (await laptop.get("/settings/profile")).status_code == 302  # the other one is out
    assert (await site.client().login("sam", DEFAULT_PASSWORD)).status_code == 400
    assert (await site.client().login("sam", "new password 1")).status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [("wrong password", "new password 1", "new password 1", "current password is not right"),
     (DEFAULT_PASSWORD, "short", "short", "at least 8"),
     (DEFAULT_PASSWORD, "new password 1", "new password 2", "do not match")],
)
async def test_change_password_bad_input(site, current, new, confirm, message):
    c = await site.user_client("tina")
    before = (await site.ctx.accounts.by_username("tina")).password_hash
    r = await c.post("/settings/password", {"current_password": current, "new_password": new, "confirm_password": confirm})
    assert r.status_code == 400
    assert any(message in m for m in form_error(r.text))
    assert (await site.ctx.accounts.by_username("tina")).password_hash == before


async def test_sessions_page_revoke_one_and_all_others(site):
    a = await site.user_client("uma")
    b, d = site.client(), site.client()
    await b.login("uma")
    await d.login("uma")
    page = await a.get("/settings/sessions")
    assert page.status_code == 200
    assert page.text.count('class="session-item"') == 3
    assert "This device" in page.text
    sessions = await site.ctx.accounts.sessions_of(await site.ctx.accounts.by_username("uma"))
    # Signed in in order a, b, d: the ids are time-ordered, so the middle one is b's.
    b_session = sorted(sessions, key=lambda s: s.id)[1]
    r = await a.post(f"/settings/sessions/{b_session.id}/revoke")
    assert r.status_code == 303
    remaining = await site.ctx.accounts.sessions_of(await site.ctx.accounts.by_username("uma"))
    assert len(remaining) == 2 and b_session.id not in {s.id for s in remaining}
    assert (await b.get("/settings/profile")).status_code == 302
    r = await a.post("/settings/sessions/revoke-others")
    assert r.status_code == 303
    assert (await d.get("/settings/profile")).status_code == 302
    assert (await a.get("/settings/profile")).status_code == 200


async def test_cannot_revoke_someone_elses_session(site):
    victim = await site.user_client("vera")
    await site.user_client("walt")
    attacker = site.clients[-1]
    victim_session = (await site.ctx.accounts.sessions_of(await site.ctx.accounts.by_username("vera")))[0]
    r = await attacker.post(f"/settings/sessions/{victim_session.id}/revoke")
    assert r.status_code == 404
    assert (await victim.get("/settings/profile")).status_code == 200


async def test_unknown_profile_is_a_friendly_404(site):
    r = await site.client().get("/@no_such_person")
    assert r.status_code == 404
    assert "No one here goes by that name." in r.text


async def test_removing_an_avatar_keeps_a_photo_with_the_same_bytes(site):
    # A small square photo gives the same JPEG as photo thumbnail and as avatar: one stored
    # file, referenced by a rendition of one person's post and by another person's avatar.
    same = jpeg_bytes(size=(150, 150), color=(40, 120, 220))
    poster = await site.user_client("uma")
    r = await poster.http.post(
        "/upload",
        data={"_xsrf": await poster.xsrf(), "caption": "blue"},
        files=[("photo", ("blue.jpg", same, "image/jpeg"))],
    )
    assert r.status_code == 303, r.text
    post_id = int(r.headers["location"].rsplit("/", 1)[1])
    view = await site.ctx.photos.get_post(post_id, None)
    photo_keys = {r.key for r in view.post.photos[0].renditions}

    other = await site.user_client("vic")
    r = await other.http.post(
        "/settings/profile",
        data={"_xsrf": await other.xsrf(), "display_name": "", "bio": "", "locale": ""},
        files={"avatar": ("me.jpg", same, "image/jpeg")},
    )
    assert r.status_code == 303, r.text
    vic = await site.ctx.accounts.by_username("vic")
    shared = photo_keys & {vic.avatar_key, vic.avatar_small_key}
    assert shared, "the test needs the avatar and the photo to share a stored file"

    # Replacing the avatar, then removing it: neither may take the photo's file with it.
    r = await other.http.post(
        "/settings/profile",
        data={"_xsrf": await other.xsrf(), "display_name": "", "bio": "", "locale": ""},
        files={"avatar": ("new.jpg", jpeg_bytes(color=(1, 2, 3)), "image/jpeg")},
    )
    assert r.status_code == 303
    r = await other.post("/settings/profile", {"display_name": "", "bio": "", "locale": "", "remove_avatar": "on"})
    assert r.status_code == 303
    for key in photo_keys:
        assert (await site.client().get(f"/media/{key}")).status_code == 200, key
    assert (await site.ctx.photos.gc_media(dry_run=True)) == []

    # And the other way round: the post goes, the avatar that shares its bytes stays.
    r = await other.http.post(
        "/settings/profile",
        data={"_xsrf": await other.xsrf(), "display_name": "", "bio": "", "locale": ""},
        files={"avatar": ("me.jpg", same, "image/jpeg")},
    )
    assert r.status_code == 303
    assert (await poster.post(f"/p/{post_id}/delete", {})).status_code in (302, 303)
    vic = await site.ctx.accounts.by_username("vic")
    for key in (vic.avatar_key, vic.avatar_small_key):
        assert (await site.client().get(f"/media/{key}")).status_code == 200, key
    # Nothing else is left behind: only the avatar's files are stored.
    assert {str(p.relative_to(site.ctx.settings.media_dir)) for p in media_files(site)} == {
        vic.avatar_key, vic.avatar_small_key}


async def test_sessions_page_names_browsers_and_systems(site):
    mac_chrome = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36"
    )
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
    )
    a = await site.user_client("ulla")
    for agent in (mac_chrome, iphone, ""):
        other = site.client()
        other.http.headers["User-Agent"] = agent
        await other.login("ulla")
    page = (await a.get("/settings/sessions")).text
    assert "Chrome on macOS" in page and "Safari on iOS" in page and "Unknown device" in page
    # The raw string is only the tooltip.
    assert "AppleWebKit" not in re.sub(r'title="[^"]*"', "", page)
    zh = (await a.get("/settings/sessions", headers={"Accept-Language": "zh-CN"})).text
    assert "macOS 上的 Chrome" in zh


@pytest.mark.parametrize("what", ["photo", "avatar"])
async def test_a_file_deleted_between_storing_and_saving_is_stored_again(site, monkeypatch, what):
    """Equal bytes share a key, so a delete elsewhere (the other owner of the same bytes
    removing theirs) can land between our put and our commit. The rows must never point at a
    missing file: the saving transaction puts back whatever went missing."""
    storage = site.ctx.storage
    real_put = storage.put

    lost: set[str] = set()

    async def put_then_lose_it(data, *, ext, content_type):
        key = await real_put(data, ext=ext, content_type=content_type)
        if key not in lost:
            lost.add(key)
            await storage.delete(key)  # what a concurrent delete that saw no reference does
        return key

    c = await site.user_client("wes")
    monkeypatch.setattr(storage, "put", put_then_lose_it)
    if what == "photo":
        r = await c.http.post(
            "/upload",
            data={"_xsrf": await c.xsrf(), "caption": ""},
            files=[("photo", ("p.jpg", jpeg_bytes(), "image/jpeg"))],
        )
        assert r.status_code == 303, r.text
        view = await site.ctx.photos.get_post(int(r.headers["location"].rsplit("/", 1)[1]), None)
        keys = {r.key for r in view.post.photos[0].renditions}
    else:
        r = await c.http.post(
            "/settings/profile",
            data={"_xsrf": await c.xsrf(), "display_name": "", "bio": "", "locale": ""},
            files={"avatar": ("a.jpg", jpeg_bytes(), "image/jpeg")},
        )
        assert r.status_code == 303, r.text
        wes = await site.ctx.accounts.by_username("wes")
        keys = {wes.avatar_key, wes.avatar_small_key}
    monkeypatch.undo()
    for key in keys:
        assert (await site.client().get(f"/media/{key}")).status_code == 200, key
