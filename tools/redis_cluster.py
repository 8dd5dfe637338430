"""Start (or stop) a local Redis Cluster of three masters, for tests and for trying it out.

    python tools/redis_cluster.py start --dir /tmp/tgc --ports 7101,7102,7103
    python tools/redis_cluster.py stop --ports 7101,7102,7103
    python tools/redis_cluster.py restart --dir /tmp/tgc --ports 7102 --cluster 7101,7102,7103

``start`` does nothing when the cluster already answers on those ports; otherwise it starts
one ``redis-server --cluster-enabled yes`` per port (with ``--replicas 1``, six ports make three
masters with a replica each) (loopback only, no persistence), joins them
with ``redis-cli --cluster create``, waits until every node says ``cluster_state:ok``, and prints
the ``redis+cluster://`` URL that Tornagram takes. It needs Redis 7 or newer (sharded pub/sub).
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from pathlib import Path

READY_TIMEOUT_SECS = 30


def _cli(port: int, *args: str, timeout: float = 5) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def cluster_ok(ports: list[int]) -> bool:
    for port in ports:
        try:
            info = _cli(port, "cluster", "info", timeout=2).stdout
        except (OSError, subprocess.TimeoutExpired):
            return False
        if "cluster_state:ok" not in info:
            return False
    return True


def url_of(ports: list[int]) -> str:
    return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports)


def _wait(predicate, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECS
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"redis_cluster: timed out waiting for {what}")
        time.sleep(0.1)


def start(directory: Path, ports: list[int], replicas: int = 0) -> str:
    if cluster_ok(ports):
        return url_of(ports)
    for port in ports:
        node_dir = directory / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("nodes.conf", "dump.rdb"):
            (node_dir / stale).unlink(missing_ok=True)
        _start_node(directory, port)
    _wait(lambda: all(_cli(p, "ping", timeout=2).stdout.strip() == "PONG" for p in ports),
          "the nodes to answer")
    created = subprocess.run(
        ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
         "--cluster-replicas", str(replicas), "--cluster-yes"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if created.returncode != 0:
        raise SystemExit(f"redis_cluster: cluster create failed:\n{created.stdout}{created.stderr}")
    _wait(lambda: cluster_ok(ports), "cluster_state:ok on every node")
    if replicas:
        _wait(lambda: _replicas_in_sync(ports), "every replica to sync with its master")
    return url_of(ports)


def _replicas_in_sync(ports: list[int]) -> bool:
    for port in ports:
        info = _cli(port, "info", "replication", timeout=2).stdout
        if "role:slave" in info and "master_link_status:up" not in info:
            return False
    return True


def _start_node(directory: Path, port: int) -> None:
    node_dir = directory / str(port)
    subprocess.run(
        [
            "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "2000", "--dir", str(node_dir),
            "--save", "", "--appendonly", "no", "--daemonize", "yes",
            "--logfile", str(node_dir / "redis.log"),
            "--pidfile", str(node_dir / "redis.pid"),
        ],
        check=True,
    )


def restart_nodes(directory: Path, ports: list[int], all_ports: list[int]) -> None:
    """Start stopped nodes again from their nodes.conf: they rejoin with the slots they had."""
    for port in ports:
        _start_node(directory, port)
    _wait(lambda: cluster_ok(all_ports), "cluster_state:ok after the restart")


def stop(ports: list[int]) -> None:
    for port in ports:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            _cli(port, "shutdown", "nosave", timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("action", choices=("start", "stop", "restart"))
    parser.add_argument("--dir", default="/tmp/tornagram-redis-cluster")
    parser.add_argument("--ports", default="7101,7102,7103")
    parser.add_argument("--cluster", default="", help="restart: every node's port")
    parser.add_argument("--replicas", type=int, default=0, help="start: replicas per master")
    args = parser.parse_args(argv)
    ports = [int(p) for p in args.ports.split(",")]
    if args.action == "restart":
        restart_nodes(Path(args.dir), ports, [int(p) for p in args.cluster.split(",")])
    elif args.action == "start":
        print(start(Path(args.dir), ports, args.replicas))
    else:
        stop(ports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
