"""Turn uploaded photo bytes into clean, web-sized renditions.

Pure functions, bytes in and results out, so they run in the image process pool: arguments
and results are plain picklable values, and nothing here needs set-up beyond registering the
HEIF decoder at import. A decode briefly sets two process-wide switches (a warning filter and
Pillow's truncated-image flag) and puts them back, one more reason it belongs in a
single-threaded worker process rather than a thread pool.

Uploads are untrusted. The type is decided by decoding with a short list of decoders, never
by file name or declared content type; the pixel count is checked before any pixel is
decoded; and only pixels are copied into the outputs, so no EXIF, GPS, XMP or comment that
came in can go out.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum

import blurhash
import pillow_heif
from PIL import Image, ImageFile

from tornagram.photos.camera import CameraInfo, camera_info_from_exif
from tornagram.photos.imaging_pixels import (
    LARGEST_RESAMPLE,
    TRANSPOSE_FOR_ORIENTATION,
    fit_width,
    fit_within,
    flatten_alpha,
    orient,
    resize,
    square,
    to_resizable,
    to_srgb,
)

log = logging.getLogger(__name__)

__all__ = [
    "REJECTION_MESSAGES",
    "CameraInfo",
    "ImageRejected",
    "ProcessedImage",
    "RejectionReason",
    "Rendition",
    "process_avatar",
    "process_photo",
    "sniff_format",
]

# Only the primary picture of a HEIF file is shown. Embedded thumbnails, depth maps and
# auxiliary images are not read at all: a thumbnail need not even match the picture.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

# The decoders an upload may reach. Everything else Pillow can read (TIFF, PSD, BMP, ICO,
# FITS, EPS, ...) is refused: each extra parser is extra attack surface.
ALLOWED_DECODERS = ("JPEG", "PNG", "WEBP", "GIF", "HEIF")
# MPO is how Pillow names a JPEG carrying extra pictures (phone depth or gain maps); the
# JPEG decoder returns it, and only its first picture is used.
SOURCE_FORMATS = {
    "JPEG": "jpeg",
    "MPO": "jpeg",
    "PNG": "png",
    "WEBP": "webp",
    "GIF": "gif",
    "HEIF": "heif",
}
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
SNIFF_BYTES = 16

DEFAULT_MAX_PIXELS = 40_000_000
# Far above any camera's JPEG or HEIC; the web layer's own body limit is usually lower.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

FULL_LONG_SIDE_PX = 2048
WIDTH_RENDITIONS_PX = (("1080", 1080), ("640", 640))
THUMB_SIDE_PX = 320
# Grid cells are up to ~293 CSS px: 320 px is sharp at 1x only; "thumb640" serves 2x screens.
THUMB_2X_SIDE_PX = 640
AVATAR_SIDES_PX = (("avatar320", 320), ("avatar150", 150))
# JPEG can decode at 1/2, 1/4 or 1/8 scale for a fraction of the cost of a full decode. A
# 4000 px photo decoded at 1/2 gives a 2000 px "full" rendition instead of 2048: that
# small loss is accepted, a larger one is not.
DRAFT_MIN_FULL_FRACTION = 0.9
BLURHASH_SOURCE_PX = 32
BLURHASH_X_COMPONENTS = 4
BLURHASH_Y_COMPONENTS = 3
DOMINANT_PALETTE_COLOURS = 5

JPEG_QUALITY = 82
WEBP_QUALITY = 80
# libwebp effort 0 of 6: on a 2000x1500 photo it took 40 ms against 71 ms for effort 2 and
# 265 ms for the default 4, for a file about 5% larger (still far smaller than the JPEG).
WEBP_METHOD = 0
CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp"}
EXTENSIONS = {"jpeg": "jpg", "webp": "webp"}

EXIF_ORIENTATION_TAG = 0x0112


class RejectionReason(StrEnum):
    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TOO_MANY_PIXELS = "too_many_pixels"
    CORRUPT = "corrupt"


# English msgids; the web layer translates them with _().
MESSAGE_EMPTY = "The file is empty."
MESSAGE_TOO_LARGE = "The file is too large."
MESSAGE_UNSUPPORTED_FORMAT = (
    "This file type is not supported. Please upload a JPEG, PNG, WebP, GIF or HEIC image."
)
MESSAGE_TOO_MANY_PIXELS = "The image has too many pixels. Please upload a smaller image."
MESSAGE_CORRUPT = "The image is damaged or incomplete and cannot be read."

REJECTION_MESSAGES: dict[str, str] = {
    RejectionReason.EMPTY: MESSAGE_EMPTY,
    RejectionReason.TOO_LARGE: MESSAGE_TOO_LARGE,
    RejectionReason.UNSUPPORTED_FORMAT: MESSAGE_UNSUPPORTED_FORMAT,
    RejectionReason.TOO_MANY_PIXELS: MESSAGE_TOO_MANY_PIXELS,
    RejectionReason.CORRUPT: MESSAGE_CORRUPT,
}


class ImageRejected(Exception):
    """A refusal the user sees. ``reason`` is a stable code, ``message`` the English text to
    translate, ``detail`` what the decoder said (for logs, never for users)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        # Both arguments go to Exception so the error pickles back out of a worker process.
        super().__init__(reason, detail)
        self.reason = str(reason)
        self.message = REJECTION_MESSAGES[self.reason]
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


