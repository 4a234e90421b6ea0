"""The managers' board: what is open, what waits on whom, what is late, how fast confirmations go.

Read models only. A manager sees its own office; an administrator every office."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from models.enums import CaseStatus, NoticeState, Role, TaskState, ViewingState
from models.rules.errors import PermissionDenied
from models.schemas import TaskOut
from models.tables import Answer, Case, CustomsOffice, Line, Notice, RightsHolder, Task, User, Viewing
from models.text import one_line
from services.context import Actor, load_actor, now_or
from services.tasks import tasks_out
from services.unit_of_work import UnitOfWork, given

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
    office: str  # the customs office's Chinese name (海关); ``office_en`` its English one
    office_en: str
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


def board(*, actor: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> BoardOut:
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
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
    # both names of each office: the board is shared by the office's managers, each reading it in their language
    offices = {o.id: (o.name, o.name_en) for o in s.exec(select(CustomsOffice))}
    holders = {h.id: h.name for h in s.exec(select(RightsHolder))}
    since = now - WINDOW

    open_cases = s.exec(_in_office(select(func.count()).select_from(Case).where(Case.status == CaseStatus.OPEN.value),
                                   office)).one()
    # the lines of the open cases, found through those cases: joined the other way, SQLite read every line
    # ever recorded (1.05 s against 0.13 s at 1,000,000 lines, bench/scale.py)
    open_here = _in_office(select(Case.id).where(Case.status == CaseStatus.OPEN.value), office)
    by_state = dict(s.exec(select(Line.state, func.count()).where(col(Line.case_id).in_(open_here))
                           .group_by(Line.state)).all())
    tasks = _live_tasks(s, office)
    waiting = _waiting_on_tasks(s, office)
    near = _notices_waiting(s, office, holders, now, waiting)
    requested = s.exec(_in_office(select(func.count()).select_from(Viewing).join(Case, col(Case.id) == Viewing.case_id)
                                  .where(Viewing.state == ViewingState.REQUESTED.value), office)).one()
    if requested:
        waiting[("ipr_officer (group)", "viewing approval", Role.IPR_OFFICER.value)] += requested
    confirmation, room = _answer_minutes(s, office, since)
    outcomes = _outcomes(s, office, offices, since)

    by_party: dict[str, list[WaitingOn]] = defaultdict(list)
    for (party, kind, group), n in waiting.items():
        by_party[party].append(WaitingOn(party=party, kind=kind, count=n, group=group))
    latest = s.exec(_in_office(select(Case), office).order_by(col(Case.opened_at).desc()).limit(200))
    return BoardOut(
        now=now, open_cases=open_cases, lines_by_state=by_state,
        waiting=[w for party in sorted(by_party) for w in sorted(by_party[party], key=lambda w: w.kind)],
        overdue_tasks=[t for t in tasks if t.due_at is not None and t.due_at < now], open_tasks=tasks,
        notices_near_deadline=near,
        confirmation_minutes=confirmation, room_minutes=room, outcomes=outcomes,
        cases=[CaseLink(number=c.number, office=offices.get(c.customs_office_id, ("", ""))[0],
                        office_en=offices.get(c.customs_office_id, ("", ""))[1], status=c.status,
                        opened_at=c.opened_at, flow_run_id=c.flow_run_id) for c in latest],
    )


def _in_office(q, office: int | None, column=Case.customs_office_id):  # noqa: ANN001, ANN202
    """The query limited to one office's rows (by ``column``); every office's when ``office`` is None."""
    return q if office is None else q.where(column == office)


#: A party the board says work waits on: (party, kind, the group when a group is waited on).
Waiting = Counter[tuple[str, str, str | None]]
_LIVE = [TaskState.OPEN.value, TaskState.CLAIMED.value]
_WAITING_STATES = [NoticeState.SERVED.value, NoticeState.CLAIM_PENDING.value]


def _live_tasks(s: Session, office: int | None) -> list[TaskOut]:
    """The open and claimed tasks, soonest due first (those without a due time last), up to the list's limit."""
    trows = list(s.exec(_in_office(select(Task, User.username, Case.number).join(Case, col(Case.id) == Task.case_id)
                                   .outerjoin(User, col(User.id) == Task.assignee_id)
                                   .where(col(Task.state).in_(_LIVE)), office, Task.customs_office_id)
                        .order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.priority)).limit(TASK_LIST_LIMIT)))
    return tasks_out(s, [(t, number, u) for t, u, number in trows])


