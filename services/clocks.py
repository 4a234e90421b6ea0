"""Legal clocks that need a year the calendar does not know yet.

The step itself (service, detention) still happens, because the law's protection must not wait on a
data file; the deadline stays empty, the timeline says why, and an administrator gets a task to load
the year's schedule. Nothing is released by a clock that has no deadline; ``fill_pending_clocks``
computes them once the year is loaded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from sqlmodel import Session, and_, col, not_, or_, select

from adapters.calendar import get_calendar
from models.enums import LineState, NoticeState, Role, Route, TaskKind, TaskState
from models.rules.errors import CalendarUnknown
from models.rules.workdays import (
    WorkingCalendar,
    answer_deadline,
    court_assistance_deadline,
    court_order_deadline,
    end_of_day,
)
from models.tables import Case, Line, Notice, Task
from services.context import Actor, open_task, record
from services.unit_of_work import UnitOfWork, given


def deadline_or_pending(
    s: Session, *, clock: Callable[[datetime, WorkingCalendar], date], start: datetime, case_id: int,
    who: Actor, subject: str, what: str,
) -> date | None:
    try:
        return clock(start, get_calendar(s))
    except CalendarUnknown as e:
        record(s, actor=who, action="clock.pending", subject=subject, at=start, case_id=case_id,
               after={"clock": what, "missing_year": e.year, "reason": str(e)})
        ensure_calendar_task(s, case_id=case_id, year=e.year, at=start)
        return None


def ensure_calendar_task(s: Session, *, case_id: int, year: int, at: datetime) -> None:
    live = [TaskState.OPEN.value, TaskState.CLAIMED.value]
    exists = s.exec(select(Task.id).where(Task.case_id == case_id, Task.kind == TaskKind.LOAD_CALENDAR.value,
                                          col(Task.state).in_(live))).first()
    if exists is not None:
        return
    case = s.get(Case, case_id)
    assert case is not None
    task = open_task(s, kind=TaskKind.LOAD_CALENDAR, case_id=case_id, customs_office_id=case.customs_office_id,
                     candidate_group=Role.ADMIN, due_at=None, priority=0, now=at,
                     title=f"导入 {year} 年工作日安排：案件 {case.number} 的期限无法计算 / Load the official {year} "
                           f"working-day schedule: a deadline of {case.number} cannot be computed")
    task.calendar_year = year
    s.add(task)


def fill_pending_clocks(*, now: datetime, uow: UnitOfWork | None = None) -> list[dict[str, object]]:
    """Compute the deadlines that were waiting for a calendar year; close the admin tasks."""
    from services.context import system_actor
    uow = given(uow)

    with uow.transaction() as s:
        return fill_pending_clocks_in(s, who=system_actor(s), calendar=get_calendar(s), now=now)


def fill_pending_clocks_in(s: Session, *, who: Actor, calendar: WorkingCalendar, now: datetime) -> list[dict[str, object]]:
    """``fill_pending_clocks`` inside the caller's transaction (loading a year fills them at once)."""
    from models.rules.workdays import investigation_deadline

    filled: list[dict[str, object]] = []
    live = [TaskState.OPEN.value, TaskState.CLAIMED.value]
    cal = calendar
    waiting = [NoticeState.SERVED.value, NoticeState.CLAIM_PENDING.value]  # a pending claim also waits on it
    for n in s.exec(select(Notice).where(col(Notice.state).in_(waiting), col(Notice.deadline).is_(None),
                                         col(Notice.served_at).is_not(None)).with_for_update()):
        try:
            n.deadline = answer_deadline(n.served_at, cal)  # type: ignore[arg-type]
        except CalendarUnknown:
            continue
        n.deadline_at = end_of_day(n.deadline)
        n.version += 1
        s.add(n)
        for t in s.exec(select(Task).where(Task.notice_id == n.id, Task.kind == TaskKind.CHECK_BOND.value,
                                           col(Task.due_at).is_(None), col(Task.state).in_(live))):
            t.due_at = n.deadline_at  # the bond is awaited until the answer deadline
            t.version += 1
            s.add(t)
        record(s, actor=who, action="notice.deadline_set", subject=f"notice:{n.id}", at=now, case_id=n.case_id,
               after={"deadline": n.deadline.isoformat()})
        filled.append({"notice_id": n.id, "deadline": n.deadline.isoformat()})
    for ln in s.exec(select(Line).where(*_clocks_pending(), col(Line.detained_at).is_not(None)).with_for_update()):
        try:
            if ln.investigation_due is None and _on_application(s, ln):  # 20 WD to a court notice (Reg 24(1))
                ln.court_due = court_order_deadline(ln.detained_at, cal)  # type: ignore[arg-type]
            else:
                ln.investigation_due = ln.investigation_due or investigation_deadline(ln.detained_at, cal)  # type: ignore[arg-type]
                ln.court_due = court_assistance_deadline(ln.detained_at, cal)  # type: ignore[arg-type]
        except CalendarUnknown:
            s.add(ln)
            continue
        ln.version += 1
        s.add(ln)
        due = {"investigation_due": ln.investigation_due.isoformat() if ln.investigation_due else None,
               "court_due": ln.court_due.isoformat()}
        record(s, actor=who, action="line.clocks_set", subject=f"line:{ln.id}", at=now, case_id=ln.case_id, after=due)
        filled.append({"line_id": ln.id, **due})
    if filled:
        pending_cases = {n.case_id for n in s.exec(select(Notice).where(col(Notice.state).in_(waiting), col(Notice.deadline).is_(None)))}
        pending_cases |= set(s.exec(select(Line.case_id).where(*_clocks_pending())))
        for t in s.exec(select(Task).where(Task.kind == TaskKind.LOAD_CALENDAR.value, col(Task.case_id).is_not(None),
                                           col(Task.state).in_(live))):
            if t.case_id not in pending_cases:
                t.state, t.completed_at, t.completed_by_id = TaskState.COMPLETED.value, now, who.id
                t.version += 1
                s.add(t)
    return filled


