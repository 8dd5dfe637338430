"""One access-log line per request, with its id, user and timing.

Tornado calls ``log_function`` from ``RequestHandler.finish`` for every handler, including
static files and errors raised before ``prepare``; the request id itself is given out in
``BaseHandler.prepare`` and echoed in the ``X-Request-Id`` response header.
"""

from __future__ import annotations

import logging

access_log = logging.getLogger("tornagram.access")


def log_request(handler) -> None:
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
    access_log.log(
        level,
        "%s %s %s %d %.1fms rid=%s uid=%s",
        request.remote_ip,
        request.method,
        request.path,
        status,
        1000.0 * request.request_time(),
        getattr(handler, "request_id", "-"),
        getattr(user, "id", "-"),
    )
