"""Token buckets per (action, user): a burst is allowed, then a steady rate.

In-process and in memory: with several server processes each keeps its own buckets, so the
effective limit is that many times higher (N processes allow about N times the rate). That is
deliberate — these limits stop a runaway script or an over-eager thumb, not a determined
attacker (login throttling, which must hold across processes, is stored in the database).

Memory stays bounded: a bucket that has been idle long enough to refill completely is the same
as no bucket at all, so such buckets are forgotten as they are found (oldest use first). If a
flood of distinct keys still outgrows ``max_keys``, the least recently used are dropped, which
at worst hands a long-idle user a fresh burst.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from tornagram.errors import TooManyRequests
from tornagram.i18n import NP_

TOO_FAST_MESSAGE = NP_(
    "You're doing that too fast. Please wait %(secs)d second and try again.",
    "You're doing that too fast. Please wait %(secs)d seconds and try again.",
)
MAX_TRACKED_KEYS = 100_000
# Idle buckets inspected per call: enough to keep up with any arrival rate, cheap per request.
EVICT_PER_CHECK = 4


@dataclass(frozen=True, slots=True)
class Rate:
    burst: int  # how many at once
    per_secs: float  # then one more every this many seconds

    def full_after_secs(self, tokens: float) -> float:
        return (self.burst - tokens) * self.per_secs


class RateLimiter:
    def __init__(
        self, rates: dict[str, Rate], *, clock=time.monotonic, max_keys: int = MAX_TRACKED_KEYS
    ) -> None:
        self.rates = rates
        self.clock = clock
        self.max_keys = max_keys
        # (action, key) → (tokens, last refill time), ordered by last use: oldest first.
        self._buckets: OrderedDict[tuple[str, object], tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, action: str, key: object, message: tuple[str, str] = TOO_FAST_MESSAGE) -> None:
        """Take one token, or raise TooManyRequests saying how long to wait. ``message`` is an
        ``NP_()`` pair with a ``%(secs)d`` placeholder."""
        rate = self.rates[action]
        now = self.clock()
        bucket_key = (action, key)
        tokens, last = self._buckets.pop(bucket_key, (float(rate.burst), now))
        tokens = min(float(rate.burst), tokens + (now - last) / rate.per_secs)
        if tokens < 1.0:
            self._buckets[bucket_key] = (tokens, now)
            wait = max(1, math.ceil((1.0 - tokens) * rate.per_secs))
            raise TooManyRequests(message, retry_after_secs=wait, secs=wait)
        self._buckets[bucket_key] = (tokens - 1.0, now)
        self._evict(now)

    def _evict(self, now: float) -> None:
        for _ in range(EVICT_PER_CHECK):
            if not self._buckets:
                return
            (action, _key), (tokens, last) = next(iter(self._buckets.items()))
            rate = self.rates.get(action)
            if rate is not None and now - last < rate.full_after_secs(tokens):
                break  # still refilling: stop here, later calls look again
            self._buckets.popitem(last=False)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


# The site's limits, per user.
DEFAULT_RATES = {
    # Live messages and danmaku: a burst of 5, then one a second.
    "send": Rate(burst=5, per_secs=1.0),
    # Comments: a burst of 10, then one every 3 seconds.
    "comment": Rate(burst=10, per_secs=3.0),
    # Likes and unlikes share one bucket: a burst of 30, then one a second.
    "like": Rate(burst=30, per_secs=1.0),
    # Saves and unsaves likewise.
    "save": Rate(burst=30, per_secs=1.0),
    # Password-reset mail, per address asked for: 3 at once, then one every 10 minutes.
    "reset-address": Rate(burst=3, per_secs=600.0),
    # And per IP: 10 at once, then one a minute.
    "reset-ip": Rate(burst=10, per_secs=60.0),
    # Reports: a burst of 5, then one a minute.
    "report": Rate(burst=5, per_secs=60.0),
    # Invite links: a burst of 10, then one a minute.
    "invite": Rate(burst=10, per_secs=60.0),
}
# Sign-ups per IP ("signup-ip") are sized by the settings: see AppContext.

