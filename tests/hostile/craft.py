"""Malformed files made from good ones, in the test itself (nothing hostile is checked in)."""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image


def exif_with_double(tag: int, value: float) -> bytes:
    """A little-endian TIFF block: IFD0 pointing at an Exif IFD holding ``tag`` as one DOUBLE
    (type 12), which real cameras never write for ExposureTime but files may."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 26) + struct.pack("<I", 0)
    data_offset = 26 + 2 + 12 + 4
    sub = struct.pack("<H", 1) + struct.pack("<HHII", tag, 12, 1, data_offset)
    return (
        b"II*\x00"
        + struct.pack("<I", 8)
        + ifd0
        + sub
        + struct.pack("<I", 0)
        + struct.pack("<d", value)
    )


def jpeg_with_exif(exif: bytes, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "JPEG", exif=b"Exif\x00\x00" + exif)
    return out.getvalue()


def png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def png_from_chunks(chunks: list[tuple[bytes, bytes]]) -> bytes:
    out = [b"\x89PNG\r\n\x1a\n"]
    for name, body in chunks:
        crc = zlib.crc32(name + body) & 0xFFFFFFFF
        out.append(struct.pack(">I", len(body)) + name + body + struct.pack(">I", crc))
    return b"".join(out)


def without_chunk(png: bytes, name: bytes) -> bytes:
    return png_from_chunks([(n, b) for n, b in png_chunks(png) if n != name])


def png_header_claiming(png: bytes, width: int, height: int) -> bytes:
    """The same pixels under an IHDR that claims another size (a decompression bomb's header)."""
    chunks = png_chunks(png)
    name, body = chunks[0]
    assert name == b"IHDR"
    chunks[0] = (name, struct.pack(">II", width, height) + body[8:])
    return png_from_chunks(chunks)


def png_bomb(side_px: int) -> bytes:
    """A tiny file that decodes to ``side_px``² pixels of one colour."""
    raw = zlib.compress(b"".join(b"\x00" + b"\x00" * side_px for _ in range(side_px)), 9)
    ihdr = struct.pack(">IIBBBBB", side_px, side_px, 8, 0, 0, 0, 0)  # 8-bit grey
    return png_from_chunks([(b"IHDR", ihdr), (b"IDAT", raw), (b"IEND", b"")])


def truncations(data: bytes, count: int, rng: random.Random) -> list[bytes]:
    """``data`` cut at ``count`` offsets: the very start, inside headers, and spread out."""
    offsets = {1, 2, 8, 16, 33, 64, 100, len(data) // 2, len(data) - 1}
    while len(offsets) < count:
        offsets.add(rng.randrange(1, len(data)))
    return [data[:n] for n in sorted(offsets)[:count] if 0 < n < len(data)]


def bit_flips(data: bytes, count: int, rng: random.Random, *, skip: int = 12) -> list[bytes]:
    """``count`` copies with a few bits flipped past the magic bytes (so the sniff passes)."""
    out = []
    for _ in range(count):
        buf = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(skip, len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        out.append(bytes(buf))
    return out
