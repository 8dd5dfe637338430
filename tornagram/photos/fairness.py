"""Who gets the image pool: pixel budgets per person and per address, and turns in rotation.

Pixels, not files, are what cost: a 126 KB, 40-megapixel PNG takes about 2 s of a worker, a
normal photo 0.2–0.3 s. So uploads are limited by the pixels processed, and the pool is shared
in turns: each person's photos wait in their own line, and a free worker takes the next photo
from the next person in rotation, so one person's ten big photos never hold everyone else back.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from tornagram.errors import TooManyRequests
from tornagram.i18n import NP_

PIXELS_TOO_FAST_MESSAGE = NP_(
    "You have uploaded a lot of photos in a short time. Please wait %(secs)d second and try again.",
    "You have uploaded a lot of photos in a short time. "
    "Please wait %(secs)d seconds and try again.",
)
MEGAPIXEL = 1_000_000
# Every photo costs a worker a fixed overhead (decode setup, eight encodes, a blurhash) however
# small it is, so each is charged at least this: a flood of tiny images is limited by count.
MIN_PIXELS_PER_PHOTO = MEGAPIXEL
MAX_TRACKED_KEYS = 50_000


@dataclass(frozen=True, slots=True)
class PixelRate:
    burst_pixels: int
    pixels_per_sec: float


# A person: forty 12-megapixel photos (or ten of the largest allowed) at once, then about one
# 12-megapixel photo every 6 s. An address, shared by a household or an office behind NAT: twice
# that. Measured (docs/media.md), a 40-megapixel photo costs a worker about 2 s.
PER_PERSON = PixelRate(burst_pixels=480 * MEGAPIXEL, pixels_per_sec=2 * MEGAPIXEL)
PER_ADDRESS = PixelRate(burst_pixels=960 * MEGAPIXEL, pixels_per_sec=4 * MEGAPIXEL)


def pixels_charged(photos) -> int:
    """What a post's photos cost: their decoded pixels, with a floor per photo."""
    return sum(max(photo.width * photo.height, MIN_PIXELS_PER_PHOTO) for photo in photos)


class PixelBudget:
    """Token buckets counted in pixels. ``check`` before work, ``charge`` what it really cost.

    A bucket may go into debt (a post's photos are charged once decoded, whatever their size);
    while it is in debt the next upload is refused, for as long as repaying it takes.
    """

    def __init__(self, rates: dict[str, PixelRate] | None = None, *, clock=time.monotonic) -> None:
        self.rates = rates or {"user": PER_PERSON, "ip": PER_ADDRESS}
        self.clock = clock
        self._buckets: OrderedDict[tuple[str, object], tuple[float, float]] = OrderedDict()

    def _level(self, kind: str, key: object, now: float) -> float:
        rate = self.rates[kind]
        pixels, last = self._buckets.get((kind, key), (float(rate.burst_pixels), now))
        return min(float(rate.burst_pixels), pixels + (now - last) * rate.pixels_per_sec)

    def check(self, **keys: object) -> None:
        """Raise TooManyRequests (with when to come back) if any bucket is spent."""
        now = self.clock()
        wait_secs = 0.0
        for kind, key in keys.items():
            if key is None:
                continue
            level = self._level(kind, key, now)
            if level <= 0:
                wait_secs = max(wait_secs, (1 - level) / self.rates[kind].pixels_per_sec)
        if wait_secs > 0:
            secs = max(1, math.ceil(wait_secs))
            raise TooManyRequests(PIXELS_TOO_FAST_MESSAGE, retry_after_secs=secs, secs=secs)

    def charge(self, pixels: int, **keys: object) -> None:
        now = self.clock()
        for kind, key in keys.items():
            if key is None:
                continue
            level = self._level(kind, key, now)
            self._buckets.pop((kind, key), None)
            self._buckets[(kind, key)] = (level - pixels, now)
        while len(self._buckets) > MAX_TRACKED_KEYS:
            self._buckets.popitem(last=False)  # the longest untouched: full again by now


class FairTurns:
    """At most ``slots`` image tasks at once; waiting tasks are served one person at a time,
    in rotation, each person's own tasks in the order they came."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.running = 0
        self._lines: OrderedDict[object, deque[asyncio.Future]] = OrderedDict()

    @property
    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())

    @asynccontextmanager
    async def turn(self, owner: object):
        if self.running < self.slots and not self._lines:
            self.running += 1
        else:
            granted = asyncio.get_running_loop().create_future()
            self._lines.setdefault(owner, deque()).append(granted)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release()  # granted as we were cancelled: pass the slot on
                else:
                    self._forget(owner, granted)
                raise
        try:
            yield
        finally:
            self._release()

    def _forget(self, owner: object, granted: asyncio.Future) -> None:
        line = self._lines.get(owner)
        if line is not None:
            with suppress(ValueError):
                line.remove(granted)
            if not line:
                del self._lines[owner]

    def _release(self) -> None:
        self.running -= 1
        while self._lines and self.running < self.slots:
            # The person at the front of the rotation gets one task in, then goes to the back.
            owner, line = next(iter(self._lines.items()))
            granted = line.popleft()
            del self._lines[owner]
            if line:
                self._lines[owner] = line
            if not granted.done():
                self.running += 1
                granted.set_result(None)
