"""The audit trail on a real database (SQLite and PostgreSQL) with checkpoints in S3 (moto): every way
of tampering with the timeline that someone with the database but not the audit key could try is found,
and the first bad entry is named."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import text
from sqlmodel import col, select

from models.rules.chain import GENESIS, chain_of, entry_hash, entry_mac
from models.rules.errors import InvalidInput
from models.tables import Case, Evidence, TimelineEntry
from services.answers import record_answer
from services.audit import LATEST_CHECKPOINT, verify_timeline, write_checkpoint
from services.context import timeline_payload
from services.evidence import add_evidence, verify_evidence

from tests.support import moto_store, open_confirmed, session_scope, shipment

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)


@pytest.fixture
def s3(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_store(monkeypatch) as store:
        yield store


@pytest.fixture
def story(s3: object) -> object:
    """Two cases, each with a notice answered: entries in three chains (two cases and the system's)."""
    cases = [open_confirmed(shipment(f"01012026112400010{i}", FOUND, "NIKE", "CHANEL"), now=FOUND) for i in range(2)]
    for i, c in enumerate(cases):
        n = c.notices[0]
        record_answer(notice_id=n.id, actor=f"{n.brands[0].lower()}.agent", now=FOUND + timedelta(minutes=5 + i),
                      answer={"verdicts": {num: "infringing" for num in n.lines}, "detain": False})
    return cases


def _entries() -> list[TimelineEntry]:
    with session_scope(readonly=True) as s:
        rows = list(s.exec(select(TimelineEntry).order_by(col(TimelineEntry.id))))
        s.expunge_all()  # kept as read, not expired by the read-only transaction's rollback
        return rows


def _chain(case) -> str:  # noqa: ANN001
    with session_scope(readonly=True) as s:
        return chain_of(s.exec(select(Case.id).where(Case.number == case.number)).one())


def _sql(statement: str, **params: object) -> None:
    with session_scope() as s:
        s.execute(text(statement), params)


def test_every_entry_is_in_its_case_chain_numbered_from_one(story: list) -> None:
    entries = _entries()
    by_chain: dict[str, list[int]] = {}
    for e in entries:
        assert e.chain == chain_of(e.case_id)
        by_chain.setdefault(e.chain, []).append(e.seq)
    assert {_chain(c) for c in story} <= set(by_chain)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_chain.values())
    result = verify_timeline(anchored=True)
    assert result.intact and result.entries == len(entries) and result.checkpoint is None


def test_a_changed_verdict_is_named(story: list) -> None:
    victim = next(e for e in _entries() if e.action == "notice.answered")
    after = dict(victim.after or {})
    after["verdicts"] = {k: "not-infringing" for k in (after.get("verdicts") or {"1": 0})}
    _sql("UPDATE timeline_entry SET after = :a WHERE id = :i", a=json.dumps(after), i=victim.id)
    result = verify_timeline()
    assert not result.intact and result.broken_at == victim.id and "altered" in (result.reason or "")


def test_a_chain_recomputed_with_the_unkeyed_functions_is_named_at_the_changed_entry(story: list) -> None:
    """The attack that used to pass: change an answer and recompute every hash of its chain."""
    chain = _chain(story[0])
    entries = [e for e in _entries() if e.chain == chain]
    victim = next(e for e in entries if e.action == "notice.answered")
    prev = GENESIS
    for e in entries:
        if e.id == victim.id:
            e.after = {**(e.after or {}), "comment": "forged"}
        h = entry_hash(prev, timeline_payload(e))
        _sql("UPDATE timeline_entry SET prev_hash = :p, hash = :h, after = :a WHERE id = :i",
             p=prev, h=h, a=json.dumps(e.after), i=e.id)
        prev = h
    result = verify_timeline()
    assert not result.intact and result.broken_at == entries[0].id and result.chain == chain and result.seq == 1


def test_a_full_rewrite_without_the_key_is_named_at_the_oldest_entry(story: list) -> None:
    entries = sorted(_entries(), key=lambda e: (e.chain, e.seq))
    prev: dict[str, str] = {}
    for e in entries:
        p = prev.get(e.chain, GENESIS)
        h = entry_mac("a key the attacker made up", e.chain, e.seq, p, timeline_payload(e))
        _sql("UPDATE timeline_entry SET prev_hash = :p, hash = :h WHERE id = :i", p=p, h=h, i=e.id)
        prev[e.chain] = h
    result = verify_timeline()
    assert not result.intact and result.broken_at == min(e.id for e in entries)
    assert len(result.breaks) == len(prev)  # every chain is reported


def test_a_deleted_entry_in_the_middle_is_named(story: list) -> None:
    chain = _chain(story[1])
    entries = [e for e in _entries() if e.chain == chain]
    _sql("DELETE FROM timeline_entry WHERE id = :i", i=entries[2].id)
    result = verify_timeline()
    assert not result.intact and result.broken_at == entries[3].id and "missing" in (result.reason or "")


