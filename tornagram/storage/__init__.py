"""Media storage backends; each implements tornagram.storage.base.MediaStorage.

``open_storage`` is the one place that turns settings into a backend: files in the data dir by
default, an S3-compatible bucket for ``--media-url s3://bucket/prefix``.
"""

from __future__ import annotations

from tornagram.storage.base import MediaStorage, media_secret
from tornagram.storage.urls import MediaUrls, signing_secret


def open_storage(settings, media_url: str | None = None) -> MediaStorage:
    """The backend ``media_url`` names (default: the settings' own)."""
    url = settings.media_url if media_url is None else media_url
    secret = media_secret(settings.cookie_secret)
    if url.startswith("s3://"):
        from tornagram.storage.s3 import S3Storage

        return S3Storage.from_url(url, secret=secret)
    from tornagram.storage.local import LocalStorage

    settings.media_dir.mkdir(parents=True, exist_ok=True)
    return LocalStorage(settings.media_dir, secret=secret)


def media_urls(settings) -> MediaUrls:
    return MediaUrls(
        secret=signing_secret(settings.cookie_secret),
        ttl_secs=settings.signed_url_ttl_secs,
        public_base=settings.media_public_url,
    )
