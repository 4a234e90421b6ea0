"""The process map of a case: its path from seizure to closing, drawn from the case's real state.

Each step is done (when), under way (who is waited on, until when) or still to come; a step the case
will not take (no line was detained, nothing was confiscated) is left out of the way. Officers and
managers see it on the case page. ``build_map`` is pure: it reads a case as ``get_case`` shows it and
the case's open tasks; ``case_map`` loads both for a customs reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from models.enums import CaseStatus, LineState, NoticeState
from models.rules.workdays import end_of_day
from models.schemas import CaseOut, LineOut, TaskOut
from services.unit_of_work import UnitOfWork, given

StepState = Literal["done", "current", "todo", "skipped"]

#: states a detained line passes through while customs or a court still has to act
_HELD = {LineState.DETAINED.value, LineState.UNDETERMINED.value, LineState.COURT_HOLD.value}


class Step(BaseModel):
    key: str  # unique in the map: "seized", "confirm", "notice-3", "viewing-2", "detention", ...
    kind: str  # what the step is, for its label: seized, confirm, notice, viewing, detention, disposal, closed
    state: StepState
    detail: str = ""  # the rights holder of a notice step, the brand of a line
    waiting_on: str | None = None  # a person, a group ("group:ipr_officer"), a rights holder, "process"
    until: datetime | None = None  # the deadline of what is awaited
    at: datetime | None = None  # when a done step was done


class ProcessMap(BaseModel):
    case_number: str
    steps: list[Step]
    edges: list[tuple[str, str]]
    tasks: list[TaskOut] = []  # the case's open tasks the map was drawn from

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if s.key == key)


def _waiting_on_task(task: TaskOut) -> str:
    return task.assignee or f"group:{task.candidate_group}"


def _notice_step(n, tasks: list[TaskOut], confirmed: bool) -> Step:  # noqa: ANN001
    key = f"notice-{n.id}"
    own = [t for t in tasks if t.notice_id == n.id and t.kind in ("check_bond", "serve_manually")]
    if n.state == NoticeState.WITHDRAWN:
        return Step(key=key, kind="notice", state="skipped", detail=n.rights_holder)
    if n.state in (NoticeState.ANSWERED, NoticeState.EXPIRED):
        at = n.answer.answered_at if n.answer else n.deadline_at
        return Step(key=key, kind="notice", state="done", detail=n.rights_holder, at=at)
    if n.state == NoticeState.CLAIM_PENDING:  # the claim awaits the bond customs checks
        task = next((t for t in own if t.kind == "check_bond"), None)
        return Step(key=key, kind="notice", state="current", detail=n.rights_holder,
                    waiting_on=_waiting_on_task(task) if task else "group:ipr_officer", until=n.deadline_at)
    if n.state == NoticeState.SERVED:
        return Step(key=key, kind="notice", state="current", detail=n.rights_holder, waiting_on=n.rights_holder,
                    until=n.deadline_at)
    if not confirmed:  # issued, served once the lines are confirmed
        return Step(key=key, kind="notice", state="todo", detail=n.rights_holder)
    task = next((t for t in own if t.kind == "serve_manually"), None)  # the mail failed: served by hand or post
    return Step(key=key, kind="notice", state="current", detail=n.rights_holder,
                waiting_on=_waiting_on_task(task) if task else "process", until=task.due_at if task else None)


def build_map(case: CaseOut, tasks: list[TaskOut]) -> ProcessMap:
    """The map of ``case`` given its open tasks (those of other cases are ignored)."""
    tasks = [t for t in tasks if t.case_number == case.number and t.state in ("open", "claimed")]
    confirmed = case.confirmed_at is not None
    steps = [Step(key="seized", kind="seized", state="done", detail=case.opened_by, at=case.opened_at),
             _confirm_step(case, tasks)]
    edges: list[tuple[str, str]] = [("seized", "confirm")]
    notice_steps, notice_edges, notice_keys = _notice_steps(case, tasks, confirmed)
    steps += notice_steps
    edges += notice_edges
    held = [ln for ln in case.lines if ln.state in _HELD]
    answers_pending = any(s.state in ("current", "todo") for s in steps if s.kind == "notice")
    steps.append(_detention_step(case, tasks, held, answers_pending))
    edges += [(k, "detention") for k in notice_keys]
    steps.append(_disposal_step(case, tasks, pending=bool(held) or answers_pending))
    edges.append(("detention", "disposal"))
    closed = case.status == CaseStatus.CLOSED
    steps.append(Step(key="closed", kind="closed", state="done" if closed else "todo"))
    edges.append(("disposal", "closed"))
    return ProcessMap(case_number=case.number, steps=steps, edges=edges, tasks=tasks)


def _confirm_step(case: CaseOut, tasks: list[TaskOut]) -> Step:
    """The IPR officer's confirmation of the lines: done, or waiting on its task (or the group, before it)."""
    if case.confirmed_at is not None:
        return Step(key="confirm", kind="confirm", state="done", at=case.confirmed_at)
    confirm_task = next((t for t in tasks if t.kind == "confirm_seizure"), None)
    return Step(key="confirm", kind="confirm", state="current",
                waiting_on=_waiting_on_task(confirm_task) if confirm_task else "group:ipr_officer",
                until=confirm_task.due_at if confirm_task else None)


