"""What completing a task does: for every task kind, its typed form, its outcomes and its act.

Completing a task in the inbox (or with ``yunque task complete``) is the legal act itself: confirming a
seizure's lines, deciding a viewing, opening the viewing room, recording a manual service, and the law after
the verdict (``services.legal_task_acts``: a bond received, an investigation concluded, goods disposed of, a
bond settled, the consignor's statement reviewed), and a stopped case process restarted.
``services.tasks.complete_task`` looks the kind up here, validates the form at the edge (errors name the
field), and calls the act in the same transaction as the completion. A kind without an entry cannot be
completed.

An act is ``act(s, *, who, task, outcome, form, now) -> dict``: it works inside the caller's session and
never commits. Entries may be given as a ``TaskAct`` or as a plain ``(form, outcomes, act)`` tuple.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session, col, select

from models.enums import LineState, NoticeState, Reason, Role, TaskKind
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound, Words
from models.tables import Case, Line, Notice, Recordation, Task, TimelineEntry
from services.context import Actor, publish, record, require_role
from services.counter_bonds import COUNTER_BOND_TASK_ACTS
from services.legal_task_acts import LEGAL_OUTCOME_FIELDS, LEGAL_TASK_ACTS
from services.unit_of_work import UnitOfWork, given


@dataclass(frozen=True)
class TaskAct:
    form: type[BaseModel]  # the typed form; fields validated at the edge, named in errors
    outcomes: tuple[str, ...]  # allowed outcomes
    act: Callable[..., dict]  # act(s, *, who, task, outcome, form, now) -> dict, inside the caller's transaction
    ongoing: tuple[str, ...] = ()  # outcomes that act but leave the task with the officer (it ends later)
    bulk: bool = False  # several tasks may be completed at once with one form
    outcome_field: str | None = None  # a form field that repeats the outcome: filled from it when not given


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- confirm_seizure: the lines against the recordations, before any notice is served ---------------


class ConfirmSeizureForm(_Form):
    """核对查扣货物: every line matches its recordation, except those listed (released at once)."""

    not_matching: list[int] = Field(default_factory=list, title="Lines that do not match",
                                    description="numbers of the lines that do not match their recordation; "
                                                "with outcome not-matching and none given: every line")
    reason: str = Field(default="", max_length=2000, title="Why they do not match",
                        description="class of goods, licensee, mark: required when a line is released")


def confirm_lines(s: Session, *, who: Actor, case: Case, not_matching: list[int], reason: str,
                  now: datetime) -> dict[str, Any]:
    """Confirm a seizure's lines (Reg 16; Meas 21): lines that do not match are released on the spot with the
    reason (release notice through the process); the notices still needed are then served."""
    from services.cases import close_if_done, serve_confirmed
    from services.lines import move_lines

    require_role(who, "confirm a seizure against the recordations", Role.IPR_OFFICER, Role.ADMIN)
    if who.role != Role.ADMIN and who.customs_office_id != case.customs_office_id:
        raise NotFound("case", case.number)
    if case.confirmed_at is not None:
        raise ConcurrentUpdate(f"case {case.number}", "was already confirmed at {confirmed_at}",
                               confirmed_at=case.confirmed_at)
    lines = list(s.exec(select(Line).where(Line.case_id == case.id).order_by(Line.number).with_for_update()))
    by_number = {ln.number: ln for ln in lines}
    unknown = sorted(set(not_matching) - set(by_number))
    if unknown:
        raise InvalidInput("not_matching", "line(s) {lines} are not lines of {case}", lines=unknown, case=case.number)
    gone = sorted(n for n in set(not_matching) if by_number[n].state != LineState.SUSPENDED)
    if gone:
        raise InvalidInput("not_matching", "line(s) {lines} are no longer suspended", lines=gone)
    reason = reason.strip()
    if not_matching and len(reason) < 3:
        raise InvalidInput("reason", "a line released for not matching its recordation needs the reason")
    recs = {r.id: r.number for r in s.exec(select(Recordation).where(
        col(Recordation.id).in_({ln.recordation_id for ln in lines})))}
    released = [by_number[n] for n in sorted(set(not_matching))]
    by_notice: dict[int | None, list[Line]] = {}
    for ln in released:
        by_notice.setdefault(ln.notice_id, []).append(ln)
    for notice_id, group in by_notice.items():
        move_lines(s, case=case, lines=group, target=LineState.RELEASED, reason=Reason.NOT_MATCHED, who=who, at=now,
                   notice_id=notice_id, note=reason)
    withdrawn = []
    for notice in s.exec(select(Notice).where(Notice.case_id == case.id).order_by(Notice.id).with_for_update()):
        held = [ln for ln in lines if ln.notice_id == notice.id and ln.state != LineState.RELEASED]
        if not held and notice.state == NoticeState.ISSUED:  # nothing left to ask this rights holder
            notice.state = NoticeState.WITHDRAWN.value
            notice.version += 1
            s.add(notice)
            record(s, actor=who, action="notice.withdrawn", subject=f"notice:{notice.id}", at=now, case_id=case.id,
                   before={"state": NoticeState.ISSUED.value}, after={"state": notice.state, "reason": reason})
            withdrawn.append(notice.id)
    case.confirmed_at = now
    case.version += 1
    s.add(case)
    gone_ids = {ln.id for ln in released}
    matching = {str(ln.number): recs.get(ln.recordation_id, "") for ln in lines if ln.id not in gone_ids}
    record(s, actor=who, action="case.confirmed", subject=f"case:{case.number}", at=now, case_id=case.id,
           after={"matching": matching, "not_matching": {str(ln.number): reason for ln in released}})
    served = serve_confirmed(s, case, who, at=now)
    close_if_done(s, case, who, now)
    publish(s, topic="case.confirmed", case_id=case.id, at=now,
            payload={"case_number": case.number, "released_lines": [ln.number for ln in released]})
    return {"matching": matching, "released": [ln.number for ln in released], "withdrawn_notices": withdrawn,
            "notices": [n.id for n in served]}


def _confirm_seizure(s: Session, *, who: Actor, task: Task, outcome: str, form: ConfirmSeizureForm,
                     now: datetime) -> dict[str, Any]:
    case = s.exec(select(Case).where(Case.id == task.case_id).with_for_update()).one()
    if outcome == "confirmed" and form.not_matching:
        raise InvalidInput("not_matching", "lines that do not match go with the outcome not-matching")
    not_matching = form.not_matching
    if outcome == "not-matching" and not not_matching:
        not_matching = list(s.exec(select(Line.number).where(Line.case_id == case.id,
                                                             Line.state == LineState.SUSPENDED.value)))
    return confirm_lines(s, who=who, case=case, not_matching=not_matching, reason=form.reason, now=now)


def confirm_seizure(*, case_number: str, actor: str, not_matching: list[int] | None = None, reason: str = "",
                    now: datetime | None = None, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """The confirmation done from the case page or the command line: the confirm_seizure task completes with it."""
    from services.context import load_actor, now_or
    from services.tasks import complete_matching_tasks
    uow = given(uow)

    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        case = s.exec(select(Case).where(Case.number == case_number).with_for_update()).first()
        if case is None:
            raise NotFound("case", case_number)
        result = confirm_lines(s, who=who, case=case, not_matching=list(not_matching or []), reason=reason, now=now)
        complete_matching_tasks(s, kind=TaskKind.CONFIRM_SEIZURE, case_id=case.id, who=who, now=now,  # type: ignore[arg-type]
                                outcome="not-matching" if result["released"] else "confirmed",
                                details={"not_matching": result["released"], "reason": reason})
        return {"case_number": case.number, **result}


# --- approve_viewing / attend_viewing ------------------------------------------------------------------


class ApproveViewingForm(_Form):
    """审批看货申请: approve (for a time, if set) or refuse with a reason; both parties see the decision."""

    scheduled_for: AwareDatetime | None = Field(default=None, title="Viewing time",
                                                description="when the viewing takes place (ISO 8601 with offset)")
    reason: str = Field(default="", max_length=2000, title="Reason", description="required for a refusal")


def _viewing_parts(s: Session, who: Actor, task: Task) -> tuple[Any, Case, str]:
    from services.viewing import _participant, _viewing

    if task.viewing_id is None:
        raise NotFound("viewing of task", task.id)
    v = _viewing(s, task.viewing_id, lock=True)
    case = s.get(Case, v.case_id)
    assert case is not None
    return v, case, _participant(s, who, v, case)


def _approve_viewing(s: Session, *, who: Actor, task: Task, outcome: str, form: ApproveViewingForm,
                     now: datetime) -> dict[str, Any]:
    from services.viewing import decide_viewing_in

    v, case, part = _viewing_parts(s, who, task)
    out = decide_viewing_in(s, who=who, v=v, case=case, part=part, approve=outcome == "approve", reason=form.reason,
                            scheduled_for=form.scheduled_for, now=now)
    return {"viewing_id": out.id, "state": out.state}


class AttendViewingForm(_Form):
    """参加看货并拍摄: open the room (the task stays with you), close it when done (the task ends)."""


def _attend_viewing(s: Session, *, who: Actor, task: Task, outcome: str, form: AttendViewingForm,
                    now: datetime) -> dict[str, Any]:
    from services.viewing import close_room_in, open_room_in

    v, case, part = _viewing_parts(s, who, task)
    fn = open_room_in if outcome == "open" else close_room_in
    out = fn(s, who=who, v=v, case=case, part=part, now=now)
    return {"viewing_id": out.id, "state": out.state}


# --- serve_manually / load_calendar ----------------------------------------------------------------------


class ServeManuallyForm(_Form):
    """人工送达: the document was served by hand or by post, at a moment (default: now)."""

    means: Literal["hand", "post"] = Field(default="hand", title="Means")
    served_at: AwareDatetime | None = Field(default=None, title="Served at",
                                            description="the moment of service (ISO 8601 with offset); default now")
    note: str = Field(default="", max_length=2000, title="Note")


def _serve_manually(s: Session, *, who: Actor, task: Task, outcome: str, form: ServeManuallyForm,
                    now: datetime) -> dict[str, Any]:
    from models.docs import Delivery
    from services.delivery import record_manual_service_in

    doc_id = s.exec(select(Delivery.document_id).where(Delivery.task_id == task.id)).first()
    if doc_id is None:
        raise NotFound("document of task", task.id)
    out = record_manual_service_in(s, who=who, document_id=doc_id, means=form.means, at=form.served_at,
                                   note=form.note, now=now)
    return {"document_id": doc_id, "delivery_id": out.id, "means": form.means}


class LoadCalendarForm(_Form):
    """载入工作日历: the year's official schedule has been loaded (``yunque calendar``)."""


