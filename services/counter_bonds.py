"""The consignor's counter-bond for detained patent goods (反担保, Reg 19, 24(3); Meas 20, 41).

Where the detained goods are suspected of infringing a patent, the consignor may post a bond equal to
their value (a deposit, or a bank guarantee letter, Meas 38) and ask for their release. An IPR officer
records what customs received: that act releases the line (reason ``counter-bond``) and customs' written
notice (the release notice) goes to the rights holder. From the day after that notice is served on the
rights holder, it has 30 working days to file with customs its court's notice accepting its suit
(受理案件通知书, Meas 20, 41): recorded in time, customs keeps the counter-bond for the court; otherwise
the counter-bond becomes refundable, an IPR officer gets a ``refund_counter_bond`` task, and recording
the refund completes it (Reg 19).

The clock starts only once the service is known (a ``Delivery`` accepted by the mail server or recorded
by hand); a year the calendar does not know leaves the deadline empty, as ``services.clocks`` does.
``counter_bonds_due`` is the system's periodic step (``yunque sweep``, the reconciliation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from sqlmodel import Session, col, select

from adapters.calendar import get_calendar
from models.docs import Delivery, DeliveryState
from models.enums import CounterBondState, DocumentKind, LineState, Reason, Role, TaskKind, TaskState
from models.rules.bonds import counter_bond_shortfall
from models.rules.errors import CalendarUnknown, ConcurrentUpdate, InvalidInput, NotFound
from models.rules.workdays import SHANGHAI, court_filing_deadline, end_of_day
from models.schemas import Strict
from models.tables import Case, CounterBond, Decision, Document, Line, Recordation, Shipment, Task
from services.bonds import BondReceiptIn, close_tasks, evidence_of_case
from services.clocks import deadline_or_pending
from services.context import Actor, load_actor, now_or, open_task, record, require_role, system_actor
from services.detention import decide_in, lock_line
from services.unit_of_work import UnitOfWork, given

_LABEL = "counter-bond (Reg 19)"


class CounterBondIn(BondReceiptIn):
    """What customs received from the consignor: a deposit, or a bank guarantee letter (Reg 19, Meas 38)."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class CourtFilingIn(Strict):
    """The rights holder's court filing: the court's notice accepting its suit (受理案件通知书, Meas 20)."""

    court: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    received_at: AwareDatetime | None = None  # when customs received it; default: the moment it is recorded
    evidence_id: int | None = Field(default=None, gt=0)


class CounterBondRefundIn(Strict):
    """The counter-bond returned to the consignor: the deposit paid back, or the guarantee letter returned."""

    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    evidence_id: int | None = Field(default=None, gt=0)


def _label(case: Case, line: Line) -> str:
    return f"line:{case.number}/{line.number}"


def _view(s: Session, cb: CounterBond, *, full: bool = True) -> dict[str, Any]:
    case = s.get(Case, cb.case_id)
    line = s.get(Line, cb.line_id)
    assert case is not None and line is not None
    out: dict[str, Any] = {
        "id": cb.id, "case": case.number, "line": line.number, "state": cb.state, "amount": str(cb.amount),
        "value": str(line.value), "received_at": cb.received_at.isoformat(),
        "notified_at": cb.notified_at.isoformat() if cb.notified_at else None,
        "court_due": cb.court_due.isoformat() if cb.court_due else None,
        "court": cb.court or None, "court_reference": cb.court_reference or None,
        "court_filed_at": cb.court_filed_at.isoformat() if cb.court_filed_at else None,
        "refundable_at": cb.refundable_at.isoformat() if cb.refundable_at else None,
        "refunded_at": cb.refunded_at.isoformat() if cb.refunded_at else None,
    }
    if full:  # the consignor's bank details are customs' business, not the rights holder's
        out |= {"form": cb.form, "bank": cb.bank, "letter_no": cb.letter_no, "evidence_id": cb.evidence_id,
                "decision_id": cb.decision_id, "refund_reference": cb.refund_reference or None}
    return out


def _lock_counter_bond(s: Session, line: Line, case: Case) -> CounterBond:
    cb = s.exec(select(CounterBond).where(CounterBond.line_id == line.id).with_for_update()).first()
    if cb is None:
        raise NotFound("counter-bond of line", f"{case.number}/{line.number}")
    return cb


