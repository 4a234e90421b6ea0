"""The pending-calendar path: a clock that needs a year Yunque does not know stays empty (never a
guessed weekday count), an administrator gets a `load_calendar` task, and once the year is loaded the
deadlines are computed and the sweep releases on them."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from adapters.calendar import reset_calendar
from adapters.db import session_scope
from models.enums import TaskKind
from models.tables import Task, TimelineEntry
from services.answers import record_answer
from services.audit import verify_timeline
from services.cases import get_case
from services.clocks import fill_pending_clocks
from services.sweep import release_expired
from tests.support import open_confirmed
from yunque.settings import reset_settings

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 12, 30, 10, 0, tzinfo=SH)  # Wednesday: Thu 31 is the only 2026 working day left
FICTIONAL_2027 = {
    "year": 2027,
    "source": "fictional test data (not the State Council's arrangement)",
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


def test_a_notice_served_on_30_december_waits_for_the_2027_schedule(db: str, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
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

    # an administrator loads the (fictional) 2027 schedule
    cal_dir = tmp_path / "calendar"
    cal_dir.mkdir()
    (cal_dir / "2027.json").write_text(json.dumps(FICTIONAL_2027), encoding="utf-8")
    monkeypatch.setenv("YUNQUE_CALENDAR_DIR", str(cal_dir))
    reset_settings()
    reset_calendar()

    filled = fill_pending_clocks(now=datetime(2027, 1, 2, 9, 0, tzinfo=SH))
    assert sorted(f["deadline"] for f in filled if "deadline" in f) == ["2027-01-05", "2027-01-05"]
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
        db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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

    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "2027.json").write_text(json.dumps(FICTIONAL_2027), encoding="utf-8")
    monkeypatch.setenv("YUNQUE_CALENDAR_DIR", str(tmp_path / "cal"))
    reset_settings()
    reset_calendar()
    fill_pending_clocks(now=found + timedelta(days=1))
    ln = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert (ln.investigation_due, ln.court_due) == (date(2026, 12, 14), date(2027, 1, 12))
    assert _tasks(TaskKind.LOAD_CALENDAR.value) == [("completed", "admin")]
