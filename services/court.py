"""A people's court's notice of assistance in enforcement (协助执行通知, Reg 23, 24).

It may arrive any time after detention; the goods are then held for the court, and the release at 50
working days (ex officio) or 20 working days (on application) no longer applies to them (Reg 24)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, Field, StringConstraints
from sqlmodel import Session, select

from models.enums import LineState, Reason, Role, TaskKind
from models.rules.errors import ConcurrentUpdate, InvalidInput
from models.schemas import Strict
from models.tables import Case, CourtNotice, Line
from services.bonds import close_tasks, evidence_of_case
from services.cases import close_if_done
from services.context import Actor, load_actor, now_or, record, require_role
from services.detention import lock_line
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given


class CourtNoticeIn(Strict):
    court: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    received_at: AwareDatetime | None = None  # default: the moment it is recorded
    evidence_id: int | None = Field(default=None, gt=0)


def record_court_notice_in(s: Session, *, who: Actor, case: Case, line: Line, notice: CourtNoticeIn,
                           now: datetime, skip_task: int | None = None) -> dict[str, Any]:
    require_role(who, "record a court notice", Role.IPR_OFFICER, Role.ADMIN)
    if line.state not in (LineState.DETAINED.value, LineState.UNDETERMINED.value):
        if line.state == LineState.COURT_HOLD.value:
            raise ConcurrentUpdate(f"line {case.number}/{line.number}", "is already held for a court")
        raise InvalidInput("line", "line {line} is {state}: a court notice holds detained goods only (Reg 23)",
                           line=f"{case.number}/{line.number}", state=line.state)
    received = notice.received_at or now
    if received > now:
        raise InvalidInput("received_at", "is in the future")
    if line.detained_at is not None and received < line.detained_at:
        raise InvalidInput("received_at", "is before the goods were detained")
    ev = evidence_of_case(s, case, notice.evidence_id)
    s.add(CourtNotice(case_id=case.id, line_id=line.id, court=notice.court, reference=notice.reference,  # type: ignore[arg-type]
                      received_at=received, recorded_by_id=who.id, evidence_id=ev))
    record(s, actor=who, action="court.notice", subject=f"line:{case.number}/{line.number}", at=now, case_id=case.id,
           after={"court": notice.court, "reference": notice.reference, "received_at": received.isoformat(),
                  "evidence_id": ev})
    move_lines(s, case=case, lines=[line], target=LineState.COURT_HOLD, reason=Reason.COURT_NOTICE, who=who, at=now,
               note=f"{notice.court} {notice.reference}")
    for kind in (TaskKind.INVESTIGATE, TaskKind.AWAIT_COURT):
        close_tasks(s, kind=kind, who=who, now=now, line_id=line.id, skip=skip_task,
                    outcome={"outcome": "court-notice", "court": notice.court, "reference": notice.reference})
    close_if_done(s, case, who, now)
    return {"case": case.number, "line": line.number, "state": line.state, "court": notice.court,
            "reference": notice.reference}


def record_court_notice(*, case_number: str, line_number: int, actor: str, notice: CourtNoticeIn | dict[str, Any],
                        now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    data = notice if isinstance(notice, CourtNoticeIn) else CourtNoticeIn.model_validate(notice)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "record a court notice", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        return record_court_notice_in(s, who=who, case=case, line=line, notice=data, now=now)


def has_court_notice(s: Session, line_id: int) -> bool:
    return s.exec(select(CourtNotice.id).where(CourtNotice.line_id == line_id)).first() is not None
