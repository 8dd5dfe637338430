"""Photo import from a URL: the address guard, the limits and the redirect chain.

Nothing here leaves the machine. An autouse fixture sits under the HTTP client where sockets
are made: it records every address the client dials, refuses anything that is not loopback,
and can map one made-up public address onto the loopback test server. That lets a "public"
first hop be served locally while the guard runs with loopback refused, so redirects to every
forbidden target, loopback ones included, are checked with the production policy.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import socket
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field

import pytest
import tornado.web
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream, StreamClosedError
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.tcpclient import TCPClient
from tornado.tcpserver import TCPServer
from tornado.testing import bind_unused_port

from tornagram.errors import UserError
from tornagram.photos.remote import (
    REMOTE_ERROR_MESSAGES,
    FetchPolicy,
    GuardedResolver,
    RemoteFetchError,
    fetch_remote_image,
    is_forbidden_address,
)

IMAGE_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64
# A globally routable address and a made-up name for it; the test network delivers
# connections to PUBLIC_IP:80 to the loopback test server.
PUBLIC_IP = "93.184.215.14"
PUBLIC_HOST = "photos.example"
BIG_BODY_BYTES = 64 * 1024 * 1024
SMALL_CAP_BYTES = 100_000

FORBIDDEN_TARGETS = [
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
    "http://localhost/",
]
# allow_loopback lets exactly 127.0.0.0/8 and ::1 through; these stay refused regardless.
NON_LOOPBACK_FORBIDDEN_TARGETS = [
    "http://0.0.0.0/",
    "http://[::]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://[fe80::1]/",
]

# True while the HTTP client is inside TCPClient.connect; resolver calls made from there inherit it.
IN_CONNECT: contextvars.ContextVar[bool] = contextvars.ContextVar("IN_CONNECT", default=False)


# ---------------------------------------------------------------- the test network


@dataclass
class FakeNetwork:
    dialled: list[tuple[str, int]] = field(default_factory=list)
    routes: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)

    def route(self, addr: tuple) -> tuple:
        host, port = addr[0], addr[1]
        self.dialled.append((host, port))
        if (host, port) in self.routes:
            return self.routes[(host, port)]
        if ipaddress.ip_address(host.split("%")[0]).is_loopback:
            return addr
        raise ConnectionRefusedError(f"the test network does not reach {host}")


@pytest.fixture(autouse=True)
def network(monkeypatch) -> FakeNetwork:
    net = FakeNetwork()
    create_stream = TCPClient._create_stream
    connect = TCPClient.connect

    def spy_create_stream(self, max_buffer_size, af, addr, source_ip=None, source_port=None):
        target = net.route(addr)
        return create_stream(
            self, max_buffer_size, af, target, source_ip=source_ip, source_port=source_port
        )

    async def spy_connect(self, host, port, *args, **kwargs):
        token = IN_CONNECT.set(True)
        try:
            return await connect(self, host, port, *args, **kwargs)
        finally:
            IN_CONNECT.reset(token)

    monkeypatch.setattr(TCPClient, "_create_stream", spy_create_stream)
    monkeypatch.setattr(TCPClient, "connect", spy_connect)
    return net


def _is_numeric_host(host: str) -> bool:
    try:
        socket.inet_aton(host)
        return True
    except OSError:
        pass
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


class StubResolver(Resolver):
    """Answers made-up names from a script (one answer per look-up, the last one repeating).

    Numeric hosts and localhost go to getaddrinfo, which answers them without any DNS traffic.
    """

    def initialize(self, answers: dict[str, list] | None = None) -> None:
        self.answers = {host: list(seq) for host, seq in (answers or {}).items()}
        self.calls: list[tuple[str, int, bool]] = []
        self.system = DefaultLoopResolver()

    async def resolve(self, host, port, family=socket.AF_UNSPEC):
        self.calls.append((host, port, IN_CONNECT.get()))
        if host in self.answers:
            script = self.answers[host]
            answer = script.pop(0) if len(script) > 1 else script[0]
            if isinstance(answer, Exception):
                raise answer
            return [
                (socket.AF_INET6, (ip, port, 0, 0)) if ":" in ip else (socket.AF_INET, (ip, port))
                for ip in answer
            ]
        if host == "localhost" or _is_numeric_host(host):
            return await self.system.resolve(host, port, family)
        raise socket.gaierror(socket.EAI_NONAME, "unknown test host")


def public_resolver(**extra) -> StubResolver:
    return StubResolver(answers={PUBLIC_HOST: [[PUBLIC_IP]], **extra})


# ---------------------------------------------------------------- the test servers


@dataclass
class ServerState:
    port: int = 0
    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    sent_bytes: int = 0
    cut_off: bool = False
    inflight: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class BaseHandler(tornado.web.RequestHandler):
    def initialize(self, state: ServerState) -> None:
        self.state = state

    def prepare(self) -> None:
        self.state.paths.append(self.request.path)
        self.state.headers.append(dict(self.request.headers))


class ImageHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "image/png")
        self.write(IMAGE_BYTES)


class HopHandler(BaseHandler):
    def get(self, left: str) -> None:
        n = int(left)
        self.redirect(f"/hop/{n - 1}" if n else "/image")


class RedirectHandler(BaseHandler):
    def get(self) -> None:
        self.redirect(self.get_argument("to"))


class NoLocationHandler(BaseHandler):
    def get(self) -> None:
        self.set_status(302)


class StatusHandler(BaseHandler):
    def get(self, code: str) -> None:
        self.set_status(int(code))
        self.write("not here")


class SizedHandler(BaseHandler):
    async def get(self, size: str) -> None:
        payload = b"x" * int(size)
        if self.get_argument("mode") == "length":
            self.write(payload)
            return
        for start in range(0, len(payload), 10_000):  # flushing first makes the body chunked
            self.write(payload[start : start + 10_000])
            await self.flush()


class BigHandler(BaseHandler):
    async def get(self) -> None:
        self.state.inflight += 1
        if self.get_argument("declared", None):
            self.set_header("Content-Length", str(BIG_BODY_BYTES))
        piece = b"\0" * 65536
        try:
            for _ in range(BIG_BODY_BYTES // len(piece)):
                self.write(piece)
                await self.flush()
                self.state.sent_bytes += len(piece)
        except StreamClosedError:
            self.state.cut_off = True
        finally:
            self.state.inflight -= 1


class GzipBombHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "image/png")
        self.set_header("Content-Encoding", "gzip")
        self.write(self.settings["gzip_bomb"])


class TrickleHandler(BaseHandler):
    async def get(self) -> None:
        self.state.inflight += 1
        try:
            for _ in range(100):
                self.write(b"x")
                await self.flush()
                await asyncio.sleep(0.1)
        except StreamClosedError:
            self.state.cut_off = True
        finally:
            self.state.inflight -= 1


class SlowHopHandler(BaseHandler):
    async def get(self, left: str) -> None:
        self.state.inflight += 1
        try:
            await asyncio.sleep(0.35)
            n = int(left)
            self.redirect(f"/slowhop/{n - 1}" if n else "/image")
        finally:
            self.state.inflight -= 1


@pytest.fixture(scope="session")
def gzip_bomb() -> bytes:
    """64 MiB of zeros, gzipped to about 64 KiB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(64)) + packer.flush()


