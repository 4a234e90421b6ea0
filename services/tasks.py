"""Human tasks: the officers' inbox. Claim, unclaim, hand over, complete; exactly one wins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from adapters.db import session_scope
from models.enums import Role, TaskState
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound, PermissionDenied
from models.schemas import TaskOut
from models.tables import Case, Task, User
from services.context import Actor, load_actor, now_or, record

_LIVE = [TaskState.OPEN.value, TaskState.CLAIMED.value]


def _out(t: Task, case_number: str | None, assignee: str | None) -> TaskOut:
    return TaskOut(id=t.id, kind=t.kind, title=t.title, case_number=case_number or "", candidate_group=t.candidate_group,  # type: ignore[arg-type]
                   assignee=assignee, due_at=t.due_at, priority=t.priority, state=t.state, created_at=t.created_at,
                   notice_id=t.notice_id, viewing_id=t.viewing_id, line_id=t.line_id, version=t.version)


def inbox(*, actor: str, mine_only: bool = False, include_done: bool = False, kind: str | None = None,
          limit: int = 200) -> list[TaskOut]:
    """Tasks an officer may work: its group's tasks in its office, unassigned or assigned to it
    (managers see every task of their office)."""
    with session_scope(readonly=True) as s:
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
        if kind:
            q = q.where(Task.kind == kind)
        q = q.order_by(col(Task.due_at).is_(None), col(Task.due_at), col(Task.priority), col(Task.id)).limit(limit)
        return [_out(t, number, assignee) for t, number, assignee in s.exec(q)]


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
        raise ConcurrentUpdate(f"task {task_id}", f"is already {task.state}")
    return task


def _may_work(who: Actor, task: Task) -> None:
    if who.role in (Role.MANAGER, Role.ADMIN):
        return
    if who.role.value != task.candidate_group:
        raise PermissionDenied(who.username, f"work task {task.id}", f"it is for the {task.candidate_group} group")


def claim_task(*, task_id: int, actor: str, expected_version: int | None = None, now: datetime | None = None) -> TaskOut:
    now = now_or(now)
    with session_scope() as s:
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
        return _out(task, _case_number(s, task), who.username)


def unclaim_task(*, task_id: int, actor: str, expected_version: int | None = None, now: datetime | None = None) -> TaskOut:
    now = now_or(now)
    with session_scope() as s:
        who = load_actor(s, actor)
        task = _lock(s, task_id, who, expected_version)
        if task.assignee_id != who.id and who.role not in (Role.MANAGER, Role.ADMIN):
            raise PermissionDenied(who.username, f"unclaim task {task.id}", "it is not assigned to you")
        task.assignee_id, task.state, task.claimed_at = None, TaskState.OPEN.value, None
        task.version += 1
        s.add(task)
        record(s, actor=who, action="task.unclaimed", subject=f"task:{task.id}", at=now, case_id=task.case_id)
        return _out(task, _case_number(s, task), None)


def assign_task(*, task_id: int, actor: str, assignee: str, expected_version: int | None = None,
                now: datetime | None = None) -> TaskOut:
    """Hand a task to a colleague of the same group and office (an officer its own task; a manager any)."""
    now = now_or(now)
    with session_scope() as s:
        who = load_actor(s, actor)
        task = _lock(s, task_id, who, expected_version)
        if who.role not in (Role.MANAGER, Role.ADMIN) and task.assignee_id != who.id:
            raise PermissionDenied(who.username, f"hand over task {task.id}", "claim it first")
        to = load_actor(s, assignee)
        if to.role.value != task.candidate_group or to.customs_office_id != task.customs_office_id:
            raise InvalidInput("assignee", f"{assignee} is not a {task.candidate_group} of this office")
        before = task.assignee_id
        task.assignee_id, task.state, task.claimed_at = to.id, TaskState.CLAIMED.value, now
        task.version += 1
        s.add(task)
        record(s, actor=who, action="task.assigned", subject=f"task:{task.id}", at=now, case_id=task.case_id,
               before={"assignee_id": before}, after={"assignee": to.username})
        return _out(task, _case_number(s, task), to.username)


def complete_task(*, task_id: int, actor: str, outcome: dict[str, Any] | None = None,
                  expected_version: int | None = None, now: datetime | None = None) -> TaskOut:
    """Complete a task with its form's outcome. Two officers completing it at once: one wins."""
    outcome = _json_outcome(outcome)
    now = now_or(now)
    with session_scope() as s:
        who = load_actor(s, actor)
        task = _lock(s, task_id, who, expected_version)
        _may_work(who, task)
        if task.assignee_id not in (None, who.id) and who.role not in (Role.MANAGER, Role.ADMIN):
            raise ConcurrentUpdate(f"task {task_id}", "is claimed by a colleague")
        task.state, task.completed_at, task.completed_by_id = TaskState.COMPLETED.value, now, who.id
        task.assignee_id = task.assignee_id or who.id
        task.outcome = dict(outcome or {})
        task.version += 1
        s.add(task)
        record(s, actor=who, action="task.completed", subject=f"task:{task.id}", at=now, case_id=task.case_id,
               after={"kind": task.kind, "outcome": task.outcome})
        return _out(task, _case_number(s, task), who.username)


def _json_outcome(outcome: object) -> dict[str, Any]:
    """The outcome as it will be stored: a JSON object of plain values (no NaN, no infinities)."""
    import json

    if outcome is None:
        return {}
    if not isinstance(outcome, dict):
        raise InvalidInput("outcome", "must be an object of named values")
    try:
        return json.loads(json.dumps(outcome, allow_nan=False, ensure_ascii=False))
    except (TypeError, ValueError) as e:
        raise InvalidInput("outcome", f"must hold plain JSON values only ({e})") from None
