"""What the process (the Prefect flows and the outbox dispatcher) needs from the database.

These are the system's own steps, never a person's: reading a case's progress, handing outbox events
on, remembering which flow run carries a case, and marking a decision's follow-up (documents and
notifications) done. Each call is one transaction, acts as the system user, and writes the timeline
when it changes something a person could ask about later.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from models.enums import CaseStatus, LineState, NoticeState, Role, Route, TaskKind
from models.rules.errors import InvalidInput, NotFound
from models.rules.workdays import SHANGHAI, end_of_day
from models.tables import (
    Case,
    CustomsOffice,
    Decision,
    IdempotencyRecord,
    Line,
    Notice,
    OutboxEvent,
    RightsHolder,
    TimelineEntry,
    User,
    Viewing,
)
from services.context import now_or, open_task, publish, record, system_actor
from services.tasks import complete_matching_tasks
from services.unit_of_work import UnitOfWork, given

#: notices in these states still wait for their rights holder (or for service)
WAITING_NOTICE_STATES = (NoticeState.ISSUED.value, NoticeState.SERVED.value, NoticeState.CLAIM_PENDING.value,
                         NoticeState.APPLIED.value)
#: lines in these states have a detention clock running (Reg 20, 24)
CLOCKED_LINE_STATES = (LineState.DETAINED.value, LineState.UNDETERMINED.value)


class NoticeProgress(BaseModel):
    id: int
    rights_holder: str
    state: str
    served_at: datetime | None
    deadline_at: datetime | None
    sent: bool  # the process has issued and sent it (step ``notice_sent_key``)

    @property
    def waiting(self) -> bool:
        return self.state in WAITING_NOTICE_STATES


class DecisionProgress(BaseModel):
    id: int
    kind: str
    reason: str
    notice_id: int | None
    lines: list[int]
    decided_at: datetime
    followed_up_at: datetime | None


class ClockProgress(BaseModel):
    line_id: int
    line_number: int
    state: str
    investigation_due_at: datetime | None  # end of the 30th working day after detention
    court_due_at: datetime | None  # end of the 50th working day after detention


class CaseProgress(BaseModel):
    """Where a case stands, as the process sees it."""

    case_number: str
    case_id: int
    status: str
    customs_office: str
    customs_office_code: str
    brands: list[str]
    flow_run_id: str | None
    notices: list[NoticeProgress]
    decisions: list[DecisionProgress]
    clocks: list[ClockProgress]
    open_viewings: int
    confirmed: bool = True  # an IPR officer confirmed the lines: the notices may go out
    runs_started: int  # flow runs that have carried this case (a replacement after a crash adds one)
    last_event_id: int  # the newest outbox event of this case the reader has seen

    @property
    def waiting_notices(self) -> list[NoticeProgress]:
        return [n for n in self.notices if n.waiting]

    @property
    def to_serve(self) -> list[NoticeProgress]:
        """The notices the case run has still to issue and send: the lines are confirmed, and the
        notice was neither sent nor withdrawn (every line of it released at confirmation)."""
        return [n for n in self.notices if self.confirmed and not n.sent and n.state != NoticeState.WITHDRAWN.value]

    @property
    def pending_decisions(self) -> list[DecisionProgress]:
        return [d for d in self.decisions if d.followed_up_at is None]

    @property
    def settled(self) -> bool:
        """Nothing left for the case process: every notice decided, every decision followed up."""
        return not self.waiting_notices and not self.pending_decisions

    @property
    def settling(self) -> bool:
        """Every notice decided, and only follow-ups left: the case settles when the last one is done."""
        return not self.waiting_notices and bool(self.pending_decisions)

    @property
    def tags(self) -> list[str]:
        return case_tags(self.customs_office_code, self.brands)


def case_tags(office_code: str, brands: list[str]) -> list[str]:
    """The tags of a case's runs in Prefect (filter on them in the Prefect UI)."""
    return [f"office:{office_code}"] + [f"brand:{b}" for b in sorted(set(brands))]


class EventOut(BaseModel):
    id: int
    topic: str
    case_id: int | None
    case_number: str | None
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


