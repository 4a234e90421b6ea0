"""Decisions on detained goods by an IPR officer (Reg 19, 20, 23, 24, 27; Meas 28).

The 30-working-day investigation is customs' own deadline: only an officer decides whether the goods
infringe (confiscation), do not (release), or cannot be determined (written notice to the rights holder
and the consignor). The system never decides by itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlmodel import Session, select

from models.enums import LineState, Reason, Role, Route, TaskKind
from models.rules.errors import InvalidInput, NotFound
from models.rules.workdays import end_of_day
from models.schemas import LineOut, Strict
from models.tables import Case, Line, Recordation
from models.text import plain
from services.bonds import close_tasks
from services.cases import close_if_done, line_view, visible_case
from services.context import Actor, load_actor, now_or, open_task, require_role
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given

OUTCOMES: dict[str, tuple[LineState, Reason]] = {
    "confiscate": (LineState.CONFISCATED, Reason.INFRINGEMENT_DETERMINED),
    "infringing": (LineState.CONFISCATED, Reason.INFRINGEMENT_DETERMINED),
    "not-infringing": (LineState.RELEASED, Reason.NOT_INFRINGING),
    "cannot-determine": (LineState.UNDETERMINED, Reason.CANNOT_DETERMINE),
    "court-notice": (LineState.COURT_HOLD, Reason.COURT_NOTICE),
    "withdrawn": (LineState.RELEASED, Reason.WITHDRAWN),
    "counter-bond": (LineState.RELEASED, Reason.COUNTER_BOND),
}

#: what an investigation may conclude (Reg 20, Meas 28)
INVESTIGATION_OUTCOMES = ("infringing", "not-infringing", "cannot-determine")


class InvestigationIn(Strict):
    """The officer's finding on a detained line, with the reasons."""

    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""


def lock_line(s: Session, who: Actor, case_number: str, line_number: int) -> tuple[Case, Line]:
    case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
    line = s.exec(select(Line).where(Line.case_id == case.id, Line.number == line_number).with_for_update()).first()
    if line is None:
        raise NotFound("line", f"{case_number}/{line_number}")
    return case, line


def decide_in(s: Session, *, who: Actor, case: Case, line: Line, outcome: str, note: str, now: datetime,
              skip_task: int | None = None) -> Line:
    """Move a detained (or undetermined) line as the officer decides; the state rules refuse the rest."""
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome", "must be one of {outcomes}", outcomes=list(OUTCOMES))
    require_role(who, "decide on detained goods", Role.IPR_OFFICER, Role.ADMIN)
    target, reason = OUTCOMES[outcome]
    if case.route == Route.APPLICATION and outcome in (*INVESTIGATION_OUTCOMES, "confiscate"):
        raise InvalidInput("outcome", "goods detained on a rights holder's application are not investigated by customs "
                                      "(Reg 20 is for ex officio detentions): a court notice within 20 working days "
                                      "holds them, otherwise they are released (Reg 24(1))")
    rec = s.get(Recordation, line.recordation_id)
    if reason == Reason.COUNTER_BOND and (rec is None or rec.right_type != "patent"):
        raise InvalidInput("outcome", "a counter-bond releases goods only in patent cases (Reg 19)")
    met = None
    if target in (LineState.CONFISCATED, LineState.UNDETERMINED) or reason == Reason.NOT_INFRINGING:
        met = line.investigation_due is None or now <= end_of_day(line.investigation_due)
    move_lines(s, case=case, lines=[line], target=target, reason=reason, who=who, at=now, note=note, deadline_met=met)
    close_tasks(s, kind=TaskKind.INVESTIGATE, who=who, now=now, line_id=line.id, skip=skip_task,
                outcome={"outcome": outcome, "note": note})
    if target == LineState.CONFISCATED:
        open_task(s, kind=TaskKind.DISPOSE, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER, line_id=line.id, notice_id=line.notice_id, due_at=None,
                  priority=60, title=f"Dispose of confiscated line {case.number}/{line.number} ({line.brand}) (Reg 27)",
                  now=now)
    close_if_done(s, case, who, now)
    return line


def investigation_in(s: Session, *, who: Actor, case: Case, line: Line, outcome: str, note: str,
                     now: datetime, skip_task: int | None = None) -> dict[str, Any]:
    """The investigation's conclusion (Reg 20, Meas 28): infringing, not infringing, or cannot determine."""
    if outcome not in INVESTIGATION_OUTCOMES:
        raise InvalidInput("outcome", "must be one of {outcomes}", outcomes=list(INVESTIGATION_OUTCOMES))
    if line.state != LineState.DETAINED.value:
        raise InvalidInput("outcome", "line {line} is {state}: only detained goods are investigated",
                           line=f"{case.number}/{line.number}", state=line.state)
    decide_in(s, who=who, case=case, line=line, outcome=outcome, note=note, now=now, skip_task=skip_task)
    return {"case": case.number, "line": line.number, "state": line.state, "reason": line.state_reason}


def decide_investigation(*, case_number: str, line_number: int, actor: str, outcome: str, note: str = "",
                         now: datetime | None = None, uow: UnitOfWork | None = None) -> LineOut:
    """An IPR officer concludes the investigation of a detained line."""
    uow = given(uow)
    data = InvestigationIn(note=note)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "decide on detained goods", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        investigation_in(s, who=who, case=case, line=line, outcome=outcome, note=data.note, now=now)
        rec = s.get(Recordation, line.recordation_id)
        return line_view(s, line, {rec.id: rec} if rec else {}, {})


def decide_line(*, case_number: str, line_number: int, actor: str, outcome: str, note: str = "",
                now: datetime | None = None, uow: UnitOfWork | None = None) -> LineOut:
    uow = given(uow)
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome", "must be one of {outcomes}", outcomes=list(OUTCOMES))
    if outcome == "counter-bond":  # the release is the act of recording what customs received (Reg 19)
        raise InvalidInput("outcome", "a counter-bond (patent goods, Reg 19) releases the line when it is recorded "
                                      "with what customs received: services.counter_bonds.record_counter_bond "
                                      "(yunque counter-bond receive)")
    note = plain("note", note, multiline=True)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "decide on detained goods", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        decide_in(s, who=who, case=case, line=line, outcome=outcome, note=note, now=now)
        rec = s.get(Recordation, line.recordation_id)
        return line_view(s, line, {rec.id: rec} if rec else {}, {})
