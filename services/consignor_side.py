"""The consignor's side: its written statement and evidence that the goods do not infringe (Reg 18,
24(4)). The IPR officer reviews it; accepted, the goods are released with the reason."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from sqlmodel import Session, col, select

from models.enums import LineState, Reason, Role, TaskKind
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound
from models.schemas import Strict
from models.tables import Case, ConsignorStatement, Line, Shipment
from services.bonds import close_tasks, evidence_of_case
from services.cases import close_if_done, visible_case
from services.context import Actor, load_actor, now_or, open_task, record, require_role
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given

_ARGUABLE = (LineState.DETAINED.value, LineState.UNDETERMINED.value)


class StatementIn(Strict):
    lines: list[int] = Field(min_length=1, max_length=2000)
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20000)]
    evidence_ids: list[int] = Field(default_factory=list, max_length=100)


class StatementReviewIn(Strict):
    decision: Literal["accepted", "rejected"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


def file_statement(*, case_number: str, actor: str, statement: StatementIn | dict[str, Any],
                   now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """The consignor files its statement and evidence on detained lines; the IPR officer gets a task."""
    uow = given(uow)
    data = statement if isinstance(statement, StatementIn) else StatementIn.model_validate(statement)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "file a consignor's statement", Role.CONSIGNOR)
        case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
        ship = s.get(Shipment, case.shipment_id)
        assert ship is not None
        lines = list(s.exec(select(Line).where(Line.case_id == case.id, col(Line.number).in_(data.lines))))
        missing = sorted(set(data.lines) - {ln.number for ln in lines})
        if missing:
            raise InvalidInput("lines", "no line(s) {lines} in case {case}", lines=missing,
                               case=case_number)
        wrong = [ln.number for ln in lines if ln.state not in _ARGUABLE]
        if wrong:
            raise InvalidInput("lines", "line(s) {lines} are not detained: nothing to argue",
                               lines=wrong)
        for ev in data.evidence_ids:
            evidence_of_case(s, case, ev)
        st = ConsignorStatement(case_id=case.id, consignor_id=ship.consignor_id, line_ids=[ln.id for ln in lines],  # type: ignore[arg-type,misc]
                                evidence_ids=list(data.evidence_ids), text=data.text, filed_by_id=who.id, filed_at=now)
        s.add(st)
        s.flush()
        record(s, actor=who, action="statement.filed", subject=f"statement:{st.id}", at=now, case_id=case.id,
               after={"lines": sorted(data.lines), "evidence_ids": list(data.evidence_ids)})
        open_task(s, kind=TaskKind.REVIEW_STATEMENT, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER, line_id=lines[0].id, due_at=None, priority=30, now=now,
                  title=f"Review the consignor's statement {st.id} on {case.number} (Reg 18)")
        return {"statement_id": st.id, "case": case.number, "lines": sorted(data.lines)}


def review_statement_in(s: Session, *, who: Actor, statement: ConsignorStatement, review: StatementReviewIn,
                        now: datetime) -> dict[str, Any]:
    require_role(who, "review a consignor's statement", Role.IPR_OFFICER, Role.ADMIN)
    case = s.get(Case, statement.case_id)
    assert case is not None
    if statement.decision is not None:
        raise ConcurrentUpdate(f"statement {statement.id}", "was already {decision}", decision=statement.decision)
    statement.decision, statement.reason = review.decision, review.reason
    statement.decided_by_id, statement.decided_at = who.id, now
    s.add(statement)
    record(s, actor=who, action="statement.reviewed", subject=f"statement:{statement.id}", at=now, case_id=case.id,
           after={"decision": review.decision, "reason": review.reason})
    released: list[int] = []
    if review.decision == "accepted":
        lines = [ln for ln in s.exec(select(Line).where(col(Line.id).in_(statement.line_ids)).order_by(Line.number))
                 if ln.state in _ARGUABLE]
        move_lines(s, case=case, lines=lines, target=LineState.RELEASED, reason=Reason.STATEMENT_ACCEPTED, who=who,
                   at=now, note=review.reason)
        for ln in lines:
            close_tasks(s, kind=TaskKind.INVESTIGATE, who=who, now=now, line_id=ln.id,
                        outcome={"outcome": "statement-accepted", "statement_id": statement.id})
        released = [ln.number for ln in lines]
        close_if_done(s, case, who, now)
    return {"statement_id": statement.id, "decision": review.decision, "released": released}


def review_statement(*, statement_id: int, actor: str, review: StatementReviewIn | dict[str, Any],
                     now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    data = review if isinstance(review, StatementReviewIn) else StatementReviewIn.model_validate(review)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "review a consignor's statement", Role.IPR_OFFICER, Role.ADMIN)
        st = s.exec(select(ConsignorStatement).where(ConsignorStatement.id == statement_id).with_for_update()).first()
        if st is None:
            raise NotFound("statement", statement_id)
        visible_case(s, s.get(Case, st.case_id), who, statement_id)
        out = review_statement_in(s, who=who, statement=st, review=data, now=now)
        close_tasks(s, kind=TaskKind.REVIEW_STATEMENT, who=who, now=now, line_id=st.line_ids[0],
                    outcome={"outcome": data.decision, "reason": data.reason})
        return out


def statement_of_task(s: Session, case_id: int, line_id: int | None) -> ConsignorStatement:
    """The open statement a review task is about (its task names the statement's first line)."""
    for st in s.exec(select(ConsignorStatement).where(ConsignorStatement.case_id == case_id,
                                                      col(ConsignorStatement.decision).is_(None))
                     .order_by(ConsignorStatement.id)):
        if st.line_ids and st.line_ids[0] == line_id:
            return st
    raise NotFound("open statement of case", case_id)
