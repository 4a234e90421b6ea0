"""The application route (Reg 12-15, 24(1); Meas 13-19): a rights holder applies for the detention of a
named shipment before customs has found anything, with a bond equal to the value of the goods.

- Filing registers a case on the ``application`` route: its lines wait as ``applied``, the holder's side is
  an ``applied`` notice whose answer claims every line with the bond required (Reg 14, Meas 15), and an IPR
  officer of the office gets a ``review_application`` task. The consignor does not see it.
- Accepting needs the bond received (a deposit or a bank guarantee letter, Meas 38) and detains the lines;
  the detention notice and the consignor's detention receipt follow (Reg 15). Customs does not investigate
  (Reg 20 is for ex officio detentions): a court's notice of assistance within 20 working days holds the
  goods, otherwise the system releases them (Reg 24(1)); an officer task waits for that notice.
- Rejecting releases nothing that was held: the lines end ``released`` with the reason, and the rights
  holder is told in writing (Reg 15).
- The rights holder may withdraw its application before the goods are decided on (Reg 24(5)).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator
from sqlmodel import Session, col, select

from adapters.db import lock_name
from models.enums import BondForm, BondKind, Direction, LineState, NoticeState, Reason, Role, Route, TaskKind, Verdict
from models.rules.bonds import application_bond
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound
from models.rules.matching import match_flags
from models.rules.states import transition
from models.rules.workdays import end_of_day, local_date
from models.schemas import ConsignorIn, Strict, positive_money
from models.tables import (
    Answer,
    Case,
    Consignor,
    CustomsOffice,
    DetentionApplication,
    Line,
    LineVerdict,
    Notice,
    Recordation,
    Shipment,
)
from models.text import Text, many_lines
from services.answers import cancel_notice_tasks
from services.bonds import BondReceiptIn, close_tasks, take_bond
from services.cases import close_if_done, confirm_by, consignor_of, find_office, visible_case
from services.context import Actor, load_actor, next_number, now_or, open_task, publish, record, remember, replay, require_role
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given

FILE_APPLICATION = "application.file"

Grounds = many_lines(4000, min_length=1)
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class ApplicationLineIn(Strict):
    """One line of the goods applied against (Reg 13: name, quantity, value)."""

    description: Text
    quantity: int = Field(gt=0, le=100_000_000)
    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
    value: Decimal
    nice_class: int | None = Field(default=None, ge=1, le=45)

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: object, info) -> Decimal:  # noqa: ANN001
        return positive_money(v, info)


class ApplicationIn(Strict):
    """申请扣留 (Reg 13, Meas 13): the shipment, its consignor, the recorded right, the goods, the grounds."""

    customs_office: Text
    declaration_no: str = Field(pattern=r"^[0-9]{18}$", description="18-digit declaration number")
    direction: Direction
    consignor: ConsignorIn
    recordation: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    lines: list[ApplicationLineIn] = Field(min_length=1, max_length=200)
    grounds: Grounds  # type: ignore[valid-type]
    expected_on: date | None = None
    transport: Short = ""


class ApplicationReviewIn(Strict):
    """Customs' decision on an application (Reg 15): accepted with the bond received, or rejected with a reason."""

    decision: Literal["accepted", "rejected"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""
    form: BondForm | None = None
    amount: Decimal | None = None
    bank: Short = ""
    letter_no: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    evidence_id: int | None = Field(default=None, gt=0)

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: object, info) -> Decimal | None:  # noqa: ANN001
        return None if v in (None, "") else positive_money(v, info)

    @model_validator(mode="after")
    def _complete(self) -> ApplicationReviewIn:
        if self.decision == "rejected" and not self.reason:
            raise ValueError("reason: a rejection states its reason (Reg 15)")
        if self.decision == "accepted":
            if self.form is None or self.amount is None:
                raise ValueError("form: an application is accepted only with its bond received (form and amount)")
            if self.form == BondForm.GUARANTEE and (not self.bank or not self.letter_no):
                raise ValueError("bank: a bank guarantee letter needs its bank and letter number")
        return self


class WithdrawIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


# --- reading ----------------------------------------------------------------------------------------


