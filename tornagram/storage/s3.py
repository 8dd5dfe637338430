"""Media in an S3-compatible bucket (AWS S3, MinIO, Garage, Ceph, R2), through aiobotocore.

``--media-url s3://bucket/prefix`` picks it. The endpoint, region and credentials come from the
standard AWS variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``,
``AWS_ENDPOINT_URL_S3``, profiles and instance roles: botocore's own chain) or from the URL:
``s3://bucket/prefix?endpoint=https://minio.internal:9000&region=eu-west-1``.

A put of an object is atomic in S3 (readers see none or all of it), so there are no temporary
objects to sweep. Objects past MULTIPART_THRESHOLD_BYTES go up in parts, and a failed upload is
aborted so no part is left behind. Every call is retried with exponential backoff and jitter
(botocore's "standard" mode) before it fails with StorageUnavailable, whose message says what
the server or the network answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import urllib.parse
from collections.abc import AsyncIterator

from tornagram.storage.base import (
    KEY_PATTERN,
    READ_CHUNK_BYTES,
    MediaInfo,
    MediaNotFound,
    StorageUnavailable,
    check_content_type,
    check_ext,
    check_key,
    check_range,
    content_type_of,
    keyed_key_for_digest,
)

log = logging.getLogger(__name__)

# S3 takes at most 5 GiB in one PUT and parts of at least 5 MiB; photos are far smaller, but
# originals and copies of big files go up in parts so a failure costs one part, not the file.
MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024
PART_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_ATTEMPTS = 4
CONNECT_TIMEOUT_SECS = 5
READ_TIMEOUT_SECS = 30
# Public objects may be served by the bucket or a CDN straight away: the same lifetime as
# /media/ gives (web/media.py). Private photos are never fetched from there unsigned.
OBJECT_CACHE_CONTROL = "public, max-age=31536000, immutable"


@functools.cache
def shared_session():
    """One botocore session per process: each new one parses the S3 service model again
    (about a second of CPU), and clients made from one share it safely."""
    from aiobotocore.session import get_session

    return get_session()


def _client_errors() -> tuple[type[BaseException], ...]:
    import aiohttp
    import botocore.exceptions

    return (
        botocore.exceptions.BotoCoreError,
        botocore.exceptions.ClientError,
        aiohttp.ClientError,
        OSError,
        asyncio.TimeoutError,
    )


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _is_missing(exc: BaseException) -> bool:
    return _error_code(exc) in {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        secret: bytes,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self._secret = secret
        self._access_key = access_key
        self._secret_key = secret_key
        self._max_attempts = max_attempts
        self._client = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._opening: asyncio.Lock | None = None

    @classmethod
    def from_url(cls, url: str, *, secret: bytes, **kwargs) -> S3Storage:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "s3" or not parts.hostname:
            raise ValueError("an S3 media URL looks like s3://bucket/prefix")
        query = dict(urllib.parse.parse_qsl(parts.query))
        return cls(
            parts.hostname,
            urllib.parse.unquote(parts.path),
            secret=secret,
            endpoint_url=query.get("endpoint") or None,
            region=query.get("region") or None,
            access_key=urllib.parse.unquote(parts.username) if parts.username else None,
            secret_key=urllib.parse.unquote(parts.password) if parts.password else None,
            **kwargs,
        )

    def __repr__(self) -> str:
        # Never the credentials: this ends up in logs.
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3Storage(s3://{self.bucket}/{self.prefix}{where})"

    # -- the client --------------------------------------------------------------------------

    async def client(self):
        if self._client is not None:
            return self._client
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._client is None:
                from aiobotocore.config import AioConfig

                config = AioConfig(
                    retries={"max_attempts": self._max_attempts, "mode": "standard"},
                    connect_timeout=CONNECT_TIMEOUT_SECS,
                    read_timeout=READ_TIMEOUT_SECS,
                    # MinIO, Garage, Ceph and moto are addressed by path; AWS takes both.
                    s3={"addressing_style": self._addressing_style()},
                )
                stack = contextlib.AsyncExitStack()
                self._client = await stack.enter_async_context(
                    shared_session().create_client(
                        "s3",
                        endpoint_url=self.endpoint_url,
                        region_name=self.region or None,
                        aws_access_key_id=self._access_key,
                        aws_secret_access_key=self._secret_key,
                        config=config,
                    )
                )
                self._stack = stack
        return self._client

    def _addressing_style(self) -> str:
        """By path wherever the endpoint is not AWS's own (in the URL or the AWS variables)."""
        custom = (
            self.endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_S3")
            or os.environ.get("AWS_ENDPOINT_URL")
        )
        return "path" if custom else "auto"

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _unavailable(self, doing: str, exc: BaseException) -> StorageUnavailable:
        detail = _error_code(exc) or type(exc).__name__
        message = str(exc).splitlines()[0] if str(exc) else detail
        return StorageUnavailable(f"media storage {self!r} failed to {doing}: {message} ({detail})")

    # -- MediaStorage ----------------------------------------------------------------------

    async def put(self, data: bytes, *, ext: str, content_type: str) -> str:
        check_content_type(content_type)
        check_ext(ext)
        data = bytes(data)
        digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
        key = keyed_key_for_digest(self._secret, digest, ext)
        await self.put_as(key, data, content_type=content_type)
        return key

    async def put_as(self, key: str, data: bytes, *, content_type: str) -> None:
        check_content_type(content_type)
        name = self._object(key)
        client = await self.client()
        fields = dict(
            Bucket=self.bucket, Key=name, ContentType=content_type,
            CacheControl=OBJECT_CACHE_CONTROL,
        )  # fmt: skip
        try:
            if len(data) <= MULTIPART_THRESHOLD_BYTES:
                await client.put_object(Body=data, **fields)
            else:
                await self._put_in_parts(client, data, fields)
        except _client_errors() as exc:
            raise self._unavailable(f"store {key}", exc) from exc

    async def _put_in_parts(self, client, data: bytes, fields: dict) -> None:
        upload = await client.create_multipart_upload(**fields)
        upload_id = upload["UploadId"]
        try:
            parts = []
            view = memoryview(data)
            for number, start in enumerate(range(0, len(data), PART_BYTES), start=1):
                answer = await client.upload_part(
                    Bucket=self.bucket,
                    Key=fields["Key"],
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=bytes(view[start : start + PART_BYTES]),
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
            await client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=fields["Key"],
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            # Parts of an unfinished upload are billed and invisible: never leave them.
            with contextlib.suppress(*_client_errors()):
                await client.abort_multipart_upload(
                    Bucket=self.bucket, Key=fields["Key"], UploadId=upload_id
                )
            raise

    async def stat(self, key: str) -> MediaInfo:
        name = self._object(key)
        client = await self.client()
        try:
            head = await client.head_object(Bucket=self.bucket, Key=name)
        except _client_errors() as exc:
            if _is_missing(exc):
                raise MediaNotFound(key) from None
            raise self._unavailable(f"look up {key}", exc) from exc
        return MediaInfo(
            key=key,
            size_bytes=int(head["ContentLength"]),
            # What our own extension says, not what the object claims: it is served to browsers.
            content_type=content_type_of(key),
        )

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        check_range(start, end)
        name = self._object(key)
        if end is not None and end == start:
            await self.stat(key)  # an empty range of a missing object is still missing
            return
        client = await self.client()
        wanted = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            answer = await client.get_object(Bucket=self.bucket, Key=name, Range=wanted)
        except _client_errors() as exc:
            if _is_missing(exc):
                raise MediaNotFound(key) from None
            if _error_code(exc) == "InvalidRange":
                return  # start at or past the end: nothing to read
            raise self._unavailable(f"read {key}", exc) from exc
        body = answer["Body"]
        try:
            while True:
                try:
                    chunk = await body.read(READ_CHUNK_BYTES)
                except _client_errors() as exc:
                    raise self._unavailable(f"read {key}", exc) from exc
                if not chunk:
                    break
                yield chunk
        finally:
            body.close()

    async def get(self, key: str) -> bytes:
        return b"".join([chunk async for chunk in self.read(key)])

    async def delete(self, key: str) -> None:
        name = self._object(key)
        client = await self.client()
        try:
            await client.delete_object(Bucket=self.bucket, Key=name)
        except _client_errors() as exc:
            if _is_missing(exc):
                return
            raise self._unavailable(f"delete {key}", exc) from exc

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except MediaNotFound:
            return False
        return True

    async def iter_keys(self) -> AsyncIterator[str]:
        client = await self.client()
        paginator = client.get_paginator("list_objects_v2")
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                for entry in page.get("Contents", ()):
                    key = entry["Key"][len(self.prefix) :]
                    if KEY_PATTERN.fullmatch(key):
                        yield key
        except _client_errors() as exc:
            raise self._unavailable("list the stored media", exc) from exc

    async def presigner(self):
        """``presign(key, expires_secs, cache_control) -> url``: GET URLs the bucket itself
        honours until they expire, made without a network call (pages are drawn synchronously).
        None when the credentials are temporary (an instance role, SSO): a URL signed with them
        dies with them, however long it says it lives, so private media stays on /media/."""
        import botocore.config
        import botocore.credentials
        import botocore.session

        if self._access_key and self._secret_key:
            access, secret, token = self._access_key, self._secret_key, None
        else:
            credentials = await shared_session().get_credentials()
            if credentials is None or isinstance(
                credentials, botocore.credentials.RefreshableCredentials
            ):
                log.info("no long-lived S3 credentials: private media is served via /media/")
                return None
            frozen = await credentials.get_frozen_credentials()
            access, secret, token = frozen.access_key, frozen.secret_key, frozen.token

        def make_client():
            return botocore.session.get_session().create_client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region or None,
                aws_access_key_id=access,
                aws_secret_access_key=secret,
                aws_session_token=token,
                config=botocore.config.Config(
                    signature_version="s3v4",
                    s3={"addressing_style": self._addressing_style()},
                ),
            )

        signer = await asyncio.to_thread(make_client)

        def presign(key: str, expires_secs: int, cache_control: str) -> str:
            return signer.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._object(key),
                    "ResponseCacheControl": cache_control,
                },
                ExpiresIn=expires_secs,
            )

        return presign
