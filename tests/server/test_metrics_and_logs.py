"""A real `tornagram serve --metrics-port … --log-format json`: what an operator scrapes and
reads. One server for the module; each test looks only at what its own requests changed."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import DEFAULT_PASSWORD, fixture_bytes, free_port, require, upload
from tests.server.support import ServerProcess, wait_until


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    metrics_port = free_port()
    process = ServerProcess(
        tmp_path_factory.mktemp("metrics") / "data",
        "--metrics-port",
        str(metrics_port),
        "--log-format",
        "json",
    )
    process.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    yield process
    process.stop()


async def scrape(server) -> dict[tuple[str, tuple], float]:
    """Every sample of the metrics page, by name and labels."""
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(server.metrics_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def requests_of(samples, route: str, method: str = "GET", status: str = "200") -> float:
    key = (
        "tornagram_http_requests_total",
        (("method", method), ("route", route), ("status", status)),
    )
    return samples.get(key, 0.0)


def log_lines(server) -> list[dict]:
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


async def test_the_metrics_port_answers_and_the_site_port_does_not_serve_metrics(server):
    await server.wait_healthy()
    samples = await scrape(server)
    names = {name for name, _labels in samples}
    for expected in (
        "tornagram_live_connections",
        "tornagram_broker_healthy",
        "tornagram_cache_hits_total",
        "tornagram_image_tasks",
        "tornagram_db_pool_connections",
    ):
        assert expected in names
    assert samples[("tornagram_broker_healthy", ())] == 1
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(server.base_url + "/metrics")).status_code == 404


async def test_counts_and_timings_rise_with_requests(server):
    await server.wait_healthy()
    before = await scrape(server)
    client = server.client()
    try:
        await client.signup("metrica")
        for _ in range(3):
            assert (await client.get("/explore")).status_code == 200
        r = await upload(client, [("a.jpg", fixture_bytes("camera-gps.jpg"))])
        assert r.status_code == 303, r.text
    finally:
        await client.aclose()
    after = await scrape(server)
    assert requests_of(after, "explore") == requests_of(before, "explore") + 3
    assert requests_of(after, "signup", "POST", "303") == (
        requests_of(before, "signup", "POST", "303") + 1
    )
    timing = (
        "tornagram_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "explore")),
    )
    assert after[timing] == before.get(timing, 0) + 3
    # The upload's renditions ran in the image pool, and were timed there.
    image_runs = sum(
        value
        for (name, _labels), value in after.items()
        if name == "tornagram_image_work_duration_seconds_count"
    )
    assert image_runs >= 1
    # Signing up and browsing used the session and page caches.
    lookups = sum(
        value
        for (name, _labels), value in after.items()
        if name in ("tornagram_cache_hits_total", "tornagram_cache_misses_total")
    )
    assert lookups > 0


async def test_a_flood_of_random_paths_and_methods_adds_no_series(server):
    await server.wait_healthy()
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        assert (await http.get("/no-such-page")).status_code == 404
        assert (await http.request("BREW", "/")).status_code == 405
        await http.request("BREW", "/no-such-page")
        # Every series the flood could touch exists now; the flood may only add to their values.
        before = await scrape(server)
        for _ in range(40):
            path = f"/{secrets.token_hex(6)}/{secrets.token_hex(4)}"
            assert (await http.get(path)).status_code == 404
            await http.request("X" + secrets.token_hex(3).upper(), path)
    after = await scrape(server)
    assert set(after) == set(before), set(after) ^ set(before)
    assert requests_of(after, "not_found", status="404") == (
        requests_of(before, "not_found", status="404") + 40
    )


async def test_json_log_lines_carry_the_request_id(server):
    await server.wait_healthy()
    chosen = "trace-" + secrets.token_hex(8)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
        mine = await http.get("/explore", headers={"X-Request-Id": chosen})
        theirs = await http.get("/explore?q=1")
    assert mine.headers["X-Request-Id"] == chosen
    given = theirs.headers["X-Request-Id"]

    def logged() -> list[dict]:
        return [line for line in log_lines(server) if line.get("request_id") in (chosen, given)]

    await wait_until(lambda: len(logged()) == 2, 10, "both access lines")
    first, second = logged()
    assert first["logger"] == "tornagram.access"
    assert (first["method"], first["path"], first["status"]) == ("GET", "/explore", 200)
    assert first["route"] == "explore"
    assert isinstance(first["duration_ms"], float) and first["level"] == "info"
    assert second["request_id"] == given and second["path"] == "/explore"  # no query string
    # Every line of the log is one JSON object, from start-up on.
    assert all(isinstance(line["message"], str) for line in log_lines(server))


async def test_no_cookie_token_or_password_reaches_the_log(server):
    await server.wait_healthy()
    client = server.client()
    token = "tok" + secrets.token_hex(12)
    try:
        await client.signup("quietone")
        session = client.session_cookie()
        xsrf = await client.xsrf()
        assert session
        await client.get(f"/search?q={token}", headers={"Authorization": f"Bearer {token}"})
        await client.login("quietone")
        rid = (await client.get("/settings/profile")).headers["X-Request-Id"]
    finally:
        await client.aclose()
    await wait_until(lambda: rid in server.log(), 10, "the last access line")
    log = server.log()
    for secret in (session, xsrf, token, DEFAULT_PASSWORD):
        assert secret not in log
    signed_in = [line for line in log_lines(server) if line.get("request_id") == rid]
    assert signed_in[0]["user_id"] not in (None, "")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TORNAGRAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        require(False, f"Redis at {url}", str(exc))
    return url


@pytest.fixture
def two_workers(tmp_path, redis_url):
    metrics_port = free_port()
    while True:
        # Worker 1 takes the next port: find a pair that is free.
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", metrics_port + 1))
            break
        except OSError:
            metrics_port = free_port()
    process = ServerProcess(
        tmp_path / "data",
        "--processes",
        "2",
        "--redis-url",
        redis_url,
        "--metrics-port",
        str(metrics_port),
    )
    process.metrics_ports = (metrics_port, metrics_port + 1)
    yield process
    process.stop()


async def test_each_worker_is_scraped_on_its_own_port(two_workers):
    await two_workers.wait_healthy()
    async with httpx.AsyncClient(base_url=two_workers.base_url, timeout=10) as http:
        for _ in range(20):
            assert (await http.get("/explore")).status_code == 200

    async def counted() -> list[float]:
        found = []
        for port in two_workers.metrics_ports:
            two_workers.metrics_url = f"http://127.0.0.1:{port}/metrics"
            found.append(requests_of(await scrape(two_workers), "explore"))
        return found

    per_worker = await counted()
    # Each worker counts only what it answered; together, every request once.
    assert sum(per_worker) == 20


async def test_live_connections_and_broker_lag_are_reported(server):
    import tornado.httpclient
    import tornado.websocket

    await server.wait_healthy()
    client = server.client()
    ws = None
    try:
        await client.signup("livewatcher")
        slug = "m" + secrets.token_hex(5)
        r = await client.post("/rooms", {"slug": slug, "title": "Metrics", "cover": ""})
        assert r.status_code == 303
        before = await scrape(server)
        ws = await tornado.websocket.websocket_connect(
            tornado.httpclient.HTTPRequest(
                server.base_url.replace("http", "ws") + "/ws", headers={"Origin": server.base_url}
            )
        )
        await ws.write_message(json.dumps({"op": "subscribe", "channel": f"room:{slug}"}))
        ack = json.loads(await ws.read_message())
        assert ack["op"] == "subscribed"
        during = await scrape(server)
        live = ("tornagram_live_connections", (("kind", "websocket"),))
        assert during[live] == before[live] + 1
        r = await client.post(f"/rooms/{slug}/messages", {"body": "measured"})
        assert r.status_code == 303
        lag = ("tornagram_broker_delivery_lag_seconds_count", ())

        async def delivered() -> bool:
            return (await scrape(server))[lag] > before[lag]

        for _ in range(100):
            if await delivered():
                break
            await asyncio.sleep(0.05)
        assert await delivered()
    finally:
        if ws is not None:
            ws.close()
        await client.aclose()
