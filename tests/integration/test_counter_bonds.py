"""The consignor's counter-bond for detained patent goods, on SQLite (Reg 19, 24(3); Meas 20, 41).

Recorded with what customs received, it releases the line; the rights holder then has 30 working days
from the day after customs' notice is served on it to file its court's acceptance notice, or the
counter-bond becomes refundable and an IPR officer refunds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import col, select

from models.enums import TaskKind
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound, PermissionDenied
from models.tables import Case, CounterBond, Document, Recordation, Task, TimelineEntry
from services.answers import record_answer
from services.bonds import record_bond_receipt
from services.calendar import load_calendar_year
from services.cases import get_case
from services.counter_bonds import counter_bond, counter_bonds_due, record_counter_bond, record_court_filing, refund_counter_bond
from services.delivery import record_manual_service
from services.documents import issue_for_decision
from services.tasks import complete_task, inbox
from tests.support import moto_store, open_confirmed, session_scope

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a Monday
DETAINED = FOUND + timedelta(hours=2)
BONDED = datetime(2026, 3, 3, 11, 0, tzinfo=SH)  # the consignor's counter-bond arrives
SERVED = datetime(2026, 3, 4, 15, 0, tzinfo=SH)  # customs' release notice served on the rights holder
# 30 working days from Thursday 5 March (Meas 41): Qingming (Monday 6 April) does not count
COURT_DUE = date(2026, 4, 16)
AFTER_DUE = datetime(2026, 4, 17, 0, 0, tzinfo=SH)
CONSIGNOR = {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}
GUARANTEE = {"form": "guarantee", "amount": "16000.00", "bank": "中国银行北京分行", "letter_no": "BG-2026-0301"}


@pytest.fixture
def store(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_store(monkeypatch) as s:
        yield s


def _patent(brand: str = "ROLEX") -> None:
    with session_scope() as s:
        rec = s.exec(select(Recordation).where(Recordation.brand == brand)).one()
        rec.right_type = "patent"
        s.add(rec)


def _line(brand: str, value: str) -> dict[str, Any]:
    return {"description": f"Watches marked {brand}", "brand": brand, "quantity": 4, "unit": "pcs", "value": value}


def _case(found: datetime = FOUND, declaration_no: str = "010120260302000009") -> Any:
    """ROLEX watches (a patent here) and NIKE shoes (a trademark), both claimed and detained."""
    _patent()
    case = open_confirmed({"declaration_no": declaration_no, "direction": "export",
                           "customs_office": "Capital Airport Customs", "consignor": dict(CONSIGNOR),
                           "found_at": found.isoformat(),
                           "lines": [_line("ROLEX", "16000.00"), _line("NIKE", "9000.00")]}, now=found)
    return case


def _detain(case: Any, brand: str, bond: str, at: datetime) -> None:
    n = next(n for n in case.notices if brand in n.brands)
    number = next(ln.number for ln in case.lines if ln.brand == brand)
    record_answer(notice_id=n.id, actor=f"{brand.lower()}.agent", now=at,
                  answer={"verdicts": {number: "infringing"}, "detain": True, "bond": bond})
    record_bond_receipt(notice_id=n.id, actor="ipr.li", now=at + timedelta(minutes=30),
                        receipt={"form": "deposit", "amount": bond})


def _rows() -> dict[str, int]:
    with session_scope(readonly=True) as s:
        return {m.__name__: int(s.exec(select(func.count()).select_from(m)).one())
                for m in (CounterBond, TimelineEntry, Task)}


def _actions(subject_part: str = "") -> list[str]:
    with session_scope(readonly=True) as s:
        return [e.action for e in s.exec(select(TimelineEntry).order_by(TimelineEntry.id))
                if subject_part in e.subject]


def _serve_rights_holder(decision_id: int, store: Any, at: datetime) -> None:
    """The process issues the release notices; the rights holder's is served by post at ``at``."""
    issue_for_decision(decision_id=decision_id, now=at - timedelta(hours=1), store=store)
    with session_scope(readonly=True) as s:
        doc_id = s.exec(select(Document.id).where(Document.decision_id == decision_id,
                                                  col(Document.rights_holder_id).is_not(None))).one()
    record_manual_service(document_id=doc_id, actor="ipr.li", means="post", at=at, now=at)