class DecisionLine(BaseModel):
    number: int
    brand: str
    description: str
    quantity: int
    unit: str
    value: Decimal
    state: str


class DecisionReport(BaseModel):
    """What a manager reads about a decision: which lines, which verdict, who, when, in time or not."""

    decision_id: int
    case_number: str
    kind: str
    reason: str
    notice_id: int | None
    rights_holder: str | None
    decided_by: str
    decided_by_role: str
    decided_at: datetime
    notice_deadline_at: datetime | None
    deadline_met: bool | None
    lines: list[DecisionLine]
    followed_up_at: datetime | None


class CaseRef(BaseModel):
    case_number: str
    status: str
    flow_run_id: str | None
    waiting: bool  # a notice still waits for its rights holder
    pending_decisions: list[tuple[int, datetime]]  # (decision id, handed to the process at) not followed up yet
    settled: bool = False  # no notice waits and every decision is followed up: the case run may complete


class TimerDue(BaseModel):
    """A legal deadline that must have a durable timer (``flows/specs.py`` turns it into one)."""

    kind: str  # "notice" or "investigation" or "court"
    subject_id: int  # notice id or line id
    case_number: str
    due_at: datetime
    line_number: int | None = None  # the line's number in its case, for a line's clock
    tags: list[str] = []  # the case's office and brand tags


def case_timers(p: CaseProgress) -> list[TimerDue]:
    """The running legal clocks of one case with a known end: the answer deadline of each waiting
    notice (Reg 16, Meas 25, 41), and the 30- and 50-working-day clocks of detained or undetermined
    lines (Reg 20, 24; Meas 28)."""
    out = [TimerDue(kind="notice", subject_id=n.id, case_number=p.case_number, due_at=n.deadline_at, tags=p.tags)
           for n in p.waiting_notices if n.deadline_at is not None]
    for c in p.clocks:
        if c.state == LineState.DETAINED.value and c.investigation_due_at is not None:
            out.append(TimerDue(kind="investigation", subject_id=c.line_id, line_number=c.line_number,
                                case_number=p.case_number, due_at=c.investigation_due_at, tags=p.tags))
        if c.court_due_at is not None:
            out.append(TimerDue(kind="court", subject_id=c.line_id, line_number=c.line_number,
                                case_number=p.case_number, due_at=c.court_due_at, tags=p.tags))
    return out


# --- reading --------------------------------------------------------------------------------------


def notice_sent_key(notice_id: int) -> str:
    return f"notice-{notice_id}-sent"


def _case(s: Session, case_number: str, *, lock: bool = False) -> Case:
    """The case, or NotFound; ``lock``: its row locked until the transaction ends."""
    q = select(Case).where(Case.number == case_number)
    case = s.exec(q.with_for_update() if lock else q).first()
    if case is None:
        raise NotFound("case", case_number)
    return case


