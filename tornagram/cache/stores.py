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


class Store:
    """One kind of cached answer: a bounded LRU of entries, each with its topics and stamp."""

    def __init__(
        self,
        changes: Changes,
        name: str,
        *,
        max_entries: int,
        max_age_secs: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.changes = changes
        self.name = name
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age_secs
        self._clock = clock
        self.hits = 0
        self.misses = 0
        changes.on_reset(self._entries.clear)

    def __len__(self) -> int:
        return len(self._entries)

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
            del self._entries[key]
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
        self._entries[key] = _Entry(value, stamp, topics, self._clock())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        self._entries.pop(key, None)


class FragmentCache:
    """Rendered HTML by a key that holds everything it shows: never stale, only evicted."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[Hashable, str] = OrderedDict()
        self._max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> str | None:
        html = self._entries.get(key)
        if html is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return html

    def put(self, key: Hashable, html: str) -> None:
        self._entries[key] = html
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
