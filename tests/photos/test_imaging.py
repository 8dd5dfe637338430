"""process_photo / process_avatar: the security rules of a photo upload, and what comes out.

Each rule has a test that fails if the rule is broken: type decided by decoding, size checked
before decoding, truncation refused, no metadata out, colours and orientation right.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import pickle
import random
import re
import struct
import warnings
import zlib
from concurrent.futures import ProcessPoolExecutor

import blurhash
import pytest
from PIL import (
    BmpImagePlugin,
    Image,
    ImageChops,
    ImageCms,
    ImageFile,
    ImageOps,
    ImageStat,
    JpegImagePlugin,
    TiffImagePlugin,
)

from tornagram.photos import imaging
from tornagram.photos.camera import CameraInfo, camera_info_from_exif
from tornagram.photos.imaging import (
    REJECTION_MESSAGES,
    ImageRejected,
    ProcessedImage,
    RejectionReason,
    Rendition,
    process_avatar,
    process_photo,
    sniff_format,
)

PHOTO_NAMES = ("full", "1080", "640", "thumb", "thumb640")
EXPECTED_SOURCE_FORMATS = {
    ".jpg": "jpeg",
    ".png": "png",
    ".gif": "gif",
    ".webp": "webp",
    ".heic": "heif",
}
# Text the fixtures carry in metadata; none of it may reach an output file.
LEAK_MARKERS = [
    b"Exif\x00\x00",
    b"http://ns.adobe.com/xap",
    b"fixture comment",
    b"Fixture Camera Co.",
    b"FX-100",
    b"fixture-firmware",
]
JPEG_ALLOWED_MARKERS = {0xC0, 0xC2, 0xC4, 0xDA, 0xDB, 0xDD, 0xE0} | set(range(0xD0, 0xD8))
WEBP_ALLOWED_CHUNKS = {b"VP8 ", b"VP8L"}


# ---- helpers ----


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def decode(rendition: Rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.data), formats=["JPEG", "WEBP"])
    image.load()
    return image


def rgb_at(rendition: Rendition, x_frac: float, y_frac: float) -> tuple[int, int, int]:
    image = decode(rendition).convert("RGB")
    x = min(image.width - 1, int(image.width * x_frac))
    y = min(image.height - 1, int(image.height * y_frac))
    return image.getpixel((x, y))


def close(a, b, tolerance: int) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Average per-channel difference (0-255) of two pictures, blind to JPEG noise."""
    size = (64, 48)
    a = a.convert("RGB").resize(size, Image.Resampling.BOX)
    b = b.convert("RGB").resize(size, Image.Resampling.BOX)
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def on_white(image: Image.Image) -> Image.Image:
    flat = Image.new("RGBA", image.size, (255, 255, 255, 255))
    flat.alpha_composite(image.convert("RGBA"))
    return flat.convert("RGB")


