"""The IPR officer's decision on a line flagged at seizure: outside the recordation's classes, or goods
of a licensee (Reg 16; Meas 21). The officer releases it, or keeps it for its rights holder."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlmodel import Session

from models.enums import LineState, Reason, Role
from models.rules.errors import InvalidInput
from models.schemas import Strict
from models.tables import Case, Line
from services.cases import close_if_done
from services.context import Actor, load_actor, now_or, record, require_role
from services.detention import lock_line
from services.lines import move_lines
from services.unit_of_work import UnitOfWork, given


class UnmatchedIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


def release_unmatched_in(s: Session, *, who: Actor, case: Case, line: Line, form: UnmatchedIn, now: datetime) -> dict[str, Any]:
    """Release a suspended line the officer finds outside the recorded right, with the reason."""
    require_role(who, "release goods outside the recordation", Role.IPR_OFFICER, Role.ADMIN)
    if line.state != LineState.SUSPENDED.value:
        raise InvalidInput("line", "line {line} is {state}: only suspended goods are released this way",
                           line=f"{case.number}/{line.number}", state=line.state)
    move_lines(s, case=case, lines=[line], target=LineState.RELEASED, reason=Reason.NOT_MATCHED, who=who, at=now,
               notice_id=line.notice_id, note=form.reason)
    close_if_done(s, case, who, now)
    return {"case": case.number, "line": line.number, "state": line.state, "reason": line.state_reason,
            "flags": list(line.match_flags or [])}


def keep_flagged_in(s: Session, *, who: Actor, case: Case, line: Line, form: UnmatchedIn, now: datetime) -> dict[str, Any]:
    """The officer keeps a flagged line for its rights holder: the flags are answered, with the reason."""
    require_role(who, "confirm a flagged line", Role.IPR_OFFICER, Role.ADMIN)
    if not line.match_flags:
        raise InvalidInput("line", "line {line} carries no flag", line=f"{case.number}/{line.number}")
    record(s, actor=who, action="line.match_confirmed", subject=f"line:{case.number}/{line.number}", at=now,
           case_id=case.id, before={"match_flags": list(line.match_flags)}, after={"reason": form.reason})
    line.match_flags = []
    line.version += 1
    s.add(line)
    return {"case": case.number, "line": line.number, "state": line.state, "flags": []}


def decide_flagged_line(*, case_number: str, line_number: int, actor: str, release: bool, reason: str,
                        now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    uow = given(uow)
    form = UnmatchedIn(reason=reason)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "decide on a flagged line", Role.IPR_OFFICER, Role.ADMIN)
        case, line = lock_line(s, who, case_number, line_number)
        if release:
            return release_unmatched_in(s, who=who, case=case, line=line, form=form, now=now)
        return keep_flagged_in(s, who=who, case=case, line=line, form=form, now=now)
