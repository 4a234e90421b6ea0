"""The evidence store against the real embedded server (rclone ``serve s3``): evidence survives a
restart, a 200 MB video streams through in bounded memory, and the CLI works end to end."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tracemalloc
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from services.demo import seed_shipment
from tests.support import photo as real_photo
from tests.support import free_port, open_confirmed

# real_clock: rclone, a Go program, reads the kernel's clock, not libfaketime's, so it refuses requests
# signed at a moved time (RequestTimeTooSkewed): scripts/test-at.sh leaves this file out
pytestmark = [pytest.mark.slow, pytest.mark.real_clock]
SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
MiB = 1024 * 1024


class Generated(io.RawIOBase):
    """``size`` bytes of a video-like stream made on the fly: never all in memory."""

    def __init__(self, size: int, head: bytes = MP4_HEAD):
        self.size, self.head, self.pos = size, head, 0
        self.block = hashlib.sha256(b"seed").digest() * (MiB // 32)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        n = min(len(b), self.size - self.pos, MiB)
        if n <= 0:
            return 0
        start = self.pos % MiB
        data = (self.block[start:] + self.block[:start])[:n]
        if self.pos < len(self.head):
            k = min(n, len(self.head) - self.pos)
            data = self.head[self.pos:self.pos + k] + data[k:]
        b[:n] = data
        self.pos += n
        return n


def expected_sha(size: int) -> str:
    digest = hashlib.sha256()
    g = Generated(size)
    while chunk := g.read(MiB):
        digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture
def server(sqlite_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[dict]:  # noqa: ANN001
    from adapters import s3_server
    from adapters.s3 import reset_store
    from yunque.settings import get_settings, reset_settings

    monkeypatch.setenv("YUNQUE_S3_PORT", str(free_port()))
    reset_settings()
    reset_store()
    state = {"proc": s3_server.start(get_settings(), log=tmp_path / "s3.log"), "settings": get_settings()}

    def restart() -> None:
        s3_server.stop(state["proc"])
        reset_store()
        state["proc"] = s3_server.start(get_settings(), log=tmp_path / "s3.log")

    state["restart"] = restart
    yield state
    s3_server.stop(state["proc"])
    reset_store()


def test_evidence_survives_a_restart_and_reads_back_with_its_hash(server) -> None:  # noqa: ANN001
    from services.evidence import add_evidence, evidence_url, verify_evidence

    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    size = 20 * MiB + 12345  # several parts
    ev = add_evidence(case_number=case.number, actor="site.wang", stream=io.BufferedReader(Generated(size)),
                      filename="VID_0001.mp4", line_number=1, now=FOUND)
    assert ev.sha256 == expected_sha(size) and ev.kind == "video"

    server["restart"]()
    report = verify_evidence(case_number=case.number)
    assert report.intact and report.items[0].actual_sha256 == ev.sha256 and report.orphans == []

    url = evidence_url(evidence_id=ev.id, actor="chanel.agent")
    with urllib.request.urlopen(url, timeout=30) as r:
        digest = hashlib.sha256()
        while chunk := r.read(MiB):
            digest.update(chunk)
        assert r.headers["Content-Type"] == "video/mp4"
    assert digest.hexdigest() == ev.sha256
    tampered = url.replace(f"evidence/{case.number}/", f"evidence/{case.number}/0")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(tampered, timeout=10)
    assert refused.value.code in (403, 404)
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(url.split("?")[0], timeout=10)  # the bucket is never public
    assert unsigned.value.code in (400, 403)  # refused either way, never served


def test_a_200_mb_video_streams_through_in_bounded_memory(server) -> None:  # noqa: ANN001
    from services.evidence import add_evidence, verify_evidence

    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    size = 200 * MiB
    stream = io.BufferedReader(Generated(size), buffer_size=MiB)
    tracemalloc.start()
    try:
        ev = add_evidence(case_number=case.number, actor="site.wang", stream=stream, filename="long.mov",
                          line_number=1, now=FOUND)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ev.size == size and ev.sha256 == expected_sha(size)
    # Holding the video would take 200 MiB; streaming holds about two 8 MiB parts.
    assert peak < 40 * MiB, f"peak traced memory {peak / MiB:.1f} MiB"
    assert verify_evidence(case_number=case.number).intact
    assert list((server["settings"].var_dir / "tmp").iterdir()) == []  # the spool is gone


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "yunque", *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def test_the_command_line_adds_links_and_verifies(server, tmp_path) -> None:  # noqa: ANN001
    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    photo = tmp_path / "IMG_7.jpg"
    photo.write_bytes(real_photo("rclone") + os.urandom(50_000))
    added = _cli("evidence", "add", case.number, str(photo), "--as", "site.wang", "--line", "1", "--json")
    assert added.returncode == 0, added.stderr
    ev = json.loads(added.stdout)
    assert ev["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest() and ev["line_number"] == 1

    link = _cli("evidence", "url", str(ev["id"]), "--as", "chanel.agent", "--json")
    assert link.returncode == 0, link.stderr
    with urllib.request.urlopen(json.loads(link.stdout)["url"], timeout=10) as r:
        assert r.read() == photo.read_bytes()
    refused = _cli("evidence", "url", str(ev["id"]), "--as", "nike.agent", "--json")
    assert refused.returncode == 1 and refused.stdout == "" and "not-found" in refused.stderr

    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"#!/bin/sh\necho not a photo\n")
    rejected = _cli("evidence", "add", case.number, str(fake), "--as", "site.wang", "--json")
    assert rejected.returncode == 2 and "not an accepted type" in rejected.stderr

    verified = _cli("evidence", "verify", case.number, "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["counts"] == {"intact": 1, "altered": 0, "missing": 0, "mismatch": 0}