def _load_calendar(s: Session, *, who: Actor, task: Task, outcome: str, form: LoadCalendarForm,
                   now: datetime) -> dict[str, Any]:
    """The year must now be known; otherwise the task stays and the reason is the missing year (the task's
    own, and those of the case's pending clocks)."""
    from adapters.calendar import get_calendar

    missing = {task.calendar_year} if task.calendar_year is not None else set()
    if task.case_id is not None:
        missing |= {int(e.after["missing_year"]) for e in s.exec(select(TimelineEntry).where(
            TimelineEntry.case_id == task.case_id, TimelineEntry.action == "clock.pending"))
            if e.after and e.after.get("missing_year") is not None}
    cal = get_calendar(s)
    for year in sorted(missing):
        cal.schedule(year)  # raises CalendarUnknown(year): the task cannot be completed yet
    return {"years": sorted(missing)}


# --- restart_process: a case's flow run was cancelled, or keeps failing ------------------------------------


class RestartProcessForm(_Form):
    """重启案件流程: the flow run that carries the case was cancelled, or failed as often as a case's runs may.
    Restart: a fresh run takes the case over and repeats nothing already done. Leave stopped: say why;
    decisions are still followed up and deadlines kept, but no run serves the case's notices or ends it."""

    reason: str = Field(default="", max_length=2000, title="Why",
                        description="required to leave the process stopped; kept in the case's timeline")


