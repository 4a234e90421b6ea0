"""The pending-calendar path: a clock that needs a year Yunque does not know stays empty (never a
guessed weekday count), an administrator gets a `load_calendar` task, and once the year is loaded the
deadlines are computed and the sweep releases on them."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.enums import TaskKind
from models.tables import Task, TimelineEntry
from services.answers import record_answer
from services.audit import verify_timeline
from services.calendar import load_calendar_year
from services.cases import get_case
from services.clocks import fill_pending_clocks
from services.sweep import release_expired
from tests.support import open_confirmed, session_scope

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 12, 30, 10, 0, tzinfo=SH)  # Wednesday: Thu 31 is the only 2026 working day left
FICTIONAL_2027 = {
    "year": 2027,
    "source": "TEST ONLY: fictional data (not the State Council's arrangement)",
    "holidays": ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
    "workdays": ["2027-02-06", "2027-02-20"],
}


def _line(brand: str, value: str) -> dict:
    return {"description": f"Goods marked {brand}", "brand": brand, "quantity": 5, "unit": "pcs", "value": value}


def _open():  # noqa: ANN202
    return open_confirmed({"declaration_no": "010120261230000001", "direction": "export",
                  "customs_office": "Capital Airport Customs",
                  "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"},
                  "found_at": FOUND.isoformat(),
                  "lines": [_line("NIKE", "9000.00"), _line("HERMES", "24000.00"), _line("CHANEL", "36000.00")]}, now=FOUND)


def _tasks(kind: str) -> list[tuple[str, str]]:
    with session_scope(readonly=True) as s:
        return [(t.state, t.candidate_group) for t in s.exec(select(Task).where(Task.kind == kind))]


def test_a_notice_served_on_30_december_waits_for_the_2027_schedule(db: str) -> None:
    case = _open()
    assert [n.deadline for n in case.notices] == [None, None, None]
    assert all(n.state == "served" and n.deadline_at is None for n in case.notices)
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("open", "admin")]  # one task for the case, not one per clock
    with session_scope(readonly=True) as s:
        pending = [e.after for e in s.exec(select(TimelineEntry).where(TimelineEntry.action == "clock.pending"))]
    assert len(pending) == 3 and {p["missing_year"] for p in pending} == {2027}

    by_brand = {n.brands[0]: n for n in case.notices}
    # answers are still taken while the deadline is unknown
    record_answer(notice_id=by_brand["HERMES"].id, actor="hermes.agent", now=FOUND + timedelta(hours=1),
                  answer={"verdicts": {2: "infringing"}, "detain": True})  # claim with no bond yet
    record_answer(notice_id=by_brand["CHANEL"].id, actor="chanel.agent", now=FOUND + timedelta(hours=1),
                  answer={"verdicts": {3: "infringing"}, "detain": True, "bond": "general"})
    chanel_line = get_case(case_number=case.number, actor="ipr.li").lines[2]
    assert chanel_line.state == "detained" and chanel_line.investigation_due is None

    # nothing is released on a deadline nobody knows, however late it is
    assert release_expired(now=datetime(2027, 6, 1, tzinfo=SH)) == []
    assert fill_pending_clocks(now=FOUND + timedelta(hours=2)) == []
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("open", "admin")]

    # an administrator loads the (fictional) 2027 schedule: the waiting deadlines are computed with it
    loaded = load_calendar_year(content=json.dumps(FICTIONAL_2027).encode(), filename="2027.json", actor="admin",
                                now=datetime(2027, 1, 2, 9, 0, tzinfo=SH))
    assert loaded.deadlines_computed == 3  # two notices and the detained CHANEL line
    c = get_case(case_number=case.number, actor="ipr.li")
    deadlines = {n.brands[0]: (n.state, n.deadline) for n in c.notices}
    # Thu 31 Dec, (1-3 Jan off), Mon 4, Tue 5 January
    assert deadlines["NIKE"] == ("served", date(2027, 1, 5))
    assert deadlines["HERMES"] == ("claim-pending", date(2027, 1, 5))  # a pending claim gets its deadline too
    assert deadlines["CHANEL"][1] is None  # answered and detained at once: its answer clock no longer matters
    assert (c.lines[2].investigation_due, c.lines[2].court_due) == (date(2027, 2, 17), date(2027, 3, 16))
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("completed", "admin")]
    with session_scope(readonly=True) as s:
        bond_task = s.exec(select(Task).where(Task.kind == TaskKind.CHECK_BOND.value)).one()
        assert bond_task.due_at == datetime(2027, 1, 6, 0, 0, tzinfo=SH)
    assert fill_pending_clocks(now=datetime(2027, 1, 2, 9, 5, tzinfo=SH)) == []  # once

    assert release_expired(now=datetime(2027, 1, 5, 23, 59, tzinfo=SH)) == []
    released = release_expired(now=datetime(2027, 1, 6, 0, 0, tzinfo=SH))
    assert sorted((r["brand"], r["reason"]) for r in released) == [("HERMES", "no-bond"), ("NIKE", "expired")]
    assert verify_timeline().intact


def test_a_detention_whose_investigation_clock_is_known_waits_only_for_the_court_clock(
        db: str) -> None:
    found = datetime(2026, 11, 2, 10, 0, tzinfo=SH)  # Monday
    case = open_confirmed({"declaration_no": "010120261102000001", "direction": "export",
                  "customs_office": "Capital Airport Customs",
                  "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"},
                  "found_at": found.isoformat(), "lines": [_line("CHANEL", "36000.00")]}, now=found)
    assert case.notices[0].deadline == date(2026, 11, 5)
    record_answer(notice_id=case.notices[0].id, actor="chanel.agent", now=found + timedelta(minutes=9),
                  answer={"verdicts": {1: "infringing"}, "detain": True, "bond": "general"})
    ln = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert (ln.investigation_due, ln.court_due) == (date(2026, 12, 14), None)  # 50 WD reach 2027
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("open", "admin")]

    load_calendar_year(content=json.dumps(FICTIONAL_2027).encode(), filename="2027.json", actor="admin",
                       now=found + timedelta(days=1))
    ln = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert (ln.investigation_due, ln.court_due) == (date(2026, 12, 14), date(2027, 1, 12))
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("completed", "admin")]


def test_a_detention_on_application_whose_20_working_days_reach_an_unknown_year_waits_for_it(db: str) -> None:
    """On application the only clock is the 20 working days to a court notice (Reg 24(1)); it waits for the
    year's schedule like any other, and no investigation clock is ever set."""
    from models.tables import Recordation
    from services.applications import file_application, review_application

    filed = datetime(2026, 12, 14, 10, 0, tzinfo=SH)  # Monday: 20 working days reach January 2027
    with session_scope(readonly=True) as s:
        rec = s.exec(select(Recordation.number).where(Recordation.brand == "CHANEL")).one()
    number = file_application(actor="chanel.agent", now=filed, application={
        "customs_office": "CAPAIR", "declaration_no": "010120261214000001", "direction": "export",
        "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}, "recordation": rec,
        "lines": [{"description": "Handbags", "quantity": 5, "unit": "pcs", "value": "36000.00"}],
        "grounds": "A test purchase was counterfeit."})["case_number"]
    review_application(case_number=number, actor="ipr.li", now=filed + timedelta(hours=1),
                       review={"decision": "accepted", "form": "deposit", "amount": "36000.00"})
    ln = get_case(case_number=number, actor="ipr.li").lines[0]
    assert (ln.state, ln.investigation_due, ln.court_due, ln.clocks_pending_year) == ("detained", None, None, 2027)
    assert ("open", "admin") in _tasks(TaskKind.LOAD_CALENDAR.value)
    assert fill_pending_clocks(now=filed + timedelta(hours=2)) == []  # nothing guessed

    load_calendar_year(content=json.dumps(FICTIONAL_2027).encode(), filename="2027.json", actor="admin",
                       now=filed + timedelta(days=1))
    ln = get_case(case_number=number, actor="ipr.li").lines[0]
    assert (ln.investigation_due, ln.court_due, ln.clocks_pending_year) == (None, date(2027, 1, 12), None)
    assert fill_pending_clocks(now=filed + timedelta(days=2)) == []  # a line on application is not filled again


