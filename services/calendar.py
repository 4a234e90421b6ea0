"""The working-day calendar as administrators keep it: loading a newly published year, what is known
and what is missing, and the reminder to load next year's schedule before it is needed.

Loading cannot silently change the law: a year the official data already covers is refused unless the
administrator asks to replace it, and then every day whose status changes is listed and recorded."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session, col, or_, select

from adapters.calendar import build_calendar, get_calendar, package_years, reset_calendar, schedule_of
from models.enums import LineState, NoticeState, Role, TaskKind, TaskState
from models.rules.errors import CalendarDataInvalid, CalendarYearKnown, PermissionDenied
from models.rules.workdays import (
    SHANGHAI,
    YearSchedule,
    answer_deadline,
    court_assistance_deadline,
    parse_year,
    schedule_changes,
)
from models.tables import CalendarYear, Line, Notice, Task, User
from services.clocks import fill_pending_clocks_in, missing_year
from services.context import load_actor, now_or, open_task, record, require_role, system_actor
from services.sweep import release_expired
from services.unit_of_work import UnitOfWork, given

#: from this month on, next year's schedule is awaited (the State Council publishes it in the autumn)
AHEAD_FROM_MONTH = 11
_LIVE = [TaskState.OPEN.value, TaskState.CLAIMED.value]


class DayChange(BaseModel):
    day: date
    was: str  # "working" | "rest"
    now: str


class CalendarLoadOut(BaseModel):
    year: int
    source: str
    sha256: str
    holidays: int
    workdays: int
    replaced: str | None = None  # the source of the schedule it replaced
    changes: list[DayChange] = []
    deadlines_computed: int = 0
    released_lines: int = 0  # lines the computed deadlines made overdue, released at once


class CalendarYearOut(BaseModel):
    year: int
    source: str
    origin: str  # "package" | "loaded"
    loaded_by: str | None = None
    loaded_at: datetime | None = None
    sha256: str | None = None


class CalendarStatusOut(BaseModel):
    today: date
    years: list[int]
    loaded: list[CalendarYearOut]
    missing: list[int]  # years needed now (this year, or a waiting clock's year) that are not known
    next_year_missing: bool  # from 1 November: next year's schedule is not loaded yet
    waiting_clocks: int  # notices and detained lines whose deadline waits for a missing year


def _read(content: bytes, source: str) -> dict[str, Any]:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        for k in keys:
            if keys.count(k) > 1:
                raise CalendarDataInvalid(source, "field {name!r} appears twice", name=k)
        return dict(pairs)

    try:
        data = json.loads(content.decode("utf-8"), object_pairs_hook=no_duplicates)
    except UnicodeDecodeError:
        raise CalendarDataInvalid(source, "is not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise CalendarDataInvalid(source, "is not JSON ({problem} at line {row} column {column})",
                                  problem=e.msg, row=e.lineno, column=e.colno) from None
    if not isinstance(data, dict):
        raise CalendarDataInvalid(source, "must be a JSON object")
    return data


def _official(s: Session, year: int) -> YearSchedule | None:
    row = s.get(CalendarYear, year)
    if row is not None:
        return schedule_of(row)
    return next((y for y in package_years() if y.year == year), None)


def load_calendar_year(*, content: bytes, filename: str, actor: str, replace: bool = False,
                       now: datetime | None = None, uow: UnitOfWork | None = None) -> CalendarLoadOut:
    """Load one year's published schedule (国务院办公厅 holiday arrangement) for every process.

    The deadlines that were waiting for this year are computed in the same transaction; the sweep
    then releases whatever they make overdue."""
    uow = given(uow)
    now = now_or(now)
    schedule = parse_year(_read(content, filename), filename)  # validated before anything is written
    digest = hashlib.sha256(content).hexdigest()
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "load a working-day schedule", Role.ADMIN)
        current = _official(s, schedule.year)
        if current is not None and not replace:
            raise CalendarYearKnown(schedule.year, current.source)
        changes = schedule_changes(current, schedule) if current is not None else []
        row = s.exec(select(CalendarYear).where(CalendarYear.year == schedule.year).with_for_update()).first()
        row = row or CalendarYear(year=schedule.year, source="", sha256="", loaded_by_id=who.id, loaded_at=now)
        row.holidays = sorted(d.isoformat() for d in schedule.holidays)
        row.workdays = sorted(d.isoformat() for d in schedule.workdays)
        row.source, row.sha256, row.loaded_by_id, row.loaded_at = schedule.source, digest, who.id, now
        s.add(row)
        s.flush()
        out = CalendarLoadOut(
            year=schedule.year, source=schedule.source, sha256=digest, holidays=len(schedule.holidays),
            workdays=len(schedule.workdays), replaced=current.source if current is not None else None,
            changes=[DayChange(day=d, was=_status(was), now=_status(is_now)) for d, was, is_now in changes],
        )
        record(s, actor=who, action="calendar.loaded", subject=f"calendar:{schedule.year}", at=now,
               before={"source": current.source} if current is not None else None,
               after={"year": schedule.year, "source": schedule.source, "sha256": digest, "file": filename,
                      "holidays": out.holidays, "workdays": out.workdays,
                      "changed_days": [f"{c.day.isoformat()} {c.was}->{c.now}" for c in out.changes]})
        loaded = [schedule_of(r) for r in s.exec(select(CalendarYear))]
        filled = fill_pending_clocks_in(s, who=system_actor(s), calendar=build_calendar(loaded), now=now)
        out.deadlines_computed = len(filled)
        for t in s.exec(select(Task).where(Task.kind == TaskKind.LOAD_CALENDAR.value, col(Task.case_id).is_(None),
                                           Task.calendar_year == schedule.year, col(Task.state).in_(_LIVE))):
            t.state, t.completed_at, t.completed_by_id = TaskState.COMPLETED.value, now, who.id
            t.assignee_id = t.assignee_id or who.id
            t.version += 1
            s.add(t)
    reset_calendar()
    # a deadline that has already passed releases now, as the sweep would (Reg 16), not at its next run
    out.released_lines = len(release_expired(now=now, uow=uow))
    return out


def _status(working: bool) -> str:
    return "working" if working else "rest"


def calendar_years(*, actor: str, uow: UnitOfWork | None = None) -> list[CalendarYearOut]:
    """Every year Yunque can count in, and where its schedule came from."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        load_actor(s, actor)
        return _years(s)