def _restart_process(s: Session, *, who: Actor, task: Task, outcome: str, form: RestartProcessForm,
                     now: datetime) -> dict[str, Any]:
    """Restart: an event for the dispatcher, which gives the case a fresh run (``flows.decide``: a restart
    replaces a cancelled or failing run, whatever the number of runs before it)."""
    require_role(who, "restart a case's process", Role.MANAGER, Role.ADMIN)
    case = s.get(Case, task.case_id)
    if case is None:
        raise NotFound("case of task", task.id)
    if outcome == "leave-stopped":
        if not form.reason:
            raise InvalidInput("reason", "say why the case's process stays stopped")
        return {"flow_run_id": case.flow_run_id, "restarted": False}
    ev = publish(s, topic="case.process_restart", case_id=case.id, at=now,
                 payload={"flow_run_id": case.flow_run_id, "by": who.username})
    return {"flow_run_id": case.flow_run_id, "restarted": True, "event_id": ev.id}


TASK_ACTS: dict[str, TaskAct | tuple] = {
    TaskKind.CONFIRM_SEIZURE.value: TaskAct(ConfirmSeizureForm, ("confirmed", "not-matching"), _confirm_seizure,
                                            bulk=True),
    TaskKind.APPROVE_VIEWING.value: TaskAct(ApproveViewingForm, ("approve", "refuse"), _approve_viewing, bulk=True),
    TaskKind.ATTEND_VIEWING.value: TaskAct(AttendViewingForm, ("open", "close"), _attend_viewing, ongoing=("open",)),
    TaskKind.SERVE_MANUALLY.value: TaskAct(ServeManuallyForm, ("served",), _serve_manually),
    TaskKind.LOAD_CALENDAR.value: TaskAct(LoadCalendarForm, ("loaded",), _load_calendar),
    TaskKind.RESTART_PROCESS.value: TaskAct(RestartProcessForm, ("restart", "leave-stopped"), _restart_process),
    # the law after the verdict: bonds received and settled, investigations, disposal, the consignor's statement
    **{kind: TaskAct(form, outcomes, act, outcome_field=LEGAL_OUTCOME_FIELDS.get(kind))
       for kind, (form, outcomes, act) in LEGAL_TASK_ACTS.items()},
    # the patent counter-bond refunded when no court filing came in 30 WD (Reg 19, Meas 20)
    **{kind: TaskAct(form, outcomes, act) for kind, (form, outcomes, act) in COUNTER_BOND_TASK_ACTS.items()},
}


