"""Hostile uploads through the real site: every malformed image is answered, none with a 5xx,
and nothing is left in the data dir's tmp.

The files are made here from the shared fixtures (tests/hostile/craft.py): truncated at many
offsets, bit-flipped, decompression bombs, headers that lie about the size, odd EXIF and
palette quirks. A fixed random seed keeps a failure reproducible."""

from __future__ import annotations

import asyncio
import io
import random
import struct

from PIL import Image

from tests.helpers import FIXTURE_IMAGE_NAMES, fixture_bytes
from tests.hostile import craft
from tests.photos.support import files_under
from tornagram.photos.camera import (
    TAG_DATETIME_ORIGINAL,
    TAG_EXPOSURE_TIME,
    TAG_F_NUMBER,
    TAG_FOCAL_LENGTH,
    TAG_ISO_SPEED_RATINGS,
)

JSON = {"Accept": "application/json"}
# At once: enough to keep the image pool busy, few enough not to starve the machine.
PARALLEL_UPLOADS = 4
SMALL_FIXTURE_BYTES = 100_000  # bit flips of the big JPEGs decode fully: seconds for nothing new


def hostile_images() -> list[tuple[str, bytes]]:
    rng = random.Random(11)
    cases: list[tuple[str, bytes]] = []
    for name in FIXTURE_IMAGE_NAMES:
        data = fixture_bytes(name)
        cases += [(f"trunc-{name}", cut) for cut in craft.truncations(data, 7, rng)]
        if len(data) <= SMALL_FIXTURE_BYTES:
            cases += [(f"flip-{name}", flipped) for flipped in craft.bit_flips(data, 3, rng)]
    png = fixture_bytes("palette.png")
    cases += [
        ("palette-no-plte.png", craft.without_chunk(png, b"PLTE")),
        ("palette-no-idat.png", craft.without_chunk(png, b"IDAT")),
        ("palette-no-iend.png", craft.without_chunk(png, b"IEND")),
        ("palette-short-plte.png", short_palette(png)),
        ("palette-trns-only.png", trns_without_plte(png)),
        ("gray16-no-iend.png", craft.without_chunk(fixture_bytes("gray16.png"), b"IEND")),
    ]
    # Bombs: a tiny file that decodes huge, and headers that claim more than there is.
    cases += [
        ("bomb-8k.png", craft.png_bomb(8_000)),
        ("claims-huge.png", craft.png_header_claiming(fixture_bytes("tiny.png"), 100_000, 100_000)),
        ("claims-2^31.png", craft.png_header_claiming(fixture_bytes("tiny.png"), 2**31 - 1, 1)),
        ("claims-zero.png", craft.png_header_claiming(fixture_bytes("tiny.png"), 0, 0)),
        ("jpeg-claims-huge.jpg", jpeg_claiming(fixture_bytes("progressive.jpg"), 65_000, 65_000)),
        ("gif-claims-huge.gif", gif_claiming(fixture_bytes("animated.gif"), 65_535, 65_535)),
    ]
    # Odd EXIF: doubles where rationals belong, extremes, NaN, and a pointer past the end.
    for tag in (TAG_EXPOSURE_TIME, TAG_F_NUMBER, TAG_FOCAL_LENGTH, TAG_ISO_SPEED_RATINGS,
                TAG_DATETIME_ORIGINAL):  # fmt: skip
        for value in (5e-324, 1e308, float("nan"), float("inf"), -1.0, 0.0):
            cases.append(
                (
                    f"exif-{tag:x}-{value}.jpg",
                    craft.jpeg_with_exif(craft.exif_with_double(tag, value)),
                )
            )
    cases += [
        ("exif-garbage.jpg", craft.jpeg_with_exif(b"II*\x00" + b"\xff" * 64)),
        ("exif-loop.jpg", craft.jpeg_with_exif(exif_pointing_at_itself())),
        ("exif-orientation-99.jpg", jpeg_with_orientation(99)),
        ("exif-orientation-0.jpg", jpeg_with_orientation(0)),
    ]
    cases += [
        ("empty.jpg", b""),
        ("magic-only.png", b"\x89PNG\r\n\x1a\n"),
        ("magic-only.jpg", b"\xff\xd8\xff"),
    ]
    return cases


def short_palette(png: bytes) -> bytes:
    return craft.png_from_chunks(
        [(n, b[:3] if n == b"PLTE" else b) for n, b in craft.png_chunks(png)]
    )


def trns_without_plte(png: bytes) -> bytes:
    chunks = [(n, b) for n, b in craft.png_chunks(png) if n != b"PLTE"]
    return craft.png_from_chunks([*chunks[:1], (b"tRNS", b"\x00" * 16), *chunks[1:]])


def jpeg_claiming(jpeg: bytes, width: int, height: int) -> bytes:
    """The SOF marker's size rewritten: the header promises what the data cannot give."""
    buf = bytearray(jpeg)
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = buf.find(marker)
        if at != -1:
            buf[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(buf)
    raise AssertionError("no SOF marker")


def gif_claiming(gif: bytes, width: int, height: int) -> bytes:
    return gif[:6] + struct.pack("<HH", width, height) + gif[10:]


def exif_pointing_at_itself() -> bytes:
    # IFD0 with an Exif pointer back at IFD0, and a next-IFD offset to itself.
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 8) + struct.pack("<I", 8)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0


def jpeg_with_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "navy").save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


async def test_hostile_images_are_refused_or_taken_never_a_5xx(site):
    cases = hostile_images()
    assert len(cases) > 150
    clients = [await site.user_client(f"mallory{i}") for i in range(PARALLEL_UPLOADS)]
    tokens = [await c.xsrf() for c in clients]
    answers: dict[str, int] = {}
    queue = list(enumerate(cases))

    async def worker(k: int) -> None:
        c, token = clients[k], tokens[k]
        while queue:
            i, (name, data) = queue.pop()
            r = await c.http.post(
                "/upload",
                data={"_xsrf": token, "caption": f"case {i}"},
                files=[("photo", (name, data, "application/octet-stream"))],
                headers=JSON,
            )
            answers[f"{i}:{name}"] = r.status_code
            if r.status_code >= 400:
                # A refusal says why, in words.
                assert r.json()["error"]["message"], (name, r.text)

    await asyncio.gather(*(worker(k) for k in range(PARALLEL_UPLOADS)))
    assert len(answers) == len(cases)  # every request answered
    server_errors = {name: code for name, code in answers.items() if code >= 500}
    assert server_errors == {}
    assert set(answers.values()) <= {201, 400, 413, 429}
    assert 400 in answers.values() and 201 in answers.values()
    # What can never be a photo is refused, not stored.
    must_refuse = ("bomb-", "claims-", "empty", "magic-only", "palette-no-plte", "palette-no-idat")
    for key, code in answers.items():
        if key.split(":", 1)[1].startswith(must_refuse):
            assert code == 400, (key, code)
    assert files_under(site.ctx.settings.data_dir / "tmp") == []
