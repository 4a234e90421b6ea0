"""Decisions on detained goods by an IPR officer (Reg 19, 20, 24; Meas 28)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from adapters.db import session_scope
from models.enums import LineState, Reason, Role, TaskKind, TaskState
from models.rules.errors import InvalidInput, NotFound
from models.schemas import LineOut
from models.tables import Case, Line, Recordation, Task
from models.text import plain
from services.cases import _line_out, close_if_done, visible_case
from services.context import load_actor, now_or, require_role
from services.lines import move_lines

OUTCOMES: dict[str, tuple[LineState, Reason]] = {
    "confiscate": (LineState.CONFISCATED, Reason.INFRINGEMENT_DETERMINED),
    "cannot-determine": (LineState.UNDETERMINED, Reason.CANNOT_DETERMINE),
    "court-notice": (LineState.COURT_HOLD, Reason.COURT_NOTICE),
    "withdrawn": (LineState.RELEASED, Reason.WITHDRAWN),
    "counter-bond": (LineState.RELEASED, Reason.COUNTER_BOND),
}


def decide_line(*, case_number: str, line_number: int, actor: str, outcome: str, note: str = "",
                now: datetime | None = None) -> LineOut:
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome", f"must be one of {', '.join(OUTCOMES)}")
    target, reason = OUTCOMES[outcome]
    note = plain("note", note, multiline=True)
    now = now_or(now)
    with session_scope() as s:
        who = load_actor(s, actor)
        require_role(who, "decide on detained goods", Role.IPR_OFFICER, Role.ADMIN)
        case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
        line = s.exec(select(Line).where(Line.case_id == case.id, Line.number == line_number).with_for_update()).first()
        if line is None:
            raise NotFound("line", f"{case_number}/{line_number}")
        rec = s.get(Recordation, line.recordation_id)
        if reason == Reason.COUNTER_BOND and (rec is None or rec.right_type != "patent"):
            raise InvalidInput("outcome", "a counter-bond releases goods only in patent cases (Reg 19)")
        move_lines(s, case=case, lines=[line], target=target, reason=reason, who=who, at=now, note=note)
        if target != LineState.UNDETERMINED:
            for t in s.exec(select(Task).where(Task.line_id == line.id, Task.kind == TaskKind.INVESTIGATE.value)):
                if t.state in (TaskState.OPEN, TaskState.CLAIMED):
                    t.state, t.completed_at, t.completed_by_id = TaskState.COMPLETED.value, now, who.id
                    t.outcome = {"outcome": outcome, "note": note}
                    t.version += 1
                    s.add(t)
        close_if_done(s, case, who, now)
        return _line_out(line, {rec.id: rec} if rec else {}, {})