def _progress(s: Session, case: Case) -> CaseProgress:
    office = s.get(CustomsOffice, case.customs_office_id)
    lines = list(s.exec(select(Line).where(Line.case_id == case.id).order_by(Line.number)))
    notices = list(s.exec(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)))
    holder_ids = {n.rights_holder_id for n in notices}
    holders = {h.id: h.name for h in s.exec(select(RightsHolder).where(col(RightsHolder.id).in_(holder_ids)))}
    sent_keys = [f"process:{notice_sent_key(n.id)}" for n in notices]
    sent = set(s.exec(select(IdempotencyRecord.key).where(col(IdempotencyRecord.key).in_(sent_keys))))
    number_of = {ln.id: ln.number for ln in lines}
    decisions = list(s.exec(select(Decision).where(Decision.case_id == case.id).order_by(Decision.id)))
    viewings = s.exec(select(func.count()).select_from(Viewing).where(
        Viewing.case_id == case.id, col(Viewing.state).in_(["requested", "approved", "open"]))).one()
    runs = s.exec(select(func.count()).select_from(TimelineEntry).where(
        TimelineEntry.case_id == case.id, TimelineEntry.action == "case.process_started")).one()
    last = s.exec(select(func.max(OutboxEvent.id)).where(OutboxEvent.case_id == case.id)).one()
    return CaseProgress(
        case_number=case.number,
        case_id=case.id,  # type: ignore[arg-type]
        status=case.status,
        customs_office=office.name_en if office else "",
        customs_office_code=office.code if office else "",
        brands=sorted({ln.brand for ln in lines}),
        flow_run_id=case.flow_run_id,
        notices=[NoticeProgress(id=n.id, rights_holder=holders.get(n.rights_holder_id, ""), state=n.state,  # type: ignore[arg-type]
                                served_at=n.served_at, deadline_at=n.deadline_at,
                                # an application needs no notice served: the holder wrote it (Reg 13)
                                sent=f"process:{notice_sent_key(n.id)}" in sent or case.route == Route.APPLICATION)
                 for n in notices],
        decisions=[DecisionProgress(id=d.id, kind=d.kind, reason=d.reason, notice_id=d.notice_id,  # type: ignore[arg-type]
                                    lines=sorted(number_of.get(i, 0) for i in d.line_ids), decided_at=d.decided_at,
                                    followed_up_at=d.followed_up_at) for d in decisions],
        clocks=[ClockProgress(line_id=ln.id, line_number=ln.number, state=ln.state,  # type: ignore[arg-type]
                              investigation_due_at=end_of_day(ln.investigation_due) if ln.investigation_due else None,
                              court_due_at=end_of_day(ln.court_due) if ln.court_due else None)
                for ln in lines if ln.state in CLOCKED_LINE_STATES],
        open_viewings=int(viewings),
        confirmed=case.confirmed_at is not None,
        runs_started=int(runs),
        last_event_id=int(last or 0),
    )


def case_progress(*, case_number: str, uow: UnitOfWork | None = None) -> CaseProgress:
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        return _progress(s, _case(s, case_number))


def case_number_of(*, case_id: int, uow: UnitOfWork | None = None) -> str:
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        case = s.get(Case, case_id)
        if case is None:
            raise NotFound("case", case_id)
        return case.number


def decision_report(*, decision_id: int, uow: UnitOfWork | None = None) -> DecisionReport:
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        d = s.get(Decision, decision_id)
        if d is None:
            raise NotFound("decision", decision_id)
        case = s.get(Case, d.case_id)
        notice = s.get(Notice, d.notice_id) if d.notice_id else None
        holder = s.get(RightsHolder, notice.rights_holder_id) if notice else None
        who = s.get(User, d.decided_by_id)
        lines = list(s.exec(select(Line).where(col(Line.id).in_(d.line_ids)).order_by(Line.number)))
        return DecisionReport(
            decision_id=d.id, case_number=case.number if case else "", kind=d.kind, reason=d.reason,  # type: ignore[arg-type]
            notice_id=d.notice_id, rights_holder=holder.name if holder else None,
            decided_by=who.username if who else "", decided_by_role=who.role if who else "",
            decided_at=d.decided_at, notice_deadline_at=notice.deadline_at if notice else None,
            deadline_met=d.deadline_met, followed_up_at=d.followed_up_at,
            lines=[DecisionLine(number=ln.number, brand=ln.brand, description=ln.description, quantity=ln.quantity,
                                unit=ln.unit, value=ln.value, state=ln.state) for ln in lines],
        )


