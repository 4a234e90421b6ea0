"""The managers' board: what is open, what waits on whom, what is late, how fast confirmations go.

Read models only. A manager sees its own office; an administrator every office."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session, col, select

from adapters.db import session_scope
from models.enums import CaseStatus, NoticeState, Role, TaskState, ViewingState
from models.rules.errors import PermissionDenied
from models.rules.workdays import SHANGHAI
from models.schemas import TaskOut
from models.tables import Answer, Case, CustomsOffice, Decision, Line, Notice, RightsHolder, Task, User, Viewing
from services.context import Actor, load_actor, now_or
from services.tasks import _out as task_out

NEAR = timedelta(hours=24)  # a notice whose deadline ends within a day is "near"


class WaitingOn(BaseModel):
    party: str  # ipr_officer group, site.wang, rights holder CHANEL SARL, ...
    kind: str  # task kind, "answer", "bond", "viewing approval"
    count: int


class NoticeDue(BaseModel):
    notice_id: int
    case_number: str
    rights_holder: str
    state: str
    deadline_at: datetime
    hours_left: float


class CaseLink(BaseModel):
    number: str
    office: str
    status: str
    opened_at: datetime
    flow_run_id: str | None


class BoardOut(BaseModel):
    now: datetime
    open_cases: int
    lines_by_state: dict[str, int]
    waiting: list[WaitingOn]
    overdue_tasks: list[TaskOut]
    open_tasks: list[TaskOut]
    notices_near_deadline: list[NoticeDue]
    confirmation_minutes: list[float]  # notice served -> answer
    room_minutes: list[float]  # viewing room opened -> answer
    outcomes: list[dict[str, object]]  # one row per decision line: kind, brand, office, week
    cases: list[CaseLink]


def _scope(who: Actor) -> int | None:
    if who.role == Role.MANAGER:
        return who.customs_office_id
    if who.role == Role.ADMIN:
        return None
    raise PermissionDenied(who.username, "read the managers' board", "only manager, admin may")


def board(*, actor: str, now: datetime | None = None) -> BoardOut:
    now = now_or(now)
    with session_scope(readonly=True) as s:
        who = load_actor(s, actor)
        office = _scope(who)
        return _board(s, office, now)


def _board(s: Session, office: int | None, now: datetime) -> BoardOut:
    def in_office(q, column):  # noqa: ANN001, ANN202
        return q if office is None else q.where(column == office)

    offices = {o.id: o.name_en for o in s.exec(select(CustomsOffice))}
    cases = list(s.exec(in_office(select(Case), Case.customs_office_id).order_by(col(Case.opened_at).desc())))
    case_ids = [c.id for c in cases]
    number = {c.id: c.number for c in cases}
    lines = list(s.exec(select(Line).where(col(Line.case_id).in_(case_ids)))) if case_ids else []
    line_by_id = {ln.id: ln for ln in lines}
    open_ids = {c.id for c in cases if c.status == CaseStatus.OPEN}
    by_state = Counter(ln.state for ln in lines if ln.case_id in open_ids)

    live = [TaskState.OPEN.value, TaskState.CLAIMED.value]
    trows = list(s.exec(in_office(select(Task, User.username).outerjoin(User, col(User.id) == Task.assignee_id)
                                  .where(col(Task.state).in_(live)), Task.customs_office_id)
                        .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.priority))))
    tasks = [task_out(t, number.get(t.case_id, ""), u) for t, u in trows]
    overdue = [t for t in tasks if t.due_at is not None and t.due_at < now]
    waiting: Counter[tuple[str, str]] = Counter()
    for t in tasks:
        waiting[(t.assignee or f"{t.candidate_group} (group)", t.kind)] += 1

    holders = {h.id: h.name for h in s.exec(select(RightsHolder))}
    notices = list(s.exec(select(Notice).where(col(Notice.case_id).in_(case_ids)))) if case_ids else []
    near: list[NoticeDue] = []
    for n in notices:
        if n.state == NoticeState.SERVED:
            waiting[(f"{holders.get(n.rights_holder_id, '')}", "answer")] += 1
        elif n.state == NoticeState.CLAIM_PENDING:
            waiting[(f"{holders.get(n.rights_holder_id, '')}", "bond")] += 1
        if n.state in (NoticeState.SERVED, NoticeState.CLAIM_PENDING) and n.deadline_at is not None and n.deadline_at - now <= NEAR:
            near.append(NoticeDue(notice_id=n.id, case_number=number.get(n.case_id, ""),  # type: ignore[arg-type]
                                  rights_holder=holders.get(n.rights_holder_id, ""), state=n.state,
                                  deadline_at=n.deadline_at, hours_left=round((n.deadline_at - now).total_seconds() / 3600, 1)))
    viewings = list(s.exec(select(Viewing).where(col(Viewing.case_id).in_(case_ids)))) if case_ids else []
    for v in viewings:
        if v.state == ViewingState.REQUESTED:
            waiting[("ipr_officer (group)", "viewing approval")] += 1

    answers = {a.notice_id: a for a in s.exec(select(Answer).where(col(Answer.notice_id).in_([n.id for n in notices])))} if notices else {}
    confirmation = [round((answers[n.id].answered_at - n.served_at).total_seconds() / 60, 2)
                    for n in notices if n.id in answers and n.served_at is not None]
    room: list[float] = []
    for v in viewings:
        a = answers.get(v.notice_id) if v.notice_id else None
        if a is not None and v.opened_at is not None and a.answered_at >= v.opened_at:
            room.append(round((a.answered_at - v.opened_at).total_seconds() / 60, 2))

    outcomes: list[dict[str, object]] = []
    decisions = list(s.exec(select(Decision).where(col(Decision.case_id).in_(case_ids)))) if case_ids else []
    case_office = {c.id: offices.get(c.customs_office_id, "") for c in cases}
    for d in decisions:
        if d.kind not in ("released", "detained"):
            continue
        local = d.decided_at.astimezone(SHANGHAI)
        year, week, _ = local.isocalendar()
        for lid in d.line_ids:
            ln = line_by_id.get(lid)
            if ln is None:
                continue
            outcomes.append({"kind": d.kind, "reason": d.reason, "brand": ln.brand, "office": case_office[d.case_id],
                             "week": f"{year}-W{week:02d}", "quantity": ln.quantity})

    by_party: dict[str, list[WaitingOn]] = defaultdict(list)
    for (party, kind), n in waiting.items():
        by_party[party].append(WaitingOn(party=party, kind=kind, count=n))
    return BoardOut(
        now=now, open_cases=len(open_ids), lines_by_state=dict(by_state),
        waiting=[w for party in sorted(by_party) for w in sorted(by_party[party], key=lambda w: w.kind)],
        overdue_tasks=overdue, open_tasks=tasks,
        notices_near_deadline=sorted(near, key=lambda n: n.deadline_at),
        confirmation_minutes=confirmation, room_minutes=room, outcomes=outcomes,
        cases=[CaseLink(number=c.number, office=offices.get(c.customs_office_id, ""), status=c.status,
                        opened_at=c.opened_at, flow_run_id=c.flow_run_id) for c in cases[:200]],
    )


# --- saved inbox views, shared per office -----------------------------------------------------------


class ViewFilters(BaseModel):
    """The inbox filters a view keeps."""

    model_config = {"extra": "forbid"}
    kinds: list[str] = []
    mine_only: bool = False
    urgency: str = "all"  # all, overdue, near
    case_number: str = ""


def saved_views(*, actor: str) -> list[dict[str, object]]:
    from models.ui_session import SavedView

    with session_scope(readonly=True) as s:
        who = load_actor(s, actor)
        if not who.is_customs or who.customs_office_id is None:
            raise PermissionDenied(who.username, "read saved views")
        rows = s.exec(select(SavedView).where(SavedView.customs_office_id == who.customs_office_id).order_by(SavedView.name))
        return [{"id": v.id, "name": v.name, "filters": ViewFilters.model_validate(v.filters).model_dump()} for v in rows]


def save_view(*, actor: str, name: str, filters: ViewFilters | dict, now: datetime | None = None) -> dict[str, object]:
    """Save (or replace) a named inbox view for the caller's office."""
    from models.rules.errors import InvalidInput
    from models.ui_session import SavedView
    from services.context import record

    f = filters if isinstance(filters, ViewFilters) else ViewFilters.model_validate(filters)
    name = name.strip()
    if not name or len(name) > 80:
        raise InvalidInput("name", "must be 1 to 80 characters")
    if f.urgency not in ("all", "overdue", "near"):
        raise InvalidInput("urgency", "must be all, overdue or near")
    now = now_or(now)
    with session_scope() as s:
        who = load_actor(s, actor)
        if who.role not in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER) or who.customs_office_id is None:
            raise PermissionDenied(who.username, "save an inbox view")
        v = s.exec(select(SavedView).where(SavedView.customs_office_id == who.customs_office_id, SavedView.name == name)).first()
        if v is None:
            v = SavedView(customs_office_id=who.customs_office_id, name=name, created_by_id=who.id, created_at=now)
        v.filters = f.model_dump()
        s.add(v)
        s.flush()
        record(s, actor=who, action="view.saved", subject=f"view:{v.id}", at=now, after={"name": name, "filters": v.filters})
        return {"id": v.id, "name": v.name, "filters": v.filters}