# --- received: the line is released ----------------------------------------------------------------


def record_counter_bond_in(s: Session, *, who: Actor, case: Case, line: Line, bond: CounterBondIn,
                           now: datetime) -> dict[str, Any]:
    """Record the consignor's counter-bond and release the detained patent line (Reg 19, 24(3); Meas 20)."""
    require_role(who, "record a counter-bond", Role.IPR_OFFICER, Role.ADMIN)
    rec = s.get(Recordation, line.recordation_id)
    if rec is None or rec.right_type != "patent":
        raise InvalidInput("line", "line {line} concerns a {right_type} right: a counter-bond releases goods only in "
                                   "patent cases (Reg 19)", line=f"{case.number}/{line.number}",
                           right_type=rec.right_type if rec else "unknown")
    if s.exec(select(CounterBond.id).where(CounterBond.line_id == line.id)).first() is not None:
        raise ConcurrentUpdate(f"line {case.number}/{line.number}", "already has a counter-bond")
    if line.state != LineState.DETAINED.value:
        raise InvalidInput("line", "line {line} is {state}: a counter-bond releases detained goods only (Reg 19)",
                           line=f"{case.number}/{line.number}", state=line.state)
    missing = counter_bond_shortfall(bond.amount, line.value)
    if missing > 0:
        raise InvalidInput("amount", "RMB {offered} is below the value of the goods, RMB {value}: a counter-bond "
                                     "equals their value (Reg 19, Meas 20)", offered=bond.amount, value=line.value)
    ev = evidence_of_case(s, case, bond.evidence_id)
    ship = s.get(Shipment, case.shipment_id)
    assert ship is not None
    cb = CounterBond(case_id=case.id, line_id=line.id, consignor_id=ship.consignor_id,  # type: ignore[arg-type]
                     rights_holder_id=line.rights_holder_id, state=CounterBondState.HELD.value, form=bond.form.value,
                     amount=bond.amount, bank=bond.bank, letter_no=bond.letter_no, evidence_id=ev,
                     received_by_id=who.id, received_at=now)
    s.add(cb)
    s.flush()
    record(s, actor=who, action="counter_bond.received", subject=_label(case, line), at=now, case_id=case.id,
           after={"counter_bond_id": cb.id, "form": cb.form, "amount": str(cb.amount), "value": str(line.value),
                  "bank": cb.bank, "letter_no": cb.letter_no, "evidence_id": ev})
    decide_in(s, who=who, case=case, line=line, outcome="counter-bond", now=now,
              note=bond.note or f"{_LABEL}: RMB {bond.amount}")
    cb.decision_id = s.exec(select(Decision.id).where(Decision.case_id == case.id,
                                                      Decision.reason == Reason.COUNTER_BOND.value)
                            .order_by(col(Decision.id).desc())).first()
    s.add(cb)
    return _view(s, cb)