@pytest.fixture
async def server(gzip_bomb):
    sock, port = bind_unused_port()
    state = ServerState(port=port)
    routes = [
        (r"/image", ImageHandler),
        (r"/hop/([0-9]+)", HopHandler),
        (r"/redirect", RedirectHandler),
        (r"/no-location", NoLocationHandler),
        (r"/status/([0-9]+)", StatusHandler),
        (r"/sized/([0-9]+)", SizedHandler),
        (r"/big", BigHandler),
        (r"/gzip-bomb", GzipBombHandler),
        (r"/trickle", TrickleHandler),
        (r"/slowhop/([0-9]+)", SlowHopHandler),
    ]
    app = tornado.web.Application(
        [(path, handler, {"state": state}) for path, handler in routes], gzip_bomb=gzip_bomb
    )
    http_server = HTTPServer(app)
    http_server.add_sockets([sock])
    yield state
    for _ in range(300):
        if not state.inflight:
            break
        await asyncio.sleep(0.01)
    http_server.stop()
    await http_server.close_all_connections()


class RawServer(TCPServer):
    """Answers each request with canned bytes, for responses a framework would not produce."""

    def __init__(self) -> None:
        super().__init__()
        self.responses: dict[str, bytes] = {}

    async def handle_stream(self, stream: IOStream, address: tuple) -> None:
        try:
            head = await stream.read_until(b"\r\n\r\n", max_bytes=65536)
            path = head.split(b" ", 2)[1].decode()
            await stream.write(self.responses[path])
        except StreamClosedError:
            pass
        finally:
            stream.close()