def _application_out(s: Session, case: Case, app: DetentionApplication) -> dict[str, Any]:
    ship = s.get(Shipment, case.shipment_id)
    office = s.get(CustomsOffice, case.customs_office_id)
    lines = list(s.exec(select(Line).where(Line.case_id == case.id).order_by(Line.number)))
    rec = s.get(Recordation, lines[0].recordation_id) if lines else None
    answer = s.exec(select(Answer).join(Notice, col(Notice.id) == Answer.notice_id).where(Notice.case_id == case.id)).first()
    return {
        "case_number": case.number,
        "state": app.decision or "filed",
        "customs_office": office.name if office else "",
        "declaration_no": ship.declaration_no if ship else "",
        "recordation": rec.number if rec else "",
        "brand": rec.brand if rec else "",
        "lines": [{"number": ln.number, "description": ln.description, "quantity": ln.quantity, "unit": ln.unit,
                   "value": str(ln.value), "state": ln.state, "court_due": ln.court_due.isoformat() if ln.court_due else None}
                  for ln in lines],
        "value": str(sum((ln.value for ln in lines), Decimal("0.00"))),
        "bond_required": str(answer.bond_required) if answer and answer.bond_required is not None else None,
        "bond_received": str(answer.bond_amount) if answer and answer.bond_accepted_at else None,
        "grounds": app.grounds,
        "expected_on": app.expected_on.isoformat() if app.expected_on else None,
        "transport": app.transport,
        "filed_at": app.filed_at.isoformat(),
        "decided_at": app.decided_at.isoformat() if app.decided_at else None,
        "reason": app.reason,
    }


def _lock(s: Session, who: Actor, case_number: str, *, lock: bool = True) -> tuple[Case, DetentionApplication]:
    q_case = select(Case).where(Case.number == case_number)
    case = visible_case(s, s.exec(q_case.with_for_update() if lock else q_case).first(), who, case_number)
    q_app = select(DetentionApplication).where(DetentionApplication.case_id == case.id)
    app = s.exec(q_app.with_for_update() if lock else q_app).first()
    if case.route != Route.APPLICATION or app is None:
        raise NotFound("application", case_number)
    return case, app