def _bonded(store: Any) -> tuple[Any, dict[str, Any]]:
    case = _case()
    _detain(case, "ROLEX", "16000.00", FOUND + timedelta(minutes=10))
    out = record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=BONDED, bond=GUARANTEE)
    return case, out


def test_a_counter_bond_is_refused_for_the_wrong_line_or_too_little_and_nothing_is_written(sqlite_db: str) -> None:
    case = _case()
    with pytest.raises(InvalidInput) as caught:  # still suspended: nothing to release on a counter-bond
        record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=DETAINED, bond=GUARANTEE)
    assert caught.value.field == "line" and "suspended" in str(caught.value)
    _detain(case, "ROLEX", "16000.00", FOUND + timedelta(minutes=10))
    _detain(case, "NIKE", "9000.00", FOUND + timedelta(minutes=50))
    before = _rows()
    with pytest.raises(InvalidInput) as caught:  # a trademark line: no counter-bond (Reg 19 is for patents)
        record_counter_bond(case_number=case.number, line_number=2, actor="ipr.li", now=BONDED,
                            bond={"form": "deposit", "amount": "9000.00"})
    assert caught.value.field == "line" and "patent" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:  # less than the value of the goods
        record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=BONDED,
                            bond={**GUARANTEE, "amount": "15999.99"})
    assert caught.value.field == "amount" and "16000.00" in str(caught.value)
    with pytest.raises(ValidationError) as invalid:  # a guarantee letter names its bank and number
        record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=BONDED,
                            bond={"form": "guarantee", "amount": "16000.00"})
    assert "bank" in str(invalid.value)
    with pytest.raises(ValidationError) as invalid:
        record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=BONDED,
                            bond={"form": "cheque", "amount": "16000.00"})
    assert invalid.value.errors()[0]["loc"] == ("form",)
    with pytest.raises(InvalidInput) as caught:  # the scan must be evidence of this case
        record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=BONDED,
                            bond={**GUARANTEE, "evidence_id": 999999})
    assert caught.value.field == "evidence_id"
    with pytest.raises(PermissionDenied):
        record_counter_bond(case_number=case.number, line_number=1, actor="site.wang", now=BONDED, bond=GUARANTEE)
    with pytest.raises(NotFound):
        record_counter_bond(case_number=case.number, line_number=9, actor="ipr.li", now=BONDED, bond=GUARANTEE)
    assert _rows() == before
    assert {ln.number: ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines} == {
        1: "detained", 2: "detained"}