def record_counter_bond(*, case_number: str, line_number: int, actor: str, bond: CounterBondIn | dict[str, Any],
                        now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """An IPR officer records the counter-bond customs received from the consignor; the line is released."""
    uow = given(uow)
    data = bond if isinstance(bond, CounterBondIn) else CounterBondIn.model_validate(bond)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "record a counter-bond", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        return record_counter_bond_in(s, who=who, case=case, line=line, bond=data, now=now)


# --- the rights holder's court filing keeps it ------------------------------------------------------


def record_court_filing_in(s: Session, *, who: Actor, case: Case, line: Line, filing: CourtFilingIn,
                           now: datetime) -> dict[str, Any]:
    """The rights holder went to court in time: customs keeps the counter-bond (Reg 19, Meas 20)."""
    require_role(who, "record a court filing", Role.IPR_OFFICER, Role.ADMIN)
    cb = _lock_counter_bond(s, line, case)
    if cb.state == CounterBondState.KEPT:
        raise ConcurrentUpdate(f"counter-bond {cb.id}", "is already kept for {court} {reference}",
                               court=cb.court, reference=cb.court_reference)
    if cb.state == CounterBondState.REFUNDED:
        raise ConcurrentUpdate(f"counter-bond {cb.id}", "was refunded ({when})", when=cb.refunded_at or "")
    received = filing.received_at or now
    if received > now:
        raise InvalidInput("received_at", "is in the future")
    if received < cb.received_at:
        raise InvalidInput("received_at", "is before the counter-bond was received")
    if cb.court_due is not None and received >= end_of_day(cb.court_due):
        raise InvalidInput("received_at", "{received} is after the rights holder's 30 working days ended ({due}, "
                                          "24:00): the counter-bond is refundable (Reg 19, Meas 20)",
                           received=received.astimezone(SHANGHAI), due=cb.court_due)
    ev = evidence_of_case(s, case, filing.evidence_id)
    before = cb.state
    cb.state = CounterBondState.KEPT.value
    cb.court, cb.court_reference, cb.court_filed_at = filing.court, filing.reference, received
    cb.court_evidence_id, cb.court_recorded_by_id = ev, who.id
    cb.refundable_at = None
    cb.version += 1
    s.add(cb)
    record(s, actor=who, action="counter_bond.court_filing", subject=_label(case, line), at=now, case_id=case.id,
           before={"state": before},
           after={"state": cb.state, "court": filing.court, "reference": filing.reference,
                  "received_at": received.isoformat(), "court_due": cb.court_due.isoformat() if cb.court_due else None,
                  "evidence_id": ev})
    # a filing received in time but recorded after the sweep found the period over: no refund after all
    for t in s.exec(select(Task).where(Task.line_id == line.id, Task.kind == TaskKind.REFUND_COUNTER_BOND.value,
                                       col(Task.state).in_([TaskState.OPEN.value, TaskState.CLAIMED.value]))
                          .with_for_update()):
        t.state, t.completed_at, t.version = TaskState.CANCELLED.value, now, t.version + 1
        s.add(t)
        record(s, actor=who, action="task.cancelled", subject=f"task:{t.id}", at=now, case_id=case.id,
               after={"kind": t.kind, "reason": "the court filing was received in time"})
    return _view(s, cb)


def record_court_filing(*, case_number: str, line_number: int, actor: str, filing: CourtFilingIn | dict[str, Any],
                        now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """An IPR officer records the court's acceptance notice the rights holder filed for a counter-bonded line."""
    uow = given(uow)
    data = filing if isinstance(filing, CourtFilingIn) else CourtFilingIn.model_validate(filing)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "record a court filing", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        return record_court_filing_in(s, who=who, case=case, line=line, filing=data, now=now)


# --- no filing in 30 WD: refunded -------------------------------------------------------------------


def refund_counter_bond_in(s: Session, *, who: Actor, case: Case, line: Line, refund: CounterBondRefundIn,
                           now: datetime) -> dict[str, Any]:
    """Return the counter-bond to the consignor once the 30 working days passed with no court filing (Reg 19)."""
    require_role(who, "refund a counter-bond", Role.IPR_OFFICER, Role.ADMIN)
    cb = _lock_counter_bond(s, line, case)
    if cb.state == CounterBondState.REFUNDED:
        raise ConcurrentUpdate(f"counter-bond {cb.id}", "was already refunded ({when})",
                               when=cb.refunded_at or "")
    if cb.state != CounterBondState.REFUNDABLE:
        which = f"{case.number}/{line.number}"
        if cb.state == CounterBondState.KEPT:
            raise InvalidInput("line", "the counter-bond of line {line} is kept for the court ({court} {reference}) "
                                       "(Reg 19, Meas 20)", line=which, court=cb.court, reference=cb.court_reference)
        if cb.court_due:
            raise InvalidInput("line", "the counter-bond of line {line} is held until {due} for the rights holder's "
                                       "court filing (Reg 19, Meas 20)", line=which, due=cb.court_due)
        raise InvalidInput("line", "the counter-bond of line {line} is held: the rights holder's 30 working days have "
                                   "not started or cannot be counted yet (Reg 19, Meas 20)", line=which)
    ev = evidence_of_case(s, case, refund.evidence_id)
    cb.state, cb.refunded_at, cb.refunded_by_id = CounterBondState.REFUNDED.value, now, who.id
    cb.refund_reference, cb.refund_evidence_id = refund.reference, ev
    cb.version += 1
    s.add(cb)
    record(s, actor=who, action="counter_bond.refunded", subject=_label(case, line), at=now, case_id=case.id,
           before={"state": CounterBondState.REFUNDABLE.value},
           after={"state": cb.state, "amount": str(cb.amount), "form": cb.form, "reference": refund.reference,
                  "note": refund.note, "evidence_id": ev})
    return _view(s, cb)


def refund_counter_bond(*, case_number: str, line_number: int, actor: str,
                        refund: CounterBondRefundIn | dict[str, Any] | None = None,
                        now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """An IPR officer records the refund; the ``refund_counter_bond`` task completes with it."""
    uow = given(uow)
    data = refund if isinstance(refund, CounterBondRefundIn) else CounterBondRefundIn.model_validate(refund or {})
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "refund a counter-bond", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        out = refund_counter_bond_in(s, who=who, case=case, line=line, refund=data, now=now)
        close_tasks(s, kind=TaskKind.REFUND_COUNTER_BOND, who=who, now=now, line_id=line.id,
                    outcome={"outcome": "refunded", **data.model_dump(mode="json")})
        return out


def counter_bond(*, case_number: str, line_number: int, actor: str, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """A line's counter-bond: customs see it whole; the parties of the case its state and clock."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        case, line = lock_line(s, who, case_number, line_number)
        cb = s.exec(select(CounterBond).where(CounterBond.line_id == line.id)).first()
        if cb is None:
            raise NotFound("counter-bond of line", f"{case_number}/{line_number}")
        return _view(s, cb, full=who.is_customs or who.role == Role.CONSIGNOR)  # the consignor: its own money


def counter_bonds_of_case(*, case_number: str, actor: str, uow: UnitOfWork | None = None) -> list[dict[str, Any]]:
    """The case's lines concerning a recorded patent, each with its counter-bond if one was received
    (``counter_bond`` is None otherwise): what the case page offers an officer to record. Customs only."""
    from services.cases import visible_case
    uow = given(uow)

    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        require_role(who, "read counter-bonds", Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER, Role.ADMIN)
        case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
        rows = s.exec(select(Line, CounterBond).join(Recordation, col(Recordation.id) == Line.recordation_id)
                      .outerjoin(CounterBond, col(CounterBond.line_id) == Line.id)
                      .where(Line.case_id == case.id, Recordation.right_type == "patent")
                      .order_by(col(Line.number))).all()
        return [{"line": line.number, "state": line.state, "value": str(line.value),
                 "counter_bond": _view(s, cb) if cb is not None else None} for line, cb in rows]


# --- the system's step ------------------------------------------------------------------------------


def served_on_rights_holder(s: Session, cb: CounterBond) -> datetime | None:
    """When the release notice of the counter-bond's release was served on the rights holder (Meas 20, 40)."""
    if cb.decision_id is None:
        return None
    moments = [d.accepted_at for d in s.exec(
        select(Delivery).join(Document, col(Document.id) == Delivery.document_id).where(
            Document.decision_id == cb.decision_id, Document.rights_holder_id == cb.rights_holder_id,
            Document.kind == DocumentKind.RELEASE_NOTICE.value,
            col(Delivery.state).in_([DeliveryState.ACCEPTED.value, DeliveryState.SERVED.value])))
        if d.accepted_at is not None]
    return min(moments) if moments else None


def _start_clock(s: Session, cb: CounterBond, case: Case, line: Line, who: Actor,
                 now: datetime) -> dict[str, Any] | None:
    if cb.notified_at is None:
        served = served_on_rights_holder(s, cb)
        if served is None:
            return None
        cb.notified_at = served
        cb.court_due = deadline_or_pending(
            s, clock=court_filing_deadline, start=served, case_id=case.id, who=who,  # type: ignore[arg-type]
            subject=_label(case, line), what="court filing after a counter-bond (30 WD, Reg 19, Meas 20)")
    else:  # the year was unknown when the notice was served: clock.pending was recorded then
        try:
            cb.court_due = court_filing_deadline(cb.notified_at, get_calendar(s))
        except CalendarUnknown:
            return None
    cb.version += 1
    s.add(cb)
    record(s, actor=who, action="counter_bond.clock_started", subject=_label(case, line), at=now, case_id=case.id,
           after={"notified_at": cb.notified_at.isoformat(),
                  "court_due": cb.court_due.isoformat() if cb.court_due else None})
    return {"case": case.number, "line": line.number, "step": "clock-started",
            "court_due": cb.court_due.isoformat() if cb.court_due else None}


def _expire(s: Session, cb: CounterBond, case: Case, line: Line, who: Actor, now: datetime) -> dict[str, Any]:
    assert cb.court_due is not None
    cb.state, cb.refundable_at = CounterBondState.REFUNDABLE.value, now
    cb.version += 1
    s.add(cb)
    record(s, actor=who, action="counter_bond.refundable", subject=_label(case, line), at=now, case_id=case.id,
           before={"state": CounterBondState.HELD.value},
           after={"state": cb.state, "court_due": cb.court_due.isoformat(), "amount": str(cb.amount)})
    task = open_task(s, kind=TaskKind.REFUND_COUNTER_BOND, case_id=case.id, customs_office_id=case.customs_office_id,
                     candidate_group=Role.IPR_OFFICER, line_id=line.id, notice_id=line.notice_id, due_at=None,
                     priority=40, now=now,
                     title=f"退还反担保 / Refund the counter-bond of line {case.number}/{line.number} "
                           f"(RMB {cb.amount}): no court filing by {cb.court_due.isoformat()} (Reg 19)")
    return {"case": case.number, "line": line.number, "step": "refundable", "court_due": cb.court_due.isoformat(),
            "task_id": task.id}


def counter_bonds_due(*, now: datetime, uow: UnitOfWork | None = None) -> list[dict[str, Any]]:
    """The counter-bond clocks: start each once customs' notice is served on the rights holder, and make a
    counter-bond refundable (an IPR officer's task) when its 30 working days end with no court filing.
    Each counter-bond is its own transaction; calling it again changes nothing."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        held = list(s.exec(select(CounterBond.id).where(CounterBond.state == CounterBondState.HELD.value)
                           .order_by(CounterBond.id)))
    steps: list[dict[str, Any]] = []
    for cb_id in held:
        with uow.transaction() as s:
            cb = s.exec(select(CounterBond).where(CounterBond.id == cb_id).with_for_update()).first()
            if cb is None or cb.state != CounterBondState.HELD:
                continue
            case, line = s.get(Case, cb.case_id), s.get(Line, cb.line_id)
            assert case is not None and line is not None
            who = system_actor(s)
            if cb.court_due is None:
                step = _start_clock(s, cb, case, line, who, now)
                if step is not None:
                    steps.append(step)
            if cb.court_due is not None and end_of_day(cb.court_due) <= now:
                steps.append(_expire(s, cb, case, line, who, now))
    return steps


# --- the task act -----------------------------------------------------------------------------------


def refund_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel, now: datetime) -> dict[str, Any]:
    """Completing a ``refund_counter_bond`` task records the refund (the act itself)."""
    assert isinstance(form, CounterBondRefundIn)
    line = s.exec(select(Line).where(Line.id == task.line_id).with_for_update()).first() if task.line_id else None
    case = s.get(Case, task.case_id) if task.case_id is not None else None
    if line is None or case is None:
        raise NotFound("line of task", task.id)
    return refund_counter_bond_in(s, who=who, case=case, line=line, refund=form, now=now)


#: registered in ``services.task_acts.TASK_ACTS``
COUNTER_BOND_TASK_ACTS: dict[str, tuple[type[BaseModel], tuple[str, ...], Any]] = {
    TaskKind.REFUND_COUNTER_BOND.value: (CounterBondRefundIn, ("refunded",), refund_act),
}

__all__ = ["CounterBondIn", "CourtFilingIn", "CounterBondRefundIn", "record_counter_bond", "record_counter_bond_in",
           "record_court_filing", "record_court_filing_in", "refund_counter_bond", "refund_counter_bond_in",
           "counter_bond", "counter_bonds_due", "served_on_rights_holder", "COUNTER_BOND_TASK_ACTS"]
