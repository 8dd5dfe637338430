"""Whatever a file makes the decoders raise is a refusal with a reason, never a 500; camera
data that cannot be read is dropped and the photo kept."""

from __future__ import annotations

from tests.helpers import post_id_from, upload
from tests.hostile.craft import exif_with_double, jpeg_with_exif, without_chunk
from tornagram.photos import imaging
from tornagram.photos.camera import TAG_EXPOSURE_TIME, TAG_F_NUMBER

JSON = {"Accept": "application/json"}


async def test_palette_png_without_plte_is_refused_with_a_reason(site, image_bytes):
    c = await site.user_client("pia")
    broken = without_chunk(image_bytes("palette.png"), b"PLTE")
    r = await upload(c, [("palette.png", broken)], json=True)
    assert r.status_code == 400, r.text
    assert imaging.MESSAGE_CORRUPT.split(".")[0] in r.json()["error"]["message"]
    r = await upload(c, [("palette.png", broken)])
    assert r.status_code == 400


async def test_exposure_time_as_a_tiny_double_drops_the_field_not_the_photo(site):
    c = await site.user_client("ezra")
    for tag, value in ((TAG_EXPOSURE_TIME, 5e-324), (TAG_EXPOSURE_TIME, float("nan")),
                       (TAG_F_NUMBER, 1e308)):  # fmt: skip
        r = await upload(c, [("shot.jpg", jpeg_with_exif(exif_with_double(tag, value)))])
        assert r.status_code == 303, (tag, value, r.text)
        assert (await c.get(f"/p/{post_id_from(r)}")).status_code == 200