def cases_to_reconcile(*, uow: UnitOfWork | None = None) -> list[CaseRef]:
    """Cases the process still owes something: open cases, and decisions not yet followed up."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        unfollowed: dict[int, list[tuple[int, datetime]]] = {}
        decisions = list(s.exec(select(Decision).where(col(Decision.followed_up_at).is_(None)).order_by(Decision.id)))
        # when each was handed to the process (its decision.made event dispatched); not yet: not late
        handed: dict[int, datetime] = {}
        if decisions:
            for ev in s.exec(select(OutboxEvent).where(OutboxEvent.topic == "decision.made",
                                                       col(OutboxEvent.case_id).in_({d.case_id for d in decisions}),
                                                       col(OutboxEvent.dispatched_at).is_not(None))):
                handed[int(ev.payload.get("decision_id") or 0)] = ev.dispatched_at  # type: ignore[assignment]
        for d in decisions:
            if d.id in handed:
                unfollowed.setdefault(d.case_id, []).append((d.id, handed[d.id]))  # type: ignore[arg-type]
        cases = list(s.exec(select(Case).where(
            (Case.status == CaseStatus.OPEN.value) | col(Case.id).in_(list(unfollowed))).order_by(Case.id)))
        waiting = set(s.exec(select(Notice.case_id).where(col(Notice.state).in_(WAITING_NOTICE_STATES))))
        undone = {d.case_id for d in decisions}
        return [CaseRef(case_number=c.number, status=c.status, flow_run_id=c.flow_run_id, waiting=c.id in waiting,
                        pending_decisions=unfollowed.get(c.id, []),  # type: ignore[arg-type]
                        settled=c.id not in waiting and c.id not in undone) for c in cases]


def cases_in_event_path(*, now: datetime, undispatched_for: timedelta, dispatched_within: timedelta,
                        uow: UnitOfWork | None = None) -> set[str]:
    """The cases the dispatcher is still handing on: an event of theirs waits in the outbox since less than
    ``undispatched_for`` (an older one: the dispatcher may be down), or was handed on less than
    ``dispatched_within`` ago (the task it was handed to, such as the case's timers, may still run)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        fresh = (col(OutboxEvent.dispatched_at).is_(None) & (OutboxEvent.created_at > now - undispatched_for)) | (
            col(OutboxEvent.dispatched_at) > now - dispatched_within)
        q = select(Case.number).join(OutboxEvent, col(OutboxEvent.case_id) == Case.id).where(fresh).distinct()
        return set(s.exec(q))


def timers_due(*, due_before: datetime | None = None, uow: UnitOfWork | None = None) -> list[TimerDue]:
    """Every running legal clock with a known end (``case_timers`` of every case that has one), or
    only those ending at or before ``due_before``."""
    uow = given(uow)
    due_n: tuple[Any, ...] = () if due_before is None else (col(Notice.deadline_at) <= due_before,)
    # a clock ends at 24:00 of its last day: a day before ``due_before``'s date (Shanghai) has ended
    day = None if due_before is None else due_before.astimezone(SHANGHAI).date()
    due_l: tuple[Any, ...] = () if day is None else (
        (col(Line.investigation_due) < day) | (col(Line.court_due) < day),)
    with uow.transaction(readonly=True) as s:
        notices = list(s.exec(select(Notice).where(col(Notice.state).in_(WAITING_NOTICE_STATES),
                                                   col(Notice.deadline_at).is_not(None), *due_n).order_by(Notice.id)))
        clocked = list(s.exec(select(Line).where(col(Line.state).in_(CLOCKED_LINE_STATES), *due_l).order_by(Line.id)))
        case_ids = {n.case_id for n in notices} | {ln.case_id for ln in clocked}
        if not case_ids:
            return []
        cases = {c.id: c for c in s.exec(select(Case).where(col(Case.id).in_(case_ids)))}
        offices = dict(s.exec(select(CustomsOffice.id, CustomsOffice.code)).all())
        brands: dict[int, set[str]] = {}
        for case_id, brand in s.exec(select(Line.case_id, Line.brand).where(col(Line.case_id).in_(case_ids))):
            brands.setdefault(case_id, set()).add(brand)
        notices_of: dict[int, list[NoticeProgress]] = {}
        for n in notices:  # only what case_timers reads of a notice
            notices_of.setdefault(n.case_id, []).append(NoticeProgress.model_construct(  # type: ignore[arg-type]
                id=n.id, state=n.state, deadline_at=n.deadline_at))
        clocks_of: dict[int, list[ClockProgress]] = {}
        for ln in clocked:
            clocks_of.setdefault(ln.case_id, []).append(ClockProgress(  # type: ignore[arg-type]
                line_id=ln.id, line_number=ln.number, state=ln.state,  # type: ignore[arg-type]
                investigation_due_at=end_of_day(ln.investigation_due) if ln.investigation_due else None,
                court_due_at=end_of_day(ln.court_due) if ln.court_due else None))
        out: list[TimerDue] = []
        for cid, c in cases.items():
            p = CaseProgress.model_construct(
                case_number=c.number, customs_office_code=offices.get(c.customs_office_id, ""),
                brands=sorted(brands.get(cid, set())), notices=notices_of.get(cid, []), clocks=clocks_of.get(cid, []))
            out.extend(t for t in case_timers(p) if due_before is None or t.due_at <= due_before)
    return sorted(out, key=lambda t: (t.due_at, t.kind, t.subject_id))


