"""Prometheus metrics of one process, served at ``/metrics`` on a port of their own.

Off unless ``--metrics-port`` is given. Then each process has its own registry and its own
listener on ``--metrics-host`` (127.0.0.1 by default): with ``--processes N``, worker *i*
listens on ``metrics_port + i`` and Prometheus scrapes each one. We chose that over
prometheus-client's multiprocess mode because most of what is worth watching here is the state
of one process (its live sockets, its caches, its database pool, its image queue), which
multiprocess mode cannot report without a file per metric per worker; a worker that restarts
also starts its counters from zero, which Prometheus' ``rate()`` already expects.

Labels are bounded by the code, never by what a client sends: requests are counted by the name
of the route that answered (``post``, ``profile``, ``not_found`` …), never by their path, and by
method only among the methods HTTP defines.

What is read at scrape time (connections, caches, pool, queue) is gathered by a collector from
the objects that keep it, so the request path pays nothing for it; what only exists as it
happens (request timings, event delivery lag, image work) is observed where it happens.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from tornagram.cache import Store

if TYPE_CHECKING:
    from tornagram.realtime.events import Event

# The AppContext (tornagram/context.py), which imports this module.
AppContext = Any

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route name of everything no route matched (the default handler).
NOT_FOUND_ROUTE = "not_found"
STATIC_ROUTE = "static"
OTHER = "other"
# Pages answer in milliseconds; uploads and long-polls take seconds.
REQUEST_BUCKETS_SECS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# From publish in one process to delivery in this one: milliseconds normally, seconds after a
# reconnect replays what an outage held back.
LAG_BUCKETS_SECS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30)
IMAGE_BUCKETS_SECS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

# No "<name>_created" twin of every counter: it doubles the series and nothing here reads it.
disable_created_metrics()


class Metrics:
    """One process's registry and the metrics observed as things happen."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tornagram_http_requests",
            "HTTP requests answered, by route name, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_secs = Histogram(
            "tornagram_http_request_duration_seconds",
            "Time from the request's arrival to its last byte, by route name and method",
            ["route", "method"],
            buckets=REQUEST_BUCKETS_SECS,
            registry=self.registry,
        )
        self.broker_lag = Histogram(
            "tornagram_broker_delivery_lag_seconds",
            "Time from an event's publication (its id's clock) to its delivery here",
            buckets=LAG_BUCKETS_SECS,
            registry=self.registry,
        )
        self.image_wait = Histogram(
            "tornagram_image_queue_wait_seconds",
            "Time image work waited for a worker, by task",
            ["task"],
            buckets=IMAGE_BUCKETS_SECS,
            registry=self.registry,
        )
        self.image_run = Histogram(
            "tornagram_image_work_duration_seconds",
            "Time image work ran in a worker process, by task",
            ["task"],
            buckets=IMAGE_BUCKETS_SECS,
            registry=self.registry,
        )
        # (handler class, method, status) → its counter and histogram: labels() takes a lock
        # and builds a key each time, which a request should not pay for.
        self._children: dict[tuple, tuple] = {}

    def attach(self, ctx: AppContext) -> None:
        """Observe ``ctx``'s broker and image workers, and report its state at each scrape."""
        ctx.broker.add_listener(self.event_delivered)
        ctx.images.observers.append(self.image_done)
        self.registry.register(_StateCollector(ctx))

    # -- observed as it happens ------------------------------------------------------------

    def request_done(self, handler) -> None:
        request = handler.request
        key = (type(handler), request.method, handler.get_status())
        children = self._children.get(key)
        if children is None:
            # Bounded: handler classes × methods × statuses, with unknown methods as "other".
            route = route_of(handler)
            method = request.method if request.method in METHODS else OTHER
            children = (
                self.requests.labels(route, method, str(key[2])),
                self.request_secs.labels(route, method),
            )
            if request.method in METHODS:
                self._children[key] = children
        children[0].inc()
        children[1].observe(request.request_time())

    def event_delivered(self, event: Event) -> None:
        if not event.id:
            return  # a replay-gap marker, not an event
        published_ms = int(event.id.split("-", 1)[0])
        self.broker_lag.observe(max(0.0, time.time() - published_ms / 1000))

    def image_done(self, task: str, wait_secs: float, run_secs: float) -> None:
        self.image_wait.labels(task).observe(wait_secs)
        self.image_run.labels(task).observe(run_secs)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    content_type = CONTENT_TYPE_LATEST


