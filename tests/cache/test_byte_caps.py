"""The stores are bounded by bytes as well as entries: large answers push out old ones."""

from __future__ import annotations

from tornagram.cache import FragmentCache, LocalChanges, Store
from tornagram.cache.stores import ENTRY_OVERHEAD_BYTES, TOPIC_BYTES


def test_a_store_keeps_its_bytes_under_the_cap_and_drops_the_oldest_first():
    changes = LocalChanges()
    each = ENTRY_OVERHEAD_BYTES + TOPIC_BYTES + 1_000
    store = Store(changes, "t", max_entries=100, max_age_secs=60, max_bytes=3 * each, size=len)
    for key in "abcd":
        store.put(key, "x" * 1_000, changes.stamp(), ("topic",))
    assert store.bytes == 3 * each and len(store) == 3
    assert store.get("a") is None and store.get("d") == "x" * 1_000
    store.put("huge", "x" * 10_000, changes.stamp(), ())  # larger than the whole store
    assert store.get("huge") is None and len(store) == 3
    changes.apply(["topic"])  # stale entries give their bytes back as they are found
    assert store.get("b") is None and store.bytes == 2 * each
    changes.reset()
    assert store.bytes == 0 and len(store) == 0


def test_a_fragment_cache_counts_the_html_it_holds():
    cache = FragmentCache(100, max_bytes=3_000)
    for i in range(10):
        cache.put(i, "<p>" + "y" * 900 + "</p>")
    assert cache.bytes <= 3_000 and len(cache) == 2
    assert cache.get(9) is not None and cache.get(0) is None
    cache.put(9, (b"a" * 100, b"b" * 100))  # a page kept as its pieces between slots
    assert cache.bytes <= 3_000 and cache.get(9) == (b"a" * 100, b"b" * 100)
    assert FragmentCache(0).put("k", "v") is None and len(FragmentCache(0)) == 0