@pytest.fixture
async def raw_server():
    sock, port = bind_unused_port()
    raw = RawServer()
    raw.add_sockets([sock])
    raw.base = f"http://127.0.0.1:{port}"
    yield raw
    raw.stop()


LOOPBACK = FetchPolicy(allow_loopback=True)


async def refusal(url: str, policy: FetchPolicy = FetchPolicy(), **kwargs) -> str:
    with pytest.raises(RemoteFetchError) as caught:
        await fetch_remote_image(url, policy, **kwargs)
    return caught.value.reason


# ---------------------------------------------------------------- address rules


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.255.255.254", "0.0.0.0", "0.1.2.3", "::", "::1",
        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::7f00:1",
        "169.254.169.254", "100.64.0.1", "100.127.255.254", "10.0.0.1", "10.255.255.255",
        "172.16.0.1", "172.31.255.255", "192.168.0.1", "192.168.255.255", "192.0.0.8",
        "192.0.2.1", "198.18.0.1", "198.51.100.1", "203.0.113.1", "240.0.0.1",
        "fc00::1", "fd12::1", "fe80::1", "fe80::1%1", "fec0::1", "224.0.0.1", "239.1.1.1",
        "ff02::1", "255.255.255.255", "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b:1::1",
        "2002:7f00:1::1", "2002:a00:1::1", "2002:c0a8:101::1", "2001:db8::1", "100::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)  # fmt: skip
def test_non_global_addresses_are_forbidden(address):
    assert is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("numeric", ["127.1", "2130706433", "0x7f.1", "0177.0.0.1", "10.1"])
def test_numeric_shorthands_normalise_to_forbidden_addresses(numeric):
    # This is the normalisation getaddrinfo applies before the guard sees the address.
    assert is_forbidden_address(ipaddress.IPv4Address(socket.inet_aton(numeric)))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001::1",
     "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)  # fmt: skip
def test_global_addresses_are_allowed(address):
    assert not is_forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_allow_loopback_lets_loopback_through(address):
    ip = ipaddress.ip_address(address)
    assert is_forbidden_address(ip)
    assert not is_forbidden_address(ip, allow_loopback=True)


@pytest.mark.parametrize(
    "address",
    ["0.0.0.0", "::", "10.0.0.1", "169.254.169.254", "100.64.0.1", "fe80::1", "fc00::1",
     "64:ff9b::7f00:1", "2002:7f00:1::1"],
)  # fmt: skip
def test_allow_loopback_lets_nothing_else_through(address):
    assert is_forbidden_address(ipaddress.ip_address(address), allow_loopback=True)


class TrustingIPv4(ipaddress.IPv4Address):
    """An address whose flags all say "public", as a Python with older tables might."""

    is_global = True
    is_private = is_loopback = is_link_local = is_multicast = is_reserved = False
    is_unspecified = False