# --- the turn of the year: a year the calendar does not know yet -------------------------------------

def test_the_seed_story_on_4_january_2027_shows_pending_deadlines_until_the_year_is_loaded(db: str) -> None:
    from services.calendar import calendar_status
    from services.demo import seed_shipment
    from services.portal import my_notices

    now = datetime(2027, 1, 4, 10, 0, tzinfo=SH)  # a Monday in a year the official data does not cover
    case = open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)
    assert len(case.notices) == 9
    assert {(n.state, n.deadline, n.deadline_pending_year) for n in case.notices} == {("served", None, 2027)}
    mine = my_notices(actor="chanel.agent", now=now)
    assert [(p.notice.deadline, p.notice.deadline_pending_year) for p in mine] == [(None, 2027)]
    status = calendar_status(actor="admin", now=now)
    assert (status.missing, status.waiting_clocks, status.next_year_missing) == ([2027], 9, False)
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("open", "admin")]

    # a rights holder still answers; the general bond of 2027 covers its claim
    chanel = next(n for n in case.notices if n.brands == ["CHANEL"])
    record_answer(notice_id=chanel.id, actor="chanel.agent", now=now + timedelta(minutes=9),
                  answer={"verdicts": {1: "infringing"}, "detain": True, "bond": "general"})
    line = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert (line.state, line.investigation_due, line.clocks_pending_year) == ("detained", None, 2027)
    assert release_expired(now=datetime(2027, 3, 1, tzinfo=SH)) == []  # nothing released on an unknown deadline

    # the year is loaded on Friday 8 January: Tue 5, Wed 6, Thu 7 were the three working days
    loaded = load_calendar_year(content=json.dumps(FICTIONAL_2027).encode(), filename="2027.json", actor="admin",
                                now=datetime(2027, 1, 8, 9, 0, tzinfo=SH))
    assert (loaded.deadlines_computed, loaded.released_lines) == (9, 8)  # 8 notices waited; CHANEL's line detained
    after = get_case(case_number=case.number, actor="ipr.li")
    assert {n.deadline for n in after.notices if n.brands != ["CHANEL"]} == {date(2027, 1, 7)}
    assert all(n.deadline_pending_year is None for n in after.notices)
    assert sorted(ln.state for ln in after.lines) == ["detained"] + ["released"] * 8
    assert after.lines[0].clocks_pending_year is None and after.lines[0].investigation_due is not None
    assert calendar_status(actor="admin", now=datetime(2027, 1, 8, 9, 0, tzinfo=SH)).missing == []
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("completed", "admin")]
    assert verify_timeline().intact


