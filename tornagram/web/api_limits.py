"""The app API's request counting: fixed windows per token, or per address without one, in
this process (N processes allow N times the rate, as the site's other limits do; see
tornagram/ratelimit.py), and the ISO 8601 times its headers carry."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Window:
    limit: int
    secs: int


REQUESTS = Window(300, 300)  # per token, and per address without one
MAX_TRACKED = 50_000


class WindowCounter:
    """Fixed windows per key, in this process (N processes allow N times the rate, as the
    site's other limits do; see tornagram/ratelimit.py)."""

    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self._windows: OrderedDict[tuple, tuple[float, int]] = OrderedDict()

    def take(self, key: tuple, window: Window) -> tuple[int, float, bool]:
        """(remaining, reset time, allowed) after counting one request."""
        now = self.clock()
        start, count = self._windows.pop(key, (now, 0))
        if now - start >= window.secs:
            start, count = now, 0
        allowed = count < window.limit
        if allowed:
            count += 1
        self._windows[key] = (start, count)
        while len(self._windows) > MAX_TRACKED:
            self._windows.popitem(last=False)
        return window.limit - count, start + window.secs, allowed


def iso_time(when: float) -> str:
    moment = datetime.fromtimestamp(when, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