class TrustingIPv6(ipaddress.IPv6Address):
    is_global = True
    is_private = is_loopback = is_link_local = is_multicast = is_reserved = False
    is_unspecified = is_site_local = False


@pytest.mark.parametrize(
    "address",
    [TrustingIPv4("100.64.0.1"), TrustingIPv4("10.0.0.1"), TrustingIPv4("169.254.169.254"),
     TrustingIPv4("198.18.0.1"), TrustingIPv4("0.0.0.0"), TrustingIPv6("fc00::1"),
     TrustingIPv6("fe80::1"), TrustingIPv6("::"), TrustingIPv6("64:ff9b:1::1")],
    ids=str,
)  # fmt: skip
def test_denials_do_not_rest_on_the_standard_library_flags_alone(address):
    assert address.is_global
    assert is_forbidden_address(address)


def test_every_refusal_has_a_user_facing_message():
    for reason, message in REMOTE_ERROR_MESSAGES.items():
        error = RemoteFetchError(reason)
        assert isinstance(error, UserError)
        assert error.reason == reason
        assert error.message == message
        assert message.endswith(".")


# ---------------------------------------------------------------- refused before any connection


@pytest.mark.parametrize("url", FORBIDDEN_TARGETS)
async def test_forbidden_targets_are_refused_and_never_dialled(url, network):
    assert await refusal(url) == "forbidden_address"
    assert network.dialled == []


@pytest.mark.parametrize("url", NON_LOOPBACK_FORBIDDEN_TARGETS)
async def test_allow_loopback_still_refuses_other_private_targets(url, network):
    assert await refusal(url, LOOPBACK) == "forbidden_address"
    assert network.dialled == []


async def test_ip_literals_go_through_the_resolver_at_connect(server, network):
    # The client hands literals to the resolver too, which is what lets the guard see them.
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", server.port)
    resolver = StubResolver()
    body, _ = await fetch_remote_image(
        f"http://{PUBLIC_IP}/image", FetchPolicy(), resolver=resolver
    )
    assert body == IMAGE_BYTES
    assert resolver.calls == [(PUBLIC_IP, 80, True)]
    assert network.dialled == [(PUBLIC_IP, 80)]


async def test_a_name_with_one_forbidden_answer_is_refused(network):
    resolver = StubResolver(answers={PUBLIC_HOST: [[PUBLIC_IP, "10.0.0.1"]]})
    assert await refusal(f"http://{PUBLIC_HOST}/", resolver=resolver) == "forbidden_address"
    assert network.dialled == []


@pytest.mark.parametrize(
    "answer", [socket.gaierror(socket.EAI_NONAME, "no such name"), []], ids=["error", "empty"]
)
async def test_unresolvable_names_are_refused(answer, network):
    resolver = StubResolver(answers={PUBLIC_HOST: [answer]})
    assert await refusal(f"http://{PUBLIC_HOST}/", resolver=resolver) == "unresolvable"
    assert network.dialled == []


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a.jpg", "file:///etc/passwd", "gopher://example.com/_x",
     "javascript:alert(1)", "data:image/png;base64,iVBORw0KGgo=", "ws://example.com/"],
)  # fmt: skip
async def test_other_schemes_are_refused(url, network):
    resolver = StubResolver()
    assert await refusal(url, resolver=resolver) == "bad_scheme"
    assert resolver.calls == [] and network.dialled == []


@pytest.mark.parametrize(
    "url",
    ["http://example.com:8080/", "https://example.com:8443/", "http://example.com:22/",
     "http://example.com:0/", "http://example.com:99999/", "http://127.0.0.1:8080/"],
)  # fmt: skip
async def test_non_standard_ports_are_refused_before_resolving(url, network):
    resolver = StubResolver()
    assert await refusal(url, resolver=resolver) == "bad_port"
    assert resolver.calls == [] and network.dialled == []