# --- the outbox -----------------------------------------------------------------------------------


def pending_events(*, limit: int = 200, holding: Collection[str] = (), uow: UnitOfWork | None = None
                   ) -> list[EventOut]:
    """Events not yet handed to the process, oldest first; the decisions made for one of the reasons
    ``holding`` are left in the outbox for now (while the warm clock releases a thousand notices,
    their follow-ups would take the CPU and the database from the release: ``flows.dispatch.Clock``)."""
    uow = given(uow)
    if limit < 1:
        raise InvalidInput("limit", "must be at least 1")
    with uow.transaction(readonly=True) as s:
        q = select(OutboxEvent).where(col(OutboxEvent.dispatched_at).is_(None))
        if holding:
            reason = func.coalesce(OutboxEvent.payload["reason"].as_string(), "")  # type: ignore[index]
            q = q.where(or_(OutboxEvent.topic != "decision.made", reason.not_in(sorted(holding))))
        events = list(s.exec(q.order_by(OutboxEvent.id).limit(limit)))
        ids = {e.case_id for e in events if e.case_id is not None}
        numbers = dict(s.exec(select(Case.id, Case.number).where(col(Case.id).in_(ids))).all()) if ids else {}
        return [EventOut(id=e.id, topic=e.topic, case_id=e.case_id, case_number=numbers.get(e.case_id),  # type: ignore[arg-type]
                         payload=e.payload, created_at=e.created_at, attempts=e.attempts) for e in events]


def mark_dispatched(*, event_ids: list[int], now: datetime | None = None, uow: UnitOfWork | None = None) -> int:
    """Mark events handed on; an event already marked keeps its first time. Returns how many changed."""
    uow = given(uow)
    now = now_or(now)
    if not event_ids:
        return 0
    with uow.transaction() as s:
        changed = 0
        for ev in s.exec(select(OutboxEvent).where(col(OutboxEvent.id).in_(event_ids)).with_for_update()):
            if ev.dispatched_at is None:
                ev.dispatched_at = now
                ev.attempts += 1
                ev.last_error = None
                s.add(ev)
                changed += 1
        return changed


def note_dispatch_failure(*, event_id: int, error: str, now: datetime | None = None,
                          uow: UnitOfWork | None = None) -> None:
    """The event could not be handed on (Prefect unreachable, ...): it stays in the outbox."""
    uow = given(uow)
    now_or(now)
    with uow.transaction() as s:
        ev = s.exec(select(OutboxEvent).where(OutboxEvent.id == event_id).with_for_update()).first()
        if ev is None:
            raise NotFound("outbox event", event_id)
        if ev.dispatched_at is None:
            ev.attempts += 1
            ev.last_error = error[:2000]
            s.add(ev)


# --- the process's own records --------------------------------------------------------------------


