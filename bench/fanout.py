"""Live-comment fan-out: tornagram's hub against a naive server and `websockets`.

    .venv/bin/python bench/fanout.py [--n 1000,5000,10000] [--rate 100] [--duration 30]
                                     [--kinds tornagram,naive,websockets] [--quick]

One channel, N viewers. Each server kind runs in its own process; the same
client processes (raw asyncio sockets, --client-procs of them) connect N
WebSockets to it, and the server publishes --rate comments per second for
--duration seconds from an in-process timer. Every comment carries its publish
time, so (all on one machine, one clock) clients measure delivery latency.

Kinds:
  tornagram        the real Hub (batching per 100 ms tick, one frame per tick)
  tornagram-tick0  the Hub with tick 0: one frame per comment, like the others
  naive            Tornado, write_message() per viewer per comment
  websockets       the `websockets` library's broadcast() per comment (reference;
                   skipped with a notice if the package is missing)

Printed per run (µs/frame is server CPU per WebSocket frame written, the
per-viewer cost): comments actually published per second (a server that falls
behind publishes fewer), delivered/expected events, latency p50/p99/max (measured on
every k-th connection so the clients stay light), server and client CPU during
the publishing window (% of one core, from /proc/<pid>/stat), and server RSS per idle connection
((RSS with N idle viewers - RSS with none) / N).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CHANNEL = "post:1"
HIST_RES_SECS = 1e-4  # latency histogram bucket: 0.1 ms
HIST_BUCKETS = 600_000  # up to 60 s
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_cpu_secs(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def proc_rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE


# -- servers -----------------------------------------------------------------


def comment(n: int) -> dict:
    return {"n": n, "at": time.time(), "user": "viewer", "body": "好看！nice shot"}


async def publish_loop(rate: float, duration: float, publish) -> int:
    """Publish on an absolute schedule; stops at the deadline even if behind."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    count = 0
    while loop.time() - start < duration:
        await publish(count)
        count += 1
        delay = start + count / rate - loop.time()
        await asyncio.sleep(max(0.0, delay))
    return count