def _years(s: Session) -> list[CalendarYearOut]:
    out = {y.year: CalendarYearOut(year=y.year, source=y.source, origin="package") for y in package_years()}
    for row, username in s.exec(select(CalendarYear, User.username).join(User, col(User.id) == CalendarYear.loaded_by_id)):
        out[row.year] = CalendarYearOut(year=row.year, source=row.source, origin="loaded", loaded_by=username,
                                        loaded_at=row.loaded_at, sha256=row.sha256)
    return [out[y] for y in sorted(out)]


def calendar_status(*, actor: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> CalendarStatusOut:
    """What the calendar knows and what it is missing, for the administrators' banner and command."""
    uow = given(uow)
    now = now_or(now)
    today = now.astimezone(SHANGHAI).date()
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        if not who.is_customs:
            raise PermissionDenied(who.username, "read the calendar's status", "only customs staff may")
        years = _years(s)
        known = {y.year for y in years}
        waiting_years, waiting = _waiting_years(s)
    missing = sorted(({today.year} | waiting_years) - known)
    return CalendarStatusOut(
        today=today, years=sorted(known), loaded=[y for y in years if y.origin == "loaded"], missing=missing,
        next_year_missing=today.month >= AHEAD_FROM_MONTH and today.year + 1 not in known, waiting_clocks=waiting,
    )


def _waiting_years(s: Session) -> tuple[set[int], int]:
    """The years that waiting clocks need, and how many clocks wait."""
    cal = get_calendar(s)
    years: set[int] = set()
    count = 0
    waiting = [NoticeState.SERVED.value, NoticeState.CLAIM_PENDING.value]
    for served_at in s.exec(select(Notice.served_at).where(col(Notice.state).in_(waiting), col(Notice.deadline).is_(None),
                                                            col(Notice.served_at).is_not(None))):
        year = missing_year(lambda c, t=served_at: answer_deadline(t, c), cal)  # type: ignore[misc]
        if year is not None:
            years.add(year)
            count += 1
    held = [LineState.DETAINED.value, LineState.UNDETERMINED.value]
    for detained_at in s.exec(select(Line.detained_at).where(col(Line.state).in_(held), col(Line.detained_at).is_not(None),
                                                              or_(col(Line.investigation_due).is_(None), col(Line.court_due).is_(None)))):
        year = missing_year(lambda c, t=detained_at: court_assistance_deadline(t, c), cal)  # type: ignore[misc]
        if year is not None:
            years.add(year)
            count += 1
    return years, count


def ensure_calendar_ahead(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> int | None:
    """From 1 November, while next year's schedule is missing, the administrators get a ``load_calendar``
    task for it (one, whatever the number of offices). Returns the task's id when it opened one."""
    uow = given(uow)
    now = now_or(now)
    today = now.astimezone(SHANGHAI).date()
    year = today.year + 1
    if today.month < AHEAD_FROM_MONTH:
        return None
    with uow.transaction() as s:
        if year in get_calendar(s).years:
            return None
        exists = s.exec(select(Task.id).where(Task.kind == TaskKind.LOAD_CALENDAR.value, col(Task.case_id).is_(None),
                                              Task.calendar_year == year, col(Task.state).in_(_LIVE))).first()
        if exists is not None or s.get(CalendarYear, year) is not None:
            return None
        who = system_actor(s)
        due = datetime(year, 1, 1, tzinfo=SHANGHAI)
        task = open_task(s, kind=TaskKind.LOAD_CALENDAR, case_id=None, customs_office_id=None,
                         candidate_group=Role.ADMIN, due_at=due, priority=10, now=now,
                         title=f"导入 {year} 年工作日安排（国务院办公厅节假日安排）/ Load the official {year} "
                               f"working-day schedule before 1 January")
        task.calendar_year = year
        s.add(task)
        record(s, actor=who, action="calendar.awaited", subject=f"calendar:{year}", at=now,
               after={"year": year, "task": task.id, "due": due.isoformat()})
        return task.id
