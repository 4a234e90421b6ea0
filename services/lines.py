"""Moving lines between states: the one place a line's state changes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from models.enums import LineState, Reason, Route
from models.rules.states import transition
from models.rules.workdays import court_assistance_deadline, court_order_deadline, investigation_deadline
from models.tables import Case, Decision, Line
from services.context import Actor, publish, record

_STAMP = {
    LineState.RELEASED: "released_at",
    LineState.DETAINED: "detained_at",
    LineState.CONFISCATED: "confiscated_at",
    LineState.UNDETERMINED: "undetermined_at",
    LineState.COURT_HOLD: "court_hold_at",
    LineState.SUSPENDED: "suspended_at",
    LineState.TRANSFERRED: "transferred_at",
    LineState.APPLIED: "suspended_at",  # the moment the goods' line was registered, as for a suspension
}


def move_lines(
    s: Session,
    *,
    case: Case,
    lines: list[Line],
    target: LineState,
    reason: Reason,
    who: Actor,
    at: datetime,
    notice_id: int | None = None,
    deadline_met: bool | None = None,
    note: str = "",
) -> Decision | None:
    """Move each line to ``target`` (the rules decide whether it may) and record one decision."""
    if not lines:
        return None
    for line in lines:
        label = f"{case.number}/{line.number}"
        before = line.state
        transition(label, LineState(before), target, reason)
        line.state = target.value
        line.state_reason = reason.value
        setattr(line, _STAMP[target], at)
        if target == LineState.DETAINED:
            _start_detention_clocks(s, case=case, line=line, label=label, who=who, at=at)
        line.version += 1
        s.add(line)
        after = {"state": target.value, "reason": reason.value}
        if target == LineState.DETAINED and (line.investigation_due or line.court_due):
            after["investigation_due"] = line.investigation_due.isoformat() if line.investigation_due else None
            after["court_due"] = line.court_due.isoformat() if line.court_due else None
        record(s, actor=who, action=f"line.{target.value}", subject=f"line:{label}", at=at, case_id=case.id,
               before={"state": before}, after=after)
    decision = Decision(
        case_id=case.id,  # type: ignore[arg-type]
        notice_id=notice_id,
        kind=target.value,
        reason=reason.value,
        line_ids=[ln.id for ln in lines],  # type: ignore[misc]
        decided_by_id=who.id,
        decided_at=at,
        deadline_met=deadline_met,
        note=note,
    )
    s.add(decision)
    s.flush()
    publish(s, topic="decision.made", case_id=case.id, at=at,
            payload={"decision_id": decision.id, "case_number": case.number, "kind": target.value,
                     "reason": reason.value, "notice_id": notice_id})
    record(s, actor=who, action="decision.made", subject=f"decision:{decision.id}", at=at, case_id=case.id,
           after={"kind": target.value, "reason": reason.value, "lines": [ln.number for ln in lines],
                  "notice_id": notice_id, "deadline_met": deadline_met})
    return decision


def _start_detention_clocks(s: Session, *, case: Case, line: Line, label: str, who: Actor, at: datetime) -> None:
    """Ex officio: customs investigates within 30 WD (Reg 20) and releases an undetermined line at 50 WD
    without a court notice (Reg 24(2)). On application customs does not investigate: the goods are
    released at 20 WD without a court notice (Reg 24(1))."""
    from services.clocks import deadline_or_pending

    if case.route == Route.APPLICATION:
        line.investigation_due = None
        line.court_due = deadline_or_pending(
            s, clock=court_order_deadline, start=at, case_id=case.id, who=who,  # type: ignore[arg-type]
            subject=f"line:{label}", what="court notice after a detention on application (20 WD, Reg 24(1))")
        return
    line.investigation_due = deadline_or_pending(
        s, clock=investigation_deadline, start=at, case_id=case.id, who=who,  # type: ignore[arg-type]
        subject=f"line:{label}", what="investigation (30 WD, Reg 20)")
    line.court_due = deadline_or_pending(
        s, clock=court_assistance_deadline, start=at, case_id=case.id, who=who,  # type: ignore[arg-type]
        subject=f"line:{label}", what="court assistance (50 WD, Reg 24)")
