"""以图识图 from the command line: `yunque recordation image add` and `yunque match`, against a
moto S3 server, with bad input refused in one line naming the field and nothing written."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters import marks
from tests.cli.test_cli import ok, refused, rows


@pytest.fixture
def s3_env(sqlite_db: str) -> Iterator[dict[str, str]]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        import boto3

        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1", aws_access_key_id="k",
                     aws_secret_access_key="s").create_bucket(Bucket="yunque-evidence")
        yield {"YUNQUE_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "YUNQUE_S3_ACCESS_KEY": "k",
               "YUNQUE_S3_SECRET_KEY": "s", "YUNQUE_S3_BUCKET": "yunque-evidence"}
    finally:
        server.stop()


def test_image_add_then_match(s3_env: dict[str, str], tmp_path: Path) -> None:
    mark = tmp_path / "nike.png"
    mark.write_bytes(marks.png_bytes(marks.synthetic_mark("NIKE", 0)))
    out = ok("recordation", "image", "add", "T2019-40002", str(mark), "--as", "nike.agent", "--json", env=s3_env)
    assert (out["recordation"], out["brand"], out["kind"], out["added_by"]) == ("T2019-40002", "NIKE", "mark",
                                                                                 "nike.agent")
    assert len(out["sha256"]) == 64
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(marks.synthetic_photo(marks.synthetic_mark("NIKE", 0), seed=11))
    found = ok("match", str(photo), "--as", "site.wang", "--json", env=s3_env)
    assert found["matched"] is True
    best = found["candidates"][0]
    assert (best["recordation"], best["brand"], best["rights_holder"]) == ("T2019-40002", "NIKE", "Nike Innovate C.V.")
    assert best["score"] > 0
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(marks.synthetic_photo(None, seed=12))
    assert ok("match", str(empty), "--as", "site.wang", "--json", env=s3_env)["candidates"] == []


def test_bad_input_is_refused_naming_the_field(s3_env: dict[str, str], tmp_path: Path) -> None:
    before = rows()
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    refused("recordation", "image", "add", "T2019-40002", str(text), "--as", "nike.agent", "--json", field="file",
            env=s3_env)
    refused("recordation", "image", "add", "T2019-40002", str(tmp_path / "missing.png"), "--as", "nike.agent",
            "--json", field="file", env=s3_env)
    png = tmp_path / "mark.png"
    png.write_bytes(marks.png_bytes(marks.synthetic_mark("NIKE", 0)))
    refused("recordation", "image", "add", "T2019-40002", str(png), "--as", "nike.agent", "--kind", "logo",
            "--json", field="kind", env=s3_env)
    refused("match", str(text), "--as", "site.wang", "--json", field="photo", env=s3_env)
    refused("match", str(png), "--as", "site.wang", "--top", "0", "--json", field="top", env=s3_env)
    refused("recordation", "image", "add", "T2019-99999", str(png), "--as", "admin", "--json",
            field="recordation", code=1, env=s3_env)
    assert rows() == before
