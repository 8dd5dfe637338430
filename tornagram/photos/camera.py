"""Camera details shown under a photo, read from its EXIF.

Only a fixed list of harmless fields is read. GPS lives in its own IFD (0x8825) and is never
opened here, so a photographer's location cannot leak through this module by accident.
EXIF is written by any program that touched the file, so every field is parsed defensively:
a malformed value drops that field, never the photo.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from PIL import Image

EXIF_IFD_POINTER = 0x8769

TAG_MAKE = 0x010F
TAG_MODEL = 0x0110
TAG_EXPOSURE_TIME = 0x829A
TAG_F_NUMBER = 0x829D
TAG_ISO_SPEED_RATINGS = 0x8827
TAG_DATETIME_ORIGINAL = 0x9003
TAG_FOCAL_LENGTH = 0x920A
TAG_LENS_MAKE = 0xA433
TAG_LENS_MODEL = 0xA434

# Long enough for any real camera or lens name, short enough that a crafted file cannot
# fill a page with text.
MAX_FIELD_CHARS = 80
EXIF_DATETIME_FORMAT = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """What the camera recorded about the shot. Every field is optional; GPS never appears."""

    make: str | None = None
    model: str | None = None
    lens: str | None = None
    focal_length_mm: float | None = None
    f_number: float | None = None
    exposure_time: str | None = None  # display form: "1/250" or "2.5"
    iso: int | None = None
    taken_at: datetime | None = None  # naive: cameras record local time without a zone

    def as_dict(self) -> dict:
        """JSON-ready; fields the camera did not record are left out."""
        out = {}
        for key, value in asdict(self).items():
            if value is None:
                continue
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


def camera_info_from_exif(exif: Image.Exif) -> CameraInfo:
    try:
        shot = exif.get_ifd(EXIF_IFD_POINTER)
    except Exception:
        # A broken Exif sub-IFD still leaves make and model usable.
        shot = {}
    return CameraInfo(
        make=_field(_text, exif, TAG_MAKE),
        model=_field(_text, exif, TAG_MODEL),
        lens=_field(lambda _value: _lens(shot), shot, TAG_LENS_MODEL),
        focal_length_mm=_field(_one_decimal, shot, TAG_FOCAL_LENGTH),
        f_number=_field(_one_decimal, shot, TAG_F_NUMBER),
        exposure_time=_field(_exposure, shot, TAG_EXPOSURE_TIME),
        iso=_field(_iso, shot, TAG_ISO_SPEED_RATINGS),
        taken_at=_field(_datetime, shot, TAG_DATETIME_ORIGINAL),
    )


def _field(parse, ifd, tag):
    """One field, or None when it cannot be read: whatever a crafted value makes a parser
    raise (an overflow, a type Pillow did not expect) costs that field, never the photo."""
    try:
        return parse(ifd.get(tag))
    except Exception:
        return None


def _one_decimal(value: object) -> float | None:
    return _positive_number(value, digits=1)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # Drop NUL padding and control characters that some firmware writes.
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:MAX_FIELD_CHARS] or None


def _lens(shot: dict) -> str | None:
    model = _text(shot.get(TAG_LENS_MODEL))
    if model is not None:
        return model
    return _text(shot.get(TAG_LENS_MAKE))


def _number(value: object) -> float | None:
    try:
        if isinstance(value, tuple) and len(value) == 2:
            number = float(value[0]) / float(value[1])
        else:
            number = float(value)  # type: ignore[arg-type]  # IFDRational, int, float
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    return number


def _positive_number(value: object, *, digits: int) -> float | None:
    number = _number(value)
    if number is None or number <= 0:
        return None
    return round(number, digits)


def _exposure(value: object) -> str | None:
    seconds = _number(value)
    if seconds is None or seconds <= 0:
        return None
    per_second = 1 / seconds
    if per_second > 1_000_000:
        return None  # no shutter is that fast; a tiny double here is noise (1/5e-324 is inf)
    if seconds < 1 and abs(per_second - round(per_second)) <= 0.03 * per_second:
        # Shown the way cameras show it: 1/250, not 0.004.
        return f"1/{round(per_second)}"
    return f"{seconds:.1f}".removesuffix(".0")  # 0.4, 2.5, 30


def _iso(value: object) -> int | None:
    if isinstance(value, tuple):
        value = value[0] if value else None
    number = _number(value)
    if number is None or number <= 0 or number > 10_000_000:
        return None
    return int(number)


def _datetime(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:19], EXIF_DATETIME_FORMAT)
    except ValueError:
        # Unset clocks write "0000:00:00 00:00:00"; that is no date at all.
        return None
