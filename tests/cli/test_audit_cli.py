"""`yunque audit` and `--now` through the real process, with checkpoints in the embedded S3 server
(rclone): exit 1 naming the first bad entry, one line and JSON."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_cli import FOUND, db_path, ok, refused, shipment_file, yunque
from tests.support import free_port

# real_clock: the embedded S3 server (rclone, a Go program) reads the kernel's clock, not libfaketime's
pytestmark = [pytest.mark.slow, pytest.mark.real_clock]


@pytest.fixture
def s3(sqlite_db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The embedded S3 server, reachable by the `yunque` processes (they inherit the environment)."""
    from adapters import s3_server
    from adapters.s3 import reset_store
    from yunque.settings import get_settings, reset_settings

    monkeypatch.setenv("YUNQUE_S3_PORT", str(free_port()))
    reset_settings()
    reset_store()
    proc = s3_server.start(get_settings(), log=tmp_path / "s3.log")
    yield
    s3_server.stop(proc)
    reset_store()


def _story(tmp_path: Path) -> dict:
    case = ok("case", "open", str(shipment_file(tmp_path)), "--as", "site.wang", "--now", FOUND, "--json")
    ok("case", "confirm", case["number"], "--as", "ipr.li", "--now", FOUND, "--json")
    nike = next(n for n in case["notices"] if n["brands"] == ["NIKE"])
    ok("notice", "answer", str(nike["id"]), "--as", "nike.agent", "--verdict", "2=not-infringing",
       "--now", "2026-11-24T10:40:00+08:00", "--json")
    return case


def test_deleting_the_last_five_entries_after_a_checkpoint_exits_1_naming_the_entry(s3: None, tmp_path: Path) -> None:
    _story(tmp_path)
    cp = ok("audit", "checkpoint", "--json")
    assert cp["key"].startswith("audit/checkpoints/") and cp["chains"] >= 2
    assert ok("audit", "verify", "--json")["checkpoint"]["at"] == cp["at"]
    with sqlite3.connect(db_path()) as conn:
        ids = [i for (i,) in conn.execute("SELECT id FROM timeline_entry ORDER BY id DESC LIMIT 5")]
        conn.execute(f"DELETE FROM timeline_entry WHERE id IN ({','.join('?' * len(ids))})", ids)  # noqa: S608
    r = yunque("audit", "verify", "--json")
    assert r.code == 1, r
    assert r.json["intact"] is False and r.json["broken_at"] in ids and "deleted" in r.json["reason"]
    r = yunque("audit", "verify")
    lines = r.out.strip().splitlines()
    assert r.code == 1 and len(lines) == 1 and lines[0].startswith("BROKEN at entry ") and "deleted" in lines[0], r


def test_a_chain_rewritten_without_the_key_exits_1_naming_the_first_entry(s3: None, tmp_path: Path) -> None:
    from models.rules.chain import GENESIS, entry_hash

    _story(tmp_path)
    ok("audit", "checkpoint", "--json")
    with sqlite3.connect(db_path()) as conn:  # recomputed with the project's own (unkeyed) function
        rows = conn.execute("SELECT id, chain, after FROM timeline_entry ORDER BY chain, seq").fetchall()
        prev: dict[str, str] = {}
        for entry_id, chain, after in rows:
            h = entry_hash(prev.get(chain, GENESIS), {"id": entry_id, "after": after})
            conn.execute("UPDATE timeline_entry SET prev_hash = ?, hash = ? WHERE id = ?",
                         (prev.get(chain, GENESIS), h, entry_id))
            prev[chain] = h
    r = yunque("audit", "verify", "--json")
    assert r.code == 1, r
    assert r.json["broken_at"] == min(i for i, _c, _a in rows) and r.json["seq"] == 1


def test_verify_says_when_the_checkpoints_cannot_be_read(sqlite_db: str, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YUNQUE_S3_PORT", str(free_port()))  # nothing listens there
    _story(tmp_path)
    line = refused("audit", "verify", field="checkpoint", code=1)
    assert "cannot read the checkpoint" in line
    assert ok("audit", "verify", "--without-checkpoint", "--json")["intact"] is True


def test_now_is_refused_outside_replay_mode(sqlite_db: str, tmp_path: Path) -> None:
    before = sqlite3.connect(db_path()).execute("SELECT count(*) FROM timeline_entry").fetchone()[0]
    line = refused("case", "open", str(shipment_file(tmp_path)), "--as", "site.wang", "--now", FOUND, field="now",
                   env={"YUNQUE_ALLOW_REPLAY": ""})
    assert "YUNQUE_ALLOW_REPLAY" in line
    refused("sweep", "--now", "2031-01-01T00:00:00+08:00", field="now", env={"YUNQUE_ALLOW_REPLAY": "0"})
    assert sqlite3.connect(db_path()).execute("SELECT count(*) FROM timeline_entry").fetchone()[0] == before


def test_an_answer_dated_before_the_case_s_last_act_is_refused(sqlite_db: str, tmp_path: Path) -> None:
    case = _story(tmp_path)
    chanel = next(n for n in case["notices"] if n["brands"] == ["CHANEL"])
    line = refused("notice", "answer", str(chanel["id"]), "--as", "chanel.agent", "--verdict", "1=not-infringing",
                   "--verdict", "3=not-infringing", "--now", "2020-01-01T00:00:00+08:00", field="now", code=2)
    assert "before the case's last act" in line
    assert ok("audit", "verify", "--without-checkpoint", "--json")["intact"] is True