def _waiting_on_tasks(s: Session, office: int | None) -> Waiting:
    """Live tasks counted by whom they wait on: the assignee, or the candidate group of an unclaimed one."""
    waiting: Waiting = Counter()
    for assignee, group, kind, n in s.exec(_in_office(
            select(User.username, Task.candidate_group, Task.kind, func.count()).select_from(Task)
            .outerjoin(User, col(User.id) == Task.assignee_id).where(col(Task.state).in_(_LIVE))
            .group_by(User.username, Task.candidate_group, Task.kind), office, Task.customs_office_id)):
        waiting[(assignee, kind, None) if assignee else (f"{group} (group)", kind, group)] += n
    return waiting


def _notices_waiting(s: Session, office: int | None, holders: dict, now: datetime, waiting: Waiting) -> list[NoticeDue]:
    """Counts the notices awaiting a rights holder's answer or bond into ``waiting``; returns those whose
    deadline ends within ``NEAR`` (or has passed), soonest first."""
    for holder_id, state, n in s.exec(_in_office(
            select(Notice.rights_holder_id, Notice.state, func.count()).join(Case, col(Case.id) == Notice.case_id)
            .where(col(Notice.state).in_(_WAITING_STATES)).group_by(Notice.rights_holder_id, Notice.state), office)):
        waiting[(holders.get(holder_id, ""), "answer" if state == NoticeState.SERVED else "bond", None)] += n
    near: list[NoticeDue] = []
    for n, number in s.exec(_in_office(
            select(Notice, Case.number).join(Case, col(Case.id) == Notice.case_id)
            .where(col(Notice.state).in_(_WAITING_STATES), col(Notice.deadline_at).is_not(None),
                   col(Notice.deadline_at) <= now + NEAR).order_by(col(Notice.deadline_at)).limit(200), office)):
        near.append(NoticeDue(notice_id=n.id, case_number=number, rights_holder=holders.get(n.rights_holder_id, ""),  # type: ignore[arg-type]
                              state=n.state, deadline_at=n.deadline_at,
                              hours_left=round((n.deadline_at - now).total_seconds() / 3600, 1)))  # type: ignore[operator]
    return near


def _answer_minutes(s: Session, office: int | None, since: datetime) -> tuple[list[float], list[float]]:
    """Minutes to an answer within the window: from the notice's service, and from the viewing room's
    opening. Counted in SQL: a busy office answers tens of thousands of notices in the window, and
    reading each pair of times into Python took most of the board's time."""
    minutes = _minutes_between(s)
    confirmation = [round(m, 2) for m in s.exec(_in_office(
        select(minutes(Answer.answered_at, Notice.served_at)).join(Notice, col(Notice.id) == Answer.notice_id)
        .join(Case, col(Case.id) == Notice.case_id)
        .where(col(Answer.answered_at) >= since, col(Notice.served_at).is_not(None)), office))]
    room = [round(m, 2) for m in s.exec(_in_office(
        select(minutes(Answer.answered_at, Viewing.opened_at)).join(Viewing, col(Viewing.notice_id) == Answer.notice_id)
        .join(Case, col(Case.id) == Viewing.case_id)
        .where(col(Answer.answered_at) >= since, col(Viewing.opened_at).is_not(None),
               col(Answer.answered_at) >= col(Viewing.opened_at)), office))]
    return confirmation, room