def attach_flow_run(*, case_number: str, flow_run_id: str, now: datetime | None = None,
                    uow: UnitOfWork | None = None) -> bool:
    """Remember the flow run that carries a case; the timeline says when it changed."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        case = _case(s, case_number, lock=True)
        if case.flow_run_id == flow_run_id:
            return False
        who = system_actor(s)
        before = case.flow_run_id
        case.flow_run_id = flow_run_id
        case.version += 1
        s.add(case)
        record(s, actor=who, action="case.process_started", subject=f"case:{case.number}", at=now, case_id=case.id,
               before={"flow_run_id": before} if before else None, after={"flow_run_id": flow_run_id})
        # a run carries the case again: the managers' task about the stopped one has nothing left to decide
        complete_matching_tasks(s, kind=TaskKind.RESTART_PROCESS, case_id=case.id, who=who, now=now,
                                outcome="restarted", details={"flow_run_id": flow_run_id})
        return True


#: why a case's run is left to its managers (``process_stopped``)
STOPPED_WHY = ("cancelled", "failing")


def process_stopped(*, case_number: str, flow_run_id: str, why: str, state: str, now: datetime | None = None,
                    uow: UnitOfWork | None = None) -> int | None:
    """The run that carries the case was cancelled by a person (``why`` "cancelled"), or has failed or crashed
    as often as a case's runs may (``flows.decide.MAX_RUNS_PER_CASE``: "failing"). Nothing restarts it by
    itself: the managers of the case's office get a task (``TaskKind.RESTART_PROCESS``) to restart the case's
    process or leave it stopped, once per run. Returns the task's id; None when the case is carried by
    another run by now, or the run already had its task."""
    if why not in STOPPED_WHY:  # the process's own call, never a person's input
        raise ValueError(f"why must be one of {STOPPED_WHY}, not {why!r}")
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        case = _case(s, case_number, lock=True)
        key = f"process:run-{flow_run_id}-stopped"
        if case.flow_run_id != flow_run_id or s.get(IdempotencyRecord, key) is not None:
            return None
        who = system_actor(s)
        facts = {"flow_run_id": flow_run_id, "state": state, "why": why}
        s.add(IdempotencyRecord(key=key, action="case.process_stopped", result=facts, created_at=now))
        record(s, actor=who, action="case.process_stopped", subject=f"case:{case.number}", at=now, case_id=case.id,
               after=facts)
        told = ("案件流程已被取消 / its flow run was cancelled" if why == "cancelled" else
                "案件流程屡次失败 / its flow runs keep failing")
        task = open_task(s, kind=TaskKind.RESTART_PROCESS, case_id=case.id, customs_office_id=case.customs_office_id,
                         candidate_group=Role.MANAGER, due_at=None, priority=5, now=now,
                         title=f"重启案件 {case.number} 的流程，或说明为何保持停止 / Restart the process of case "
                               f"{case.number}, or leave it stopped: {told}")
        return task.id


def step_done(*, key: str, uow: UnitOfWork | None = None) -> dict[str, Any] | None:
    """The result of a process step already done under ``key`` (e.g. a notice's service), if any."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        rec = s.get(IdempotencyRecord, f"process:{key}")
        return rec.result if rec is not None else None


def mark_step_done(*, key: str, case_number: str, action: str, result: dict[str, Any],
                   now: datetime | None = None, uow: UnitOfWork | None = None) -> bool:
    """Record that a process step is done, once; the timeline gets one entry for it."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        full = f"process:{key}"
        if s.get(IdempotencyRecord, full) is not None:
            return False
        case = _case(s, case_number)
        who = system_actor(s)
        s.add(IdempotencyRecord(key=full, action=action, result=result, created_at=now))
        record(s, actor=who, action=action, subject=key, at=now, case_id=case.id, after=result)
        return True


def mark_followed_up(*, decision_id: int, documents: list[str], now: datetime | None = None,
                     uow: UnitOfWork | None = None) -> bool:
    """The decision's documents are issued and sent: mark it, once (``Decision.followed_up_at``)."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        d = s.exec(select(Decision).where(Decision.id == decision_id).with_for_update()).first()
        if d is None:
            raise NotFound("decision", decision_id)
        if d.followed_up_at is not None:
            return False
        who = system_actor(s)
        d.followed_up_at = now
        s.add(d)
        record(s, actor=who, action="decision.followed_up", subject=f"decision:{d.id}", at=now, case_id=d.case_id,
               after={"documents": documents})
        # the waiting case run is completed once every decision is followed up: the event says
        # whether this one was the last thing the case waited for
        publish(s, topic="decision.followed_up", case_id=d.case_id,
                payload={"decision_id": d.id, "case_settled": _settled(s, d.case_id)}, at=now)
        return True


def _settled(s: Session, case_id: int) -> bool:
    """No notice of the case waits and every decision is followed up (``CaseProgress.settled``)."""
    waiting = s.exec(select(Notice.id).where(Notice.case_id == case_id,
                                             col(Notice.state).in_(WAITING_NOTICE_STATES)).limit(1)).first()
    unfollowed = s.exec(select(Decision.id).where(Decision.case_id == case_id,
                                                  col(Decision.followed_up_at).is_(None)).limit(1)).first()
    return waiting is None and unfollowed is None
