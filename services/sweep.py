"""The system's own steps: release when a deadline passes in silence, and the detention clocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from models.enums import LineState, NoticeState, Reason, Route, TaskKind, TaskState
from models.rules.workdays import end_of_day
from models.tables import Case, Line, Notice, Task
from services.cases import close_if_done
from services.context import now_or, record, system_actor
from services.court import has_court_notice
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given

_WAITING = [NoticeState.SERVED.value, NoticeState.CLAIM_PENDING.value]
#: the reasons of the decisions a deadline's release makes (unanswered; claimed without a sufficient bond)
DEADLINE_REASONS = frozenset({Reason.EXPIRED.value, Reason.NO_BOND.value})


def expired_notice_ids(*, now: datetime, uow: UnitOfWork | None = None) -> list[int]:
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        q = select(Notice.id).where(col(Notice.state).in_(_WAITING), col(Notice.deadline_at) <= now).order_by(Notice.id)
        return list(s.exec(q))


def release_notice_if_expired(*, notice_id: int, now: datetime, uow: UnitOfWork | None = None) -> list[dict[str, Any]]:
    """Release the still-suspended lines of one notice whose deadline has passed (Reg 16, Meas 25).

    Safe to call any number of times: a notice no longer waiting changes nothing."""
    return release_notices_if_expired(notice_ids=[notice_id], now=now, uow=uow)[notice_id]


def release_notices_if_expired(*, notice_ids: list[int], now: datetime,
                               uow: UnitOfWork | None = None) -> dict[int, list[dict[str, Any]]]:
    """``release_notice_if_expired`` for several notices in one transaction: the lines released of
    each. A thousand deadlines passing at once are released in a few dozen waits for the database's
    write lock instead of a thousand; if any notice fails, none of them is released (the caller then
    releases each on its own)."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        return {notice_id: _release_notice(s, notice_id, now) for notice_id in notice_ids}


def _release_notice(s: Session, notice_id: int, now: datetime) -> list[dict[str, Any]]:
    notice = s.exec(select(Notice).where(Notice.id == notice_id).with_for_update()).first()
    if notice is None or notice.state not in _WAITING or notice.deadline_at is None or notice.deadline_at > now:
        return []
    who = system_actor(s)
    case = s.get(Case, notice.case_id)
    assert case is not None
    lines = list(s.exec(select(Line).where(Line.notice_id == notice.id, Line.state == LineState.SUSPENDED.value)
                        .order_by(Line.number)))
    reason = Reason.EXPIRED if notice.state == NoticeState.SERVED else Reason.NO_BOND
    move_lines(s, case=case, lines=lines, target=LineState.RELEASED, reason=reason, who=who, at=now,
               notice_id=notice.id, deadline_met=False,
               note=f"deadline {notice.deadline.isoformat() if notice.deadline else ''} passed")
    before = notice.state
    notice.state = NoticeState.EXPIRED.value
    notice.expired_at = now
    notice.version += 1
    s.add(notice)
    record(s, actor=who, action="notice.expired", subject=f"notice:{notice.id}", at=now, case_id=case.id,
           before={"state": before}, after={"state": notice.state, "released_lines": [ln.number for ln in lines]})
    for t in s.exec(select(Task).where(Task.notice_id == notice.id,
                                       col(Task.state).in_([TaskState.OPEN.value, TaskState.CLAIMED.value]))):
        if t.line_id is None:
            t.state = TaskState.CANCELLED.value
            t.completed_at = now
            t.version += 1
            s.add(t)
    close_if_done(s, case, who, now)
    return [
        {"case": case.number, "line": ln.number, "brand": ln.brand, "notice_id": notice.id,
         "reason": reason.value, "state": ln.state}
        for ln in lines
    ]


def release_expired(*, now: datetime, uow: UnitOfWork | None = None) -> list[dict[str, Any]]:
    """Release every line whose notice expired unanswered (or without a bond) by ``now``.

    Each notice is its own transaction, so one failure leaves the others done and itself untouched."""
    uow = given(uow)
    released: list[dict[str, Any]] = []
    for notice_id in expired_notice_ids(now=now, uow=uow):
        released.extend(release_notice_if_expired(notice_id=notice_id, now=now, uow=uow))
    return released