@dataclass(frozen=True, slots=True)
class Rendition:
    name: str  # "full", "1080", "640", "thumb", "avatar320", "avatar150"
    fmt: str  # "jpeg" or "webp"
    content_type: str
    width: int
    height: int
    data: bytes

    @property
    def ext(self) -> str:
        return EXTENSIONS[self.fmt]


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    source_format: str  # "jpeg" | "png" | "webp" | "gif" | "heif"
    width: int  # of the original, as displayed (after EXIF orientation)
    height: int
    blurhash: str
    dominant_color: str  # "#rrggbb"
    camera: CameraInfo
    renditions: tuple[Rendition, ...]

    def rendition(self, name: str, fmt: str = "jpeg") -> Rendition:
        for rendition in self.renditions:
            if rendition.name == name and rendition.fmt == fmt:
                return rendition
        raise KeyError((name, fmt))


def sniff_format(head: bytes) -> str | None:
    """Guess the format from the first bytes, to refuse obvious non-images before decoding.

    Only a cheap early refusal: the decode decides what the file really is.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "heif"
    return None


def process_photo(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES
) -> ProcessedImage:
    """Renditions "full", "1080", "640", "thumb" and "thumb640", each as JPEG and WebP.

    Every name is always present, and nothing is upscaled: when the image is smaller than a
    size, that rendition has the image's own size (and the same bytes as the larger one, so
    content-addressed storage keeps one file). "1080" and "640" are never wider than "full".
    """
    with _failures_refused():
        return _process_photo(data, max_pixels=max_pixels, max_bytes=max_bytes)


def process_avatar(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, max_bytes: int = DEFAULT_MAX_BYTES
) -> ProcessedImage:
    """Square centre crops "avatar320" and "avatar150" (JPEG and WebP); never upscaled."""
    with _failures_refused():
        return _process_avatar(data, max_pixels=max_pixels, max_bytes=max_bytes)


@contextmanager
def _failures_refused() -> Iterator[None]:
    """Whatever decoding a file raises is a refusal with a reason, never a server error:
    Pillow's plugins raise AssertionError (a palette PNG without PLTE), OverflowError,
    struct.error, IndexError and more on crafted input, not only the ValueError and OSError
    they document. The reason is "damaged"; what was raised goes to the log."""
    try:
        yield
    except ImageRejected:
        raise
    except MemoryError as exc:
        raise ImageRejected(RejectionReason.TOO_MANY_PIXELS, "out of memory") from exc
    except Exception as exc:
        log.warning("image refused: %r", exc, exc_info=True)
        raise ImageRejected(RejectionReason.CORRUPT, repr(exc)) from exc


def _process_photo(data: bytes, *, max_pixels: int, max_bytes: int) -> ProcessedImage:
    source = _decode(data, max_pixels=max_pixels, max_bytes=max_bytes, photo=True)
    working = _working_image(source, long_px=FULL_LONG_SIDE_PX, short_px=THUMB_2X_SIDE_PX)

    full = resize(working, fit_within(working.size, FULL_LONG_SIDE_PX), LARGEST_RESAMPLE)
    named = [("full", full)]
    previous = full
    for name, width_px in WIDTH_RENDITIONS_PX:
        # Each from the previous, smaller one: cheaper, and no visible difference.
        previous = resize(previous, fit_width(full.size, width_px))
        named.append((name, previous))
    # Crop from the smallest picture that still covers the thumbnail. A wide panorama's
    # renditions can all be shorter than a thumbnail; then it comes from the working image.
    candidates = [image for _, image in reversed(named)] + [working]
    for name, side_px in (("thumb", THUMB_SIDE_PX), ("thumb640", THUMB_2X_SIDE_PX)):
        side = min(side_px, *working.size)
        thumb_source = next(image for image in candidates if min(image.size) >= side)
        named.append((name, square(thumb_source, side)))

    return _finish(source, named, preview_source=previous)


def _process_avatar(data: bytes, *, max_pixels: int, max_bytes: int) -> ProcessedImage:
    source = _decode(data, max_pixels=max_pixels, max_bytes=max_bytes, photo=False)
    largest_px = AVATAR_SIDES_PX[0][1]
    working = _working_image(source, long_px=0, short_px=largest_px)
    named = []
    crop = working
    for name, side_px in AVATAR_SIDES_PX:
        crop = square(crop, min(side_px, *working.size))
        named.append((name, crop))
    return _finish(source, named, preview_source=crop)


@dataclass(slots=True)
class _Source:
    image: Image.Image  # decoded, possibly at a reduced JPEG scale; stored orientation
    source_format: str
    width: int  # original pixel size as displayed
    height: int
    orientation: int
    icc_profile: bytes | None
    camera: CameraInfo


def _decode(data: bytes, *, max_pixels: int, max_bytes: int, photo: bool) -> _Source:
    if not data:
        raise ImageRejected(RejectionReason.EMPTY)
    if len(data) > max_bytes:
        raise ImageRejected(RejectionReason.TOO_LARGE, f"{len(data)} bytes")
    if sniff_format(data[:SNIFF_BYTES]) is None:
        raise ImageRejected(RejectionReason.UNSUPPORTED_FORMAT, repr(data[:SNIFF_BYTES]))

    with warnings.catch_warnings(), _truncated_images_refused():
        # Pillow warns between its limit and twice its limit, and only errors beyond that.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_DECODERS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected(RejectionReason.TOO_MANY_PIXELS, str(exc)) from exc
        except Exception as exc:
            # The magic bytes matched, so this is a damaged file rather than a foreign type.
            raise ImageRejected(RejectionReason.CORRUPT, repr(exc)) from exc

        source_format = SOURCE_FORMATS.get(image.format or "")
        if source_format is None:
            raise ImageRejected(RejectionReason.UNSUPPORTED_FORMAT, str(image.format))
        width, height = image.size
        if width < 1 or height < 1:
            raise ImageRejected(RejectionReason.CORRUPT, f"size {image.size}")
        # Checked on the header's size, before a single pixel is decoded.
        if width * height > max_pixels:
            raise ImageRejected(RejectionReason.TOO_MANY_PIXELS, f"{width}x{height}")

        if source_format == "jpeg":
            long_px = FULL_LONG_SIDE_PX if photo else 0
            short_px = THUMB_2X_SIDE_PX if photo else AVATAR_SIDES_PX[0][1]
            scale = _draft_scale(image.size, long_px=long_px, short_px=short_px)
            if scale > 1:
                image.draft(image.mode, (width // scale, height // scale))
        try:
            image.load()
        except MemoryError as exc:
            raise ImageRejected(RejectionReason.TOO_MANY_PIXELS, "out of memory") from exc
        except Exception as exc:
            raise ImageRejected(RejectionReason.CORRUPT, repr(exc)) from exc
        exif = _exif_or_empty(image)

    orientation = exif.get(EXIF_ORIENTATION_TAG, 1)
    if not isinstance(orientation, int) or orientation not in TRANSPOSE_FOR_ORIENTATION:
        orientation = 1
    if orientation >= 5:
        width, height = height, width
    return _Source(
        image=image,
        source_format=source_format,
        width=width,
        height=height,
        orientation=orientation,
        icc_profile=image.info.get("icc_profile") or None,
        camera=_camera_or_none(exif) if photo else CameraInfo(),
    )


def _camera_or_none(exif: Image.Exif) -> CameraInfo:
    # Camera details are decoration too: unreadable ones are dropped, the photo is kept.
    try:
        return camera_info_from_exif(exif)
    except Exception:
        return CameraInfo()


def _exif_or_empty(image: Image.Image) -> Image.Exif:
    # EXIF is decoration written by any program that touched the file. A block Pillow cannot
    # parse costs the photo its camera details and orientation, not the photo itself.
    try:
        return image.getexif()
    except Exception:
        return Image.Exif()


@contextmanager
def _truncated_images_refused() -> Iterator[None]:
    # A truncated upload must be refused, not shown with a grey bottom half. The flag is a
    # Pillow global; it is set only for the duration of one decode and then put back.
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _draft_scale(size: tuple[int, int], *, long_px: int, short_px: int) -> int:
    """The largest JPEG decode reduction (8, 4, 2 or 1) that still serves every rendition."""
    long_side, short_side = max(size), min(size)
    need_long = min(long_side, round(long_px * DRAFT_MIN_FULL_FRACTION))
    need_short = min(short_side, short_px)
    for scale in (8, 4, 2):
        if long_side // scale >= need_long and short_side // scale >= max(1, need_short):
            return scale
    return 1


def _working_image(source: _Source, *, long_px: int, short_px: int) -> Image.Image:
    """The decoded image, shrunk to the least that serves every rendition, then made opaque,
    sRGB, upright and free of every piece of metadata."""
    try:
        image = to_resizable(source.image)
    except ValueError as exc:
        raise ImageRejected(
            RejectionReason.UNSUPPORTED_FORMAT, f"mode {source.image.mode}"
        ) from exc
    width, height = image.size
    # Shrink so the long side fits long_px, unless the short side would then fall below what
    # the square crops need. Avatars (long_px=0) only care about the short side.
    short_scale = min(1.0, short_px / min(width, height))
    scale = max(min(1.0, long_px / max(width, height)), short_scale) if long_px else short_scale
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = flatten_alpha(resize(image, target, LARGEST_RESAMPLE))
    # From here on only pixels travel: no EXIF, XMP, comment or profile reaches an output.
    image.info = {}
    image = to_srgb(image, source.icc_profile)
    image.info = {}
    return orient(image, source.orientation)


def _finish(
    source: _Source, named: list[tuple[str, Image.Image]], *, preview_source: Image.Image
) -> ProcessedImage:
    renditions: list[Rendition] = []
    encoded: dict[int, tuple[Rendition, Rendition]] = {}
    for name, image in named:
        # A small image yields the same picture under several names; encode it once.
        if id(image) not in encoded:
            encoded[id(image)] = _encode(image)
        renditions.extend(replace(rendition, name=name) for rendition in encoded[id(image)])
    tiny = resize(preview_source, fit_within(preview_source.size, BLURHASH_SOURCE_PX))
    return ProcessedImage(
        source_format=source.source_format,
        width=source.width,
        height=source.height,
        blurhash=_blurhash(tiny),
        dominant_color=_dominant_color(tiny),
        camera=source.camera,
        renditions=tuple(renditions),
    )


def _encode(image: Image.Image) -> tuple[Rendition, Rendition]:
    image.info = {}  # Pillow's JPEG writer would otherwise copy a source comment across
    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    webp = io.BytesIO()
    image.save(webp, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
    width, height = image.size
    return (
        Rendition("", "jpeg", CONTENT_TYPES["jpeg"], width, height, jpeg.getvalue()),
        Rendition("", "webp", CONTENT_TYPES["webp"], width, height, webp.getvalue()),
    )


def _blurhash(tiny: Image.Image) -> str:
    with warnings.catch_warnings():
        # blurhash-python 1.2 reads pixels with Image.getdata, which Pillow 12+ deprecates.
        warnings.simplefilter("ignore", DeprecationWarning)
        # encode() closes the image it is given, hence the copy.
        return blurhash.encode(
            tiny.copy(), x_components=BLURHASH_X_COMPONENTS, y_components=BLURHASH_Y_COMPONENTS
        )


def _dominant_color(tiny: Image.Image) -> str:
    # The most common of a few median-cut colours: a flat, plausible placeholder, where a
    # plain mean of a red-and-green photo would give brown.
    palette_image = tiny.quantize(colors=DOMINANT_PALETTE_COLOURS)
    counts = palette_image.getcolors() or [(1, 0)]
    _, index = max(counts)
    palette = palette_image.getpalette() or [0, 0, 0]
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"