def get_application(*, case_number: str, actor: str, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        if who.role == Role.CONSIGNOR:
            raise NotFound("application", case_number)  # the consignor has the detention receipt, not the application
        case, app = _lock(s, who, case_number, lock=False)
        return _application_out(s, case, app)


def list_applications(*, actor: str, limit: int = 200, uow: UnitOfWork | None = None) -> list[dict[str, Any]]:
    """A rights holder's own applications, or those filed with an officer's office, newest first."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        q = select(Case, DetentionApplication).join(DetentionApplication, col(DetentionApplication.case_id) == Case.id)
        if who.role == Role.RIGHTS_HOLDER:
            q = q.where(DetentionApplication.rights_holder_id == who.rights_holder_id)
        elif who.role in (Role.IPR_OFFICER, Role.SITE_OFFICER, Role.MANAGER):
            q = q.where(Case.customs_office_id == who.customs_office_id)
        else:
            require_role(who, "list detention applications", Role.ADMIN)
        rows = s.exec(q.order_by(col(DetentionApplication.filed_at).desc(), col(Case.id).desc()).limit(limit))
        return [_application_out(s, case, app) for case, app in rows]


def offices_to_apply_to(*, actor: str, uow: UnitOfWork | None = None) -> list[tuple[str, str]]:
    """(code, name) of every customs office, for the application form."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        require_role(load_actor(s, actor), "apply for a detention", Role.RIGHTS_HOLDER)
        return [(o.code, o.name) for o in s.exec(select(CustomsOffice).order_by(CustomsOffice.code))]


# --- filing -----------------------------------------------------------------------------------------


def _recordation(s: Session, who: Actor, number: str, on: date) -> Recordation:
    rec = s.exec(select(Recordation).where(Recordation.number == number)).first()
    if rec is None or rec.rights_holder_id != who.rights_holder_id:
        raise InvalidInput("recordation", "no recordation {number} of yours", number=number)  # another holder's does not exist for you
    if not rec.valid_from <= on <= rec.valid_until:
        raise InvalidInput("recordation", "recordation {number} is not valid on {on} ({valid_from} to {valid_until})",
                           number=number, on=on, valid_from=rec.valid_from, valid_until=rec.valid_until)
    return rec


def file_application(*, application: ApplicationIn | dict[str, Any], actor: str, now: datetime | None = None,
                     idempotency_key: str | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """A rights holder applies for the detention of a named shipment (Reg 12, 13); customs reviews it."""
    uow = given(uow)
    data = application if isinstance(application, ApplicationIn) else ApplicationIn.model_validate(application)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "apply for a detention", Role.RIGHTS_HOLDER)
        done = replay(s, idempotency_key, FILE_APPLICATION)
        if done is not None:
            case, app = _lock(s, who, done["case_number"])
            return _application_out(s, case, app)
        office, rec = _admissible(s, who, data, now)
        consignor = consignor_of(s, data.consignor)
        case, app, notice = _open_application_case(s, who, data, office, rec, consignor, now)
        value = sum((ln.value for ln in data.lines), Decimal("0"))
        required = application_bond(value)
        record(s, actor=who, action="case.opened", subject=f"case:{case.number}", at=now, case_id=case.id,
               after={"declaration_no": data.declaration_no, "customs_office": office.name, "lines": len(data.lines),
                      "route": Route.APPLICATION.value})
        lines = _applied_lines(s, case, notice, rec, consignor, data.lines, now)
        _detention_answer(s, who, notice, lines, required, data.grounds, now)
        record(s, actor=who, action="application.filed", subject=f"case:{case.number}", at=now, case_id=case.id,
               after={"recordation": rec.number, "brand": rec.brand, "value": str(value), "bond_required": str(required),
                      "lines": [ln.number for ln in lines], "flags": sorted({f for ln in lines for f in ln.match_flags}),
                      "expected_on": data.expected_on.isoformat() if data.expected_on else None})
        open_task(s, kind=TaskKind.REVIEW_APPLICATION, case_id=case.id, customs_office_id=office.id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER, notice_id=notice.id, due_at=confirm_by(s, now), priority=5,
                  title=f"Review the detention application {case.number} ({rec.brand}, bond RMB {required})", now=now)
        publish(s, topic="case.opened", case_id=case.id, at=now,
                payload={"case_number": case.number, "notice_ids": [notice.id], "route": Route.APPLICATION.value})
        remember(s, idempotency_key, FILE_APPLICATION, {"case_number": case.number})
        return _application_out(s, case, app)


def _admissible(s: Session, who: Actor, data: ApplicationIn, now: datetime) -> tuple[CustomsOffice, Recordation]:
    """The office and the holder's recordation an application names, once it may be filed: goods not expected
    in the past, a declaration with no case yet (its name lock held: one case per declaration, even when
    filed twice at once)."""
    if data.expected_on is not None and data.expected_on < local_date(now):
        raise InvalidInput("expected_on", "is in the past")
    office = find_office(s, data.customs_office)
    rec = _recordation(s, who, data.recordation, local_date(now))
    lock_name(s, f"declaration:{data.declaration_no}")
    existing = s.exec(select(Shipment, Case).join(Case, col(Case.shipment_id) == Shipment.id)
                      .where(Shipment.declaration_no == data.declaration_no)).first()
    if existing is not None:
        raise InvalidInput("declaration_no", "declaration {declaration_no} already has a case at customs: "
                                             "answer its confirmation notice instead",
                           declaration_no=data.declaration_no)
    return office, rec


def _open_application_case(s: Session, who: Actor, data: ApplicationIn, office: CustomsOffice, rec: Recordation,
                           consignor: Consignor, now: datetime) -> tuple[Case, DetentionApplication, Notice]:
    """The shipment, its case numbered in the year's sequence, the application, and the holder's notice (applied:
    the application is the holder's answer)."""
    ship = Shipment(declaration_no=data.declaration_no, direction=data.direction.value, customs_office_id=office.id,  # type: ignore[arg-type]
                    consignor_id=consignor.id, found_at=now)  # type: ignore[arg-type]
    s.add(ship)
    s.flush()
    year = local_date(now).year
    number = f"YQ-{year}-{next_number(s, f'case-{year}'):06d}"
    case = Case(number=number, shipment_id=ship.id, customs_office_id=office.id, opened_at=now,  # type: ignore[arg-type]
                opened_by_id=who.id, route=Route.APPLICATION.value)
    s.add(case)
    s.flush()
    app = DetentionApplication(case_id=case.id, rights_holder_id=rec.rights_holder_id, grounds=data.grounds,  # type: ignore[arg-type]
                               expected_on=data.expected_on, transport=data.transport, filed_by_id=who.id,
                               filed_at=now)
    s.add(app)
    notice = Notice(case_id=case.id, rights_holder_id=rec.rights_holder_id, state=NoticeState.APPLIED.value,  # type: ignore[arg-type]
                    issued_at=now, answered_at=now)
    s.add(notice)
    s.flush()
    return case, app, notice


def _applied_lines(s: Session, case: Case, notice: Notice, rec: Recordation, consignor: Consignor,
                   lines_in: list[ApplicationLineIn], now: datetime) -> list[Line]:
    """The application's lines, applied for under the recordation, with the flags a reviewer checks."""
    lines = []
    for i, line_in in enumerate(lines_in, start=1):
        state = transition(f"{case.number}/{i}", None, LineState.APPLIED, Reason.APPLICATION)
        line = Line(case_id=case.id, number=i, description=line_in.description, brand=rec.brand,  # type: ignore[arg-type]
                    quantity=line_in.quantity, unit=line_in.unit, value=line_in.value, recordation_id=rec.id,  # type: ignore[arg-type]
                    rights_holder_id=rec.rights_holder_id, notice_id=notice.id, state=state.value,
                    state_reason=Reason.APPLICATION.value, suspended_at=now, nice_class=line_in.nice_class,
                    match_flags=match_flags(right_type=rec.right_type, classes=rec.classes,
                                            nice_class=line_in.nice_class, licensees=rec.licensees,
                                            consignor_name=consignor.name))
        s.add(line)
        lines.append(line)
    s.flush()
    return lines


def _detention_answer(s: Session, who: Actor, notice: Notice, lines: list[Line], required: Decimal, grounds: str,
                      now: datetime) -> None:
    """The application stands as the holder's answer: every line infringing, detention asked, an individual
    bond of ``required`` (Reg 14, Meas 23)."""
    ans = Answer(notice_id=notice.id, answered_by_id=who.id, answered_at=now, detain=True,  # type: ignore[arg-type]
                 bond_kind=BondKind.INDIVIDUAL.value, bond_required=required, comment=grounds)
    s.add(ans)
    s.flush()
    for line in lines:
        s.add(LineVerdict(answer_id=ans.id, line_id=line.id, verdict=Verdict.INFRINGING.value))  # type: ignore[arg-type]


# --- customs' decision ------------------------------------------------------------------------------


def review_application_in(s: Session, *, who: Actor, case: Case, review: ApplicationReviewIn,
                          now: datetime) -> dict[str, Any]:
    """Accept (the bond received: the lines are detained) or reject (with the reason) an application."""
    require_role(who, "decide on a detention application", Role.IPR_OFFICER, Role.ADMIN)
    if who.role == Role.IPR_OFFICER and who.customs_office_id != case.customs_office_id:
        raise NotFound("application", case.number)
    app = s.exec(select(DetentionApplication).where(DetentionApplication.case_id == case.id).with_for_update()).first()
    if case.route != Route.APPLICATION or app is None:
        raise NotFound("application", case.number)
    if app.decision is not None:
        raise ConcurrentUpdate(f"application {case.number}", "already {decision} ({decided_at})", decision=app.decision,
                               decided_at=app.decided_at or "")
    notice = s.exec(select(Notice).where(Notice.case_id == case.id).with_for_update()).first()
    ans = s.exec(select(Answer).where(Answer.notice_id == notice.id)).first() if notice else None
    assert notice is not None and ans is not None
    lines = list(s.exec(select(Line).where(Line.notice_id == notice.id, Line.state == LineState.APPLIED.value)
                        .order_by(Line.number).with_for_update()))
    app.decision, app.reason, app.decided_by_id, app.decided_at = review.decision, review.reason, who.id, now
    s.add(app)
    out: dict[str, Any] = {"case_number": case.number, "decision": review.decision, "reason": review.reason}
    if review.decision == "accepted":
        assert review.form is not None and review.amount is not None
        required = take_bond(s, who=who, case=case, notice=notice, answer=ans, now=now, receipt=BondReceiptIn(
            form=review.form, amount=review.amount, bank=review.bank, letter_no=review.letter_no,
            evidence_id=review.evidence_id))
        case.confirmed_at = now  # an IPR officer checked the lines against the recordation
        case.version += 1
        s.add(case)
        move_lines(s, case=case, lines=lines, target=LineState.DETAINED, reason=Reason.APPLICATION_ACCEPTED, who=who,
                   at=now, notice_id=notice.id, deadline_met=True, note=review.reason)
        for line in lines:
            open_task(s, kind=TaskKind.AWAIT_COURT, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                      candidate_group=Role.IPR_OFFICER, line_id=line.id, notice_id=notice.id,
                      due_at=end_of_day(line.court_due) if line.court_due else None, priority=40,
                      title=f"Court notice awaited for {case.number}/{line.number} ({line.brand}) within 20 working days",
                      now=now)
        out.update(bond=str(review.amount), required=str(required),
                   court_due={ln.number: ln.court_due.isoformat() if ln.court_due else None for ln in lines})
    else:
        move_lines(s, case=case, lines=lines, target=LineState.RELEASED, reason=Reason.APPLICATION_REJECTED, who=who,
                   at=now, notice_id=notice.id, deadline_met=True, note=review.reason)
    notice.state = NoticeState.ANSWERED.value
    notice.version += 1
    s.add(notice)
    after = {"reason": review.reason, "lines": [ln.number for ln in lines]}
    if review.decision == "accepted":
        record(s, actor=who, action="application.accepted", subject=f"case:{case.number}", at=now, case_id=case.id, after=after)
    else:
        record(s, actor=who, action="application.rejected", subject=f"case:{case.number}", at=now, case_id=case.id, after=after)
    publish(s, topic="application.decided", case_id=case.id, at=now,
            payload={"case_number": case.number, "decision": review.decision})
    close_if_done(s, case, who, now)
    return out


def review_application(*, case_number: str, actor: str, review: ApplicationReviewIn | dict[str, Any],
                       now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    data = review if isinstance(review, ApplicationReviewIn) else ApplicationReviewIn.model_validate(review)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "decide on a detention application", Role.IPR_OFFICER, Role.ADMIN)
        case = visible_case(s, s.exec(select(Case).where(Case.number == case_number).with_for_update()).first(), who, case_number)
        out = review_application_in(s, who=who, case=case, review=data, now=now)
        close_tasks(s, kind=TaskKind.REVIEW_APPLICATION, who=who, now=now, line_id=None,
                    notice_id=s.exec(select(Notice.id).where(Notice.case_id == case.id)).first(),
                    outcome={"outcome": data.decision, **data.model_dump(mode="json")})
        return out


def withdraw_application(*, case_number: str, actor: str, withdrawal: WithdrawIn | dict[str, Any] | None = None,
                         now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """The rights holder withdraws its application before customs decides on the goods (Reg 24(5)): lines
    awaiting review or detained are released; a bond received can then be settled."""
    from services.disposal import open_settlement_if_ready
    uow = given(uow)

    data = withdrawal if isinstance(withdrawal, WithdrawIn) else WithdrawIn.model_validate(withdrawal or {})
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "withdraw a detention application", Role.RIGHTS_HOLDER)
        case, app = _lock(s, who, case_number)
        lines = list(s.exec(select(Line).where(Line.case_id == case.id, col(Line.state).in_(
            [LineState.APPLIED.value, LineState.DETAINED.value])).order_by(Line.number).with_for_update()))
        if not lines:
            raise ConcurrentUpdate(f"application {case_number}", "no goods await a decision: nothing to withdraw")
        if app.decision is None:
            app.decision, app.reason, app.decided_by_id, app.decided_at = "withdrawn", data.reason, who.id, now
            s.add(app)
        notice = s.exec(select(Notice).where(Notice.case_id == case.id).with_for_update()).first()
        assert notice is not None
        move_lines(s, case=case, lines=lines, target=LineState.RELEASED, reason=Reason.WITHDRAWN, who=who, at=now,
                   notice_id=notice.id, note=data.reason)
        if notice.state == NoticeState.APPLIED:
            notice.state = NoticeState.ANSWERED.value
            notice.version += 1
            s.add(notice)
        cancel_notice_tasks(s, notice, now)  # the review and the wait for a court notice: nothing left to do
        record(s, actor=who, action="application.withdrawn", subject=f"case:{case_number}", at=now, case_id=case.id,
               after={"reason": data.reason, "lines": [ln.number for ln in lines]})
        publish(s, topic="application.decided", case_id=case.id, at=now,
                payload={"case_number": case.number, "decision": "withdrawn"})
        open_settlement_if_ready(s, case=case, line=lines[0], now=now)
        close_if_done(s, case, who, now)
        return _application_out(s, case, app)


__all__ = ["ApplicationIn", "ApplicationLineIn", "ApplicationReviewIn", "WithdrawIn", "file_application",
           "review_application", "review_application_in", "withdraw_application", "get_application",
           "list_applications", "offices_to_apply_to"]
