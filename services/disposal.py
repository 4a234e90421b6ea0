"""Confiscated goods: their disposal in the order of Reg 27, and the costs charged to the rights holder
(Reg 25, Meas 35)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator
from sqlmodel import Session, col, select

from models.enums import CostKind, DisposalMethod, LineState, Role, TaskKind, TaskState
from models.rules.bonds import disposal_order_ok
from models.rules.errors import ConcurrentUpdate, InvalidInput
from models.schemas import Strict, _money, positive_money
from models.tables import Answer, Case, CaseCost, Disposal, Line, Task
from services.bonds import close_tasks, evidence_of_case
from services.context import Actor, load_actor, now_or, open_task, record, require_role
from services.detention import lock_line
from services.unit_of_work import UnitOfWork, given

Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class DisposalIn(Strict):
    method: DisposalMethod
    why_not_earlier: Note = ""  # Reg 27: why public welfare (and the methods before this one) were not possible
    recipient: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    evidence_id: int | None = Field(default=None, gt=0)
    cost: Decimal | None = None  # the disposal's own cost, if any

    @field_validator("cost", mode="before")
    @classmethod
    def _cost(cls, v: object, info) -> Decimal | None:  # noqa: ANN001
        return None if v is None else _money(v, info)


class CostIn(Strict):
    kind: CostKind
    amount: Decimal
    note: Note = ""

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, v: object, info) -> Decimal:  # noqa: ANN001
        return positive_money(v, info)


def add_cost(s: Session, *, who: Actor, case: Case, line: Line, cost: CostIn, now: datetime) -> dict[str, Any]:
    if line.notice_id is None:
        raise InvalidInput("line", "line {line} has no rights holder's notice to charge", line=f"{case.number}/{line.number}")
    s.add(CaseCost(case_id=case.id, notice_id=line.notice_id, line_id=line.id, kind=cost.kind.value,  # type: ignore[arg-type]
                   amount=cost.amount, note=cost.note, recorded_by_id=who.id, recorded_at=now))
    record(s, actor=who, action="cost.recorded", subject=f"line:{case.number}/{line.number}", at=now, case_id=case.id,
           after={"kind": cost.kind.value, "amount": str(cost.amount), "note": cost.note})
    return {"case": case.number, "line": line.number, "kind": cost.kind.value, "amount": str(cost.amount)}


def record_cost_in(s: Session, *, who: Actor, case: Case, line: Line, cost: CostIn, now: datetime) -> dict[str, Any]:
    """Storage, handling or disposal costs of a detained line, charged to its rights holder."""
    require_role(who, "record costs", Role.IPR_OFFICER, Role.ADMIN)
    if line.detained_at is None:
        raise InvalidInput("line", "line {line} was never detained: no costs to charge", line=f"{case.number}/{line.number}")
    return add_cost(s, who=who, case=case, line=line, cost=cost, now=now)


def record_cost(*, case_number: str, line_number: int, actor: str, cost: CostIn | dict[str, Any],
                now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    data = cost if isinstance(cost, CostIn) else CostIn.model_validate(cost)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "record costs", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        return record_cost_in(s, who=who, case=case, line=line, cost=data, now=now)


def record_disposal_in(s: Session, *, who: Actor, case: Case, line: Line, disposal: DisposalIn,
                       now: datetime) -> dict[str, Any]:
    """Record how confiscated goods were disposed of (Reg 27), with evidence; settle the bond next."""
    require_role(who, "record a disposal", Role.IPR_OFFICER, Role.ADMIN)
    if line.state != LineState.CONFISCATED.value:
        raise InvalidInput("line", "line {line} is {state}: only confiscated goods are disposed of",
                           line=f"{case.number}/{line.number}", state=line.state)
    if line.disposed_at is not None:
        raise ConcurrentUpdate(f"line {case.number}/{line.number}", "was disposed of already ({when})",
                               when=line.disposed_at)
    if not disposal_order_ok(disposal.method.value, disposal.why_not_earlier):
        raise InvalidInput("why_not_earlier", "{method} comes after public welfare in Reg 27: say why the "
                                              "earlier methods could not be used", method=disposal.method)
    if disposal.method == DisposalMethod.AUCTION and not disposal.why_not_earlier:
        raise InvalidInput("why_not_earlier", "an auction needs the infringing features removed first (Reg 27)")
    ev = evidence_of_case(s, case, disposal.evidence_id)
    s.add(Disposal(case_id=case.id, line_id=line.id, method=disposal.method.value,  # type: ignore[arg-type]
                   why_not_earlier=disposal.why_not_earlier, recipient=disposal.recipient, evidence_id=ev,
                   recorded_by_id=who.id, recorded_at=now))
    line.disposed_at = now
    line.version += 1
    s.add(line)
    record(s, actor=who, action="line.disposed", subject=f"line:{case.number}/{line.number}", at=now, case_id=case.id,
           after={"method": disposal.method.value, "why_not_earlier": disposal.why_not_earlier,
                  "recipient": disposal.recipient, "evidence_id": ev})
    if disposal.cost:
        add_cost(s, who=who, case=case, line=line, cost=CostIn(kind=CostKind.DISPOSAL, amount=disposal.cost), now=now)
    open_settlement_if_ready(s, case=case, line=line, now=now)
    return {"case": case.number, "line": line.number, "method": disposal.method.value,
            "disposed_at": now.isoformat()}


def open_settlement_if_ready(s: Session, *, case: Case, line: Line, now: datetime) -> None:
    """Once every line of the notice is finished and disposed of, the bond can be settled (once)."""
    if line.notice_id is None:
        return
    live = [TaskState.OPEN.value, TaskState.CLAIMED.value, TaskState.COMPLETED.value]
    if s.exec(select(Task.id).where(Task.notice_id == line.notice_id, Task.kind == TaskKind.SETTLE_BOND.value,
                                    col(Task.state).in_(live))).first() is not None:
        return
    answer = s.exec(select(Answer).where(Answer.notice_id == line.notice_id)).first()
    if answer is None or answer.bond_accepted_at is None:
        return  # no bond customs holds: nothing to settle
    lines = list(s.exec(select(Line).where(Line.notice_id == line.notice_id)))
    busy = [ln for ln in lines if ln.state in (LineState.SUSPENDED.value, LineState.DETAINED.value,
                                               LineState.UNDETERMINED.value)
            or (ln.state == LineState.CONFISCATED.value and ln.disposed_at is None)
            or ln.state == LineState.APPLIED.value]
    if not busy:
        open_task(s, kind=TaskKind.SETTLE_BOND, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER, notice_id=line.notice_id, due_at=None, priority=70,
                  title=f"Settle the bond of notice {line.notice_id} ({case.number}): costs, then refund", now=now)


def record_disposal(*, case_number: str, line_number: int, actor: str, disposal: DisposalIn | dict[str, Any],
                    now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    data = disposal if isinstance(disposal, DisposalIn) else DisposalIn.model_validate(disposal)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "record a disposal", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        out = record_disposal_in(s, who=who, case=case, line=line, disposal=data, now=now)
        close_tasks(s, kind=TaskKind.DISPOSE, who=who, now=now, line_id=line.id,
                    outcome={"outcome": data.method.value, **data.model_dump(mode="json")})
        return out