def test_no_court_filing_in_30_working_days_makes_the_counter_bond_refundable(store: Any) -> None:
    case, out = _bonded(store)
    assert (out["state"], out["amount"], out["form"], out["court_due"]) == ("held", "16000.00", "guarantee", None)
    ln = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert (ln.state, ln.state_reason) == ("released", "counter-bond")
    assert inbox(actor="ipr.li", kind=TaskKind.INVESTIGATE.value, case_number=case.number) == []
    assert _actions(f"{case.number}/1")[-2:] == ["counter_bond.received", "line.released"]
    with pytest.raises(ConcurrentUpdate):  # one counter-bond per line
        record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=BONDED, bond=GUARANTEE)

    # the clock waits for customs' written notice to be served on the rights holder (Meas 20, 41)
    assert counter_bonds_due(now=AFTER_DUE + timedelta(days=60)) == []
    with pytest.raises(InvalidInput) as caught:
        refund_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=SERVED)
    assert caught.value.field == "line" and "not started" in str(caught.value)
    _serve_rights_holder(out["decision_id"], store, SERVED)
    steps = counter_bonds_due(now=SERVED + timedelta(hours=1))
    assert [(s["line"], s["step"], s["court_due"]) for s in steps] == [(1, "clock-started", COURT_DUE.isoformat())]
    assert counter_bonds_due(now=SERVED + timedelta(hours=2)) == []

    # the last day runs to 24:00; then the counter-bond is refundable and an IPR officer refunds it
    assert counter_bonds_due(now=AFTER_DUE - timedelta(minutes=1)) == []
    steps = counter_bonds_due(now=AFTER_DUE)
    assert [(s["step"], s["court_due"]) for s in steps] == [("refundable", "2026-04-16")]
    assert counter_bonds_due(now=AFTER_DUE + timedelta(hours=1)) == []
    (task,) = inbox(actor="ipr.li", kind=TaskKind.REFUND_COUNTER_BOND.value)
    assert task.id == steps[0]["task_id"] and task.case_number == case.number and task.line_id is not None
    with pytest.raises(InvalidInput) as caught:  # too late to keep it
        record_court_filing(case_number=case.number, line_number=1, actor="ipr.li", now=AFTER_DUE + timedelta(hours=9),
                            filing={"court": "北京知识产权法院", "reference": "(2026)京73民初88号"})
    assert caught.value.field == "received_at"
    with pytest.raises(InvalidInput) as caught:
        complete_task(task_id=task.id, actor="ipr.li", outcome="refunded", fields={"evidence_id": "999999"},
                      now=AFTER_DUE + timedelta(hours=10))
    assert caught.value.field == "evidence_id"
    done = complete_task(task_id=task.id, actor="ipr.li", outcome="refunded",
                         fields={"reference": "保函退还 BG-2026-0301", "note": "letter returned to the consignor"},
                         now=AFTER_DUE + timedelta(hours=10))
    assert done.state == "completed"
    shown = counter_bond(case_number=case.number, line_number=1, actor="ipr.li")
    assert (shown["state"], shown["refund_reference"]) == ("refunded", "保函退还 BG-2026-0301")
    assert datetime.fromisoformat(shown["refunded_at"]) == AFTER_DUE + timedelta(hours=10)
    with pytest.raises(ConcurrentUpdate):
        refund_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=AFTER_DUE + timedelta(hours=11))
    acts = _actions(f"{case.number}/1")
    assert acts.index("counter_bond.received") < acts.index("counter_bond.clock_started") < \
        acts.index("counter_bond.refundable") < acts.index("counter_bond.refunded")
    # the rights holder sees the state and the clock, not the consignor's bank details
    holder = counter_bond(case_number=case.number, line_number=1, actor="rolex.agent")
    assert holder["state"] == "refunded" and "bank" not in holder


def test_a_court_filing_in_time_keeps_the_counter_bond(store: Any) -> None:
    case, out = _bonded(store)
    _serve_rights_holder(out["decision_id"], store, SERVED)
    counter_bonds_due(now=SERVED + timedelta(hours=1))
    with pytest.raises(ValidationError):
        record_court_filing(case_number=case.number, line_number=1, actor="ipr.li", now=datetime(2026, 4, 10, 9, tzinfo=SH),
                            filing={"court": "", "reference": "(2026)京73民初88号"})
    with pytest.raises(PermissionDenied):
        record_court_filing(case_number=case.number, line_number=1, actor="rolex.agent",
                            now=datetime(2026, 4, 10, 9, tzinfo=SH),
                            filing={"court": "北京知识产权法院", "reference": "(2026)京73民初88号"})
    kept = record_court_filing(case_number=case.number, line_number=1, actor="ipr.li",
                               now=datetime(2026, 4, 10, 9, tzinfo=SH),
                               filing={"court": "北京知识产权法院", "reference": "(2026)京73民初88号"})
    assert (kept["state"], kept["court"], kept["court_due"]) == ("kept", "北京知识产权法院", "2026-04-16")
    assert counter_bonds_due(now=AFTER_DUE + timedelta(days=30)) == []
    assert inbox(actor="ipr.li", kind=TaskKind.REFUND_COUNTER_BOND.value) == []
    with pytest.raises(InvalidInput) as caught:
        refund_counter_bond(case_number=case.number, line_number=1, actor="ipr.li", now=AFTER_DUE)
    assert caught.value.field == "line" and "court" in str(caught.value)
    with pytest.raises(ConcurrentUpdate):
        record_court_filing(case_number=case.number, line_number=1, actor="ipr.li", now=AFTER_DUE,
                            filing={"court": "北京知识产权法院", "reference": "(2026)京73民初89号"})


