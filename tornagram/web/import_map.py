"""One import map, so every ES module is fetched and run once.

Pages load their entry scripts with a versioned URL (``/static/js/photos.js?v=…``) so browsers
may cache them for ever; the modules import each other by plain relative paths
(``./photos.js``), since there is no build step. Without a map those are two URLs, so the
browser makes two module instances and runs the file twice (two confirmation dialogs on every
Delete). The map points each plain URL at its versioned one: one module graph.

The map is an inline script, which the CSP allows by its hash, never by 'unsafe-inline'.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

JS_DIR = Path(__file__).resolve().parents[1] / "static" / "js"

# (map text, its CSP source), per static_url prefix; filled on first use when hashes are cached.
_CACHE: dict[str, tuple[str, str]] = {}


def _build(handler) -> tuple[str, str]:
    imports = {}
    for path in sorted(JS_DIR.glob("*.js")):
        name = f"js/{path.name}"
        versioned = handler.static_url(name)
        imports[versioned.split("?", 1)[0]] = versioned
    text = json.dumps({"imports": imports}, separators=(",", ":"), sort_keys=True)
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return text, f"'sha256-{digest}'"


def import_map(handler) -> tuple[str, str]:
    """The import map's JSON and the ``script-src`` source that allows exactly that text."""
    if not handler.settings.get("static_hash_cache", True):
        return _build(handler)  # debug: files change under us
    key = handler.settings.get("static_url_prefix", "/static/")
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _build(handler)
    return found
