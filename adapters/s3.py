"""The evidence store through boto3: the embedded rclone server, MinIO or AWS S3.

Uploads stream in parts of ``part_size`` bytes (8 MiB), hashing each part as it goes, so memory
stays at about one part whatever the size of the object. A failed or refused upload aborts its
multipart upload, so nothing is left behind. The bucket is never public: users read objects only
through short-lived presigned GET links that the services hand out to entitled users.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from adapters.objectstore import ObjectMissing, ObjectTooLarge, StoredObject

if TYPE_CHECKING:
    from yunque.settings import Settings

PART_SIZE = 8 * 1024 * 1024
READ_CHUNK = 1024 * 1024


def _code(e: Exception) -> str:
    response = getattr(e, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _missing(e: Exception) -> bool:
    return _code(e) in ("404", "NoSuchKey", "NotFound")


class S3Store:
    """``adapters.objectstore.ObjectStore`` over one bucket of an S3-compatible service."""

    def __init__(self, client: Any, bucket: str, *, part_size: int = PART_SIZE):
        if part_size < 5 * 1024 * 1024:
            raise ValueError("S3 parts other than the last must be at least 5 MiB")
        self.client = client
        self.bucket = bucket
        self.part_size = part_size

    # --- writing ----------------------------------------------------------------------------------

    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str, max_size: int | None = None) -> StoredObject:
        """Upload ``stream`` under ``key``: one PUT if it fits in a part, else a multipart upload.

        ``ObjectTooLarge`` once more than ``max_size`` bytes have been read; then, as on any other
        failure, the multipart upload is aborted and nothing stays in the store."""
        digest = hashlib.sha256()
        first = _read_part(stream, self.part_size)
        size = len(first)
        if max_size is not None and size > max_size:
            raise ObjectTooLarge(key, max_size)
        if size < self.part_size:
            digest.update(first)
            self.client.put_object(Bucket=self.bucket, Key=key, Body=first, ContentType=content_type,
                                   ContentLength=size)
            return StoredObject(key=key, sha256=digest.hexdigest(), size=size, content_type=content_type)

        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)["UploadId"]
        try:
            parts = []
            part = first
            number = 1
            while part:
                digest.update(part)
                answer = self.client.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                                 Body=part, ContentLength=len(part))
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                del part, answer  # let the part go before the next one is read
                part = _read_part(stream, self.part_size)
                size += len(part)
                if max_size is not None and size > max_size:
                    raise ObjectTooLarge(key, max_size)
                number += 1
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                                  MultipartUpload={"Parts": parts})
        except BaseException as failure:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except Exception as abort_error:  # the store is down: say so, keep the first error
                failure.add_note(f"aborting multipart upload {upload_id} of {key} failed too: {abort_error}; "
                                 "the store's incomplete-upload expiry removes it")
            raise
        return StoredObject(key=key, sha256=digest.hexdigest(), size=size, content_type=content_type)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    # --- reading ----------------------------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except Exception as e:
            if _missing(e):
                raise ObjectMissing(key) from None
            raise

    def iter_bytes(self, key: str, chunk: int = READ_CHUNK) -> Iterator[bytes]:
        body = self.open(key)
        try:
            while True:
                data = body.read(chunk)
                if not data:
                    return
                yield data
        finally:
            body.close()

    def hash_of(self, key: str) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        for data in self.iter_bytes(key):
            digest.update(data)
            size += len(data)
        return digest.hexdigest(), size

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception as e:
            if _missing(e):
                return False
            raise

    def list_keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return keys

    def presigned_get(self, key: str, *, seconds: int, filename: str | None = None,
                      content_type: str | None = None) -> str:
        """A GET link valid for ``seconds``; computed locally (no request to the store)."""
        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ResponseContentType"] = content_type
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)


def content_disposition(filename: str) -> str:
    """``inline`` with an ASCII fallback and the UTF-8 name (RFC 6266), quotes and controls removed."""
    clean = "".join(ch for ch in filename if ch.isprintable() and ch not in '"\\/')[:150] or "evidence"
    ascii_name = clean.encode("ascii", "replace").decode().replace("?", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean)}"


def _read_part(stream: BinaryIO, size: int) -> bytes:
    """Exactly ``size`` bytes unless the stream ends first (streams may return short reads)."""
    chunks: list[bytes] = []
    wanted = size
    while wanted > 0:
        data = stream.read(min(wanted, READ_CHUNK * 8))
        if not data:
            break
        chunks.append(data)
        wanted -= len(data)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# --- the factory ----------------------------------------------------------------------------------

_stores: dict[tuple[str, ...], S3Store] = {}
_lock = threading.Lock()


def client_for(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    from adapters.s3_server import endpoint_url

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url(settings),
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=60,
                      retries={"max_attempts": 3, "mode": "standard"}, max_pool_connections=20),
    )


def get_store(settings: Settings) -> S3Store:
    """The evidence store ``settings`` name (one client per endpoint, bucket and key)."""
    from adapters.s3_server import endpoint_url

    ident = (endpoint_url(settings), settings.s3_bucket, settings.s3_region, settings.s3_access_key,
             settings.s3_secret_key)
    with _lock:
        store = _stores.get(ident)
        if store is None:
            store = _stores[ident] = S3Store(client_for(settings), settings.s3_bucket)
        return store


def reset_store() -> None:
    """Forget the cached clients (tests that start a mock or a server call this)."""
    with _lock:
        _stores.clear()
