"""The services the process calls, and the retry rule, without a Prefect server (fast)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.rules.errors import BondInsufficient, ConcurrentUpdate, LockContention, NotFound
from services import process
from services.answers import record_answer
from services.cases import open_case
from services.demo import seed_shipment
from tests.support import confirm, open_confirmed

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)


def _open():  # noqa: ANN202
    return open_confirmed(seed_shipment(FOUND), now=FOUND)


def _timeline(action: str) -> list:
    from models.tables import TimelineEntry
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        return [(e.subject, e.after) for e in s.exec(select(TimelineEntry).where(TimelineEntry.action == action))]


def test_a_new_case_waits_for_its_confirmation_before_any_notice_is_served(db: str) -> None:
    case = open_case(shipment=seed_shipment(FOUND), actor="site.wang", now=FOUND)
    p = process.case_progress(case_number=case.number)
    assert not p.confirmed and len(p.waiting_notices) == 9 and not p.settled and p.flow_run_id is None
    assert all(n.served_at is None and n.state == "issued" for n in p.notices)
    assert {"office:" + p.customs_office_code} <= set(p.tags) and "brand:CHANEL" in p.tags
    assert [e.topic for e in process.pending_events()] == ["case.opened"]
    confirm(case.number, now=FOUND + timedelta(minutes=3))
    p = process.case_progress(case_number=case.number)
    assert p.confirmed and all(n.state == "served" and n.served_at == FOUND + timedelta(minutes=3) for n in p.notices)
    events = process.pending_events()
    topics = [e.topic for e in events]
    assert topics[0] == "case.opened" and topics.count("notice.served") == 9 and topics[-1] == "case.confirmed"
    assert events[-1].case_number == case.number and p.last_event_id == max(e.id for e in events)


def test_a_line_found_not_to_match_is_released_at_confirmation_and_its_notice_never_goes_out(db: str) -> None:
    case = open_case(shipment=seed_shipment(FOUND), actor="site.wang", now=FOUND)
    nike = next(ln for ln in case.lines if ln.brand == "NIKE")
    confirm(case.number, now=FOUND + timedelta(minutes=3), not_matching=(nike.number,), reason="备案与货物不符")
    p = process.case_progress(case_number=case.number)
    [d] = p.pending_decisions
    assert (d.kind, d.reason, d.lines, d.notice_id) == ("released", "not-matched", [nike.number], nike.notice_id)
    withdrawn = next(n for n in p.notices if n.id == nike.notice_id)
    assert withdrawn.state == "withdrawn" and not withdrawn.waiting and len(p.waiting_notices) == 8


def test_marking_events_dispatched_happens_once(db: str) -> None:
    _open()
    ids = [e.id for e in process.pending_events()]
    assert process.mark_dispatched(event_ids=ids[:3]) == 3
    assert process.mark_dispatched(event_ids=ids[:4]) == 1  # the first three keep their first time
    assert [e.id for e in process.pending_events()] == ids[4:]
    process.note_dispatch_failure(event_id=ids[4], error="ConnectError: Prefect is down")
    left = process.pending_events()
    assert left[0].id == ids[4] and left[0].attempts == 1  # still waiting, not lost
    with pytest.raises(NotFound):
        process.note_dispatch_failure(event_id=10**9, error="x")


def test_a_decision_is_followed_up_once_and_the_case_settles(db: str) -> None:
    case = _open()
    nike = next(ln for ln in case.lines if ln.brand == "NIKE")
    record_answer(notice_id=nike.notice_id, actor="nike.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {nike.number: "not-infringing"}})
    p = process.case_progress(case_number=case.number)
    [d] = p.pending_decisions
    assert d.kind == "released" and d.lines == [nike.number]
    report = process.decision_report(decision_id=d.id)
    assert report.decided_by == "nike.agent" and report.deadline_met is True and report.lines[0].brand == "NIKE"
    assert process.mark_followed_up(decision_id=d.id, documents=["X-1"]) is True
    assert process.mark_followed_up(decision_id=d.id, documents=["X-1"]) is False
    assert _timeline("decision.followed_up") == [(f"decision:{d.id}", {"documents": ["X-1"]})]
    assert not process.case_progress(case_number=case.number).pending_decisions


def test_a_process_step_and_the_flow_run_are_recorded_once(db: str) -> None:
    case = _open()
    notice_id = case.notices[0].id
    key = process.notice_sent_key(notice_id)
    assert process.step_done(key=key) is None
    assert process.mark_step_done(key=key, case_number=case.number, action="notice.sent", result={"documents": []})
    assert not process.mark_step_done(key=key, case_number=case.number, action="notice.sent", result={"documents": []})
    assert process.step_done(key=key) == {"documents": []}
    assert next(n for n in process.case_progress(case_number=case.number).notices if n.id == notice_id).sent
    assert process.attach_flow_run(case_number=case.number, flow_run_id="run-1")
    assert not process.attach_flow_run(case_number=case.number, flow_run_id="run-1")
    assert process.attach_flow_run(case_number=case.number, flow_run_id="run-2")  # a replacement
    p = process.case_progress(case_number=case.number)
    assert p.flow_run_id == "run-2" and p.runs_started == 2
    assert len(_timeline("notice.sent")) == 1


def test_timers_cover_waiting_notices_and_nothing_else(db: str) -> None:
    case = _open()
    nike = next(ln for ln in case.lines if ln.brand == "NIKE")
    record_answer(notice_id=nike.notice_id, actor="nike.agent", now=FOUND, answer={"verdicts": {nike.number: "not-infringing"}})
    timers = process.timers_due()
    assert {t.subject_id for t in timers if t.kind == "notice"} == {n.id for n in case.notices} - {nike.notice_id}
    assert {t.due_at for t in timers} == {datetime(2026, 11, 28, 0, 0, tzinfo=SH)}  # end of Friday 27 November


def test_only_transient_failures_are_retried() -> None:
    from prefect.states import Failed

    from flows.common import transient_only

    def failed(exc: BaseException):  # noqa: ANN202
        return Failed(data=exc)

    assert transient_only(None, None, failed(ConnectionError("refused"))) is True
    assert transient_only(None, None, failed(TimeoutError())) is True
    assert transient_only(None, None, failed(BondInsufficient("20000", "5000"))) is False
    assert transient_only(None, None, failed(NotFound("notice", 1))) is False
    assert transient_only(None, None, failed(ConcurrentUpdate("task 7", "is already claimed"))) is False
    assert transient_only(None, None, failed(LockContention("the timeline of case 7", "a deadlock"))) is True


def test_timers_of_a_case_are_named_keyed_and_tagged_the_same_by_the_run_and_the_reconciliation(db: str) -> None:
    from flows.specs import timer_specs

    case = _open()
    from_run = timer_specs(process.case_timers(process.case_progress(case_number=case.number)))
    from_reconcile = timer_specs([t for t in process.timers_due() if t.case_number == case.number])
    assert from_run == from_reconcile and len(from_run) == 9
    spec = from_run[0]
    assert spec.name == f"{case.number}-notice-{spec.parameters['notice_id']}-deadline"
    assert spec.key == f"deadline-notice-{spec.parameters['notice_id']}"
    assert "office:" + process.case_progress(case_number=case.number).customs_office_code in spec.tags
    assert "brand:CHANEL" in spec.tags


def test_a_detention_clock_advances_only_its_own_line(db: str) -> None:
    from flows.specs import timer_specs
    from services.sweep import advance_detention_clocks

    found = datetime(2026, 9, 1, 10, 0, tzinfo=SH)  # 30 working days end in October 2026
    case = open_confirmed(seed_shipment(found), now=found)
    detained = []
    for brand, user in (("CHANEL", "chanel.agent"), ("NIKE", "nike.agent")):
        ln = next(x for x in case.lines if x.brand == brand)
        record_answer(notice_id=ln.notice_id, actor=user, now=found + timedelta(hours=1),
                      answer={"verdicts": {ln.number: "infringing"}, "detain": True, "bond": "general"})
        detained.append(ln)
    clocks = [t for t in process.timers_due() if t.case_number == case.number and t.kind == "investigation"]
    assert sorted(t.line_number for t in clocks) == sorted(ln.number for ln in detained)
    names = {s.name for s in timer_specs(clocks)}
    assert names == {f"{case.number}-line-{ln.number}-investigation" for ln in detained}  # the line's number
    later = datetime(2026, 11, 2, 10, 0, tzinfo=SH)  # after 30 working days, before 50
    moved = advance_detention_clocks(now=later, line_ids=[detained[0].id])
    # customs' own deadline: the line stays detained and its investigation is escalated (Reg 20, Meas 28)
    assert [(m["line"], m["state"], m["reason"]) for m in moved] == [(detained[0].number, "detained",
                                                                     "investigation-overdue")]
    assert [m["line"] for m in advance_detention_clocks(now=later, line_ids=[detained[0].id])] == []
    assert [m["line"] for m in advance_detention_clocks(now=later)] == [detained[1].number]


def test_a_followed_up_decision_says_whether_it_settled_the_case(db: str) -> None:
    """The follow-up's event says whether it settled the case (its waiting run is then completed: flows/decide.py)."""
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in ("NIKE", "GUCCI")]
    case = open_confirmed(shipment, now=FOUND)
    for n, (brand, user) in enumerate((("NIKE", "nike.agent"), ("GUCCI", "gucci.agent"))):
        line = next(ln for ln in case.lines if ln.brand == brand)
        record_answer(notice_id=line.notice_id, actor=user, now=FOUND + timedelta(minutes=9 + n),
                      answer={"verdicts": {line.number: "not-infringing"}})
    first, second = process.case_progress(case_number=case.number).pending_decisions
    process.mark_followed_up(decision_id=first.id, documents=[])
    last = process.pending_events()[-1]
    assert (last.topic, last.payload) == ("decision.followed_up", {"decision_id": first.id, "case_settled": False})
    process.mark_followed_up(decision_id=second.id, documents=[])
    last = process.pending_events()[-1]
    assert (last.topic, last.payload) == ("decision.followed_up", {"decision_id": second.id, "case_settled": True})
    assert process.case_progress(case_number=case.number).settled


