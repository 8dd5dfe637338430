"""What only the S3 backend promises: large objects in parts (none left over on failure),
settings from the URL or the AWS variables, clear failures when the server is away. What every
backend does is in test_storage_contract.py."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.helpers import (
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    TEST_MEDIA_SECRET,
    free_port,
    make_bucket,
    s3_bucket_storage,
    s3_environment,
)
from tornagram.storage import s3 as s3_module
from tornagram.storage.base import StorageUnavailable
from tornagram.storage.s3 import S3Storage


@pytest.fixture
async def bucket_storage(s3_server):
    storage = await s3_bucket_storage(s3_server)
    yield storage
    await storage.close()


async def test_a_large_object_goes_up_in_parts_and_reads_back_whole(bucket_storage, monkeypatch):
    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD_BYTES", 6 * 1024 * 1024)
    monkeypatch.setattr(s3_module, "PART_BYTES", 5 * 1024 * 1024)
    calls = []
    client = await bucket_storage.client()
    real_upload_part = client.upload_part

    async def counting(**kwargs):
        calls.append(kwargs["PartNumber"])
        return await real_upload_part(**kwargs)

    monkeypatch.setattr(client, "upload_part", counting)
    data = os.urandom(11 * 1024 * 1024)
    key = await bucket_storage.put(data, ext="jpg", content_type="image/jpeg")

    assert calls == [1, 2, 3]
    chunks = [chunk async for chunk in bucket_storage.read(key)]
    assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(data).digest()
    assert (await bucket_storage.stat(key)).size_bytes == len(data)


async def test_a_failed_multipart_upload_is_aborted(bucket_storage, monkeypatch):
    monkeypatch.setattr(s3_module, "MULTIPART_THRESHOLD_BYTES", 6 * 1024 * 1024)
    monkeypatch.setattr(s3_module, "PART_BYTES", 5 * 1024 * 1024)
    client = await bucket_storage.client()
    real_upload_part = client.upload_part

    async def second_part_fails(**kwargs):
        if kwargs["PartNumber"] == 2:
            raise OSError("connection reset by peer")
        return await real_upload_part(**kwargs)

    monkeypatch.setattr(client, "upload_part", second_part_fails)
    with pytest.raises(StorageUnavailable, match="connection reset"):
        await bucket_storage.put(os.urandom(11 * 1024 * 1024), ext="jpg", content_type="image/jpeg")

    uploads = await client.list_multipart_uploads(Bucket=bucket_storage.bucket)
    assert uploads.get("Uploads", []) == []
    assert [key async for key in bucket_storage.iter_keys()] == []


async def test_settings_from_the_url_and_credentials_from_the_aws_variables(s3_server, monkeypatch):
    s3_environment(monkeypatch)
    bucket = await make_bucket(s3_server)
    storage = S3Storage.from_url(
        s3_server.media_url(bucket, "site/media"), secret=TEST_MEDIA_SECRET
    )
    try:
        assert (storage.bucket, storage.prefix) == (bucket, "site/media/")
        assert storage.endpoint_url == s3_server.endpoint and storage.region == "us-east-1"
        key = await storage.put(b"from the environment", ext="jpg", content_type="image/jpeg")
        client = await storage.client()
        listed = await client.list_objects_v2(Bucket=bucket)
        assert [o["Key"] for o in listed["Contents"]] == [f"site/media/{key}"]
        head = await client.head_object(Bucket=bucket, Key=f"site/media/{key}")
        assert head["ContentType"] == "image/jpeg" and "immutable" in head["CacheControl"]
    finally:
        await storage.close()


async def test_credentials_in_the_url_never_show_in_its_description(s3_server, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    bucket = await make_bucket(s3_server)
    url = s3_server.media_url(bucket).replace("s3://", f"s3://{S3_ACCESS_KEY}:{S3_SECRET_KEY}@")
    storage = S3Storage.from_url(url, secret=TEST_MEDIA_SECRET)
    try:
        key = await storage.put(b"from the url", ext="jpg", content_type="image/jpeg")
        assert await storage.get(key) == b"from the url"
        assert S3_SECRET_KEY not in repr(storage) and S3_ACCESS_KEY not in repr(storage)
    finally:
        await storage.close()


async def test_no_server_is_a_clear_storage_unavailable_after_retries(monkeypatch):
    s3_environment(monkeypatch)
    nobody = f"http://127.0.0.1:{free_port()}"
    storage = S3Storage(
        "tornagram-nowhere", secret=TEST_MEDIA_SECRET, endpoint_url=nobody, max_attempts=2
    )
    try:
        with pytest.raises(StorageUnavailable) as caught:
            await storage.put(b"x", ext="jpg", content_type="image/jpeg")
        message = str(caught.value)
        assert "tornagram-nowhere" in message and "store" in message
        assert S3_SECRET_KEY not in message
        with pytest.raises(StorageUnavailable):
            await storage.stat("k/ab/cd/abcd" + "0" * 60 + ".jpg")
    finally:
        await storage.close()