async def run_server(kind: str, port: int, tick: float) -> None:
    import tornado.web
    import tornado.websocket

    from tornagram.realtime import Hub, InProcessBroker, WebSocketSubscriber

    publish = None
    flushes: list[tuple[float, float, int]] = []  # (start, seconds, events) per hub flush
    if kind.startswith("tornagram"):
        broker = InProcessBroker()
        hub = Hub(broker, tick_secs=0.0 if kind == "tornagram-tick0" else tick)
        real_flush = hub._flush

        def timed_flush(loop, channel):
            started, events = time.perf_counter(), len(hub._pending.get(channel, ()))
            real_flush(loop, channel)
            flushes.append((started, time.perf_counter() - started, events))

        hub._flush = timed_flush

        class Subscribe(tornado.websocket.WebSocketHandler):
            def get_compression_options(self):
                return None

            async def open(self):
                self.set_nodelay(True)
                self.subscriber = WebSocketSubscriber(self)
                await hub.subscribe(self.subscriber, CHANNEL)

            def on_close(self):
                hub.drop(self.subscriber)

        async def publish(n: int) -> None:
            await broker.publish(CHANNEL, "comment.created", comment(n))

        tornado.web.Application([(r"/ws", Subscribe)], websocket_ping_interval=None).listen(
            port, "127.0.0.1", backlog=4096
        )
    elif kind == "naive":
        viewers: set = set()

        class Naive(tornado.websocket.WebSocketHandler):
            def open(self):
                viewers.add(self)

            def on_close(self):
                viewers.discard(self)

        async def publish(n: int) -> None:
            text = json.dumps({"channel": CHANNEL, "event": "comment.created",
                               "id": f"{n}-0", "data": comment(n)}, ensure_ascii=False)
            for viewer in tuple(viewers):
                try:
                    viewer.write_message(text)
                except tornado.websocket.WebSocketClosedError:
                    viewers.discard(viewer)

        tornado.web.Application([(r"/ws", Naive)], websocket_ping_interval=None).listen(
            port, "127.0.0.1", backlog=4096
        )
    else:
        from websockets.asyncio.server import broadcast, serve

        connections: set = set()

        async def handler(ws) -> None:
            connections.add(ws)
            try:
                await ws.wait_closed()
            finally:
                connections.discard(ws)

        async def publish(n: int) -> None:
            broadcast(connections, json.dumps({"channel": CHANNEL, "event": "comment.created",
                                               "id": f"{n}-0", "data": comment(n)},
                                              ensure_ascii=False))

        await serve(handler, "127.0.0.1", port, compression=None, ping_interval=None,
                    backlog=4096)

    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        words = line.split()
        if not words or words[0] == "quit":
            return
        if words[0] == "publish":
            flushes.clear()
            count = await publish_loop(float(words[1]), float(words[2]), publish)
            durations = sorted(d for _, d, _ in flushes)
            gaps = [b[0] - a[0] for a, b in itertools.pairwise(flushes)]
            print(json.dumps({
                "published": count, "flushes": len(flushes),
                "flush_ms_p50": 1000 * durations[len(durations) // 2] if durations else 0,
                "flush_ms_max": 1000 * durations[-1] if durations else 0,
                "flush_gap_ms_mean": 1000 * sum(gaps) / len(gaps) if gaps else 0,
            }), flush=True)


# -- clients -----------------------------------------------------------------


class Viewer(asyncio.Protocol):
    """One WebSocket viewer on a bare socket: frames parsed, payloads decoded once."""

    def __init__(self, stats: dict, cache: dict, record: bool, connected: asyncio.Future):
        self.stats, self.cache, self.record, self.connected = stats, cache, record, connected
        self.buffer = bytearray()
        self.open = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /ws?channel={CHANNEL} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.open:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self.connected.set_exception(ConnectionError(bytes(buffer[:80])))
                return
            del buffer[: end + 4]
            self.open = True
            self.connected.set_result(None)
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            length = buffer[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            if size - pos < head + length:
                break
            if buffer[pos] & 0x0F == 1:
                self.on_text(bytes(buffer[pos + head : pos + head + length]))
            pos += head + length
        del buffer[:pos]

    def on_text(self, payload: bytes) -> None:
        sent_at = self.cache.get(payload)
        if sent_at is None:  # every viewer gets the same bytes: decode them once
            decoded = json.loads(payload)
            items = decoded if isinstance(decoded, list) else [decoded]
            sent_at = [item["data"]["at"] for item in items]
            if len(self.cache) > 256:
                self.cache.clear()
            self.cache[payload] = sent_at
        self.stats["received"] += len(sent_at)
        if self.record:
            now, hist = time.time(), self.stats["hist"]
            for at in sent_at:
                hist[min(int((now - at) / HIST_RES_SECS), HIST_BUCKETS - 1)] += 1


async def run_client(port: int, conns: int, sample_every: int, offset: int) -> None:
    loop = asyncio.get_running_loop()
    stats = {"received": 0, "hist": [0] * HIST_BUCKETS}
    cache: dict = {}
    gate = asyncio.Semaphore(64)  # stay under the server's accept backlog

    async def open_one(i: int) -> None:
        for _attempt in range(20):
            async with gate:
                connected = loop.create_future()
                viewer = Viewer(stats, cache, (offset + i) % sample_every == 0, connected)
                try:
                    await loop.create_connection(lambda v=viewer: v, "127.0.0.1", port)
                    await asyncio.wait_for(connected, 30)
                    return
                except (OSError, TimeoutError, ConnectionError):
                    await asyncio.sleep(0.2)
        raise ConnectionError("could not connect")

    await asyncio.gather(*(open_one(i) for i in range(conns)))
    print("CONNECTED", flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() == "report":
            hist = stats["hist"]
            sparse = {i: c for i, c in enumerate(hist) if c}
            print(json.dumps({"received": stats["received"], "hist": sparse}), flush=True)
        else:
            return


def _client_loop_factory():
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


# -- orchestration -----------------------------------------------------------


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)


def expect(proc: subprocess.Popen, word: str) -> str:
    line = proc.stdout.readline()
    if not line.startswith(word) and not line.startswith("{"):
        raise RuntimeError(f"expected {word}, got {line!r}")
    return line


def percentile(hist: dict[int, int], q: float) -> float:
    total = sum(hist.values())
    target, seen = q * total, 0
    for bucket in sorted(hist):
        seen += hist[bucket]
        if seen >= target:
            return bucket * HIST_RES_SECS
    return float("nan")


def measure(kind: str, n: int, args, port: int) -> dict:
    server = spawn("--role", "server", "--kind", kind, "--port", str(port),
                   "--tick", str(args.tick))
    clients: list[subprocess.Popen] = []
    try:
        expect(server, "READY")
        time.sleep(0.5)
        rss_empty = proc_rss_bytes(server.pid)
        sample_every = max(1, n // args.sampled)
        per_client = [n // args.client_procs + (i < n % args.client_procs)
                      for i in range(args.client_procs)]
        offset = 0
        for count in per_client:
            clients.append(spawn("--role", "client", "--port", str(port), "--conns",
                                 str(count), "--sample-every", str(sample_every),
                                 "--offset", str(offset)))
            offset += count
        for client in clients:
            expect(client, "CONNECTED")
        time.sleep(2.0)  # let the idle sockets settle before reading RSS
        rss_idle = proc_rss_bytes(server.pid)
        cpu0 = proc_cpu_secs(server.pid)
        ccpu0 = sum(proc_cpu_secs(c.pid) for c in clients)
        started = time.monotonic()
        server.stdin.write(f"publish {args.rate} {args.duration}\n")
        done = json.loads(expect(server, "{"))
        published = done["published"]
        if done.get("flushes"):
            print(f"  ({kind}: {done['flushes']} flushes, {done['flush_ms_p50']:.1f} ms each "
                  f"(max {done['flush_ms_max']:.1f}), one every "
                  f"{done['flush_gap_ms_mean']:.0f} ms)", flush=True)
        # CPU over the publishing window only: that is the steady-state cost.
        busy = time.monotonic() - started
        server_cpu_secs = proc_cpu_secs(server.pid) - cpu0
        server_cpu = 100 * server_cpu_secs / busy
        # Frames written: one per flush per viewer for the hub, one per comment otherwise.
        frames = (done.get("flushes") or published) * n
        client_cpu = 100 * (sum(proc_cpu_secs(c.pid) for c in clients) - ccpu0) / busy
        expected = published * n
        received, hist = 0, {}
        deadline = time.monotonic() + max(10.0, args.duration)
        while True:  # drain: stop when everything arrived or nothing moves for 2 s
            time.sleep(1.0 if received < expected else 0)
            reports = []
            for client in clients:
                client.stdin.write("report\n")
                reports.append(json.loads(expect(client, "{")))
            now_received = sum(r["received"] for r in reports)
            if now_received >= expected or time.monotonic() > deadline or (
                now_received == received and time.monotonic() - started > args.duration + 2
            ):
                received = now_received
                break
            received = now_received
        for report in reports:
            for bucket, count in report["hist"].items():
                hist[int(bucket)] = hist.get(int(bucket), 0) + count
        return {
            "kind": kind, "n": n, "published": published, "expected": expected,
            "received": received,
            "p50_ms": percentile(hist, 0.50) * 1000, "p99_ms": percentile(hist, 0.99) * 1000,
            "max_ms": (max(hist) * HIST_RES_SECS * 1000) if hist else float("nan"),
            "server_cpu_pct": server_cpu, "client_cpu_pct": client_cpu,
            "us_per_frame": 1e6 * server_cpu_secs / max(frames, 1),
            "rate": published / args.duration,
            "rss_per_conn_kib": (rss_idle - rss_empty) / n / 1024,
        }
    finally:
        for proc in [server, *clients]:
            try:
                proc.stdin.write("quit\n")
                proc.stdin.close()
                proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--role", choices=["bench", "server", "client"], default="bench")
    parser.add_argument("--kind", default="tornagram")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--tick", type=float, default=0.1)
    parser.add_argument("--conns", type=int, default=0)
    parser.add_argument("--sample-every", type=int, default=1)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--n", default="1000,5000,10000", help="viewer counts, comma-separated")
    parser.add_argument("--kinds", default="tornagram,tornagram-tick0,naive,websockets")
    parser.add_argument("--rate", type=float, default=100.0, help="comments per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of publishing")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--sampled", type=int, default=1000,
                        help="about this many connections record latency")
    parser.add_argument("--quick", action="store_true", help="N=200 for 3 s: a smoke run")
    args = parser.parse_args()
    raise_fd_limit()
    if args.role == "server":
        asyncio.run(run_server(args.kind, args.port, args.tick))
        return
    if args.role == "client":
        # The load generator must not be what limits the run: uvloop, when installed (make
        # bench-fanout installs it), roughly halves the clients' CPU per frame. The servers
        # under test all keep the standard asyncio loop.
        client_loop = _client_loop_factory()
        coro = run_client(args.port, args.conns, args.sample_every, args.offset)
        with asyncio.Runner(loop_factory=client_loop) as runner:
            runner.run(coro)
        return
    if args.quick:
        args.n, args.duration = "200", 3.0
    kinds = args.kinds.split(",")
    if "websockets" in kinds:
        try:
            import websockets  # noqa: F401
        except ImportError:
            print("websockets is not installed: the reference server is skipped")
            kinds.remove("websockets")
    client_loop = "uvloop" if _client_loop_factory() else "asyncio (pip install uvloop: lighter)"
    print(f"fan-out of {args.rate:g} comments/s for {args.duration:g} s to one channel; "
          f"{args.client_procs} client processes (raw sockets on {client_loop}); "
          f"{os.cpu_count()} CPUs")
    header = (f"{'server':<16}{'N':>6}{'pub/s':>7}{'delivered/expected':>22}"
              f"{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
              f"{'srv CPU%':>10}{'µs/frame':>10}{'cli CPU%':>10}{'KiB/conn':>10}")
    results = []
    for n in [int(x) for x in args.n.split(",")]:
        print(header)
        for index, kind in enumerate(kinds):
            r = measure(kind, n, args, args.port + index)
            results.append(r)
            print(f"{kind:<16}{n:>6}{r['rate']:>7.0f}{r['received']:>12}/{r['expected']:<9}"
                  f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['max_ms']:>9.1f}"
                  f"{r['server_cpu_pct']:>10.1f}{r['us_per_frame']:>10.1f}"
                  f"{r['client_cpu_pct']:>10.1f}"
                  f"{r['rss_per_conn_kib']:>10.1f}", flush=True)
        ours = next((r for r in results if r["n"] == n and r["kind"] == "tornagram"), None)
        for r in results:
            if ours and r["n"] == n and r is not ours:
                print(f"  {r['kind']}/tornagram: server CPU x"
                      f"{r['server_cpu_pct'] / max(ours['server_cpu_pct'], 0.01):.1f}, "
                      f"p99 x{r['p99_ms'] / max(ours['p99_ms'], 0.01):.1f}")


if __name__ == "__main__":
    main()
