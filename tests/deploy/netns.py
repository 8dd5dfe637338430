"""Hosts on one machine: network namespaces joined by veth pairs, for the multi-host test.

    root ns ──veth── lb (nginx) ──bridge── h1 (Tornagram)
                                       ├── h2 (Tornagram)
                                       └── db (Redis, S3, the PostgreSQL relay)

Every name carries the test's pid, so two runs never meet, and ``Hosts.remove`` kills what
runs in the namespaces and deletes them (their veths go with them) even after a failure. The
namespaces have no route out: the root namespace reaches only the load balancer's address,
and nothing in them reaches anything but the others.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def why_not_here() -> str | None:
    """None when namespaces can be made here (root, ``ip``, nginx), else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "nginx"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            return f"{tool} is not installed"
    probe = f"tgprobe{os.getpid()}"
    made = ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


@dataclass
class Hosts:
    """The namespaces and their addresses; ``HOSTS`` names the ones on the bridge."""

    tag: str = field(default_factory=lambda: f"tg{os.getpid()}")
    made: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = os.getpid() % 250 + 1
        self.lan = f"10.213.{n}"  # the bridge: lb .1, h1 .11, h2 .12, db .20
        self.edge = f"10.214.{n}"  # root .1 <-> lb .2, a /30
        self.addresses = {"lb": f"{self.lan}.1", "h1": f"{self.lan}.11",
                          "h2": f"{self.lan}.12", "db": f"{self.lan}.20"}
        self.front = f"{self.edge}.2"  # where the test reaches nginx

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    def build(self) -> None:
        for host in ("lb", "h1", "h2", "db"):
            ip("netns", "add", self.ns(host))
            self.made.append(self.ns(host))
            ip("-n", self.ns(host), "link", "set", "lo", "up")
        lb = self.ns("lb")
        # The root namespace's way in: one veth to the load balancer only.
        outer, inner = f"{self.tag}r", f"{self.tag}rl"
        ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        ip("link", "set", inner, "netns", lb)
        ip("addr", "add", f"{self.edge}.1/30", "dev", outer)
        ip("link", "set", outer, "up")
        ip("-n", lb, "addr", "add", f"{self.front}/30", "dev", inner)
        ip("-n", lb, "link", "set", inner, "up")
        # The hosts' network: a bridge in the load balancer's namespace.
        ip("-n", lb, "link", "add", "br0", "type", "bridge")
        ip("-n", lb, "addr", "add", f"{self.addresses['lb']}/24", "dev", "br0")
        ip("-n", lb, "link", "set", "br0", "up")
        for host in ("h1", "h2", "db"):
            end, port = f"{self.tag}{host}", f"{self.tag}{host}b"
            ip("link", "add", end, "type", "veth", "peer", "name", port)
            ip("link", "set", end, "netns", self.ns(host))
            ip("link", "set", port, "netns", lb)
            ip("-n", lb, "link", "set", port, "master", "br0")
            ip("-n", lb, "link", "set", port, "up")
            ip("-n", self.ns(host), "addr", "add", f"{self.addresses[host]}/24", "dev", end)
            ip("-n", self.ns(host), "link", "set", end, "up")

    def run(self, host: str, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start ``argv`` inside ``host``'s namespace; stopped by ``remove``."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *argv], **kwargs)
        self.processes.append(proc)
        return proc

    def remove(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for name in self.made:
            # Anything still running in the namespace is ours: it was started in it.
            pids = ip("netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            ip("netns", "del", name, check=False)
        ip("link", "del", f"{self.tag}r", check=False)
        self.made.clear()

    def leftovers(self) -> list[str]:
        names = ip("netns", "list", check=False).stdout.split()
        return [n for n in names if n.startswith(self.tag + "-")]