async def test_allow_loopback_keeps_other_hosts_on_standard_ports(network):
    resolver = public_resolver()
    url = f"http://{PUBLIC_HOST}:8080/"
    assert await refusal(url, LOOPBACK, resolver=resolver) == "bad_port"
    assert network.dialled == []


@pytest.mark.parametrize(
    "url",
    ["http://user:pass@example.com/", "http://user@example.com/", "http://@example.com/",
     "https://user:pass@127.0.0.1/", "http://a:b@photos.example:80/"],
)  # fmt: skip
async def test_credentials_are_refused(url, network):
    resolver = StubResolver()
    assert await refusal(url, resolver=resolver) == "credentials"
    assert resolver.calls == [] and network.dialled == []


@pytest.mark.parametrize(
    "url",
    ["", "http://", "http:///image", "//example.com/a.jpg", "example.com/a.jpg",
     "http://exa mple.com/", "http://example.com/\na", "http://[::1/", "http://x/" + "a" * 3000],
)  # fmt: skip
async def test_malformed_urls_are_refused(url, network):
    resolver = StubResolver()
    assert await refusal(url, resolver=resolver) == "bad_url"
    assert resolver.calls == [] and network.dialled == []


# ---------------------------------------------------------------- DNS rebinding


async def test_rebinding_is_judged_on_the_answer_used_to_connect(network):
    resolver = StubResolver(answers={PUBLIC_HOST: [[PUBLIC_IP], ["127.0.0.1"]]})
    # A look-up made before connecting sees a public address and would pass...
    first = await GuardedResolver(inner=resolver).resolve(PUBLIC_HOST, 80)
    assert first == [(socket.AF_INET, (PUBLIC_IP, 80))]
    # ...but the fetch judges the answer it dials, which is now loopback.
    assert await refusal(f"http://{PUBLIC_HOST}/", resolver=resolver) == "forbidden_address"
    assert resolver.calls == [(PUBLIC_HOST, 80, False), (PUBLIC_HOST, 80, True)]
    assert network.dialled == []


async def test_rebinding_between_hops_of_one_chain_is_refused(server, network):
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", server.port)
    resolver = StubResolver(answers={PUBLIC_HOST: [[PUBLIC_IP], ["127.0.0.1"]]})
    target = urllib.parse.quote(f"http://{PUBLIC_HOST}/image")
    url = f"http://{PUBLIC_HOST}/redirect?to={target}"
    assert await refusal(url, resolver=resolver) == "forbidden_address"
    assert [call[2] for call in resolver.calls] == [True, True]
    assert network.dialled == [(PUBLIC_IP, 80)]
    assert server.paths == ["/redirect"]


# ---------------------------------------------------------------- redirects


async def test_public_host_through_the_test_network_is_fetched(server, network):
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", server.port)
    target = urllib.parse.quote(f"http://{PUBLIC_HOST}/image")
    url = f"http://{PUBLIC_HOST}/redirect?to={target}"
    body, final_url = await fetch_remote_image(url, FetchPolicy(), resolver=public_resolver())
    assert body == IMAGE_BYTES
    assert final_url == f"http://{PUBLIC_HOST}/image"
    assert network.dialled == [(PUBLIC_IP, 80), (PUBLIC_IP, 80)]


@pytest.mark.parametrize("target", FORBIDDEN_TARGETS)
async def test_redirect_to_a_forbidden_target_is_refused_and_not_dialled(target, server, network):
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", server.port)
    url = f"http://{PUBLIC_HOST}/redirect?to={urllib.parse.quote(target)}"
    assert await refusal(url, resolver=public_resolver()) == "forbidden_address"
    assert network.dialled == [(PUBLIC_IP, 80)]
    assert server.paths == ["/redirect"]


