"""The seed story through the services, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.rules.errors import DeadlinePassed, NotFound
from services.answers import record_answer
from services.audit import verify_timeline
from services.cases import get_case, open_case
from services.demo import seed_shipment
from services.sweep import release_expired
from tests.support import open_confirmed

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)  # a Tuesday


def _open() -> object:
    return open_confirmed(seed_shipment(FOUND), now=FOUND)


def _notice(case, brand: str):  # noqa: ANN001
    return next(n for n in case.notices if brand in n.brands)


def test_opening_the_seed_case_serves_one_notice_per_rights_holder(db: str) -> None:
    case = _open()
    assert [ln.state for ln in case.lines] == ["suspended"] * 9
    assert sum(ln.quantity for ln in case.lines) == 119
    assert len(case.notices) == 9
    # served Tuesday 24 Nov: counting from Wednesday, the third working day is Friday 27 Nov
    assert {n.deadline.isoformat() for n in case.notices} == {"2026-11-27"}


def test_partial_release_and_silent_holder_released_at_deadline(db: str) -> None:
    case = _open()
    nike, chanel = _notice(case, "NIKE"), _notice(case, "CHANEL")
    line_of = {ln.brand: ln.number for ln in case.lines}
    record_answer(notice_id=nike.id, actor="nike.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {line_of["NIKE"]: "not-infringing"}})
    record_answer(notice_id=chanel.id, actor="chanel.agent", now=FOUND + timedelta(minutes=12),
                  answer={"verdicts": {line_of["CHANEL"]: "infringing"}, "detain": True, "bond": "general"})
    states = {ln.brand: ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines}
    assert states["NIKE"] == "released" and states["CHANEL"] == "detained" and states["HERMES"] == "suspended"

    assert release_expired(now=datetime(2026, 11, 27, 23, 59, tzinfo=SH)) == []
    released = release_expired(now=datetime(2026, 11, 28, 0, 0, tzinfo=SH))
    assert sorted(r["brand"] for r in released) == sorted(set(line_of) - {"NIKE", "CHANEL"})
    assert release_expired(now=datetime(2026, 11, 28, 0, 5, tzinfo=SH)) == []  # nothing twice
    with pytest.raises(DeadlinePassed):
        record_answer(notice_id=_notice(case, "HERMES").id, actor="hermes.agent",
                      now=datetime(2026, 11, 28, 9, 0, tzinfo=SH),
                      answer={"verdicts": {line_of["HERMES"]: "not-infringing"}})
    assert verify_timeline().intact


def test_a_rights_holder_cannot_answer_another_holders_notice(db: str) -> None:
    case = _open()
    chanel = _notice(case, "CHANEL")
    with pytest.raises(NotFound):
        record_answer(notice_id=chanel.id, actor="nike.agent", now=FOUND,
                      answer={"verdicts": {chanel.lines[0]: "not-infringing"}})
    assert get_case(case_number=case.number, actor="ipr.li").lines[0].state == "suspended"


def test_notices_released_together_are_released_as_each_alone_would_be(db: str) -> None:
    from services.sweep import release_notice_if_expired, release_notices_if_expired

    together, alone = _open(), _open()
    nike = _notice(together, "NIKE")
    record_answer(notice_id=nike.id, actor="nike.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {nike.lines[0]: "not-infringing"}})
    after = datetime(2026, 11, 28, 0, 0, tzinfo=SH)
    before = after - timedelta(minutes=1)
    assert release_notices_if_expired(notice_ids=[n.id for n in together.notices], now=before) == {
        n.id: [] for n in together.notices}  # not yet due: nothing
    released = release_notices_if_expired(notice_ids=[n.id for n in together.notices], now=after)
    assert released[nike.id] == []  # answered in time
    assert sorted(r["brand"] for lines in released.values() for r in lines) == sorted(
        ln.brand for ln in together.lines if ln.brand != "NIKE")
    one_by_one = [r for n in alone.notices for r in release_notice_if_expired(notice_id=n.id, now=after)]
    assert len(one_by_one) == 9

    def story(number: str) -> list[tuple[str, str]]:
        case = get_case(case_number=number, actor="ipr.li")
        return sorted((ln.brand, ln.state) for ln in case.lines)

    assert story(together.number) == sorted((b, "released") for b, _ in story(alone.number))
    assert release_notices_if_expired(notice_ids=[n.id for n in together.notices], now=after) == {
        n.id: [] for n in together.notices}  # nothing twice
    assert verify_timeline().intact


def test_a_batch_that_fails_releases_none_of_its_notices(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import services.sweep as sweep

    case = _open()
    ids = [n.id for n in case.notices]
    real = sweep._release_notice

    def refuse_the_last(s, notice_id, now):  # noqa: ANN001, ANN202
        if notice_id == ids[-1]:
            raise RuntimeError("the database refused the write")
        return real(s, notice_id, now)

    monkeypatch.setattr(sweep, "_release_notice", refuse_the_last)
    with pytest.raises(RuntimeError):
        sweep.release_notices_if_expired(notice_ids=ids, now=datetime(2026, 11, 28, 0, 0, tzinfo=SH))
    assert {ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines} == {"suspended"}


def test_the_outbox_holds_back_the_decisions_of_deadline_releases_when_asked(db: str) -> None:
    from flows.dispatch import DEADLINE_REASONS
    from services.process import pending_events

    case = _open()
    nike = _notice(case, "NIKE")
    record_answer(notice_id=nike.id, actor="nike.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {nike.lines[0]: "not-infringing"}})
    released = release_expired(now=datetime(2026, 11, 28, 0, 0, tzinfo=SH))
    assert len(released) == 8
    everything = pending_events(limit=1000)
    reasons = [(e.topic, e.payload.get("reason")) for e in everything]
    assert reasons.count(("decision.made", "expired")) == 8
    held = pending_events(limit=1000, holding=DEADLINE_REASONS)
    assert [e.id for e in held] == [e.id for e in everything if (e.topic, e.payload.get("reason")) != (
        "decision.made", "expired")]
    kept = [e.payload["reason"] for e in held if e.topic == "decision.made"]
    assert len(kept) == 1 and kept[0] not in DEADLINE_REASONS  # NIKE's, cleared by its rights holder
    assert {"case.opened", "notice.answered", "case.closed"} <= {e.topic for e in held}
