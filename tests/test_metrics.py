"""The metrics observed as things happen, without a server (the server tests scrape it)."""

from __future__ import annotations

import time

from tornagram.metrics import Metrics
from tornagram.realtime import Event


def sample(metrics: Metrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


def test_broker_lag_is_read_from_the_event_id_and_markers_are_skipped():
    metrics = Metrics()
    published_ms = int(time.time() * 1000) - 250
    metrics.event_delivered(Event("post:1", "comment.created", {}, f"{published_ms}-3"))
    metrics.event_delivered(Event("post:1", "replay.incomplete", {"since": "0-0"}))
    assert sample(metrics, "tornagram_broker_delivery_lag_seconds_count") == 1
    assert sample(metrics, "tornagram_broker_delivery_lag_seconds_sum") >= 0.25
    # An id from a clock ahead of ours is no negative lag.
    metrics.event_delivered(Event("post:1", "comment.created", {}, f"{published_ms + 60_000}-0"))
    assert sample(metrics, "tornagram_broker_delivery_lag_seconds_count") == 2
    first_bucket = metrics.registry.get_sample_value(
        "tornagram_broker_delivery_lag_seconds_bucket", {"le": "0.001"}
    )
    assert first_bucket == 1
