"""Slots in cached renderings: the parts of a page that differ between responses.

A cached page is kept as its pieces between slots (``split``), and each response joins them
with its own value for every slot (``BaseHandler.fill_slots``). Two kinds:

* ``xsrf``: each form's field (Tornado masks the token differently on every response);
* the viewer's own parts of the frame every page shares (``VIEWER_PARTS``): the navigation
  with its unread badge, the account chip and the body's live-channel attributes. Only a page
  rendered to be *shared* between viewers (``render_cached(..., shared=True)``) holds these:
  everything else it shows is then the same for every signed-in viewer, so one entry serves
  all of them, and what is theirs is drawn per response from the fragment cache.

The marker is an HTML comment with a random part: escaped text can never contain "<", and
nobody can guess the marker to forge one.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

_TOKEN = secrets.token_hex(8)

# The viewer's parts of base.html, filled by BaseHandler.viewer_part_html.
VIEWER_PARTS = ("body-attrs", "account", "nav-top", "nav-bottom")


def slot(name: str) -> str:
    return f"<!--slot-{_TOKEN}:{name}-->"


XSRF_SLOT = slot("xsrf")
XSRF_SLOT_BYTES = XSRF_SLOT.encode()
_SLOT_RE = re.compile(rb"<!--slot-" + _TOKEN.encode() + rb":([a-z-]+)-->")


def split_at_slots(html: bytes) -> tuple[bytes, ...]:
    """A card's pieces between its XSRF slots (cards hold no other slot)."""
    return tuple(html.split(XSRF_SLOT_BYTES))


def split(html: bytes) -> tuple[bytes, ...]:
    """A page as (text, slot name, text, slot name, ..., text): names at odd positions."""
    return tuple(_SLOT_RE.split(html))


class CachedRenderings:
    """BaseHandler's part that renders pages for the page cache and fills their slots."""

    _page_capture: list | None
    _shared_capture: bool
    _xsrf_html: bytes | None

    def xsrf_form_html(self) -> str:
        if self._page_capture is not None:
            return XSRF_SLOT
        return super().xsrf_form_html()

    def fill_xsrf(self, html: bytes | tuple[bytes, ...]) -> bytes:
        """A cached rendering with this response's own XSRF field in every form. Kept as its
        pieces between the slots (``split_at_slots``), it is one join: ``bytes.replace`` over a
        70 KB page with two dozen forms was fifty times slower."""
        parts = html if isinstance(html, tuple) else split_at_slots(html)
        if len(parts) == 1:
            return parts[0]
        return self.xsrf_form_html().encode().join(parts)

    def fill_slots(self, parts: tuple[bytes, ...]) -> bytes:
        """A cached page (``split``) with this response's value in every slot."""
        if len(parts) == 1:
            return parts[0]
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            out.append(self._slot_bytes(parts[i].decode()))
            out.append(parts[i + 1])
        return b"".join(out)

    def _slot_bytes(self, name: str) -> bytes:
        if name == "xsrf":
            if self._xsrf_html is None:
                self._xsrf_html = self.xsrf_form_html().encode()
            return self._xsrf_html
        html = self.viewer_part_html(name)
        return html if isinstance(html, bytes) else html.encode()

    def viewer_part(self, name: str) -> str:
        """One of the viewer's parts of the page frame (``VIEWER_PARTS``): a slot
        while rendering a page every viewer shares, the part itself otherwise."""
        if self._shared_capture:
            return slot(name)
        html = self.viewer_part_html(name)
        return html.decode() if isinstance(html, bytes) else html

    def viewer_part_html(self, name: str) -> str | bytes:
        # The parts live with the UI modules that draw them (web/ui_modules.py).
        from tornagram.web.ui_modules import viewer_part_html

        return viewer_part_html(self, name)

    def render_cached(self, key, template: str, *, shared: bool = False, **kwargs: Any) -> None:
        """``render``, or the same page from the page cache when ``key`` (which must hold every
        value the page shows that the template does not derive from the request's user,
        language, URL and badge) was rendered before. Pages are never invalidated, only evicted:
        new data makes a new key.

        ``shared``: ``key`` also holds everything the page body shows of the viewer (their
        like, whether they own what is shown...), so one rendering serves every signed-in
        viewer, with their navigation, badge and account chip filled in per response."""
        user = self.current_user
        if shared:
            viewer: Any = user is not None
            unread = None
        else:
            viewer = user.id if user is not None else None
            unread = self.unread_notifications
        # The signing window too: a page may hold private photos' signed URLs, which must not
        # outlive it (storage/urls.py).
        key = (template, viewer, self.locale.code, self.request.uri, unread,
               self.ctx.media_urls.window(), self.site_info, key)  # fmt: skip
        page = self.ctx.pages.get(key)
        if page is not None:
            self.finish(self.fill_slots(page))
            return
        self._page_capture = []
        self._shared_capture = shared
        try:
            self.render(template, **kwargs)
        finally:
            self._shared_capture = False
        if self._page_capture:
            self.ctx.pages.put(key, split(self._page_capture[0]))
        self._page_capture = None

    def finish(self, chunk: Any = None):
        capture = self._page_capture
        if capture is not None and isinstance(chunk, bytes) and not capture:
            capture.append(chunk)  # render() finishes with the whole page
            self._page_capture = None  # from here on, forms get real tokens
            shared, self._shared_capture = self._shared_capture, False
            chunk = self.fill_slots(split(chunk))
            self._page_capture = capture
            self._shared_capture = shared
        return super().finish(chunk)