def test_from_1_november_the_administrators_are_asked_for_next_years_schedule(db: str) -> None:
    from services.calendar import calendar_status, ensure_calendar_ahead
    from services.tasks import inbox

    assert ensure_calendar_ahead(now=datetime(2026, 10, 31, 23, 0, tzinfo=SH)) is None
    assert calendar_status(actor="admin", now=datetime(2026, 10, 31, 23, 0, tzinfo=SH)).next_year_missing is False
    task_id = ensure_calendar_ahead(now=datetime(2026, 11, 1, 0, 30, tzinfo=SH))
    assert task_id is not None
    assert ensure_calendar_ahead(now=datetime(2026, 11, 20, 9, 0, tzinfo=SH)) is None  # one task, not one a day
    assert calendar_status(actor="admin", now=datetime(2026, 11, 20, 9, 0, tzinfo=SH)).next_year_missing is True
    listed = [t for t in inbox(actor="admin") if t.id == task_id]
    assert len(listed) == 1 and listed[0].case_number == "" and listed[0].kind == "load_calendar"
    assert listed[0].due_at == datetime(2027, 1, 1, tzinfo=SH)
    assert [t for t in inbox(actor="ipr.li") if t.id == task_id] == []  # for the administrators only

    load_calendar_year(content=json.dumps(FICTIONAL_2027).encode(), filename="2027.json", actor="admin",
                       now=datetime(2026, 12, 10, 9, 0, tzinfo=SH))
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("completed", "admin")]
    assert ensure_calendar_ahead(now=datetime(2026, 12, 11, 9, 0, tzinfo=SH)) is None
    assert calendar_status(actor="admin", now=datetime(2026, 12, 11, 9, 0, tzinfo=SH)).next_year_missing is False


def test_a_running_process_counts_with_a_year_another_process_loaded(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.calendar
    from adapters.calendar import get_calendar
    from models.rules.workdays import parse_year
    from models.tables import CalendarYear, User

    with session_scope(readonly=True) as s:
        assert 2027 not in get_calendar(s).years  # this process built its calendar
    with session_scope() as s:  # another process (the command line, say) loads 2027 behind its back
        admin = s.exec(select(User).where(User.username == "admin")).one()
        y = parse_year(FICTIONAL_2027, "2027.json")
        s.add(CalendarYear(year=2027, holidays=sorted(d.isoformat() for d in y.holidays),
                           workdays=sorted(d.isoformat() for d in y.workdays), source=y.source, sha256="0" * 64,
                           loaded_by_id=admin.id, loaded_at=datetime(2026, 12, 1, tzinfo=SH)))
    monkeypatch.setattr(adapters.calendar, "RECHECK_SECONDS", 0.0)
    with session_scope(readonly=True) as s:
        assert 2027 in get_calendar(s).years  # no restart needed


def test_loading_refuses_what_would_change_the_law_silently(db: str) -> None:
    from models.rules.errors import CalendarDataInvalid, CalendarYearKnown, PermissionDenied

    official_2026 = json.dumps({"year": 2026, "source": "TEST ONLY", "holidays": ["2026-01-01"]}).encode()
    with pytest.raises(CalendarYearKnown, match="--replace"):
        load_calendar_year(content=official_2026, filename="2026.json", actor="admin", now=FOUND)
    with pytest.raises(PermissionDenied):
        load_calendar_year(content=json.dumps(FICTIONAL_2027).encode(), filename="2027.json", actor="ipr.li", now=FOUND)
    with pytest.raises(CalendarDataInvalid, match="listed twice"):
        load_calendar_year(content=json.dumps({**FICTIONAL_2027, "workdays": ["2027-02-06", "2027-02-06"]}).encode(),
                           filename="2027.json", actor="admin", now=FOUND)
    with session_scope(readonly=True) as s:
        assert list(s.exec(select(TimelineEntry).where(TimelineEntry.action == "calendar.loaded"))) == []
    replaced = load_calendar_year(content=official_2026, filename="2026.json", actor="admin", now=FOUND, replace=True)
    assert replaced.replaced == "chinese-calendar"
    assert {"day": date(2026, 10, 1), "was": "rest", "now": "working"} in [c.model_dump() for c in replaced.changes]