def advance_detention_clocks(*, now: datetime, line_ids: list[int] | None = None,
                             uow: UnitOfWork | None = None) -> list[dict[str, Any]]:
    """The detention clocks. 30 WD after detention is customs' own deadline to investigate (Reg 20,
    Meas 28): the system decides nothing; an overdue investigation is escalated (its task becomes most
    urgent and the manager sees it overdue). 50 WD with no court notice: an undetermined line is
    released (Reg 24(2)); a line held for a court is not. 20 WD with no court notice after a detention
    on application: the line is released (Reg 24(1)). Only the lines ``line_ids`` when given."""
    uow = given(uow)
    now = now_or(now)
    moved: list[dict[str, Any]] = []
    only = (col(Line.id).in_(line_ids),) if line_ids is not None else ()
    with uow.transaction(readonly=True) as s:
        overdue = [ln.id for ln in s.exec(select(Line).where(
                       Line.state == LineState.DETAINED.value, col(Line.investigation_due).is_not(None), *only))
                   if end_of_day(ln.investigation_due) <= now]  # type: ignore[arg-type]
        no_court_order = [ln.id for ln in s.exec(select(Line).join(Case, col(Case.id) == Line.case_id).where(
                              Case.route == Route.APPLICATION.value, Line.state == LineState.DETAINED.value,
                              col(Line.court_due).is_not(None), *only))
                          if end_of_day(ln.court_due) <= now]  # type: ignore[arg-type]
        undetermined = [ln.id for ln in s.exec(select(Line).where(
                            Line.state == LineState.UNDETERMINED.value, col(Line.court_due).is_not(None), *only))
                        if end_of_day(ln.court_due) <= now]  # type: ignore[arg-type]
    for line_id in overdue:
        with uow.transaction() as s:
            line = s.exec(select(Line).where(Line.id == line_id).with_for_update()).first()
            if line is None or line.state != LineState.DETAINED.value:
                continue
            tasks = list(s.exec(select(Task).where(Task.line_id == line.id, Task.kind == TaskKind.INVESTIGATE.value,
                                                   col(Task.state).in_([TaskState.OPEN.value, TaskState.CLAIMED.value]),
                                                   Task.priority > 0)))
            if not tasks:
                continue
            case = s.get(Case, line.case_id)
            assert case is not None
            who = system_actor(s)
            for t in tasks:
                t.priority = 0
                t.version += 1
                s.add(t)
            record(s, actor=who, action="investigation.overdue", subject=f"line:{case.number}/{line.number}", at=now,
                   case_id=case.id, after={"investigation_due": line.investigation_due.isoformat() if line.investigation_due else None,
                                           "tasks": [t.id for t in tasks]})
            moved.append({"case": case.number, "line": line.number, "brand": line.brand, "state": line.state,
                          "reason": "investigation-overdue"})
    for line_id in no_court_order:
        moved.extend(_release_without_court_order(line_id, now, uow=uow))
    for line_id in undetermined:
        with uow.transaction() as s:
            line = s.exec(select(Line).where(Line.id == line_id).with_for_update()).first()
            if line is None or line.state != LineState.UNDETERMINED.value or has_court_notice(s, line.id):  # type: ignore[arg-type]
                continue
            case = s.get(Case, line.case_id)
            assert case is not None
            who = system_actor(s)
            move_lines(s, case=case, lines=[line], target=LineState.RELEASED, reason=Reason.NO_COURT_NOTICE, who=who,
                       at=now, deadline_met=False)
            close_if_done(s, case, who, now)
            moved.append({"case": case.number, "line": line.number, "brand": line.brand,
                          "state": LineState.RELEASED.value, "reason": Reason.NO_COURT_NOTICE.value})
    return moved


def _release_without_court_order(line_id: int, now: datetime, *, uow: UnitOfWork) -> list[dict[str, Any]]:
    """Release a line detained on application once 20 WD passed with no court notice (Reg 24(1)); the
    task awaiting the court notice is cancelled, and the bond can be settled when the holder's lines are done."""
    from services.disposal import open_settlement_if_ready

    with uow.transaction() as s:
        line = s.exec(select(Line).where(Line.id == line_id).with_for_update()).first()
        if line is None or line.state != LineState.DETAINED.value or has_court_notice(s, line.id):  # type: ignore[arg-type]
            return []
        case = s.get(Case, line.case_id)
        assert case is not None
        who = system_actor(s)
        move_lines(s, case=case, lines=[line], target=LineState.RELEASED, reason=Reason.NO_COURT_ORDER, who=who,
                   at=now, notice_id=line.notice_id, deadline_met=False,
                   note=f"no court notice by {line.court_due.isoformat() if line.court_due else ''}")
        for t in s.exec(select(Task).where(Task.line_id == line.id, Task.kind == TaskKind.AWAIT_COURT.value,
                                           col(Task.state).in_([TaskState.OPEN.value, TaskState.CLAIMED.value]))):
            t.state, t.completed_at = TaskState.CANCELLED.value, now
            t.version += 1
            s.add(t)
        open_settlement_if_ready(s, case=case, line=line, now=now)
        close_if_done(s, case, who, now)
        return [{"case": case.number, "line": line.number, "brand": line.brand, "state": LineState.RELEASED.value,
                 "reason": Reason.NO_COURT_ORDER.value}]