def _clocks_pending() -> tuple[object, ...]:
    """Detained or undetermined lines whose clocks are not all set: ex officio the 30- and 50-working-day
    clocks (Reg 20, 24(2)); on application only the 20 working days to a court notice (Reg 24(1))."""
    on_application = col(Line.case_id).in_(select(Case.id).where(Case.route == Route.APPLICATION.value))
    return (col(Line.state).in_([LineState.DETAINED.value, LineState.UNDETERMINED.value]),
            or_(and_(on_application, col(Line.court_due).is_(None)),
                and_(not_(on_application), or_(col(Line.investigation_due).is_(None), col(Line.court_due).is_(None)))))


def _on_application(s: Session, ln: Line) -> bool:
    case = s.get(Case, ln.case_id)
    return case is not None and case.route == Route.APPLICATION


def missing_year(clock: Callable[[WorkingCalendar], object], calendar: WorkingCalendar) -> int | None:
    """The year a clock cannot be computed for, or None when it can."""
    try:
        clock(calendar)
    except CalendarUnknown as e:
        return e.year
    return None


def pending_year_of_notice(n: Notice, calendar: WorkingCalendar) -> int | None:
    """For a served notice with no deadline: the year whose schedule its deadline waits for."""
    if n.served_at is None or n.deadline is not None or n.state not in (NoticeState.SERVED, NoticeState.CLAIM_PENDING):
        return None
    return missing_year(lambda c: answer_deadline(n.served_at, c), calendar)  # type: ignore[arg-type]


def pending_year_of_line(ln: Line, calendar: WorkingCalendar, *, on_application: bool = False) -> int | None:
    """For a detained line whose clocks are not all set: the year they wait for. On application the only
    clock is the 20 working days to a court notice (Reg 24(1))."""
    if ln.detained_at is None or ln.state not in (LineState.DETAINED, LineState.UNDETERMINED):
        return None
    if on_application:
        if ln.court_due is not None:
            return None
        return missing_year(lambda c: court_order_deadline(ln.detained_at, c), calendar)  # type: ignore[arg-type]
    if ln.investigation_due is not None and ln.court_due is not None:
        return None
    return missing_year(lambda c: court_assistance_deadline(ln.detained_at, c), calendar)  # type: ignore[arg-type]