@pytest.mark.parametrize("target", NON_LOOPBACK_FORBIDDEN_TARGETS)
async def test_redirect_from_loopback_to_other_private_targets_is_refused(target, server, network):
    url = f"{server.base}/redirect?to={urllib.parse.quote(target)}"
    assert await refusal(url, LOOPBACK) == "forbidden_address"
    assert network.dialled == [("127.0.0.1", server.port)]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("file:///etc/passwd", "bad_scheme"),
        ("gopher://photos.example/_x", "bad_scheme"),
        ("http://user:pass@photos.example/image", "credentials"),
        ("http://photos.example:8080/image", "bad_port"),
        ("http://photos.example:6379/", "bad_port"),
    ],
)
async def test_redirect_targets_are_checked_like_the_first_url(target, reason, server, network):
    network.routes[(PUBLIC_IP, 80)] = ("127.0.0.1", server.port)
    url = f"http://{PUBLIC_HOST}/redirect?to={urllib.parse.quote(target)}"
    assert await refusal(url, resolver=public_resolver()) == reason
    assert network.dialled == [(PUBLIC_IP, 80)]


async def test_three_redirects_are_followed(server):
    body, final_url = await fetch_remote_image(f"{server.base}/hop/2", LOOPBACK)
    assert body == IMAGE_BYTES
    assert final_url == f"{server.base}/image"
    assert server.paths == ["/hop/2", "/hop/1", "/hop/0", "/image"]


async def test_a_fourth_redirect_is_refused(server):
    assert await refusal(f"{server.base}/hop/3", LOOPBACK) == "too_many_redirects"
    assert server.paths == ["/hop/3", "/hop/2", "/hop/1", "/hop/0"]


async def test_max_redirects_zero_follows_none(server):
    policy = FetchPolicy(allow_loopback=True, max_redirects=0)
    assert await refusal(f"{server.base}/hop/0", policy) == "too_many_redirects"
    assert server.paths == ["/hop/0"]


async def test_redirect_without_location_is_an_http_error(server):
    assert await refusal(f"{server.base}/no-location", LOOPBACK) == "http_error"


async def test_redirect_with_two_locations_is_an_http_error(raw_server):
    raw_server.responses["/two"] = (
        b"HTTP/1.1 302 Found\r\nLocation: /a\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n"
    )
    assert await refusal(f"{raw_server.base}/two", LOOPBACK) == "http_error"


# ---------------------------------------------------------------- responses and limits


async def test_happy_path_returns_the_image(server, network):
    url = f"{server.base}/image"
    body, final_url = await fetch_remote_image(url, LOOPBACK)
    assert body == IMAGE_BYTES
    assert final_url == url
    assert network.dialled == [("127.0.0.1", server.port)]
    sent = server.headers[0]
    assert sent["User-Agent"] == LOOPBACK.user_agent
    assert sent["Accept-Encoding"] == "identity"
    assert "Authorization" not in sent and "Cookie" not in sent


async def test_upper_case_scheme_is_accepted(server):
    body, final_url = await fetch_remote_image(f"HTTP://127.0.0.1:{server.port}/image", LOOPBACK)
    assert body == IMAGE_BYTES
    assert final_url == f"{server.base}/image"


@pytest.mark.parametrize("code", [400, 403, 404, 410, 500, 503])
async def test_error_status_is_an_http_error(code, server):
    assert await refusal(f"{server.base}/status/{code}", LOOPBACK) == "http_error"


async def test_an_error_page_is_not_read(raw_server):
    # It declares far more than max_bytes: it must be refused for its status, unread.
    raw_server.responses["/missing"] = b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n" % (
        1 << 40
    )
    assert await refusal(f"{raw_server.base}/missing", LOOPBACK) == "http_error"


@pytest.mark.parametrize("mode", ["length", "chunked"])
async def test_a_body_of_exactly_max_bytes_is_accepted(mode, server):
    policy = FetchPolicy(allow_loopback=True, max_bytes=SMALL_CAP_BYTES)
    url = f"{server.base}/sized/{SMALL_CAP_BYTES}?mode={mode}"
    body, _ = await fetch_remote_image(url, policy)
    assert body == b"x" * SMALL_CAP_BYTES