def red_centroid(image: Image.Image) -> tuple[float, float]:
    """Where the red block is, as fractions of width and height."""
    small = image.convert("RGB").resize((90, 90))
    raw = small.tobytes()
    points = [
        (i % 90, i // 90)
        for i in range(90 * 90)
        if raw[3 * i] > 150 and raw[3 * i + 1] < 90 and raw[3 * i + 2] < 90
    ]
    assert len(points) > 40, "no red block found"
    return (
        sum(x for x, _ in points) / len(points) / 90,
        sum(y for _, y in points) / len(points) / 90,
    )


def jpeg_markers(data: bytes) -> list[int]:
    """Every marker in the file, including those after the first scan."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF, f"lost sync at {pos}"
        marker = data[pos + 1]
        if marker == 0xD9:
            break
        markers.append(marker)
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        pos += 2 + length
        if marker == 0xDA:  # skip entropy-coded data up to the next real marker
            while not (data[pos] == 0xFF and data[pos + 1] not in (0x00, *range(0xD0, 0xD8))):
                pos += 1
    return markers


def webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        fourcc, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        chunks.append(fourcc)
        pos += 8 + size + (size & 1)
    return chunks


def assert_pixels_only(rendition: Rendition) -> None:
    image = decode(rendition)
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile"):
        assert key not in image.info, f"{rendition.name}/{rendition.fmt} carries {key}"
    assert dict(image.getexif()) == {}
    for marker in LEAK_MARKERS:
        assert marker not in rendition.data, f"{rendition.name}/{rendition.fmt} leaks {marker}"
    if rendition.fmt == "jpeg":
        stray = set(jpeg_markers(rendition.data)) - JPEG_ALLOWED_MARKERS
        assert not stray, f"unexpected JPEG segments {sorted(map(hex, stray))}"
    else:
        assert set(webp_chunks(rendition.data)) <= WEBP_ALLOWED_CHUNKS


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size; its pixel data is a few bytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is rewritten to claim another size."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (9, 9, 9)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def rejection(data: bytes, **kwargs) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        process_photo(data, **kwargs)
    return caught.value


def swapped_primaries_profile() -> bytes:
    """sRGB with its red and blue primaries exchanged: pure red in it is pure blue in sRGB."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", profile[128:132])[0]
    entries = {bytes(profile[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    return bytes(profile)


# ---- every fixture: renditions present, decodable, right-sized, and carrying no metadata ----


def test_every_fixture_gives_every_rendition_in_both_formats(processed, fixture_image_name):
    result = processed(fixture_image_name)

    suffix = os.path.splitext(fixture_image_name)[1].lower()
    assert result.source_format == EXPECTED_SOURCE_FORMATS[suffix]
    present = {(r.name, r.fmt) for r in result.renditions}
    assert present == {(name, fmt) for name in PHOTO_NAMES for fmt in ("jpeg", "webp")}
    for rendition in result.renditions:
        image = decode(rendition)
        assert image.format == rendition.fmt.upper()
        assert image.size == (rendition.width, rendition.height)
        assert image.mode == "RGB"
        assert rendition.content_type == f"image/{rendition.fmt}"
        assert rendition.ext == {"jpeg": "jpg", "webp": "webp"}[rendition.fmt]
        if rendition.fmt == "jpeg":
            assert image.info.get("progressive") or image.info.get("progression")


def test_every_rendition_of_every_fixture_is_pixels_only(processed, fixture_image_name):
    for rendition in processed(fixture_image_name).renditions:
        assert_pixels_only(rendition)


def test_rendition_sizes_follow_the_rules_and_never_upscale(processed, fixture_image_name):
    result = processed(fixture_image_name)
    full = result.rendition("full")

    assert max(full.width, full.height) <= 2048
    assert full.width <= result.width and full.height <= result.height
    # Aspect ratio kept within rounding.
    assert (
        abs(full.width / full.height - result.width / result.height)
        < 0.01 * (result.width / result.height) + 1 / full.height
    )
    for name, width_px in (("1080", 1080), ("640", 640)):
        rendition = result.rendition(name)
        assert rendition.width == min(width_px, full.width)
        assert abs(rendition.height - full.height * rendition.width / full.width) <= 1
    thumb = result.rendition("thumb")
    assert thumb.width == thumb.height == min(320, result.width, result.height)


def test_the_same_input_gives_the_same_bytes(image_bytes):
    # Content-addressed storage shares files between equal renditions only if this holds.
    data = image_bytes("camera-gps.jpg")
    first, second = process_photo(data), process_photo(data)
    assert [r.data for r in first.renditions] == [r.data for r in second.renditions]


def test_a_size_the_image_does_not_reach_reuses_the_larger_renditions_bytes(processed):
    result = processed("cmyk.jpg")  # 800 x 600: "1080" cannot be wider than "full"
    assert result.rendition("1080").data == result.rendition("full").data
    assert result.rendition("640").width == 640


def test_placeholders_are_a_valid_blurhash_and_a_hex_colour(processed, fixture_image_name):
    result = processed(fixture_image_name)
    assert blurhash.is_valid_blurhash(result.blurhash)
    assert re.fullmatch(r"#[0-9a-f]{6}", result.dominant_color)


def test_dominant_colour_is_the_colour_covering_most_of_the_image():
    image = Image.new("RGB", (400, 300), (20, 60, 200))
    image.paste((230, 30, 30), (0, 0, 120, 300))
    result = process_photo(encode(image, "PNG"))
    colour = tuple(int(result.dominant_color[i : i + 2], 16) for i in (1, 3, 5))
    assert close(colour, (20, 60, 200), 12)


def test_results_pickle_for_the_process_pool(processed):
    result = processed("camera-gps.jpg")
    assert pickle.loads(pickle.dumps(result)) == result


# ---- sizes ----


def test_tiny_image_is_never_upscaled(processed):
    result = processed("tiny.png")
    assert (result.width, result.height) == (48, 48)
    assert {(r.width, r.height) for r in result.renditions} == {(48, 48)}


def test_panorama_sizes(processed):
    result = processed("panorama.jpg")
    sizes = {r.name: (r.width, r.height) for r in result.renditions}
    assert (result.width, result.height) == (6000, 1000)
    assert sizes == {
        "full": (2048, 341),
        "1080": (1080, 180),
        "640": (640, 107),
        "thumb": (320, 320),
        "thumb640": (640, 640),
    }


def test_very_wide_panorama_thumb_is_still_full_size():
    # 2048 px wide, "full" is 51 px tall; the thumbnail must come from a taller image.
    image = Image.new("RGB", (8000, 200), (200, 200, 200))
    result = process_photo(encode(image, "PNG"))
    assert result.rendition("full").height == 51
    thumb = result.rendition("thumb")
    assert (thumb.width, thumb.height) == (200, 200)


def test_large_png_full_is_exactly_2048():
    result = process_photo(encode(Image.new("RGB", (3000, 2000), (1, 2, 3)), "PNG"))
    full = result.rendition("full")
    assert (full.width, full.height) == (2048, 1365)


def test_large_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    requested = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy_draft(self, mode, size):
        requested.append(size)
        return real_draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy_draft)
    big = Image.linear_gradient("L").resize((4096, 3072)).convert("RGB")
    result = process_photo(encode(big, "JPEG", quality=85))

    assert requested == [(2048, 1536)]
    assert (result.width, result.height) == (4096, 3072)
    full = result.rendition("full")
    assert (full.width, full.height) == (2048, 1536)


def test_jpeg_too_small_for_reduced_scale_is_decoded_in_full(monkeypatch):
    requested = []
    monkeypatch.setattr(
        JpegImagePlugin.JpegImageFile, "draft", lambda self, mode, size: requested.append(size)
    )
    image = Image.new("RGB", (3000, 2000), (90, 90, 90))
    result = process_photo(encode(image, "JPEG"))
    assert requested == []  # at 1/2 it would be 1500 px, too far below 2048
    assert (result.rendition("full").width, result.rendition("full").height) == (2048, 1365)


# ---- orientation, colour, transparency, bit depth, frames ----


def test_orientation_6_shows_portrait_with_red_block_top_right(processed):
    result = processed("orientation-6.jpg")
    assert (result.width, result.height) == (900, 1200)
    for name in PHOTO_NAMES[:3]:
        x, y = red_centroid(decode(result.rendition(name)))
        assert x > 0.5 and y < 0.5, (name, x, y)


def test_orientation_8_shows_portrait_with_red_block_bottom_left(processed):
    result = processed("orientation-8.jpg")
    assert (result.width, result.height) == (900, 1200)
    x, y = red_centroid(decode(result.rendition("full")))
    assert x < 0.5 and y > 0.5, (x, y)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_matches_pillows_exif_transpose(orientation):
    image = Image.new("RGB", (300, 200), (240, 240, 240))
    image.paste((220, 20, 20), (0, 0, 100, 70))  # red, top left
    image.paste((20, 20, 220), (200, 130, 300, 200))  # blue, bottom right
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(image, "JPEG", quality=95, exif=exif.tobytes())
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")

    result = process_photo(data)
    full = decode(result.rendition("full"))
    assert full.size == expected.size == (result.width, result.height)
    for x_frac in (0.1, 0.5, 0.9):
        for y_frac in (0.1, 0.5, 0.9):
            point = (int(expected.width * x_frac), int(expected.height * y_frac))
            assert close(full.getpixel(point), expected.getpixel(point), 24), point


def test_cmyk_comes_out_as_srgb_not_inverted(processed, image_bytes):
    result = processed("cmyk.jpg")
    full = decode(result.rendition("full"))
    x, y = red_centroid(full)  # an inverted image would have a cyan block instead
    assert x < 0.5 and y < 0.5
    assert min(ImageStat.Stat(full).median) > 180  # a light background, not a dark one
    reference = Image.open(io.BytesIO(image_bytes("cmyk.jpg"))).convert("RGB")
    assert mean_difference(full, reference) < 4


def test_icc_profile_is_converted_to_srgb():
    profile = swapped_primaries_profile()
    image = Image.new("RGB", (64, 64), (220, 20, 20))
    for fmt in ("PNG", "JPEG"):
        result = process_photo(encode(image, fmt, icc_profile=profile, quality=95))
        r, g, b = rgb_at(result.rendition("full"), 0.5, 0.5)
        assert b > 180 and r < 60, (fmt, (r, g, b))  # red in that space is blue in sRGB


def test_srgb_profile_keeps_colours(processed, image_bytes):
    full = decode(processed("icc-srgb.jpg").rendition("full"))
    reference = Image.open(io.BytesIO(image_bytes("icc-srgb.jpg"))).convert("RGB")
    assert mean_difference(full, reference) < 4


def test_a_broken_icc_profile_does_not_refuse_the_photo():
    image = Image.new("RGB", (64, 64), (30, 160, 40))
    result = process_photo(encode(image, "PNG", icc_profile=b"not a profile at all"))
    assert close(rgb_at(result.rendition("full"), 0.5, 0.5), (30, 160, 40), 8)


@pytest.mark.parametrize("name", ["alpha.png", "lossless-alpha.webp"])
def test_transparency_is_flattened_onto_white(processed, image_bytes, name):
    result = processed(name)
    for rendition in (result.rendition("full"), result.rendition("thumb", "webp")):
        assert min(rgb_at(rendition, 0.0, 0.0)) >= 245, rendition.name
    reference = on_white(Image.open(io.BytesIO(image_bytes(name))))
    assert mean_difference(decode(result.rendition("full")), reference) < 4


def test_partial_transparency_is_blended_with_white():
    image = Image.new("RGBA", (100, 100), (255, 0, 0, 128))
    image.paste((0, 0, 0, 0), (0, 0, 50, 100))  # transparent black: must not show as black
    result = process_photo(encode(image, "PNG"))
    assert close(rgb_at(result.rendition("full"), 0.8, 0.5), (255, 127, 127), 6)
    assert min(rgb_at(result.rendition("full"), 0.2, 0.5)) >= 250


@pytest.mark.parametrize("kind", ["palette-png", "grey-alpha-png", "palette-gif"])
def test_other_transparent_modes_are_flattened_onto_white(kind):
    # Left half transparent (its hidden colour is black), right half dark grey.
    rgba = Image.new("RGBA", (80, 80), (0, 0, 0, 0))
    rgba.paste((40, 40, 40, 255), (40, 0, 80, 80))
    if kind == "grey-alpha-png":
        data = encode(rgba.convert("LA"), "PNG")
    else:
        palette = Image.new("P", (80, 80), 0)
        palette.putpalette([0, 0, 0, 40, 40, 40])
        palette.paste(1, (40, 0, 80, 80))
        data = encode(palette, kind.split("-")[1].upper(), transparency=0)
    result = process_photo(data)
    assert min(rgb_at(result.rendition("full"), 0.1, 0.5)) >= 245
    assert max(rgb_at(result.rendition("full"), 0.9, 0.5)) <= 70


def test_sixteen_bit_grey_is_scaled_not_clipped(processed):
    # gray16.png holds 40000 of 65535 everywhere: 155 of 255, not white.
    value = rgb_at(processed("gray16.png").rendition("full"), 0.5, 0.5)
    assert close(value, (155, 155, 155), 3)


def test_sixteen_bit_extremes():
    image = Image.new("I;16", (64, 64), 0)
    image.paste(65535, (32, 0, 64, 64))
    result = process_photo(encode(image, "PNG"))
    assert max(rgb_at(result.rendition("full"), 0.1, 0.5)) <= 3
    assert min(rgb_at(result.rendition("full"), 0.9, 0.5)) >= 252


def test_grayscale_jpeg_comes_out_as_neutral_rgb(processed):
    r, g, b = rgb_at(processed("grayscale.jpg").rendition("full"), 0.9, 0.9)
    assert max(r, g, b) - min(r, g, b) <= 4


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_uses_the_first_frame(fmt):
    frames = [Image.new("RGB", (120, 90), colour) for colour in ((230, 20, 20), (20, 230, 20))]
    frames.append(Image.new("RGB", (120, 90), (20, 20, 230)))
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    result = process_photo(data)
    assert result.source_format == fmt.lower()
    r, g, b = rgb_at(result.rendition("full"), 0.5, 0.5)
    assert r > 180 and g < 70 and b < 70


def test_animated_fixture_gif(processed, image_bytes):
    frames = Image.open(io.BytesIO(image_bytes("animated.gif")))
    first = frames.convert("RGB")
    frames.seek(frames.n_frames - 1)
    last = frames.convert("RGB")
    full = decode(processed("animated.gif").rendition("full"))
    assert mean_difference(full, first) < 4
    assert mean_difference(full, first) < mean_difference(full, last)


def test_mpo_jpeg_uses_the_first_picture():
    pictures = [Image.new("RGB", (300, 200), (230, 20, 20)), Image.new("RGB", (300, 200), "blue")]
    data = encode(pictures[0], "MPO", save_all=True, append_images=pictures[1:])
    result = process_photo(data)
    assert result.source_format == "jpeg"
    assert close(rgb_at(result.rendition("full"), 0.5, 0.5), (230, 20, 20), 20)


# ---- camera data, and GPS never ----


@pytest.mark.parametrize("name", ["camera-gps.jpg", "iphone-like.heic"])
def test_camera_data_is_extracted(processed, name):
    camera = processed(name).camera
    assert camera.as_dict() == {
        "make": "Fixture Camera Co.",
        "model": "FX-100",
        "lens": "Fixture 35mm F2.8",
        "focal_length_mm": 35.0,
        "f_number": 2.8,
        "exposure_time": "1/250",
        "iso": 200,
        "taken_at": "2024-05-01T17:30:00",
    }
    assert camera.taken_at.tzinfo is None
    json.dumps(camera.as_dict())


@pytest.mark.parametrize("name", ["camera-gps.jpg", "iphone-like.heic"])
def test_gps_is_never_read(image_bytes, monkeypatch, name):
    requested = []
    real_get_ifd = Image.Exif.get_ifd

    def spy(self, tag):
        requested.append(tag)
        return real_get_ifd(self, tag)

    monkeypatch.setattr(Image.Exif, "get_ifd", spy)
    result = process_photo(image_bytes(name))
    assert 0x8825 not in requested
    text = json.dumps(result.camera.as_dict()).lower()
    for leaked in ("gps", "39.9", "116.", "latitude", "longitude"):
        assert leaked not in text


def test_camera_info_has_no_place_for_location():
    assert not any(
        word in field for field in CameraInfo.__slots__ for word in ("gps", "lat", "lon", "alt")
    )


def test_photo_without_exif_has_empty_camera(processed):
    assert processed("tiny.png").camera.as_dict() == {}


def test_camera_values_are_defended_against_garbage():
    exif = Image.Exif()
    exif[0x010F] = "Maker\x00\x00\x07"
    exif[0x0110] = "M" * 500
    shot = exif.get_ifd(0x8769)
    shot[0x829A] = 2.5
    shot[0x829D] = 0  # f/0 is no aperture
    shot[0x8827] = -5
    shot[0x9003] = "0000:00:00 00:00:00"
    result = process_photo(encode(Image.new("RGB", (32, 32)), "JPEG", exif=exif.tobytes()))
    assert result.camera.as_dict() == {"make": "Maker", "model": "M" * 80, "exposure_time": "2.5"}


@pytest.mark.parametrize(
    ("recorded", "shown"),
    [
        ((1, 250), "1/250"),
        ((1, 3), "1/3"),
        (1 / 60, "1/60"),
        (0.4, "0.4"),
        (0.8, "0.8"),
        (2.5, "2.5"),
        (30, "30"),
        ((10, 10), "1"),
    ],
)
def test_exposure_time_is_shown_as_cameras_show_it(recorded, shown):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x829A] = recorded
    assert camera_info_from_exif(exif).exposure_time == shown


# ---- avatars ----


def test_avatar_gives_square_crops_without_camera(image_bytes):
    result = process_avatar(image_bytes("orientation-6.jpg"))
    sizes = {(r.name, r.fmt): (r.width, r.height) for r in result.renditions}
    assert sizes == {
        ("avatar320", "jpeg"): (320, 320),
        ("avatar320", "webp"): (320, 320),
        ("avatar150", "jpeg"): (150, 150),
        ("avatar150", "webp"): (150, 150),
    }
    assert result.camera.as_dict() == {}
    assert (result.width, result.height) == (900, 1200)
    for rendition in result.renditions:
        assert_pixels_only(rendition)


def test_avatar_is_never_upscaled(image_bytes):
    result = process_avatar(image_bytes("tiny.png"))
    assert {(r.width, r.height) for r in result.renditions} == {(48, 48)}


def test_avatar_is_the_centre_of_the_oriented_image():
    image = Image.new("RGB", (600, 200), (20, 20, 220))
    image.paste((220, 20, 20), (200, 0, 400, 200))  # red centre, blue sides
    result = process_avatar(encode(image, "PNG"))
    assert close(rgb_at(result.rendition("avatar320"), 0.05, 0.5), (220, 20, 20), 12)
    assert close(rgb_at(result.rendition("avatar150"), 0.95, 0.5), (220, 20, 20), 12)


def test_avatar_refusals_are_the_same_as_photos():
    with pytest.raises(ImageRejected) as caught:
        process_avatar(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert caught.value.reason == "unsupported_format"


# ---- refusals ----


def _tiny(fmt: str, **params) -> bytes:
    return encode(Image.new("RGB", (8, 8), (10, 200, 10)), fmt, **params)


FOREIGN_FILES = {
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" '
    b'height="9"><script>alert(1)</script></svg>',
    "pdf": b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    "psd": b"8BPS\x00\x01" + b"\x00" * 6 + struct.pack(">HIIHH", 3, 8, 8, 8, 3) + b"\x00" * 64,
    "fits": b"SIMPLE  =                    T".ljust(2880, b" "),
    "eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n",
    "html": b"<!doctype html><title>x</title>",
    "avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",
    "random": random.Random(1).randbytes(4096),
}


@pytest.mark.parametrize(
    "kind", ["tiff", "bmp", "ico", "pcx", "tga", "ppm", "jpeg2000", *FOREIGN_FILES]
)
def test_other_formats_are_refused(kind):
    if kind in FOREIGN_FILES:
        data = FOREIGN_FILES[kind]
    else:
        pillow_name = {"jpeg2000": "JPEG2000"}.get(kind, kind.upper())
        data = _tiny(pillow_name)
    error = rejection(data)
    assert error.reason == "unsupported_format"
    assert error.message == REJECTION_MESSAGES["unsupported_format"]


@pytest.mark.parametrize("kind", ["TIFF", "BMP", "ICO", "PCX", "TGA", "PPM"])
def test_the_decoder_list_refuses_other_formats_even_past_the_sniffer(monkeypatch, kind):
    # Pillow could decode every one of these; only the decoder list stands in the way.
    monkeypatch.setattr(imaging, "sniff_format", lambda head: "jpeg")
    error = rejection(_tiny(kind))
    assert error.reason in ("corrupt", "unsupported_format")


@pytest.mark.parametrize(
    ("kind", "plugin"),
    [("TIFF", TiffImagePlugin.TiffImageFile), ("BMP", BmpImagePlugin.BmpImageFile)],
)
def test_parsers_outside_the_list_are_never_reached(monkeypatch, kind, plugin):
    # Each parser is attack surface: refusing afterwards is not enough, it must never run.
    reached = []
    real_open = plugin._open

    def spy_open(self):
        reached.append(kind)
        return real_open(self)

    monkeypatch.setattr(plugin, "_open", spy_open)
    monkeypatch.setattr(imaging, "sniff_format", lambda head: "jpeg")
    rejection(_tiny(kind))
    assert reached == []


def test_type_comes_from_the_bytes_not_a_prefix():
    error = rejection(b"\xff\xd8\xff" + _tiny("PNG"))  # JPEG magic glued to a PNG
    assert error.reason == "corrupt"


def test_empty_is_refused():
    assert rejection(b"").reason == "empty"


def test_too_many_bytes_is_refused():
    assert rejection(b"\xff\xd8\xff" + b"\x00" * 100, max_bytes=50).reason == "too_large"


TRUNCATIONS = [
    ("camera-gps.jpg", 0.5),
    ("camera-gps.jpg", 0.97),
    ("progressive.jpg", 0.3),
    ("progressive.jpg", 0.9),
    ("panorama.jpg", 0.6),
    ("alpha.png", 0.5),
    ("palette.png", 0.95),
    ("lossy.webp", 0.8),
    ("lossless-alpha.webp", 0.5),
    ("iphone-like.heic", 0.7),
    ("animated.gif", 0.2),  # inside the first frame: later frames are never used
]


@pytest.mark.parametrize(("name", "fraction"), TRUNCATIONS)
def test_truncated_files_are_refused(image_bytes, name, fraction):
    data = image_bytes(name)
    assert rejection(data[: int(len(data) * fraction)]).reason == "corrupt"


def test_truncated_jpeg_is_refused_even_if_someone_allowed_truncation(image_bytes, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = image_bytes("progressive.jpg")
    assert rejection(data[: len(data) // 2]).reason == "corrupt"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # and their setting is put back


def test_too_many_pixels_is_refused_before_decoding(image_bytes, monkeypatch):
    def no_decoding(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    for name in ("panorama.jpg", "alpha.png"):
        error = rejection(image_bytes(name), max_pixels=100_000)
        assert error.reason == "too_many_pixels"
        assert error.message == REJECTION_MESSAGES["too_many_pixels"]


def test_max_pixels_boundary(image_bytes):
    data = image_bytes("panorama.jpg")  # 6000 x 1000
    assert rejection(data, max_pixels=5_999_999).reason == "too_many_pixels"
    assert process_photo(data, max_pixels=6_000_000).width == 6000


@pytest.mark.parametrize(
    "data",
    [png_header_only(100_000, 100_000), jpeg_claiming(65_000, 65_000)],
    ids=["png", "jpeg"],
)
def test_decompression_bombs_are_refused(data):
    assert rejection(data, max_pixels=10**12).reason == "too_many_pixels"


def test_decompression_bomb_warning_is_an_error():
    # Between Pillow's limit and twice it, Pillow only warns; that must still refuse.
    side = int((Image.MAX_IMAGE_PIXELS * 1.05) ** 0.5) + 1
    assert rejection(png_header_only(side, side), max_pixels=10**12).reason == "too_many_pixels"


def test_pillow_globals_and_warning_filters_are_left_alone(image_bytes):
    filters_before = list(warnings.filters)
    max_before, truncated_before = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    process_photo(image_bytes("tiny.png"))
    rejection(png_header_only(100_000, 100_000))
    assert warnings.filters == filters_before
    assert (
        max_before,
        truncated_before,
    ) == (Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES)


def test_every_reason_has_an_english_message_constant():
    assert set(REJECTION_MESSAGES) == {reason.value for reason in RejectionReason}
    constants = {v for k, v in vars(imaging).items() if k.startswith("MESSAGE_")}
    assert set(REJECTION_MESSAGES.values()) == constants
    for message in REJECTION_MESSAGES.values():
        assert message[0].isupper() and message.endswith(".")


def test_rejections_pickle_with_their_reason():
    error = pickle.loads(pickle.dumps(ImageRejected("corrupt", "decoder said no")))
    assert (error.reason, error.message, error.detail) == (
        "corrupt",
        REJECTION_MESSAGES["corrupt"],
        "decoder said no",
    )


# ---- sniffing ----


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("camera-gps.jpg", "jpeg"),
        ("alpha.png", "png"),
        ("animated.gif", "gif"),
        ("lossy.webp", "webp"),
        ("iphone-like.heic", "heif"),
    ],
)
def test_sniff_format_recognises_what_we_accept(image_bytes, name, expected):
    assert sniff_format(image_bytes(name)[:16]) == expected


@pytest.mark.parametrize("kind", sorted(FOREIGN_FILES))
def test_sniff_format_refuses_everything_else(kind):
    assert sniff_format(FOREIGN_FILES[kind][:16]) is None


def test_sniff_format_copes_with_short_input():
    assert sniff_format(b"") is None
    assert sniff_format(b"\xff") is None


# ---- in a real worker process ----


@pytest.mark.slow
def test_runs_in_a_process_pool(image_bytes):
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        result = pool.submit(process_photo, image_bytes("camera-gps.jpg")).result()
        failure = pool.submit(process_photo, b"%PDF-1.4").exception()
    assert isinstance(result, ProcessedImage)
    assert result.camera.make == "Fixture Camera Co."
    assert isinstance(failure, ImageRejected) and failure.reason == "unsupported_format"
