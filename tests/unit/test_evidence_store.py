"""``adapters.s3.S3Store`` against the S3 API (moto): streaming, limits, aborts, links."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws

from adapters.objectstore import ObjectMissing, ObjectTooLarge
from adapters.s3 import PART_SIZE, S3Store, content_disposition

BUCKET = "yunque-evidence"


@pytest.fixture
def store() -> Iterator[S3Store]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
                              endpoint_url="https://s3.us-east-1.amazonaws.com",
                              config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        client.create_bucket(Bucket=BUCKET)
        yield S3Store(client, BUCKET)


class Trickle(io.RawIOBase):
    """A stream that returns short reads, as sockets and upload widgets do."""

    def __init__(self, data: bytes, step: int = 777_777):
        self.data, self.pos, self.step = data, 0, step

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.step if n < 0 else min(n, self.step)
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def test_a_small_object_goes_up_in_one_put_and_hashes_in_the_same_pass(store: S3Store) -> None:
    data = b"%PDF-1.7 tiny"
    put = store.put_stream("documents/x.pdf", io.BytesIO(data), content_type="application/pdf")
    assert (put.sha256, put.size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.hash_of("documents/x.pdf") == (put.sha256, put.size) and store.exists("documents/x.pdf")


def test_a_large_object_goes_up_in_parts_from_short_reads(store: S3Store) -> None:
    data = os.urandom(2 * PART_SIZE + 123)
    put = store.put_stream("evidence/big", Trickle(data), content_type="video/mp4")
    assert put.sha256 == hashlib.sha256(data).hexdigest() and put.size == len(data)
    assert store.hash_of("evidence/big") == (put.sha256, len(data))
    assert store.client.head_object(Bucket=BUCKET, Key="evidence/big")["ContentType"] == "video/mp4"


def test_too_large_aborts_and_leaves_nothing(store: S3Store) -> None:
    with pytest.raises(ObjectTooLarge):
        store.put_stream("evidence/huge", io.BytesIO(os.urandom(2 * PART_SIZE)), content_type="video/mp4",
                         max_size=PART_SIZE + 10)
    assert store.list_keys("") == []
    assert store.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_a_failure_mid_upload_aborts_the_multipart_upload(store: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    real = store.client.complete_multipart_upload

    def down(**kw):  # noqa: ANN003, ANN202
        raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")

    monkeypatch.setattr(store.client, "complete_multipart_upload", down)
    with pytest.raises(EndpointConnectionError):
        store.put_stream("evidence/v", io.BytesIO(os.urandom(PART_SIZE + 1)), content_type="video/mp4")
    assert store.list_keys("") == [] and store.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    assert real  # the real method was there to be replaced


def test_missing_objects_say_so(store: S3Store) -> None:
    with pytest.raises(ObjectMissing):
        store.hash_of("evidence/none")
    with pytest.raises(ObjectMissing):
        store.open("evidence/none")
    assert not store.exists("evidence/none")


def test_presigned_links_are_short_lived_and_name_the_file_safely(store: S3Store) -> None:
    store.put_stream("evidence/c/abc", io.BytesIO(b"\xff\xd8\xffdata"), content_type="image/jpeg")
    url = store.presigned_get("evidence/c/abc", seconds=300, filename='证据 "1".jpg', content_type="image/jpeg")
    assert "X-Amz-Expires=300" in url and "X-Amz-Signature=" in url and "response-content-type=image%2Fjpeg" in url
    cd = content_disposition('../x"\r\n.jpg')
    assert "\r" not in cd and "\n" not in cd and "/" not in cd.split("filename*=")[0]


def test_parts_must_be_at_least_five_mib(store: S3Store) -> None:
    with pytest.raises(ValueError):
        S3Store(store.client, BUCKET, part_size=1024)
