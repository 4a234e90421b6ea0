"""Transfer of a suspected crime to the police (移送公安机关, Reg 26), as an IPR officer's act."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints
from sqlmodel import Session, col, select

from models.enums import LineState, Reason, Role, TaskKind
from models.rules.errors import InvalidInput
from models.schemas import Strict
from models.tables import Case, Line, PoliceTransfer
from services.bonds import close_tasks
from services.cases import close_if_done, visible_case
from services.context import Actor, load_actor, now_or, record, require_role
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given


class TransferIn(Strict):
    lines: list[int] = Field(min_length=1, max_length=2000)
    police_unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    reference: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    grounds: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


def transfer_in(s: Session, *, who: Actor, case: Case, form: TransferIn, now: datetime) -> dict[str, Any]:
    require_role(who, "transfer a case to the police", Role.IPR_OFFICER, Role.ADMIN)
    lines = list(s.exec(select(Line).where(Line.case_id == case.id, col(Line.number).in_(form.lines))
                        .order_by(Line.number).with_for_update()))
    missing = sorted(set(form.lines) - {ln.number for ln in lines})
    if missing:
        raise InvalidInput("lines", "no line(s) {lines} in case {case}", lines=missing,
                           case=case.number)
    wrong = [ln.number for ln in lines if ln.state != LineState.DETAINED.value]
    if wrong:
        raise InvalidInput("lines", "line(s) {lines} are not detained: only detained goods are transferred",
                           lines=wrong)
    pt = PoliceTransfer(case_id=case.id, line_ids=[ln.id for ln in lines], police_unit=form.police_unit,  # type: ignore[arg-type,misc]
                        reference=form.reference, grounds=form.grounds, transferred_by_id=who.id, transferred_at=now)
    s.add(pt)
    s.flush()
    record(s, actor=who, action="case.transferred", subject=f"transfer:{pt.id}", at=now, case_id=case.id,
           after={"lines": sorted(form.lines), "police_unit": form.police_unit, "reference": form.reference})
    move_lines(s, case=case, lines=lines, target=LineState.TRANSFERRED, reason=Reason.SUSPECTED_CRIME, who=who, at=now,
               note=f"{form.police_unit} {form.reference}".strip())
    for ln in lines:
        close_tasks(s, kind=TaskKind.INVESTIGATE, who=who, now=now, line_id=ln.id,
                    outcome={"outcome": "transferred", "transfer_id": pt.id})
    close_if_done(s, case, who, now)
    return {"transfer_id": pt.id, "case": case.number, "lines": sorted(form.lines), "police_unit": form.police_unit}


def transfer_to_police(*, case_number: str, actor: str, transfer: TransferIn | dict[str, Any],
                       now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    data = transfer if isinstance(transfer, TransferIn) else TransferIn.model_validate(transfer)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "transfer a case to the police", Role.IPR_OFFICER, Role.ADMIN)
        case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
        return transfer_in(s, who=who, case=case, form=data, now=now)
