"""Import of a photo from a web address the user typed, guarded against reaching our own network.

A URL is untrusted input that makes *our server* open a connection, so every hop is checked:
the URL's shape before anything is dialled, and every address its host resolves to at the
moment of connecting. The address check lives in the resolver that the HTTP client uses to
connect, so a name that answers "public" to one look-up and "127.0.0.1" to the next (DNS
rebinding) is judged on the answer we actually dial.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import urllib.parse
from dataclasses import dataclass
from typing import Any

from tornado import httputil
from tornado.httpclient import HTTPRequest
from tornado.netutil import DefaultLoopResolver, Resolver
from tornado.simple_httpclient import HTTPTimeoutError, SimpleAsyncHTTPClient

from tornagram.errors import UserError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# English msgids; the web layer passes them through the translator.
REMOTE_ERROR_MESSAGES: dict[str, str] = {
    "bad_url": "That does not look like a web address we can import a photo from.",
    "bad_scheme": "Only http:// and https:// addresses can be imported.",
    "bad_port": "Photos can only be imported from the standard web ports (80 and 443).",
    "credentials": "Addresses that contain a user name or password cannot be imported.",
    "forbidden_address": "That address points into a private or reserved network, "
    "so we will not fetch it.",
    "unresolvable": "We could not find the server for that address.",
    "too_many_redirects": "That address redirected too many times.",
    "too_large": "That image is too large to import.",
    "timeout": "The server took too long to send the image.",
    "http_error": "The server answered with an error instead of the image.",
    "bad_encoding": "The server sent the image compressed in a way we do not accept.",
    "fetch_failed": "We could not download the image from that address.",
}

STANDARD_PORTS = frozenset({80, 443})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
MAX_URL_CHARS = 2048

# Only the body counts against max_bytes; the stream buffer just has to hold one read and the
# headers, so it stays small however large the allowed photo is.
STREAM_BUFFER_BYTES = 1024 * 1024
# The client's own body limit is a backstop behind the byte count in _ResponseSink. It sits
# above max_bytes so our count, which knows the reason to give the user, trips first.
BODY_BACKSTOP_SLACK_BYTES = 1024 * 1024
# Tornado enforces the deadline per hop (request_timeout); this outer limit only catches a
# hop that somehow outlives it, and is late enough that Tornado can close its socket first.
DEADLINE_BACKSTOP_SECS = 1.0

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Checked whatever the Python version's is_global thinks: these never host a public photo.
_DENIED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
        "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
        "::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7",
        "fe80::/10", "fec0::/10", "ff00::/8",
    )
)  # fmt: skip


class RemoteFetchError(UserError):
    """A refusal the user sees. ``reason`` is a stable code, ``message`` its English msgid."""

    def __init__(self, reason: str) -> None:
        super().__init__(REMOTE_ERROR_MESSAGES[reason], field="url")
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    max_bytes: int = 25 * 1024 * 1024
    deadline_secs: float = 15.0
    max_redirects: int = 3
    # For tests against a server on this machine: lets 127.0.0.0/8 and ::1 through, and lets
    # those addresses (and only those) use a port other than 80/443. Every other private,
    # reserved or link-local address stays refused, so a redirect from a loopback test server
    # to 169.254.169.254 is still caught.
    allow_loopback: bool = False
    user_agent: str = "Tornagram/0.1 (+photo import)"

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.deadline_secs <= 0 or self.max_redirects < 0:
            raise ValueError("FetchPolicy limits must be positive")


def is_forbidden_address(ip: IPAddress, *, allow_loopback: bool = False) -> bool:
    """True unless ``ip`` is a globally reachable unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return is_forbidden_address(ip.ipv4_mapped, allow_loopback=allow_loopback)
        if ip in _NAT64:
            # A translator forwards to the embedded IPv4 address, so that is what we judge.
            return is_forbidden_address(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None and is_forbidden_address(ip.sixtofour):
            return True
        if ip.teredo is not None and any(is_forbidden_address(v4) for v4 in ip.teredo):
            return True
    if allow_loopback and ip.is_loopback:
        return False
    if any(ip in net for net in _DENIED_NETWORKS if net.version == ip.version):
        return True
    return (
        not ip.is_global
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
    )


def _parse_sockaddr_host(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _unmapped(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class GuardedResolver(Resolver):
    """Resolves through ``inner`` (getaddrinfo in an executor by default), then refuses the
    whole answer if any address in it is forbidden, so there is nothing unsafe to fall back to.

    The HTTP client resolves every host through this, IP literals and numeric forms such as
    ``127.1`` or ``2130706433`` included, right before it dials.
    """

    def initialize(self, inner: Resolver | None = None, allow_loopback: bool = False) -> None:
        self.inner = inner if inner is not None else DefaultLoopResolver()
        self.own_inner = inner is None
        self.allow_loopback = allow_loopback

    def close(self) -> None:
        if self.own_inner:
            self.inner.close()

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        try:
            answers = list(await self.inner.resolve(host, port, family))
        except OSError:
            raise RemoteFetchError("unresolvable") from None
        if not answers:
            raise RemoteFetchError("unresolvable")
        for _family, sockaddr in answers:
            ip = _parse_sockaddr_host(sockaddr[0])
            if ip is None or is_forbidden_address(ip, allow_loopback=self.allow_loopback):
                raise RemoteFetchError("forbidden_address")
            if port not in STANDARD_PORTS and not (
                self.allow_loopback and _unmapped(ip).is_loopback
            ):
                raise RemoteFetchError("bad_port")
        return answers


def check_url(url: str, policy: FetchPolicy) -> str:
    """Refuse a URL by its shape alone, before anything is resolved or dialled.

    Returns the URL with its scheme in lower case, as the HTTP client expects.
    """
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise RemoteFetchError("bad_url")
    # urlsplit silently drops tabs and newlines; a URL that needs that is not one we trust.
    if re.search(r"[\x00-\x20\x7f]", url):
        raise RemoteFetchError("bad_url")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise RemoteFetchError("bad_url") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise RemoteFetchError("bad_url")
    if scheme not in ("http", "https"):
        raise RemoteFetchError("bad_scheme")
    if "@" in parts.netloc:
        raise RemoteFetchError("credentials")
    if not parts.hostname:
        raise RemoteFetchError("bad_url")
    try:
        port = parts.port
    except ValueError:
        raise RemoteFetchError("bad_port") from None
    if port is not None and port not in STANDARD_PORTS and not policy.allow_loopback:
        # With allow_loopback the resolver still refuses the port for any non-loopback address.
        raise RemoteFetchError("bad_port")
    return urllib.parse.urlunsplit(parts._replace(scheme=scheme))


class _Abort(httputil.HTTPInputError):
    """Stops the client reading; the reason for the user is kept in _ResponseSink.refusal."""


class _ResponseSink:
    """Receives one response's header lines and body, refusing as soon as a limit is crossed."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.body = bytearray()
        self.refusal: RemoteFetchError | None = None
        self._code = 0
        self._headers = httputil.HTTPHeaders()

    def _refuse(self, reason: str) -> None:
        self.refusal = RemoteFetchError(reason)
        raise _Abort(reason)

    def on_header_line(self, line: str) -> None:
        if line.startswith("HTTP/"):
            # A new status line (after a 1xx) starts a new header block.
            self._code = int(line.split()[1])
            self._headers = httputil.HTTPHeaders()
        elif line.strip():
            self._headers.parse_line(line)
        elif self._code >= 200:
            self._check_headers()

    def _check_headers(self) -> None:
        is_ok = 200 <= self._code < 300
        if not is_ok and not (self._code in REDIRECT_CODES and "Location" in self._headers):
            self._refuse("http_error")  # no need to read an error page
        for value in self._headers.get_list("Content-Length"):
            lengths = [piece.strip() for piece in value.split(",")]
            if any(n.isdigit() and int(n) > self.max_bytes for n in lengths):
                self._refuse("too_large")
        if is_ok:
            # We ask for identity. Decoding gzip would let a few kilobytes on the wire
            # become gigabytes in memory, so an encoded body is refused, not unpacked.
            for value in self._headers.get_list("Content-Encoding"):
                if value.strip().lower() not in ("", "identity"):
                    self._refuse("bad_encoding")

    def on_chunk(self, chunk: bytes) -> None:
        if len(self.body) + len(chunk) > self.max_bytes:
            self.body.clear()
            self._refuse("too_large")
        self.body += chunk


def _join_location(base: str, location: str) -> str:
    """The redirect's target. ``urljoin`` raises ValueError on some Locations a server may
    send (``http://[::1``: an unclosed IPv6 bracket), which is that server's bad URL."""
    if re.search(r"[\x00-\x20\x7f]", location):
        raise RemoteFetchError("bad_url")  # urljoin would drop tabs and newlines silently
    try:
        return urllib.parse.urljoin(base, location)
    except ValueError:
        raise RemoteFetchError("bad_url") from None


@dataclass(frozen=True, slots=True)
class _Hop:
    body: bytes = b""
    location: str | None = None


async def _fetch_once(
    client: SimpleAsyncHTTPClient, url: str, policy: FetchPolicy, deadline: float
) -> _Hop:
    remaining_secs = deadline - asyncio.get_running_loop().time()
    if remaining_secs <= 0:
        raise RemoteFetchError("timeout")
    sink = _ResponseSink(policy.max_bytes)
    request = HTTPRequest(
        url,
        method="GET",
        headers={"Accept": "image/*", "Accept-Encoding": "identity"},
        follow_redirects=False,
        decompress_response=False,
        connect_timeout=remaining_secs,
        request_timeout=remaining_secs,
        user_agent=policy.user_agent,
        header_callback=sink.on_header_line,
        streaming_callback=sink.on_chunk,
    )
    try:
        response = await client.fetch(request, raise_error=False)
    except RemoteFetchError:
        raise
    except HTTPTimeoutError:
        raise sink.refusal or RemoteFetchError("timeout") from None
    except Exception as exc:
        # Our own refusals stop the client by closing the connection, which it reports as a
        # stream error; the reason we recorded is the one the user should see.
        raise sink.refusal or RemoteFetchError("fetch_failed") from exc
    if sink.refusal is not None:
        raise sink.refusal
    if response.code in REDIRECT_CODES:
        locations = response.headers.get_list("Location")
        if len(locations) != 1:
            raise RemoteFetchError("http_error")
        return _Hop(location=locations[0])
    if not 200 <= response.code < 300:
        raise RemoteFetchError("http_error")
    return _Hop(body=bytes(sink.body))


async def fetch_remote_image(
    url: str, policy: FetchPolicy, *, resolver: Resolver | None = None
) -> tuple[bytes, str]:
    """Download the photo at ``url``, following at most ``policy.max_redirects`` redirects.

    Returns ``(body, final_url)``; the caller decodes the body with the normal upload checks.
    Raises `RemoteFetchError` for anything refused. ``resolver`` replaces the system's name
    lookup (getaddrinfo); its answers are checked all the same.
    """
    current = check_url(url, policy)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + policy.deadline_secs
    guarded = GuardedResolver(inner=resolver, allow_loopback=policy.allow_loopback)
    client = SimpleAsyncHTTPClient(
        force_instance=True,
        resolver=guarded,
        max_clients=1,
        max_buffer_size=STREAM_BUFFER_BYTES,
        max_body_size=policy.max_bytes + BODY_BACKSTOP_SLACK_BYTES,
    )
    try:
        async with asyncio.timeout_at(deadline + DEADLINE_BACKSTOP_SECS):
            for _hop in range(policy.max_redirects + 1):
                hop = await _fetch_once(client, current, policy, deadline)
                if hop.location is None:
                    return hop.body, current
                current = check_url(_join_location(current, hop.location), policy)
            raise RemoteFetchError("too_many_redirects")
    except TimeoutError:
        raise RemoteFetchError("timeout") from None
    finally:
        client.close()
        guarded.close()