@pytest.mark.parametrize("mode", ["length", "chunked"])
async def test_one_byte_over_max_bytes_is_refused(mode, server):
    policy = FetchPolicy(allow_loopback=True, max_bytes=SMALL_CAP_BYTES)
    url = f"{server.base}/sized/{SMALL_CAP_BYTES + 1}?mode={mode}"
    assert await refusal(url, policy) == "too_large"


@pytest.mark.parametrize(("extra", "reason"), [(0, None), (1, "too_large")])
async def test_a_body_read_until_close_is_capped(extra, reason, raw_server):
    policy = FetchPolicy(allow_loopback=True, max_bytes=SMALL_CAP_BYTES)
    raw_server.responses["/close"] = b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * (SMALL_CAP_BYTES + extra)
    url = f"{raw_server.base}/close"
    if reason is None:
        body, _ = await fetch_remote_image(url, policy)
        assert len(body) == SMALL_CAP_BYTES
    else:
        assert await refusal(url, policy) == reason


@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
async def test_streaming_stops_early_when_the_body_is_too_large(declared, server):
    policy = FetchPolicy(allow_loopback=True, max_bytes=256 * 1024)
    url = f"{server.base}/big" + ("?declared=1" if declared else "")
    assert await refusal(url, policy) == "too_large"
    for _ in range(500):
        if server.cut_off:
            break
        await asyncio.sleep(0.01)
    assert server.cut_off
    assert server.sent_bytes < BIG_BODY_BYTES // 4


async def test_a_huge_declared_chunk_is_refused(raw_server):
    policy = FetchPolicy(allow_loopback=True, max_bytes=SMALL_CAP_BYTES)
    raw_server.responses["/chunk"] = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % (1 << 40)
        + b"x" * 1000
    )
    assert await refusal(f"{raw_server.base}/chunk", policy) in {"too_large", "fetch_failed"}


async def test_a_gzip_bomb_is_not_unpacked(server, gzip_bomb):
    assert len(gzip_bomb) < 1024 * 1024
    policy = FetchPolicy(allow_loopback=True, max_bytes=1024 * 1024)
    assert await refusal(f"{server.base}/gzip-bomb", policy) == "bad_encoding"
    assert server.headers[0]["Accept-Encoding"] == "identity"


async def test_headers_of_an_informational_response_do_not_leak_into_the_final_one(raw_server):
    raw_server.responses["/early"] = (
        b"HTTP/1.1 103 Early Hints\r\nContent-Encoding: gzip\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(IMAGE_BYTES) + IMAGE_BYTES
    )
    body, _ = await fetch_remote_image(f"{raw_server.base}/early", LOOPBACK)
    assert body == IMAGE_BYTES


async def test_a_connection_refused_is_a_fetch_failure(network):
    sock, port = bind_unused_port()
    sock.close()  # nothing listens there any more
    assert await refusal(f"http://127.0.0.1:{port}/", LOOPBACK) == "fetch_failed"
    assert network.dialled == [("127.0.0.1", port)]


# ---------------------------------------------------------------- the deadline


async def test_a_trickling_body_hits_the_overall_deadline(server):
    policy = FetchPolicy(allow_loopback=True, deadline_secs=0.5)
    started = time.monotonic()
    assert await refusal(f"{server.base}/trickle", policy) == "timeout"
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 1.4


async def test_the_deadline_covers_the_whole_redirect_chain(server):
    # Every hop answers in 0.35 s, well inside the deadline; three of them are not.
    policy = FetchPolicy(allow_loopback=True, deadline_secs=0.8)
    started = time.monotonic()
    assert await refusal(f"{server.base}/slowhop/3", policy) == "timeout"
    elapsed = time.monotonic() - started
    assert 0.7 <= elapsed < 1.5
    assert server.paths[:2] == ["/slowhop/3", "/slowhop/2"]