def test_an_inserted_entry_is_named(story: list) -> None:
    chain = _chain(story[0])
    entries = [e for e in _entries() if e.chain == chain]
    _sql("UPDATE timeline_entry SET seq = seq + 1000 WHERE chain = :c AND seq > 2", c=chain)
    _sql("UPDATE timeline_entry SET seq = seq - 999 WHERE chain = :c AND seq > 1000", c=chain)
    src = entries[1]
    _sql("INSERT INTO timeline_entry (case_id, at, actor_id, actor, actor_role, action, subject, before, after, "
         "prev_hash, hash, chain, seq) SELECT case_id, at, actor_id, actor, actor_role, action, 'line:99', before, "
         "after, prev_hash, :h, chain, 3 FROM timeline_entry WHERE id = :i", h="f" * 64, i=src.id)
    inserted = max(e.id for e in _entries())
    result = verify_timeline()
    assert not result.intact and result.broken_at == inserted and result.seq == 3


def test_the_last_five_entries_deleted_after_a_checkpoint_are_found(story: list, s3) -> None:  # noqa: ANN001
    written = write_checkpoint(now=FOUND + timedelta(hours=1))
    assert written is not None and s3.exists(written["key"]) and s3.exists(LATEST_CHECKPOINT)
    assert verify_timeline(anchored=True).intact
    last = _entries()[-5:]
    _sql("DELETE FROM timeline_entry WHERE id >= :i", i=last[0].id)
    plain = verify_timeline()
    assert plain.intact  # inside the database alone, a clean tail cut leaves nothing to see
    result = verify_timeline(anchored=True)
    assert not result.intact and "deleted" in (result.reason or "")
    named = {b["entry_id"] for b in result.breaks}
    assert named <= {e.id for e in last} and result.broken_at in named
    assert result.chain == next(e.chain for e in last if e.id == result.broken_at)


def test_a_checkpoint_is_written_only_when_the_heads_changed_if_asked(story: list, s3) -> None:  # noqa: ANN001
    assert write_checkpoint(now=FOUND + timedelta(hours=1)) is not None
    assert write_checkpoint(now=FOUND + timedelta(hours=1, minutes=1), only_if_changed=True) is None
    record_answer(notice_id=story[0].notices[1].id, actor=f"{story[0].notices[1].brands[0].lower()}.agent",
                  now=FOUND + timedelta(hours=2), answer={"verdicts": {n: "not-infringing" for n in story[0].notices[1].lines}})
    again = write_checkpoint(now=FOUND + timedelta(hours=2, minutes=1), only_if_changed=True)
    assert again is not None and again["chains"] == len({e.chain for e in _entries()})
    assert verify_timeline(anchored=True).intact


def test_a_forged_checkpoint_is_refused(story: list, s3) -> None:  # noqa: ANN001
    write_checkpoint(now=FOUND + timedelta(hours=1))
    doc = json.loads(s3.open(LATEST_CHECKPOINT).read())
    doc["chains"] = [c for c in doc["chains"] if c[0] != "system"]
    s3.put_stream(LATEST_CHECKPOINT, io.BytesIO(json.dumps(doc).encode()), content_type="application/json")
    result = verify_timeline(anchored=True)
    assert not result.intact and "checkpoint" in (result.reason or "") and result.broken_at is None


def _jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(out, "JPEG")
    return out.getvalue()


def test_a_swapped_evidence_object_with_its_row_updated_is_found(story: list, s3) -> None:  # noqa: ANN001
    case = story[0]
    ev = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(_jpeg("red")), filename="a.jpg",
                      now=FOUND + timedelta(minutes=30))
    assert verify_evidence(case_number=case.number, now=FOUND + timedelta(minutes=31)).intact
    swapped = _jpeg("blue")
    import hashlib

    sha = hashlib.sha256(swapped).hexdigest()
    s3.put_stream(ev_key := f"evidence/{case.number}/{ev.sha256}", io.BytesIO(swapped), content_type="image/jpeg")
    _sql("UPDATE evidence SET sha256 = :s, size = :n WHERE id = :i", s=sha, n=len(swapped), i=ev.id)
    report = verify_evidence(case_number=case.number, now=FOUND + timedelta(minutes=32))
    item = next(i for i in report.items if i.evidence_id == ev.id)
    assert not report.intact and item.status == "mismatch" and ev_key in (item.reason or "")
    # moving the object to the key its new hash names does not help: the timeline recorded the first bytes
    s3.put_stream(f"evidence/{case.number}/{sha}", io.BytesIO(swapped), content_type="image/jpeg")
    _sql("UPDATE evidence SET key = :k WHERE id = :i", k=f"evidence/{case.number}/{sha}", i=ev.id)
    report = verify_evidence(case_number=case.number, now=FOUND + timedelta(minutes=33))
    item = next(i for i in report.items if i.evidence_id == ev.id)
    assert item.status == "mismatch" and "timeline entry" in (item.reason or "")
    with session_scope(readonly=True) as s:
        assert s.get(Evidence, ev.id).sha256 == sha  # type: ignore[union-attr]


def test_an_act_dated_before_the_case_s_last_act_is_refused(story: list) -> None:
    before = len(_entries())
    n = story[0].notices[1]
    with pytest.raises(InvalidInput) as refused:
        record_answer(notice_id=n.id, actor=f"{n.brands[0].lower()}.agent", now=FOUND - timedelta(days=400),
                      answer={"verdicts": {num: "not-infringing" for num in n.lines}})
    assert refused.value.field == "now" and "before the case's last act" in str(refused.value)
    assert len(_entries()) == before