def _outcomes(s: Session, office: int | None, offices: dict, since: datetime) -> list[dict[str, object]]:
    """Lines released or detained within the window, summed in SQL per day (in Shanghai), reason, brand and
    office: one row each, with its ISO week, the lines and their quantity; the office by its Chinese name
    (``office``) and its English one (``office_en``). The board's cost follows the
    days and brands in the window, not the number of lines."""
    day_of = _shanghai_day(s)
    # the window's lines are read from their covering index (``ix_goods_line_released_outcome`` and
    # ``..._detained_outcome``), each case looked up by its key: "+ 0" keeps SQLite from starting at the
    # office's index instead and walking every case of the office, then its lines (bench/scale.py,
    # 100,000 cases: 638 ms and 287 ms that way, 116 ms and 107 ms this way)
    office_of_case = Case.customs_office_id + 0
    outcomes: list[dict[str, object]] = []
    for kind, stamp in (("released", Line.released_at), ("detained", Line.detained_at)):
        day = day_of(stamp)
        rows = s.exec(_in_office(
            select(day, Line.brand, Line.state_reason, Case.customs_office_id, func.count(), func.sum(Line.quantity))
            .join(Case, col(Case.id) == Line.case_id).where(col(stamp) >= since)
            .group_by(day, Line.brand, Line.state_reason, Case.customs_office_id), office, office_of_case))
        for on, brand, reason, office_id, lines, quantity in rows:
            year, week, _ = (on if isinstance(on, date) else date.fromisoformat(on)).isocalendar()
            outcomes.append({"kind": kind, "reason": reason if kind == "released" else "detention", "brand": brand,
                             "office": offices.get(office_id, ("", ""))[0],
                             "office_en": offices.get(office_id, ("", ""))[1], "week": f"{year}-W{week:02d}", "lines": lines,
                             "quantity": int(quantity or 0)})
    return outcomes


def _minutes_between(s: Session):  # noqa: ANN202 - a column expression builder
    """Minutes from one stored time to a later one, as SQL for this engine."""
    if s.get_bind().dialect.name == "postgresql":
        return lambda later, earlier: func.extract("epoch", later - earlier) / 60.0
    return lambda later, earlier: (func.julianday(later) - func.julianday(earlier)) * 1440.0


def _shanghai_day(s: Session):  # noqa: ANN202 - a column expression builder
    """The calendar day in Shanghai (UTC+8 all year) of a stored UTC time, as SQL for this engine."""
    if s.get_bind().dialect.name == "postgresql":
        return lambda stamp: func.date(func.timezone("Asia/Shanghai", stamp))
    return lambda stamp: func.date(stamp, "+8 hours")


# --- saved inbox views, shared per office -----------------------------------------------------------


FilterWord = one_line(60)


class ViewFilters(BaseModel):
    """The inbox filters a view keeps."""

    model_config = {"extra": "forbid"}
    kinds: list[FilterWord] = []  # type: ignore[valid-type]
    mine_only: bool = False
    urgency: str = "all"  # all, overdue, near
    case_number: FilterWord = ""  # type: ignore[valid-type]


def saved_views(*, actor: str, uow: UnitOfWork | None = None) -> list[dict[str, object]]:
    from models.ui_session import SavedView
    uow = given(uow)

    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        if not who.is_customs or who.customs_office_id is None:
            raise PermissionDenied(who.username, "read saved views")
        rows = s.exec(select(SavedView).where(SavedView.customs_office_id == who.customs_office_id).order_by(SavedView.name))
        return [{"id": v.id, "name": v.name, "filters": ViewFilters.model_validate(v.filters).model_dump()} for v in rows]


def save_view(*, actor: str, name: str, filters: ViewFilters | dict, now: datetime | None = None,
              uow: UnitOfWork | None = None) -> dict[str, object]:
    """Save (or replace) a named inbox view for the caller's office."""
    from models.rules.errors import InvalidInput
    from models.text import plain
    from models.ui_session import SavedView
    from services.context import record
    uow = given(uow)

    f = filters if isinstance(filters, ViewFilters) else ViewFilters.model_validate(filters)
    name = plain("name", name.strip())
    if not name or len(name) > 80:
        raise InvalidInput("name", "must be 1 to 80 characters")
    if f.urgency not in ("all", "overdue", "near"):
        raise InvalidInput("urgency", "must be all, overdue or near")
    now = now_or(now)
    with uow.transaction() as s:
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