def _notice_steps(case: CaseOut, tasks: list[TaskOut],
                  confirmed: bool) -> tuple[list[Step], list[tuple[str, str]], list[str]]:
    """One step per notice after the confirmation, each with the viewings under way hanging on it; the steps,
    their edges and the notices' keys."""
    steps: list[Step] = []
    edges: list[tuple[str, str]] = []
    keys = []
    for n in case.notices:
        step = _notice_step(n, tasks, confirmed)
        steps.append(step)
        edges.append(("confirm", step.key))
        keys.append(step.key)
        for t in tasks:
            if t.notice_id == n.id and t.kind in ("approve_viewing", "attend_viewing"):
                steps.append(Step(key=f"viewing-{t.viewing_id}-{t.kind}", kind=t.kind, state="current",
                                  detail=n.rights_holder, waiting_on=_waiting_on_task(t), until=t.due_at))
                edges.append((step.key, steps[-1].key))
    return steps, edges, keys


def _detention_step(case: CaseOut, tasks: list[TaskOut], held: list[LineOut], answers_pending: bool) -> Step:
    """Lines held: waiting on the investigation (or the court) until the first of their deadlines; else done if
    any line was ever detained, to come while answers are pending, skipped otherwise."""
    if held:
        investigate = [t for t in tasks if t.kind == "investigate"]
        dues = [end_of_day(ln.investigation_due) for ln in held if ln.investigation_due]
        dues += [end_of_day(ln.court_due) for ln in held if ln.state != LineState.DETAINED and ln.court_due]
        waiting = _waiting_on_task(investigate[0]) if investigate else "group:ipr_officer"
        if all(ln.state == LineState.COURT_HOLD for ln in held):
            waiting = "court"
        return Step(key="detention", kind="detention", state="current", waiting_on=waiting,
                    until=min(dues) if dues else None, detail=", ".join(sorted({ln.brand for ln in held})))
    ever_detained = [ln for ln in case.lines if ln.detained_at is not None]
    if ever_detained:
        return Step(key="detention", kind="detention", state="done",
                    detail=", ".join(sorted({ln.brand for ln in ever_detained})))
    return Step(key="detention", kind="detention", state="todo" if answers_pending else "skipped")


def _disposal_step(case: CaseOut, tasks: list[TaskOut], *, pending: bool) -> Step:
    """The disposal of confiscated goods: waiting on its task, done, to come while lines are held or answers
    pending, or skipped."""
    confiscated = [ln for ln in case.lines if ln.state == LineState.CONFISCATED]
    dispose = [t for t in tasks if t.kind == "dispose"]
    if dispose:
        return Step(key="disposal", kind="disposal", state="current", waiting_on=_waiting_on_task(dispose[0]),
                    until=dispose[0].due_at, detail=", ".join(sorted({ln.brand for ln in confiscated})))
    if confiscated:
        return Step(key="disposal", kind="disposal", state="done",
                    detail=", ".join(sorted({ln.brand for ln in confiscated})))
    return Step(key="disposal", kind="disposal", state="todo" if pending else "skipped")


def case_map(*, case_number: str, actor: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> ProcessMap:
    """The process map of a case, for customs staff of its office (others: the case does not exist)."""
    from services.cases import get_case
    from services.tasks import list_tasks
    uow = given(uow)

    case = get_case(case_number=case_number, actor=actor, uow=uow)
    page = list_tasks(actor=actor, view="office", case_number=case.number, limit=500, now=now, uow=uow)
    return build_map(case, page.items)
