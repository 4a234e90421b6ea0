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