def test_a_decision_artifact_shows_user_text_as_text() -> None:
    from decimal import Decimal

    from flows.tasks import decision_markdown

    r = process.DecisionReport(
        decision_id=1, case_number="YQ-2026-000001", kind="released", reason="cleared", notice_id=2,
        rights_holder="[Evil](https://evil.example)", decided_by="nike.agent", decided_by_role="rights_holder",
        decided_at=FOUND, notice_deadline_at=None, deadline_met=True, followed_up_at=None,
        lines=[process.DecisionLine(number=1, brand="NIKE", description="Shoes ![x](https://evil.example/p.png) | <b>",
                                    quantity=3, unit="pcs\n# big", value=Decimal("10.00"), state="released")])
    md = decision_markdown(r, ["REL-1"])
    assert "](" not in md and "![" not in md and "<b>" not in md and "https://" not in md
    row = md.splitlines()[-1]
    assert row.count(" | ") == 5  # the description's pipe does not add a column
    assert "\n# big" not in md and r"Shoes \!\[x\]" in md


def test_timers_due_before_a_moment_are_those_that_ended_by_then(db: str) -> None:
    case = _open()
    assert [t for t in process.timers_due(due_before=datetime(2026, 11, 27, 23, 59, tzinfo=SH))
            if t.case_number == case.number] == []
    due = [t for t in process.timers_due(due_before=datetime(2026, 11, 28, 0, 0, tzinfo=SH))
           if t.case_number == case.number]
    assert len(due) == 9 and {t.kind for t in due} == {"notice"}


def test_the_reconciliation_knows_which_open_cases_are_settled(db: str) -> None:
    """A settled case whose run still waits is completed by the reconciliation (flows/reconcile.py)."""
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in ("NIKE", "CHANEL")]
    case = open_confirmed(shipment, now=FOUND)

    def settled() -> bool:
        return next(r for r in process.cases_to_reconcile() if r.case_number == case.number).settled

    assert not settled()  # both notices wait
    nike = next(ln for ln in case.lines if ln.brand == "NIKE")
    chanel = next(ln for ln in case.lines if ln.brand == "CHANEL")
    record_answer(notice_id=nike.notice_id, actor="nike.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {nike.number: "not-infringing"}})
    record_answer(notice_id=chanel.notice_id, actor="chanel.agent", now=FOUND + timedelta(minutes=10),
                  answer={"verdicts": {chanel.number: "infringing"}, "detain": True, "bond": "general"})
    assert not settled()  # answered, but the decisions are not followed up
    for d in process.case_progress(case_number=case.number).pending_decisions:
        process.mark_followed_up(decision_id=d.id, documents=[])
    assert settled()  # CHANEL's line is detained: the case stays open, its run has nothing left to wait for
