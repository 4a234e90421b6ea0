"""Human tasks: the officers' inbox. Claim, unclaim, hand over, complete; exactly one wins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sqlalchemy import text
from sqlmodel import Session, col, or_, select

from models.enums import DocumentKind, Role, TaskKind, TaskState
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound, PermissionDenied, YunqueError
from models.schemas import TaskOut
from models.tables import TASK_LIVE_SQL, Case, Task, User
from services.context import Actor, load_actor, now_or, record
from services.unit_of_work import UnitOfWork, given

_LIVE = [TaskState.OPEN.value, TaskState.CLAIMED.value]


def _out(t: Task, case_number: str | None, assignee: str | None, facts: dict[str, Any] | None = None) -> TaskOut:
    return TaskOut(id=t.id, kind=t.kind, title=t.title, case_number=case_number or "", candidate_group=t.candidate_group,  # type: ignore[arg-type]
                   assignee=assignee, due_at=t.due_at, priority=t.priority, state=t.state, created_at=t.created_at,
                   notice_id=t.notice_id, viewing_id=t.viewing_id, line_id=t.line_id, version=t.version,
                   facts=facts if facts is not None else {"case": case_number} if case_number else {})


def tasks_out(s: Session, rows: list[tuple[Task, str | None, str | None]]) -> list[TaskOut]:
    """Tasks as pages show them, each with its facts: ``rows`` are (task, case number, assignee's username)."""
    facts = task_facts(s, [t for t, _, _ in rows], {t.case_id: number for t, number, _ in rows if number})  # type: ignore[misc]
    return [_out(t, number, assignee, facts[t.id]) for t, number, assignee in rows]  # type: ignore[index]


def task_facts(s: Session, tasks: list[Task], numbers: dict[int, str]) -> dict[int, dict[str, Any]]:
    """What each task's title is about, read from the rows it points to (one query per kind of row, for a
    page of tasks): the facts ``ui.task_titles.render_title`` writes the title from. ``numbers``:
    case id -> case number."""
    from models.docs import Delivery
    from models.tables import Answer, Document, Line, Viewing

    line_ids = {t.line_id for t in tasks if t.line_id is not None}
    lines = {ln.id: ln for ln in s.exec(select(Line).where(col(Line.id).in_(line_ids)))} if line_ids else {}
    bond_notices = {t.notice_id for t in tasks if t.kind in (TaskKind.CHECK_BOND, TaskKind.REVIEW_APPLICATION)
                    and t.notice_id is not None}
    required = dict(s.exec(select(Answer.notice_id, Answer.bond_required).where(
        col(Answer.notice_id).in_(bond_notices))).all()) if bond_notices else {}
    viewing_ids = {t.viewing_id for t in tasks if t.viewing_id is not None}
    viewings = {v.id: v for v in s.exec(select(Viewing).where(col(Viewing.id).in_(viewing_ids)))} if viewing_ids else {}
    requesters = dict(s.exec(select(User.id, User.display_name).where(
        col(User.id).in_({v.requested_by_id for v in viewings.values()}))).all()) if viewings else {}
    seen = {ln for v in viewings.values() for ln in v.line_ids}
    viewed = dict(s.exec(select(Line.id, Line.number).where(col(Line.id).in_(seen))).all()) if seen else {}
    serve_ids = {t.id for t in tasks if t.kind == TaskKind.SERVE_MANUALLY}
    served = {task_id: (kind, number) for task_id, kind, number in s.exec(
        select(Delivery.task_id, Document.kind, Document.number).join(Document, col(Document.id) == Delivery.document_id)
        .where(col(Delivery.task_id).in_(serve_ids)))} if serve_ids else {}
    out: dict[int, dict[str, Any]] = {}
    for t in tasks:
        facts: dict[str, Any] = {"case": numbers.get(t.case_id), "notice": t.notice_id,  # type: ignore[arg-type]
                                 "viewing": t.viewing_id, "year": t.calendar_year}
        line = lines.get(t.line_id)
        if line is not None:
            facts |= {"line": line.number, "brand": line.brand}
        if required.get(t.notice_id) is not None:
            facts["amount"] = f"{required[t.notice_id]:,.2f}"
        v = viewings.get(t.viewing_id)
        if v is not None:
            facts["requester"] = requesters.get(v.requested_by_id)
            facts["lines"] = ", ".join(str(n) for n in sorted(viewed[i] for i in v.line_ids if i in viewed)) or None
        if t.id in served:
            from services.documents import TITLES

            kind, number = served[t.id]
            title = TITLES[DocumentKind(kind)]
            facts |= {"document": (title.zh, title.en), "number": number}
        out[t.id] = {k: v for k, v in facts.items() if v is not None}  # type: ignore[index]
    return out


def inbox(*, actor: str, mine_only: bool = False, include_done: bool = False, kind: str | list[str] | None = None,
          case_number: str | None = None, limit: int = 200, uow: UnitOfWork | None = None) -> list[TaskOut]:
    """Tasks an officer may work: its group's tasks in its office, unassigned or assigned to it
    (managers see every task of their office)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        if not who.is_customs or who.role == Role.SYSTEM:
            raise PermissionDenied(who.username, "read the task inbox")
        q = select(Task, Case.number, User.username).outerjoin(Case, col(Case.id) == Task.case_id).outerjoin(
            User, col(User.id) == Task.assignee_id)
        if who.role != Role.ADMIN:
            q = q.where(Task.customs_office_id == who.customs_office_id)
        if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER):
            q = q.where(Task.candidate_group == who.role.value).where(
                or_(col(Task.assignee_id).is_(None), Task.assignee_id == who.id))
        if mine_only:
            q = q.where(Task.assignee_id == who.id)
        if not include_done:
            q = q.where(col(Task.state).in_(_LIVE))
        kinds = [k for k in ([kind] if isinstance(kind, str) else list(kind or [])) if k]
        if kinds:
            q = q.where(col(Task.kind).in_(kinds))
        if case_number and case_number.strip():
            q = q.where(Case.number == case_number.strip().upper())
        q = q.order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.priority), col(Task.id)).limit(limit)
        return tasks_out(s, list(s.exec(q)))


def _case_number(s: Session, task: Task) -> str:
    """The case a task is about ("" for a task about no single case, such as loading next year's calendar)."""
    case = s.get(Case, task.case_id) if task.case_id is not None else None
    return case.number if case else ""


def _lock(s: Session, task_id: int, who: Actor, expected_version: int | None) -> Task:
    task = s.exec(select(Task).where(Task.id == task_id).with_for_update()).first()
    if task is None or (who.role != Role.ADMIN and task.customs_office_id != who.customs_office_id):
        raise NotFound("task", task_id)
    if expected_version is not None and task.version != expected_version:
        raise ConcurrentUpdate(f"task {task_id}", "was changed by someone else meanwhile; reload and try again")
    if task.state not in _LIVE:
        raise ConcurrentUpdate(f"task {task_id}", "is already {task_state}", task_state=task.state)
    return task


def _may_work(who: Actor, task: Task) -> None:
    if who.role in (Role.MANAGER, Role.ADMIN):
        return
    if who.role.value != task.candidate_group:
        raise PermissionDenied(who.username, "work task {task}", "it is for the {group} group",
                               task=task.id, group=task.candidate_group)


def claim_task(*, task_id: int, actor: str, expected_version: int | None = None, now: datetime | None = None,
               uow: UnitOfWork | None = None) -> TaskOut:
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        task = _lock(s, task_id, who, expected_version)
        _may_work(who, task)
        if task.assignee_id not in (None, who.id):
            raise ConcurrentUpdate(f"task {task_id}", "is already claimed by a colleague")
        task.assignee_id, task.state, task.claimed_at = who.id, TaskState.CLAIMED.value, now
        task.version += 1
        s.add(task)
        record(s, actor=who, action="task.claimed", subject=f"task:{task.id}", at=now, case_id=task.case_id,
               after={"assignee": who.username})
        return tasks_out(s, [(task, _case_number(s, task), who.username)])[0]


def unclaim_task(*, task_id: int, actor: str, expected_version: int | None = None, now: datetime | None = None,
                 uow: UnitOfWork | None = None) -> TaskOut:
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        task = _lock(s, task_id, who, expected_version)
        if task.assignee_id != who.id and who.role not in (Role.MANAGER, Role.ADMIN):
            raise PermissionDenied(who.username, "unclaim task {task}", "it is not assigned to you", task=task.id)
        task.assignee_id, task.state, task.claimed_at = None, TaskState.OPEN.value, None
        task.version += 1
        s.add(task)
        record(s, actor=who, action="task.unclaimed", subject=f"task:{task.id}", at=now, case_id=task.case_id)
        return tasks_out(s, [(task, _case_number(s, task), None)])[0]


def assign_task(*, task_id: int, actor: str, assignee: str, expected_version: int | None = None,
                now: datetime | None = None, uow: UnitOfWork | None = None) -> TaskOut:
    """Hand a task to a colleague of the same group and office (an officer its own task; a manager any)."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        task = _lock(s, task_id, who, expected_version)
        if who.role not in (Role.MANAGER, Role.ADMIN) and task.assignee_id != who.id:
            raise PermissionDenied(who.username, "hand over task {task}", "claim it first", task=task.id)
        to = load_actor(s, assignee)
        if to.role.value != task.candidate_group or to.customs_office_id != task.customs_office_id:
            raise InvalidInput("assignee", "{assignee} is not a {group} of this office", assignee=assignee,
                               group=task.candidate_group)
        before = task.assignee_id
        task.assignee_id, task.state, task.claimed_at = to.id, TaskState.CLAIMED.value, now
        task.version += 1
        s.add(task)
        record(s, actor=who, action="task.assigned", subject=f"task:{task.id}", at=now, case_id=task.case_id,
               before={"assignee_id": before}, after={"assignee": to.username})
        return tasks_out(s, [(task, _case_number(s, task), to.username)])[0]


def complete_task(*, task_id: int, actor: str, outcome: str, fields: dict[str, Any] | None = None,
                  expected_version: int | None = None, now: datetime | None = None,
                  uow: UnitOfWork | None = None) -> TaskOut:
    """Complete a task with one of its outcomes and its typed form: the task's act (``services.task_acts``)
    is performed in the same transaction, and the timeline records the completion once. A task kind
    without an act cannot be completed; two officers completing a task at once: one wins, the other
    changes nothing."""
    from services.task_acts import act_for, parse_form
    uow = given(uow)

    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        task = _lock(s, task_id, who, expected_version)
        _may_work(who, task)
        if task.assignee_id not in (None, who.id) and who.role not in (Role.MANAGER, Role.ADMIN):
            raise ConcurrentUpdate(f"task {task_id}", "is claimed by a colleague")
        spec = act_for(task.kind)
        if outcome not in spec.outcomes:
            raise InvalidInput("outcome", "must be one of {choices}", choices=list(spec.outcomes))
        fields = dict(fields or {})
        if spec.outcome_field:  # the outcome chosen is what the form states
            fields.setdefault(spec.outcome_field, outcome)
        form = parse_form(spec.form, fields)
        ongoing = outcome in spec.ongoing
        if not ongoing:  # completed first, so the act's own "complete the matching task" finds it done
            task.state, task.completed_at, task.completed_by_id = TaskState.COMPLETED.value, now, who.id
        else:
            task.state, task.claimed_at = TaskState.CLAIMED.value, task.claimed_at or now
        task.assignee_id = task.assignee_id or who.id
        task.version += 1
        s.add(task)
        s.flush()
        result = spec.act(s, who=who, task=task, outcome=outcome, form=form, now=now)
        done = {"outcome": outcome, **form.model_dump(mode="json"), "result": result}
        if not ongoing:
            task.outcome = _json_outcome(done)
        s.add(task)
        record(s, actor=who, action="task.acted" if ongoing else "task.completed", subject=f"task:{task.id}", at=now,
               case_id=task.case_id, after={"kind": task.kind, **_json_outcome(done)})
        return tasks_out(s, [(task, _case_number(s, task), load_username(s, task.assignee_id))])[0]


def complete_matching_tasks(s: Session, *, kind: str, case_id: int | None, who: Actor, now: datetime, outcome: str,
                            details: dict[str, Any] | None = None, viewing_id: int | None = None,
                            notice_id: int | None = None, line_id: int | None = None,
                            task_id: int | None = None, skip: int | None = None) -> list[int]:
    """The act was done elsewhere (the viewing room's decide button, the CLI, another service): complete
    the matching open tasks in the caller's transaction, each recorded once. ``case_id`` None: any case
    (the notice or line given is enough); ``skip``: a task the caller completes itself. Returns their ids."""
    q = select(Task).where(Task.kind == str(kind), col(Task.state).in_(_LIVE))
    if case_id is not None:
        q = q.where(Task.case_id == case_id)
    if skip is not None:
        q = q.where(Task.id != skip)
    for column, value in ((Task.viewing_id, viewing_id), (Task.notice_id, notice_id), (Task.line_id, line_id),
                          (Task.id, task_id)):
        if value is not None:
            q = q.where(column == value)
    done: list[int] = []
    for t in s.exec(q.order_by(col(Task.id)).with_for_update()):
        t.state, t.completed_at, t.completed_by_id = TaskState.COMPLETED.value, now, who.id
        t.assignee_id = t.assignee_id or who.id
        t.outcome = _json_outcome({"outcome": outcome, **(details or {})})
        t.version += 1
        s.add(t)
        record(s, actor=who, action="task.completed", subject=f"task:{t.id}", at=now, case_id=t.case_id,
               after={"kind": t.kind, **t.outcome})
        done.append(t.id)  # type: ignore[arg-type]
    return done


def load_username(s: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    u = s.get(User, user_id)
    return u.username if u else None


def _json_outcome(outcome: object) -> dict[str, Any]:
    """The outcome as it will be stored: a JSON object of plain values (no NaN, no infinities)."""
    import json

    if outcome is None:
        return {}
    if not isinstance(outcome, dict):
        raise InvalidInput("outcome", "must be an object of named values")
    try:
        plain_json = json.loads(json.dumps(outcome, allow_nan=False, ensure_ascii=False, default=str))
    except (TypeError, ValueError) as e:
        raise InvalidInput("outcome", "must hold plain JSON values only ({problem})", problem=str(e)) from None
    _plain_strings(plain_json)
    return plain_json


def _plain_strings(value: object) -> None:
    """Every name and text in an outcome is plain text (no NUL, control or bidi characters)."""
    from models.text import plain

    if isinstance(value, str):
        plain("outcome", value, multiline=True)
    elif isinstance(value, dict):
        for k, v in value.items():
            plain("outcome", k)
            _plain_strings(v)
    elif isinstance(value, list):
        for v in value:
            _plain_strings(v)


# --- the inbox's views, filters and paging (all in the database) ------------------------------------------

VIEWS = ("mine", "group", "office", "done")


class TaskPage(BaseModel):
    """One page of a view: ``next_offset`` is None on the last page."""

    view: str
    items: list[TaskOut]
    offset: int
    limit: int
    next_offset: int | None


class TaskHistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class TaskDetail(BaseModel):
    """What the detail panel shows: the task, its case in brief, its form, its history."""

    task: TaskOut
    escalated_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    outcome: dict[str, Any]
    case: dict[str, Any]
    form: dict[str, Any]
    history: list[TaskHistoryEntry]
    may_complete: bool
    why_not: str | None


def _customs_reader(s: Session, actor: str) -> Actor:
    who = load_actor(s, actor)
    if not who.is_customs or who.role == Role.SYSTEM:
        raise PermissionDenied(who.username, "read the task inbox")
    return who


def list_tasks(*, actor: str, view: str = "mine", kind: str | list[str] | None = None, case_number: str | None = None,
               due: str | None = None, assignee: str | None = None, priority_max: int | None = None,
               escalated: bool | None = None, offset: int = 0, limit: int = 50,
               now: datetime | None = None, uow: UnitOfWork | None = None) -> TaskPage:
    """A view of the inbox, filtered and paged by the database:

    - ``mine``: open tasks assigned to me;
    - ``group``: unclaimed open tasks of my group (a manager: of every group) in my office;
    - ``office``: every open task of my office, with its assignee;
    - ``done``: tasks I completed, newest first.

    ``due`` is ``overdue``, ``today`` (due by the end of today, Shanghai time) or ``none`` (no due date)."""
    uow = given(uow)
    _check_inbox_query(view=view, due=due, offset=offset, limit=limit)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        who = _customs_reader(s, actor)
        q = _filtered(s, _of_view(select(Task), who, view), kind=kind, case_number=case_number, assignee=assignee,
                      priority_max=priority_max, escalated=escalated, due=due, now=now)
        if view == "done":
            q = q.order_by(col(Task.completed_by_id), col(Task.completed_at).desc(), col(Task.id).desc())
        else:  # in index order (tasks without a due date come first on SQLite, last on PostgreSQL)
            q = q.order_by(col(Task.due_at), col(Task.id))
        rows = list(s.exec(q.offset(offset).limit(limit + 1)))
        more = len(rows) > limit
        return TaskPage(view=view, items=_listed(s, rows[:limit]),
                        offset=offset, limit=limit, next_offset=offset + limit if more else None)


def _check_inbox_query(*, view: str, due: str | None, offset: int, limit: int) -> None:
    if view not in VIEWS:
        raise InvalidInput("view", "must be one of {choices}", choices=list(VIEWS))
    if not 1 <= limit <= 500:
        raise InvalidInput("limit", "must be between 1 and 500")
    if offset < 0:
        raise InvalidInput("offset", "must not be negative")
    if due not in (None, "", "overdue", "today", "none"):
        raise InvalidInput("due", "must be overdue, today or none")


def _of_view(q: Any, who: Actor, view: str) -> Any:
    """The tasks of one inbox view: the reader's office (an administrator's: every office), live or done."""
    if who.role != Role.ADMIN:
        q = q.where(Task.customs_office_id == who.customs_office_id)
    if view == "done":
        q = q.where(Task.completed_by_id == who.id, Task.state == TaskState.COMPLETED.value)
    else:
        q = q.where(text(TASK_LIVE_SQL))  # as written in the partial indexes, so the planners use them
    if view == "mine":
        q = q.where(Task.assignee_id == who.id)
    elif view == "group":
        q = q.where(col(Task.assignee_id).is_(None))
        if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER):
            q = q.where(Task.candidate_group == who.role.value)
    return q


def _filtered(s: Session, q: Any, *, kind: str | list[str] | None, case_number: str | None, assignee: str | None,
              priority_max: int | None, escalated: bool | None, due: str | None, now: datetime) -> Any:
    """The inbox's filters; an unknown case or assignee matches nothing (id -1) rather than everything."""
    from models.rules.workdays import end_of_day, local_date

    kinds = [k for k in ([kind] if isinstance(kind, str) else list(kind or [])) if k]
    if kinds:
        q = q.where(col(Task.kind).in_(kinds))
    if case_number and case_number.strip():
        case_id = s.exec(select(Case.id).where(Case.number == case_number.strip().upper())).first()
        q = q.where(Task.case_id == (case_id if case_id is not None else -1))
    if assignee and assignee.strip():
        user_id = s.exec(select(User.id).where(User.username == assignee.strip())).first()
        q = q.where(Task.assignee_id == (user_id if user_id is not None else -1))
    if priority_max is not None:
        q = q.where(Task.priority <= priority_max)
    if escalated is not None:
        q = q.where(col(Task.escalated_at).is_not(None) if escalated else col(Task.escalated_at).is_(None))
    if due == "overdue":
        q = q.where(col(Task.due_at) < now)
    elif due == "today":
        q = q.where(col(Task.due_at) <= end_of_day(local_date(now)))
    elif due == "none":
        q = q.where(col(Task.due_at).is_(None))
    return q


def _listed(s: Session, rows: list[Task]) -> list[TaskOut]:
    """The page's tasks with their case numbers and assignees, read in two queries for the whole page."""
    cases = {t.case_id for t in rows}
    numbers = dict(s.exec(select(Case.id, Case.number).where(col(Case.id).in_(cases))).all()) if rows else {}
    users = {t.assignee_id for t in rows if t.assignee_id}
    names = dict(s.exec(select(User.id, User.username).where(col(User.id).in_(users))).all()) if users else {}
    return tasks_out(s, [(t, numbers.get(t.case_id, ""), names.get(t.assignee_id)) for t in rows])  # type: ignore[misc]


def why_not_complete(who: Actor, task: Task) -> str | None:
    """Why ``who`` may not complete ``task`` (None: it may)."""
    from services.task_acts import TASK_ACTS

    if task.state not in _LIVE:
        return f"the task is {task.state}"
    if str(task.kind) not in TASK_ACTS:
        return f"a {task.kind} task has no act: it cannot be completed from the inbox"
    if who.role not in (Role.MANAGER, Role.ADMIN) and who.role.value != task.candidate_group:
        return f"it is for the {task.candidate_group} group"
    if task.assignee_id not in (None, who.id) and who.role not in (Role.MANAGER, Role.ADMIN):
        return "it is claimed by a colleague"
    return None


def task_detail(*, task_id: int, actor: str, uow: UnitOfWork | None = None) -> TaskDetail:
    """One task with its case summary, its form (fields and outcomes) and its history."""
    from models.tables import Line, Notice, Recordation, RightsHolder, TimelineEntry
    from services.task_acts import describe
    uow = given(uow)

    with uow.transaction(readonly=True) as s:
        who = _customs_reader(s, actor)
        task = s.get(Task, task_id)
        if task is None or (who.role != Role.ADMIN and task.customs_office_id != who.customs_office_id):
            raise NotFound("task", task_id)
        case = s.get(Case, task.case_id) if task.case_id is not None else None  # a task may be about no case
        lines = list(s.exec(select(Line).where(Line.case_id == case.id).order_by(Line.number))) if case else []
        notices = list(s.exec(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id))) if case else []
        holders = dict(s.exec(select(RightsHolder.id, RightsHolder.name).where(
            col(RightsHolder.id).in_({n.rights_holder_id for n in notices}))).all()) if notices else {}
        history = [TaskHistoryEntry(at=e.at, actor=e.actor, action=e.action, detail=e.after or {})
                   for e in s.exec(select(TimelineEntry).where(TimelineEntry.subject == f"task:{task.id}")
                                   .order_by(col(TimelineEntry.id)))]
        history.insert(0, TaskHistoryEntry(at=task.created_at, actor="system", action="task.opened",
                                           detail={"title": task.title}))
        why = why_not_complete(who, task)
        recs = dict(s.exec(select(Recordation.id, Recordation.number).where(
            col(Recordation.id).in_({ln.recordation_id for ln in lines}))).all()) if lines else {}
        photo = _photo_matches(s, case.id) if case is not None else {}
        return TaskDetail(
            task=tasks_out(s, [(task, case.number if case else "", load_username(s, task.assignee_id))])[0],
            escalated_at=task.escalated_at,
            completed_at=task.completed_at, completed_by=load_username(s, task.completed_by_id), outcome=task.outcome,
            case={"number": case.number if case else "", "status": case.status if case else "",
                  "confirmed_at": case.confirmed_at if case else None,
                  "lines": [{"number": ln.number, "brand": ln.brand, "description": ln.description,
                             "quantity": ln.quantity, "state": ln.state, "recordation": recs.get(ln.recordation_id, ""),
                             "nice_class": ln.nice_class, "match_flags": list(ln.match_flags or []),
                             "photo_match": photo.get(ln.number)} for ln in lines],
                  "notices": [{"id": n.id, "rights_holder": holders.get(n.rights_holder_id, ""), "state": n.state,
                               "deadline_at": n.deadline_at} for n in notices]},
            form=describe(task.kind), history=history, may_complete=why is None, why_not=why)


def _photo_matches(s: Session, case_id: int) -> dict[int, dict[str, Any]]:
    """The latest 以图识图 identification of each line of a case (``line.identified_from_photo``): the
    recordation the photo matched, its score, and whether it is the line's own recordation."""
    from models.tables import TimelineEntry

    out: dict[int, dict[str, Any]] = {}
    for e in s.exec(select(TimelineEntry).where(TimelineEntry.case_id == case_id,
                                                TimelineEntry.action == "line.identified_from_photo")
                    .order_by(col(TimelineEntry.id))):
        a = e.after or {}
        if isinstance(a.get("line"), int):
            out[a["line"]] = {"recordation": a.get("recordation"), "score": a.get("score"),
                              "matches": a.get("line_recordation_matches")}
    return out


class BulkResult(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    task_id: int
    ok: bool
    error: str | None = None  # the refusal in the command line's words ("code: sentence")
    task: TaskOut | None = None
    #: the refusal itself, for the UI to say in the reader's language (never serialised)
    refusal: YunqueError | None = Field(default=None, exclude=True, repr=False)


def bulk(*, action: str, task_ids: list[int], actor: str, assignee: str | None = None, outcome: str | None = None,
         fields: dict[str, Any] | None = None, now: datetime | None = None,
         uow: UnitOfWork | None = None) -> list[BulkResult]:
    """Claim, unclaim, hand over or complete several tasks; each in its own transaction, each reported.
    Completing several at once is allowed only for kinds whose form allows it (``TaskAct.bulk``)."""
    from services.task_acts import act_for
    uow = given(uow)

    if action not in ("claim", "unclaim", "assign", "complete"):
        raise InvalidInput("action", "must be claim, unclaim, assign or complete")
    if not task_ids:
        raise InvalidInput("task_ids", "select at least one task")
    if action == "complete" and len(task_ids) > 1:
        with uow.transaction(readonly=True) as s:
            kinds = set(s.exec(select(Task.kind).where(col(Task.id).in_(task_ids))))
        for k in kinds:
            if not act_for(k).bulk:
                raise InvalidInput("task_ids", "{kind} tasks are completed one at a time", kind=k)
    now = now_or(now)
    out: list[BulkResult] = []
    for tid in task_ids:
        try:
            if action == "claim":
                t = claim_task(task_id=tid, actor=actor, now=now, uow=uow)
            elif action == "unclaim":
                t = unclaim_task(task_id=tid, actor=actor, now=now, uow=uow)
            elif action == "assign":
                t = assign_task(task_id=tid, actor=actor, assignee=assignee or "", now=now, uow=uow)
            else:
                t = complete_task(task_id=tid, actor=actor, outcome=outcome or "", fields=fields, now=now, uow=uow)
            out.append(BulkResult(task_id=tid, ok=True, task=t))
        except YunqueError as e:
            out.append(BulkResult(task_id=tid, ok=False, error=f"{e.code}: {e}", refusal=e))
    return out


def escalate_overdue(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> list[int]:
    """Overdue open tasks are handed up to their office's managers (once each): they appear in the
    managers' "escalated" filter and the timeline says so."""
    from services.context import system_actor
    uow = given(uow)

    now = now_or(now)
    with uow.transaction() as s:
        who = system_actor(s)
        done: list[int] = []
        for t in s.exec(select(Task).where(col(Task.state).in_(_LIVE), col(Task.due_at) < now,
                                           col(Task.escalated_at).is_(None)).order_by(col(Task.id)).with_for_update()):
            t.escalated_at = now
            t.version += 1
            s.add(t)
            record(s, actor=who, action="task.escalated", subject=f"task:{t.id}", at=now, case_id=t.case_id,
                   after={"kind": t.kind, "due_at": t.due_at.isoformat() if t.due_at else None, "to": "manager"})
            done.append(t.id)  # type: ignore[arg-type]
        return done
