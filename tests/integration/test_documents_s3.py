"""Documents in the real evidence store (``S3Store`` on moto's S3 API), and the ``yunque document`` CLI."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from services.demo import seed_shipment
from services.documents import issue_for_notice
from yunque.cli import app

from tests.support import moto_store
from tests.support import open_confirmed

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 9, 1, 10, 30, tzinfo=SH)


@pytest.fixture
def s3(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_store(monkeypatch) as store:
        yield store


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_document_is_stored_under_its_number_and_read_back_by_the_cli(s3, tmp_path: Path) -> None:  # noqa: ANN001
    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    chanel = next(n for n in case.notices if "CHANEL" in n.brands)
    doc = issue_for_notice(notice_id=chanel.id, now=FOUND)
    key = f"documents/{case.number}/{doc.number}.pdf"
    assert s3.hash_of(key) == (doc.sha256, s3.hash_of(key)[1])  # type: ignore[attr-defined]

    code, out, _ = run("document", "get", doc.number, "--as", "chanel.agent", "--out", str(tmp_path / "n.pdf"), "--json")
    assert code == 0 and json.loads(out)["sha256"] == doc.sha256
    assert hashlib.sha256((tmp_path / "n.pdf").read_bytes()).hexdigest() == doc.sha256
    code, _, _ = run("document", "get", str(doc.id), "--as", "ipr.li", "--out", str(tmp_path / "by-id.pdf"))
    assert code == 0 and (tmp_path / "by-id.pdf").read_bytes() == (tmp_path / "n.pdf").read_bytes()

    code, _, err = run("document", "get", doc.number, "--as", "nike.agent", "--out", str(tmp_path / "x.pdf"))
    assert code == 1 and "not-found" in err and not (tmp_path / "x.pdf").exists()

    code, out, _ = run("case", "show", case.number, "--as", "ipr.li", "--json")
    assert code == 0
    assert [(d["kind"], d["number"], d["sha256"]) for d in json.loads(out)["documents"]] == [
        ("confirmation_notice", doc.number, doc.sha256)]

    code, out, _ = run("document", "verify", doc.number, "--file", str(tmp_path / "n.pdf"), "--json")
    assert code == 0 and json.loads(out)["matches"] is True
    (tmp_path / "edited.pdf").write_bytes((tmp_path / "n.pdf").read_bytes() + b"\n")
    code, _, _ = run("document", "verify", doc.number, "--file", str(tmp_path / "edited.pdf"))
    assert code == 1
