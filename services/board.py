"""The managers' board: what is open, what waits on whom, what is late, how fast confirmations go.

Read models only. A manager sees its own office; an administrator every office."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from adapters.db import session_scope
from models.enums import CaseStatus, NoticeState, Role, TaskState, ViewingState
from models.rules.errors import PermissionDenied
from models.rules.workdays import SHANGHAI
from models.schemas import TaskOut
from models.tables import Answer, Case, CustomsOffice, Line, Notice, RightsHolder, Task, User, Viewing
from models.text import one_line
from services.context import Actor, load_actor, now_or
from services.tasks import tasks_out

NEAR = timedelta(hours=24)  # a notice whose deadline ends within a day is "near"


class WaitingOn(BaseModel):
    party: str  # ipr_officer group, site.wang, rights holder CHANEL SARL, ...
    kind: str  # task kind, "answer", "bond", "viewing approval"
    count: int
    group: str | None = None  # the role waited on when it is a group, not a person or a rights holder


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


def scope(who: Actor) -> int | None:
    """Whose work the board shows: a manager's office; every office (None) for an administrator."""
    if who.role == Role.MANAGER:
        return who.customs_office_id
    if who.role == Role.ADMIN:
        return None
    raise PermissionDenied(who.username, "read the managers' board", "only manager, admin may")


def board(*, actor: str, now: datetime | None = None) -> BoardOut:
    now = now_or(now)
    with session_scope(readonly=True) as s:
        who = load_actor(s, actor)
        office = scope(who)
        return _board(s, office, now)


#: How far back the board's distributions (confirmation times, releases and detentions) look.
WINDOW = timedelta(weeks=12)
#: How many live tasks the board lists (all of them are counted).
TASK_LIST_LIMIT = 500


