"""One access-log line per request, with its id, user and timing.

Tornado calls ``log_function`` from ``RequestHandler.finish`` for every handler, including
static files and errors raised before ``prepare``; the request id itself is given out in
``BaseHandler.prepare`` and echoed in the ``X-Request-Id`` response header. The same call
counts the request in the process's metrics, when they are on (tornagram/metrics.py).

The line names the path without its query string, and no header or cookie: what a person
typed into a search box, or a token in a link, stays out of the logs. With ``--log-format
json`` the fields below arrive as fields of the line (tornagram/logs.py).
"""

from __future__ import annotations

import logging

access_log = logging.getLogger("tornagram.access")


def log_request(handler) -> None:
    metrics = getattr(handler.application, "metrics", None)
    if metrics is not None:
        metrics.request_done(handler)
    status = handler.get_status()
    if status < 400:
        level = logging.INFO
    elif status < 500:
        level = logging.WARNING
    else:
        level = logging.ERROR
    if not access_log.isEnabledFor(level):
        return
    request = handler.request
    user = getattr(handler, "_current_user", None)
    request_id = getattr(handler, "request_id", None)
    duration_ms = round(1000.0 * request.request_time(), 1)
    access_log.log(
        level,
        "%s %s %s %d %.1fms rid=%s uid=%s",
        request.remote_ip,
        request.method,
        request.path,
        status,
        duration_ms,
        request_id or "-",
        getattr(user, "id", "-"),
        extra={
            "request_id": request_id,
            "route": getattr(handler.application, "route_names", {}).get(type(handler), "other"),
            "remote_ip": request.remote_ip,
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": str(user.id) if getattr(user, "id", None) is not None else None,
        },
    )