def register_acts(entries: Mapping[str, TaskAct | tuple]) -> None:
    """Add or replace kinds' acts: ``{kind: TaskAct(...)}`` or ``{kind: (Form, outcomes, act)}``."""
    for kind, entry in entries.items():
        TASK_ACTS[str(kind)] = entry


def act_for(kind: str) -> TaskAct:
    entry = TASK_ACTS.get(str(kind))
    if entry is None:
        raise InvalidInput("kind", "a {kind} task has no act: it cannot be completed from the inbox", kind=kind)
    return entry if isinstance(entry, TaskAct) else TaskAct(*entry)


def parse_form(form: type[BaseModel], fields: Mapping[str, Any]) -> BaseModel:
    """The form from named values (typed, or text from the command line: a list as ``1,2``); the first
    problem is an ``InvalidInput`` naming its field."""
    props = form.model_json_schema().get("properties", {})
    data: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in props:
            raise InvalidInput("fields", "{name!r} is not a field of this form (fields: {fields})",
                               name=plain_name(name), fields=", ".join(props) or "none")
        if isinstance(value, str) and _is_array(props[name]):
            value = [v.strip() for v in value.split(",") if v.strip()]
        data[name] = value
    try:
        return form.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise InvalidInput(".".join(str(p) for p in err["loc"]) or "form", err["msg"],
                           error={"type": err["type"], "ctx": _plain_ctx(err.get("ctx"))}) from None


def _plain_ctx(ctx: Mapping[str, Any] | None) -> dict[str, Any]:
    """A validator's context as plain values (a pattern, a bound): the exception it may carry is dropped, its
    reason kept when it gives one as words (``problem``, e.g. an amount of RMB)."""
    plain = {k: v for k, v in (ctx or {}).items() if isinstance(v, str | int | float | bool)}
    problem = getattr((ctx or {}).get("error"), "problem", None)
    return {**plain, "problem": problem} if isinstance(problem, Words) else plain


def plain_name(name: object) -> str:
    """A name the user gave, safe to repeat in a message (no control characters, at most 40 characters)."""
    text = "".join(ch for ch in str(name) if ch.isprintable())
    return text[:40] + ("…" if len(text) > 40 else "")


def _inline(prop: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """A field's schema with its ``$ref`` (an enumeration such as the bond's form) written out, so a form
    can offer the choices."""
    ref = prop.get("$ref")
    if ref:
        return {**defs.get(ref.rsplit("/", 1)[-1], {}), **{k: v for k, v in prop.items() if k != "$ref"}}
    if "anyOf" in prop:
        return {**prop, "anyOf": [_inline(p, defs) for p in prop["anyOf"]]}
    return prop


def _is_array(prop: Mapping[str, Any]) -> bool:
    return prop.get("type") == "array" or any(p.get("type") == "array" for p in prop.get("anyOf", []))


def describe(kind: str) -> dict[str, Any]:
    """The form of a kind as its JSON schema, with the allowed outcomes (empty if the kind has no act). A
    field that only repeats the outcome is left out: the outcome fills it."""
    entry = TASK_ACTS.get(str(kind))
    if entry is None:
        return {"outcomes": [], "fields": {}, "required": [], "bulk": False, "ongoing": []}
    spec = act_for(kind)
    schema = spec.form.model_json_schema()
    defs = schema.get("$defs", {})
    fields = {k: _inline(v, defs) for k, v in schema.get("properties", {}).items() if k != spec.outcome_field}
    required = [k for k in schema.get("required", []) if k != spec.outcome_field]
    return {"kind": str(kind), "outcomes": list(spec.outcomes), "fields": fields, "required": required,
            "bulk": spec.bulk, "ongoing": list(spec.ongoing), "description": (spec.form.__doc__ or "").strip()}