def _board(s: Session, office: int | None, now: datetime) -> BoardOut:
    """Aggregates in SQL: the board's cost grows with the work that is open and with the window,
    not with the office's whole history (see bench/scale.py)."""

    def in_office(q, column=Case.customs_office_id):  # noqa: ANN001, ANN202
        return q if office is None else q.where(column == office)

    offices = {o.id: o.name_en for o in s.exec(select(CustomsOffice))}
    holders = {h.id: h.name for h in s.exec(select(RightsHolder))}
    since = now - WINDOW

    open_cases = s.exec(in_office(select(func.count()).select_from(Case).where(Case.status == CaseStatus.OPEN.value))).one()
    by_state = dict(s.exec(in_office(
        select(Line.state, func.count()).join(Case, col(Case.id) == Line.case_id)
        .where(Case.status == CaseStatus.OPEN.value).group_by(Line.state))).all())

    live = [TaskState.OPEN.value, TaskState.CLAIMED.value]
    trows = list(s.exec(in_office(select(Task, User.username, Case.number).join(Case, col(Case.id) == Task.case_id)
                                  .outerjoin(User, col(User.id) == Task.assignee_id)
                                  .where(col(Task.state).in_(live)), Task.customs_office_id)
                        .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.priority)).limit(TASK_LIST_LIMIT)))
    tasks = tasks_out(s, [(t, number, u) for t, u, number in trows])
    overdue = [t for t in tasks if t.due_at is not None and t.due_at < now]
    waiting: Counter[tuple[str, str, str | None]] = Counter()  # (party, kind, the group when a group is waited on)
    for assignee, group, kind, n in s.exec(in_office(
            select(User.username, Task.candidate_group, Task.kind, func.count()).select_from(Task)
            .outerjoin(User, col(User.id) == Task.assignee_id).where(col(Task.state).in_(live))
            .group_by(User.username, Task.candidate_group, Task.kind), Task.customs_office_id)):
        waiting[(assignee, kind, None) if assignee else (f"{group} (group)", kind, group)] += n

    waiting_states = [NoticeState.SERVED.value, NoticeState.CLAIM_PENDING.value]
    for holder_id, state, n in s.exec(in_office(
            select(Notice.rights_holder_id, Notice.state, func.count()).join(Case, col(Case.id) == Notice.case_id)
            .where(col(Notice.state).in_(waiting_states)).group_by(Notice.rights_holder_id, Notice.state))):
        waiting[(holders.get(holder_id, ""), "answer" if state == NoticeState.SERVED else "bond", None)] += n
    near: list[NoticeDue] = []
    for n, number in s.exec(in_office(
            select(Notice, Case.number).join(Case, col(Case.id) == Notice.case_id)
            .where(col(Notice.state).in_(waiting_states), col(Notice.deadline_at).is_not(None),
                   col(Notice.deadline_at) <= now + NEAR).order_by(col(Notice.deadline_at)).limit(200))):
        near.append(NoticeDue(notice_id=n.id, case_number=number, rights_holder=holders.get(n.rights_holder_id, ""),  # type: ignore[arg-type]
                              state=n.state, deadline_at=n.deadline_at,
                              hours_left=round((n.deadline_at - now).total_seconds() / 3600, 1)))  # type: ignore[operator]
    requested = s.exec(in_office(select(func.count()).select_from(Viewing).join(Case, col(Case.id) == Viewing.case_id)
                                 .where(Viewing.state == ViewingState.REQUESTED.value))).one()
    if requested:
        waiting[("ipr_officer (group)", "viewing approval", Role.IPR_OFFICER.value)] += requested

    confirmation = [round((answered - served).total_seconds() / 60, 2) for answered, served in s.exec(in_office(
        select(Answer.answered_at, Notice.served_at).join(Notice, col(Notice.id) == Answer.notice_id)
        .join(Case, col(Case.id) == Notice.case_id)
        .where(col(Answer.answered_at) >= since, col(Notice.served_at).is_not(None))))]
    room = [round((answered - opened).total_seconds() / 60, 2) for answered, opened in s.exec(in_office(
        select(Answer.answered_at, Viewing.opened_at).join(Viewing, col(Viewing.notice_id) == Answer.notice_id)
        .join(Case, col(Case.id) == Viewing.case_id)
        .where(col(Answer.answered_at) >= since, col(Viewing.opened_at).is_not(None))))
        if answered >= opened]

    outcomes: list[dict[str, object]] = []
    for kind, stamp in (("released", Line.released_at), ("detained", Line.detained_at)):
        rows = s.exec(in_office(
            select(stamp, Line.brand, Line.quantity, Line.state_reason, Case.customs_office_id)
            .join(Case, col(Case.id) == Line.case_id).where(col(stamp) >= since)))
        for at, brand, quantity, reason, office_id in rows:
            year, week, _ = at.astimezone(SHANGHAI).isocalendar()
            outcomes.append({"kind": kind, "reason": reason if kind == "released" else "detention", "brand": brand,
                             "office": offices.get(office_id, ""), "week": f"{year}-W{week:02d}", "quantity": quantity})

    by_party: dict[str, list[WaitingOn]] = defaultdict(list)
    for (party, kind, group), n in waiting.items():
        by_party[party].append(WaitingOn(party=party, kind=kind, count=n, group=group))
    latest = s.exec(in_office(select(Case)).order_by(col(Case.opened_at).desc()).limit(200))
    return BoardOut(
        now=now, open_cases=open_cases, lines_by_state=by_state,
        waiting=[w for party in sorted(by_party) for w in sorted(by_party[party], key=lambda w: w.kind)],
        overdue_tasks=overdue, open_tasks=tasks,
        notices_near_deadline=near,
        confirmation_minutes=confirmation, room_minutes=room, outcomes=outcomes,
        cases=[CaseLink(number=c.number, office=offices.get(c.customs_office_id, ""), status=c.status,
                        opened_at=c.opened_at, flow_run_id=c.flow_run_id) for c in latest],
    )


# --- saved inbox views, shared per office -----------------------------------------------------------


FilterWord = one_line(60)


class ViewFilters(BaseModel):
    """The inbox filters a view keeps."""

    model_config = {"extra": "forbid"}
    kinds: list[FilterWord] = []  # type: ignore[valid-type]
    mine_only: bool = False
    urgency: str = "all"  # all, overdue, near
    case_number: FilterWord = ""  # type: ignore[valid-type]


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
    from models.text import plain
    from models.ui_session import SavedView
    from services.context import record

    f = filters if isinstance(filters, ViewFilters) else ViewFilters.model_validate(filters)
    name = plain("name", name.strip())
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
