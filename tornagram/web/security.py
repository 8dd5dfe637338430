"""Response headers and redirect targets that keep the site safe by default."""

from __future__ import annotations

from urllib.parse import urlsplit

# No inline script or style anywhere: everything comes from /static, so an injected <script>
# or on* attribute does nothing even if escaping ever failed.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def apply_security_headers(handler, script_sources: str = "") -> None:
    """``script_sources``: extra ``script-src`` sources, the hash of the page's import map."""
    for name, value in SECURITY_HEADERS.items():
        handler.set_header(name, value)
    if script_sources:
        policy = CONTENT_SECURITY_POLICY.replace(
            "script-src 'self'", f"script-src 'self' {script_sources}"
        )
        handler.set_header("Content-Security-Policy", policy)


def safe_next(target: str | None, default: str = "/") -> str:
    """A same-site relative path, or ``default``.

    Browsers treat ``//evil.example`` and ``/\\evil.example`` as other hosts, and ``javascript:``
    as code, so only a plain absolute path with no scheme, host, backslash or control character
    is let through.
    """
    if not target or len(target) > 2000:
        return default
    if not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
