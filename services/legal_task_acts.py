"""The legal acts an IPR officer performs, as task acts: completing the task performs the act.

``LEGAL_TASK_ACTS`` maps a task kind to (form model, allowed outcomes, act). An act runs inside the
caller's session and commits nothing; the task registry (services/task_acts.py) validates the form,
checks the outcome, calls the act and completes the task in the same transaction. The services of
services/bonds.py, detention.py, court.py and disposal.py call the same inner functions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints
from sqlmodel import Session, select

from models.enums import DisposalMethod, TaskKind
from models.rules.errors import InvalidInput, NotFound
from models.schemas import Strict
from models.tables import Case, Line, Notice, Task
from services.applications import ApplicationReviewIn, review_application_in
from services.bonds import BondReceiptIn, SettleBondIn, record_bond_receipt_in, settle_bond_in
from services.context import Actor
from services.consignor_side import StatementReviewIn, review_statement_in, statement_of_task
from services.court import CourtNoticeIn, record_court_notice_in
from services.detention import INVESTIGATION_OUTCOMES, investigation_in
from services.disposal import DisposalIn, record_disposal_in

Act = Callable[..., dict[str, Any]]


class InvestigateForm(Strict):
    """The conclusion of an investigation; a court notice received meanwhile goes in ``court``."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""
    court: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    received_at: AwareDatetime | None = None
    evidence_id: int | None = Field(default=None, gt=0)


def _notice(s: Session, task: Task) -> Notice:
    notice = s.get(Notice, task.notice_id) if task.notice_id is not None else None
    if notice is None:
        raise NotFound("notice of task", task.id)
    return notice


def _line(s: Session, task: Task) -> tuple[Case, Line]:
    line = s.exec(select(Line).where(Line.id == task.line_id).with_for_update()).first() if task.line_id else None
    case = s.get(Case, task.case_id)
    if line is None or case is None:
        raise NotFound("line of task", task.id)
    return case, line


def check_bond_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel, now: datetime) -> dict[str, Any]:
    assert isinstance(form, BondReceiptIn)
    return record_bond_receipt_in(s, who=who, notice=_notice(s, task), receipt=form, now=now)


def investigate_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel, now: datetime) -> dict[str, Any]:
    assert isinstance(form, InvestigateForm)
    case, line = _line(s, task)
    if outcome == "court-notice":
        if not form.court or not form.reference:
            raise InvalidInput("court", "a court notice needs the court and its reference")
        return record_court_notice_in(s, who=who, case=case, line=line, now=now, notice=CourtNoticeIn(
            court=form.court, reference=form.reference, received_at=form.received_at, evidence_id=form.evidence_id))
    return investigation_in(s, who=who, case=case, line=line, outcome=outcome, note=form.note, now=now,
                            skip_task=task.id)


def dispose_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel, now: datetime) -> dict[str, Any]:
    assert isinstance(form, DisposalIn)
    if outcome != form.method.value:
        raise InvalidInput("outcome", "is {outcome} but the form says {form_says}", outcome=outcome,
                               form_says=form.method.value)
    case, line = _line(s, task)
    return record_disposal_in(s, who=who, case=case, line=line, disposal=form, now=now)


def settle_bond_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel, now: datetime) -> dict[str, Any]:
    assert isinstance(form, SettleBondIn)
    return settle_bond_in(s, who=who, notice=_notice(s, task), note=form.note, now=now)


def review_statement_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel,
                         now: datetime) -> dict[str, Any]:
    assert isinstance(form, StatementReviewIn)
    if outcome != form.decision:
        raise InvalidInput("outcome", "is {outcome} but the form says {form_says}", outcome=outcome,
                               form_says=form.decision)
    return review_statement_in(s, who=who, statement=statement_of_task(s, task.case_id, task.line_id), review=form,
                               now=now)


def review_application_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel,
                           now: datetime) -> dict[str, Any]:
    assert isinstance(form, ApplicationReviewIn)
    if outcome != form.decision:
        raise InvalidInput("outcome", "is {outcome} but the form says {form_says}", outcome=outcome,
                               form_says=form.decision)
    case = s.get(Case, task.case_id)
    if case is None:
        raise NotFound("case of task", task.id)
    return review_application_in(s, who=who, case=case, review=form, now=now)


def await_court_act(s: Session, *, who: Actor, task: Task, outcome: str, form: BaseModel, now: datetime) -> dict[str, Any]:
    assert isinstance(form, CourtNoticeIn)
    case, line = _line(s, task)
    return record_court_notice_in(s, who=who, case=case, line=line, notice=form, now=now, skip_task=task.id)


LEGAL_TASK_ACTS: dict[str, tuple[type[BaseModel], tuple[str, ...], Act]] = {
    TaskKind.CHECK_BOND.value: (BondReceiptIn, ("received",), check_bond_act),
    TaskKind.INVESTIGATE.value: (InvestigateForm, (*INVESTIGATION_OUTCOMES, "court-notice"), investigate_act),
    TaskKind.DISPOSE.value: (DisposalIn, tuple(m.value for m in DisposalMethod), dispose_act),
    TaskKind.SETTLE_BOND.value: (SettleBondIn, ("settled",), settle_bond_act),
    TaskKind.REVIEW_STATEMENT.value: (StatementReviewIn, ("accepted", "rejected"), review_statement_act),
    TaskKind.REVIEW_APPLICATION.value: (ApplicationReviewIn, ("accepted", "rejected"), review_application_act),
    TaskKind.AWAIT_COURT.value: (CourtNoticeIn, ("court-notice",), await_court_act),
}

#: the form field that states the outcome again; completing the task fills it from the outcome
LEGAL_OUTCOME_FIELDS: dict[str, str] = {
    TaskKind.DISPOSE.value: "method",
    TaskKind.REVIEW_STATEMENT.value: "decision",
    TaskKind.REVIEW_APPLICATION.value: "decision",
}
