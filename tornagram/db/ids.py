"""64-bit, time-ordered ids (Snowflake-style).

Layout, high to low: 41 bits of milliseconds since ``EPOCH_MS`` (about 69 years), 10 bits of
worker id, 12 bits of sequence. Ids sort by creation time, so ``ORDER BY id DESC`` is "newest
first" and keyset pagination needs no second column. JSON carries them as strings because
JavaScript numbers lose precision past 2**53.
"""

from __future__ import annotations

import os
import threading
import time

EPOCH_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER_ID = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1


class IdGenerator:
    def __init__(self, worker_id: int | None = None) -> None:
        if worker_id is None:
            worker_id = os.getpid() & MAX_WORKER_ID
        if not 0 <= worker_id <= MAX_WORKER_ID:
            raise ValueError(f"worker id must be in 0..{MAX_WORKER_ID}")
        self.worker_id = worker_id
        self._last_ms = -1
        self._sequence = 0
        # Ids are made on the event loop and, rarely, in executor threads (the seed command).
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            now_ms = max(int(time.time() * 1000) - EPOCH_MS, self._last_ms)
            if now_ms == self._last_ms:
                self._sequence = (self._sequence + 1) & MAX_SEQUENCE
                if self._sequence == 0:
                    # 4096 ids in one millisecond: borrow the next millisecond rather than
                    # sleep, so the clock never goes backwards in our ids.
                    now_ms += 1
            else:
                self._sequence = 0
            self._last_ms = now_ms
            return (
                (now_ms << (WORKER_BITS + SEQUENCE_BITS))
                | (self.worker_id << SEQUENCE_BITS)
                | self._sequence
            )


def id_time_ms(snowflake: int) -> int:
    """Unix milliseconds at which an id was made."""
    return (snowflake >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS


def lowest_id_at(unix_ms: int) -> int:
    """The smallest id that could have been made at ``unix_ms``: a keyset bound for time ranges."""
    return max(unix_ms - EPOCH_MS, 0) << (WORKER_BITS + SEQUENCE_BITS)