def test_a_filing_received_on_the_last_day_but_recorded_late_cancels_the_refund(store: Any) -> None:
    case, out = _bonded(store)
    _serve_rights_holder(out["decision_id"], store, SERVED)
    counter_bonds_due(now=SERVED + timedelta(hours=1))
    counter_bonds_due(now=AFTER_DUE)
    (task,) = inbox(actor="ipr.li", kind=TaskKind.REFUND_COUNTER_BOND.value)
    kept = record_court_filing(case_number=case.number, line_number=1, actor="ipr.li", now=AFTER_DUE + timedelta(hours=9),
                               filing={"court": "北京知识产权法院", "reference": "(2026)京73民初88号",
                                       "received_at": (AFTER_DUE - timedelta(hours=2)).isoformat()})
    assert kept["state"] == "kept" and kept["refundable_at"] is None
    assert inbox(actor="ipr.li", kind=TaskKind.REFUND_COUNTER_BOND.value) == []
    with session_scope(readonly=True) as s:
        assert s.get(Task, task.id).state == "cancelled"  # type: ignore[union-attr]


def test_a_year_the_calendar_does_not_know_leaves_the_deadline_empty_until_it_is_loaded(store: Any) -> None:
    found = datetime(2026, 11, 24, 10, 0, tzinfo=SH)
    case = _case(found=found, declaration_no="010120261124000009")
    _detain(case, "ROLEX", "16000.00", found + timedelta(minutes=10))
    out = record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li",
                              now=datetime(2026, 12, 1, 10, tzinfo=SH), bond={"form": "deposit", "amount": "16000.00"})
    _serve_rights_holder(out["decision_id"], store, datetime(2026, 12, 1, 15, tzinfo=SH))
    steps = counter_bonds_due(now=datetime(2026, 12, 1, 16, tzinfo=SH))
    assert [(s["step"], s["court_due"]) for s in steps] == [("clock-started", None)]  # never a guessed date
    with session_scope(readonly=True) as s:
        case_id = s.exec(select(Case.id).where(Case.number == case.number)).one()
        pending = [e.after for e in s.exec(select(TimelineEntry).where(TimelineEntry.action == "clock.pending",
                                                                       TimelineEntry.case_id == case_id))
                   if "court filing" in e.after["clock"]]  # type: ignore[index]
        tasks = list(s.exec(select(Task).where(Task.kind == TaskKind.LOAD_CALENDAR.value, Task.case_id == case_id)))
    assert [p["missing_year"] for p in pending] == [2027] and len(tasks) == 1  # one task for the case
    assert counter_bonds_due(now=datetime(2027, 6, 1, tzinfo=SH)) == []  # nothing refundable on an unknown clock
    fictional = {"year": 2027, "source": "TEST ONLY: fictional data (not the State Council's arrangement)",
                 "holidays": ["2027-01-01"], "workdays": []}
    load_calendar_year(content=json.dumps(fictional).encode(), filename="2027.json", actor="admin",
                       now=datetime(2027, 1, 5, 9, tzinfo=SH))
    steps = counter_bonds_due(now=datetime(2027, 1, 5, 10, tzinfo=SH))
    # 22 working days from 2 to 31 December, then 4 to 8 and 11 to 13 January (New Year's Day off)
    assert [(s["step"], s["court_due"]) for s in steps] == [("clock-started", "2027-01-13")]
    steps = counter_bonds_due(now=datetime(2027, 1, 14, 0, 0, tzinfo=SH))
    assert [s["step"] for s in steps] == ["refundable"]
