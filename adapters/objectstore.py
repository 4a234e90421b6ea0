"""The evidence store's contract: an S3-compatible object store, seen through a small Protocol.

The real implementation (boto3 against the embedded S3 server, MinIO or AWS S3) lives in
``adapters.s3``; ``adapters.s3.get_store(settings)`` returns it for the settings a caller passes (a unit of
work's ``store``); unit tests may pass a fake. Keys are derived from the case and the content hash,
never from a user's file name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    content_type: str


class ObjectMissing(Exception):
    def __init__(self, key: str):
        self.key = key
        super().__init__(f"object {key} is missing from the evidence store")


class ObjectTooLarge(Exception):
    """More than ``max_size`` bytes were offered; the upload was abandoned and nothing was stored."""

    def __init__(self, key: str, max_size: int):
        self.key = key
        self.max_size = max_size
        super().__init__(f"object {key} is larger than {max_size} bytes")


class ObjectStore(Protocol):
    def put_stream(self, key: str, stream: BinaryIO, *, content_type: str, max_size: int | None = None) -> StoredObject:
        """Upload ``stream`` under ``key`` in bounded memory, hashing it in the same pass."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A streaming reader of the object's bytes; ``ObjectMissing`` if absent."""
        ...

    def hash_of(self, key: str) -> tuple[str, int]:
        """Re-read the object and return (sha256, size); ``ObjectMissing`` if absent."""
        ...

    def presigned_get(self, key: str, *, seconds: int, filename: str | None = None,
                      content_type: str | None = None) -> str: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def list_keys(self, prefix: str) -> list[str]:
        """Every key under ``prefix`` (used to find objects no record points at)."""
        ...
