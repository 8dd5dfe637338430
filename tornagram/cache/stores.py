"""Read-through stores: entries served only while the change stamps say they are fresh."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from tornagram.cache.changes import Changes


@dataclass(slots=True)
class _Entry:
    value: Any
    stamp: int
    topics: tuple[str, ...]
    born: float
    size: int


# What an entry costs beyond its value: the entry, its key and its slot in the ordered dict,
# and a reference per topic (topic names are interned, see cache/topics.py).
ENTRY_OVERHEAD_BYTES = 250
TOPIC_BYTES = 16


class Store:
    """One kind of cached answer: an LRU of entries, each with its topics and stamp, bounded by
    a count and by bytes.

    ``size(value)`` says what a value costs in memory. For ORM objects it is an estimate
    measured on the benchmark data (a card's post, photos, renditions and author; a comment
    with its author), cheap enough to work out on every put; ``bytes`` keeps the total.
    """

    def __init__(
        self,
        changes: Changes,
        name: str,
        *,
        max_entries: int,
        max_age_secs: float,
        max_bytes: int | None = None,
        size: Callable[[Any], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.changes = changes
        self.name = name
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._size = size
        self._max_age = max_age_secs
        self._clock = clock
        self.hits = 0
        self.misses = 0
        self.bytes = 0
        changes.on_reset(self.clear)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size

    def get(self, key: Hashable) -> Any | None:
        """The cached value, or None when absent, stale or the caches cannot be trusted."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if (
            not self.changes.usable
            or self._clock() - entry.born > self._max_age
            or not self.changes.fresh(entry.stamp, entry.topics)
        ):
            self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.value

    def put(self, key: Hashable, value: Any, stamp: int, topics: Iterable[str]) -> None:
        """Keep ``value``, read after ``stamp`` was taken, unless it is already stale."""
        topics = tuple(topics)
        if not self.changes.usable or not self.changes.fresh(stamp, topics):
            return
        size = ENTRY_OVERHEAD_BYTES + TOPIC_BYTES * len(topics)
        if self._size is not None:
            size += self._size(value)
        if self._max_bytes is not None and size > self._max_bytes:
            self._drop(key)  # larger than the whole store: never kept
            return
        self._drop(key)
        self._entries[key] = _Entry(value, stamp, topics, self._clock(), size)
        self.bytes += size
        entries = self._entries
        while len(entries) > self._max_entries or (
            self._max_bytes is not None and self.bytes > self._max_bytes
        ):
            _key, oldest = entries.popitem(last=False)
            self.bytes -= oldest.size

    def discard(self, key: Hashable) -> None:
        self._drop(key)


def html_bytes(html: str | bytes | tuple) -> int:
    """What a rendering costs in memory: its bytes (a tuple: the pieces between its slots)."""
    if isinstance(html, tuple):
        return sum(len(part) + 40 for part in html)
    # A str of ASCII is one byte a character; HTML with CJK text is stored wider, which the
    # encoded length roughly follows.
    return len(html) + 50


class FragmentCache:
    """Rendered HTML by a key that holds everything it shows: never stale, only evicted.
    Bounded by a count and by the bytes of the HTML it holds."""

    def __init__(self, max_entries: int, max_bytes: int | None = None) -> None:
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.bytes = 0

    def get(self, key: Hashable) -> str | None:
        html = self._entries.get(key)
        if html is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return html

    def put(self, key: Hashable, html: Any) -> None:
        if self._max_entries <= 0:
            return
        size = ENTRY_OVERHEAD_BYTES + html_bytes(html)
        if self._max_bytes is not None and size > self._max_bytes:
            return
        old = self._sizes.pop(key, None)
        if old is not None:
            self.bytes -= old
        self._entries[key] = html
        self._entries.move_to_end(key)
        self._sizes[key] = size
        self.bytes += size
        while len(self._entries) > self._max_entries or (
            self._max_bytes is not None and self.bytes > self._max_bytes
        ):
            oldest, _html = self._entries.popitem(last=False)
            self.bytes -= self._sizes.pop(oldest)

    def __len__(self) -> int:
        return len(self._entries)