def route_of(handler) -> str:
    """The name of the route that ``handler`` answered, from the application's table."""
    return getattr(handler.application, "route_names", {}).get(type(handler), OTHER)


def route_names(routes, *, not_found: type, static: type) -> dict[type, str]:
    """Each handler class by the name of its route; a class serving two routes keeps the first
    name (every route of ours has a class of its own, so none does today)."""
    names: dict[type, str] = {static: STATIC_ROUTE, not_found: NOT_FOUND_ROUTE}
    for route in routes:
        names.setdefault(route[1], route[3])
    return names


def _caches(ctx: AppContext) -> dict[str, Any]:
    """Every cache ``ctx`` holds, by name: the page and fragment caches, and the stores that
    services keep as attributes (feeds, accounts, notifications…)."""
    found: dict[str, Any] = {"pages": ctx.pages, "fragments": ctx.fragments}
    seen = {id(ctx.pages), id(ctx.fragments)}
    for value in vars(ctx).values():
        for attr in getattr(value, "__dict__", {}).values():
            if isinstance(attr, Store) and id(attr) not in seen:
                seen.add(id(attr))
                found[attr.name] = attr
    return found


class _StateCollector:
    """What is true of the process at the moment of the scrape."""

    def __init__(self, ctx: AppContext) -> None:
        self._ctx = ctx

    def describe(self):
        return []

    def collect(self):
        ctx = self._ctx
        live = GaugeMetricFamily(
            "tornagram_live_connections", "Open live connections, by transport", labels=["kind"]
        )
        live.add_metric(["websocket"], len(ctx.sockets))
        live.add_metric(["longpoll"], len(ctx.long_polls))
        yield live
        broker = GaugeMetricFamily(
            "tornagram_broker_healthy", "1 while the broker is connected and delivering"
        )
        broker.add_metric([], 1 if ctx.broker.healthy else 0)
        yield broker

        hits = CounterMetricFamily(
            "tornagram_cache_hits", "Answers served from a cache, by cache", labels=["cache"]
        )
        misses = CounterMetricFamily(
            "tornagram_cache_misses", "Lookups a cache could not answer, by cache", labels=["cache"]
        )
        entries = GaugeMetricFamily(
            "tornagram_cache_entries", "Entries held, by cache", labels=["cache"]
        )
        for name, cache in sorted(_caches(ctx).items()):
            hits.add_metric([name], cache.hits)
            misses.add_metric([name], cache.misses)
            entries.add_metric([name], len(cache))
        yield hits
        yield misses
        yield entries

        images = ctx.images
        running = images.running
        queue = GaugeMetricFamily(
            "tornagram_image_tasks", "Image work in this process, by state", labels=["state"]
        )
        queue.add_metric(["running"], running)
        queue.add_metric(["waiting"], max(0, images.in_flight - running))
        yield queue
        workers = GaugeMetricFamily("tornagram_image_workers", "Image worker processes allowed")
        workers.add_metric([], images.max_workers)
        yield workers

        pool = ctx.db.engine.sync_engine.pool
        db = GaugeMetricFamily(
            "tornagram_db_pool_connections", "Database pool connections, by state", labels=["state"]
        )
        for state in ("checkedout", "checkedin", "overflow"):
            reader = getattr(pool, state, None)
            if reader is not None:
                db.add_metric([state.replace("checked", "")], max(0, reader()))
        yield db
        size = GaugeMetricFamily("tornagram_db_pool_size", "Connections the pool keeps open")
        size.add_metric([], pool.size() if hasattr(pool, "size") else 0)
        yield size


def metrics_app(metrics: Metrics):
    """A Tornado application that answers ``GET /metrics`` and nothing else."""
    import tornado.web

    class MetricsHandler(tornado.web.RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", metrics.content_type)
            self.set_header("Cache-Control", "no-store")
            self.write(metrics.exposition())

    # No log_function: scrapes every few seconds would drown the access log.
    return tornado.web.Application(
        [(r"/metrics", MetricsHandler)], log_function=lambda _handler: None
    )
