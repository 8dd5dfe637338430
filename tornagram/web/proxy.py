"""Who is asking, behind the documented nginx (``--behind-proxy``).

Tornado's own ``xheaders`` prefers ``X-Real-Ip`` over ``X-Forwarded-For``; a header a client
can set itself then decides the per-IP login limit and the access log. We trust exactly what
our proxy writes (docs/deployment.md): the right-most hop of ``X-Forwarded-For``, which nginx's
``$proxy_add_x_forwarded_for`` appends from the connection it accepted, whatever the client
put before it; and ``X-Forwarded-Proto``, which nginx overwrites with ``$scheme``.
"""

from __future__ import annotations

import tornado.httputil
import tornado.netutil

FORWARDED_PROTOCOLS = ("http", "https")


def apply_forwarded_headers(request: tornado.httputil.HTTPServerRequest) -> None:
    """Set ``remote_ip`` and ``protocol`` from our proxy's headers; anything else is ignored."""
    hops = request.headers.get_list("X-Forwarded-For")
    if hops:
        # Several header lines join as one list; the last value is the one nginx appended.
        last = hops[-1].split(",")[-1].strip()
        if tornado.netutil.is_valid_ip(last):
            request.remote_ip = last
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip().lower()
    if proto in FORWARDED_PROTOCOLS:
        request.protocol = proto
