"""Viewings (看货, Reg 17): asked for by a rights holder or the consignor, approved by customs, held
remotely in a room where the rights holder asks for shots and the site officer captures them (云确).

Participants of a room: the rights holder of the notice, the customs officers of the office, and the
consignor if invited. Everyone else is told the viewing does not exist. Captures go through
``services.evidence.add_evidence`` (with ``viewing_id`` and ``shot_request_id``); the verdict from
the room goes through ``services.answers.record_answer``. The time from service and from the room's
opening to the verdict (the 9-minute figure) is read back by ``confirmation_times``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, or_, select

from models.enums import NoticeState, Role, ShotRequestState, TaskKind, TaskState, ViewingState
from models.evidence_schemas import (
    CallLinkIn,
    ConfirmationTimeOut,
    GuideItemOut,
    LiveSeatOut,
    RoomLine,
    RoomLogEntry,
    RoomState,
    ShotRequestIn,
    ShotRequestOut,
    ViewingOut,
    ViewingRequestIn,
)
from models.rules.errors import ConcurrentUpdate, DeadlinePassed, InvalidInput, NotFound, PermissionDenied
from models.schemas import AnswerIn, NoticeOut
from models.tables import (
    Answer,
    Case,
    GuideItem,
    Line,
    Notice,
    Recordation,
    RightsHolder,
    Shipment,
    ShotRequest,
    Task,
    TimelineEntry,
    User,
    Viewing,
)
from models.text import plain
from services.context import Actor, load_actor, now_or, open_task, publish, record
from services.evidence import case_scope, evidence_of_viewing, is_case_customs
from services.unit_of_work import UnitOfWork, given

#: How long customs has to decide on a request, and to attend an approved viewing, at most:
#: never later than the notice's deadline.
DECIDE_WITHIN = timedelta(hours=2)
ATTEND_WITHIN = timedelta(hours=2)
_LIVE_TASKS = [TaskState.OPEN.value, TaskState.CLAIMED.value]


# --- who is in the room ---------------------------------------------------------------------------


def _viewing(s: Session, viewing_id: int, *, lock: bool = False) -> Viewing:
    q = select(Viewing).where(Viewing.id == viewing_id)
    if lock:
        q = q.with_for_update()
    v = s.exec(q).first()
    if v is None:
        raise NotFound("viewing", viewing_id)
    return v


def _participant(s: Session, who: Actor, v: Viewing, case: Case) -> str:
    """The part ``who`` plays in the viewing (customs, rights_holder, consignor); else ``NotFound``."""
    if is_case_customs(who, case):
        return "customs"
    if who.role == Role.RIGHTS_HOLDER and v.notice_id is not None:
        notice = s.get(Notice, v.notice_id)
        if notice is not None and notice.rights_holder_id == who.rights_holder_id:
            return "rights_holder"
    if who.role == Role.CONSIGNOR:
        ship = s.get(Shipment, case.shipment_id)
        if ship is not None and ship.consignor_id == who.consignor_id and v.consignor_invited:
            return "consignor"
    raise NotFound("viewing", v.id)


def _load(s: Session, viewing_id: int, actor: str, *, lock: bool = False) -> tuple[Actor, Viewing, Case, str]:
    who = load_actor(s, actor)
    v = _viewing(s, viewing_id, lock=lock)
    case = s.get(Case, v.case_id)
    assert case is not None
    return who, v, case, _participant(s, who, v, case)


def _require_officer(who: Actor, part: str, action: str, *roles: Role) -> None:
    if part != "customs" or who.role not in (*roles, Role.ADMIN):
        raise PermissionDenied(who.username, action, "only a {roles} of the office may", roles=list(roles))


def _viewing_out(s: Session, v: Viewing, case: Case) -> ViewingOut:
    names = _usernames(s, {i for i in (v.requested_by_id, v.decided_by_id) if i})
    lines = {ln.id: ln.number for ln in s.exec(select(Line).where(col(Line.id).in_(v.line_ids)))}
    holder = None
    if v.notice_id is not None:
        notice = s.get(Notice, v.notice_id)
        rh = s.get(RightsHolder, notice.rights_holder_id) if notice else None
        holder = rh.name if rh else None
    return ViewingOut(
        id=v.id, case_number=case.number, notice_id=v.notice_id, rights_holder=holder, state=v.state,  # type: ignore[arg-type]
        remote=v.remote, requested_by=names.get(v.requested_by_id, ""), requested_at=v.requested_at,
        decided_by=names.get(v.decided_by_id) if v.decided_by_id else None, decided_at=v.decided_at,
        decision_reason=v.decision_reason, consignor_invited=v.consignor_invited, call_link=v.call_link,
        opened_at=v.opened_at, closed_at=v.closed_at, line_numbers=sorted(lines[i] for i in v.line_ids if i in lines),
        scheduled_for=v.scheduled_for,
    )


def _usernames(s: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.username for u in s.exec(select(User).where(col(User.id).in_(ids)))}  # type: ignore[misc]


def _due(now: datetime, within: timedelta, deadline_at: datetime | None) -> datetime:
    due = now + within
    return min(due, deadline_at) if deadline_at is not None else due


# --- request and decision -------------------------------------------------------------------------


def request_viewing(
    *,
    actor: str,
    notice_id: int | None = None,
    case_number: str | None = None,
    line_numbers: list[int] | None = None,
    invite_consignor: bool = False,
    note: str = "",
    now: datetime | None = None,
    uow: UnitOfWork | None = None,
) -> ViewingOut:
    """Ask customs to let one see the goods (Reg 17): a rights holder the lines of its notice
    (``notice_id``), the consignor the lines of its shipment (``case_number``)."""
    uow = given(uow)
    data = ViewingRequestIn(line_numbers=line_numbers, invite_consignor=invite_consignor, note=note)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        notice: Notice | None = None
        if who.role == Role.RIGHTS_HOLDER:
            case, notice, candidates = _holders_lines(s, who, notice_id, now)
            invited = data.invite_consignor
        elif who.role == Role.CONSIGNOR:
            case, candidates = _consignors_lines(s, who, case_number)
            invited = True
        else:
            raise PermissionDenied(who.username, "request a viewing", "rights holders and consignors ask for viewings")
        wanted, lines = _lines_to_view(candidates, data.line_numbers)
        v = Viewing(case_id=case.id, notice_id=notice.id if notice else None, requested_by_id=who.id,  # type: ignore[arg-type]
                    requested_at=now, remote=True, state=ViewingState.REQUESTED.value, consignor_invited=invited,
                    line_ids=[ln.id for ln in lines])  # type: ignore[misc]
        s.add(v)
        s.flush()
        deadline_at = notice.deadline_at if notice else None
        open_task(s, kind=TaskKind.APPROVE_VIEWING, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER, viewing_id=v.id, notice_id=v.notice_id,
                  due_at=_due(now, DECIDE_WITHIN, deadline_at), priority=5,
                  title=f"Viewing asked by {who.display_name} on {case.number} (lines {', '.join(map(str, wanted))})",
                  now=now)
        record(s, actor=who, action="viewing.requested", subject=f"viewing:{v.id}", at=now, case_id=case.id,
               after={"notice_id": v.notice_id, "lines": [ln.number for ln in lines], "consignor_invited": invited,
                      "note": data.note})
        publish(s, topic="viewing.requested", case_id=case.id, at=now,
                payload={"viewing_id": v.id, "case_number": case.number, "notice_id": v.notice_id})
        return _viewing_out(s, v, case)


def _holders_lines(s: Session, who: Actor, notice_id: int | None, now: datetime) -> tuple[Case, Notice, list[Line]]:
    """The case, the notice (locked) and its lines a rights holder may ask to view: a notice sent to it and
    still awaiting its answer before the deadline. Asking serves a notice not served yet (the holder's first
    act on the portal)."""
    if notice_id is None:
        raise InvalidInput("notice_id", "a rights holder asks to view the lines of one of its notices")
    notice = s.exec(select(Notice).where(Notice.id == notice_id).with_for_update()).first()
    if notice is None or notice.rights_holder_id != who.rights_holder_id:
        raise NotFound("notice", notice_id)
    case = s.get(Case, notice.case_id)
    assert case is not None
    from services.cases import mark_served, sent_to_holder

    if not sent_to_holder(case, notice):
        raise NotFound("notice", notice_id)  # not sent yet: it does not exist for the holder
    if notice.state == NoticeState.ISSUED:
        mark_served(s, notice, who, at=now, means="portal")
    if notice.state != NoticeState.SERVED:
        raise ConcurrentUpdate(f"notice {notice.id}", "is {notice_state}: a viewing is for a notice still awaiting its answer",
                               notice_state=notice.state)
    if notice.deadline_at is not None and now >= notice.deadline_at:
        raise DeadlinePassed(str(notice.id), notice.deadline_at)
    return case, notice, list(s.exec(select(Line).where(Line.notice_id == notice.id).order_by(Line.number)))


def _consignors_lines(s: Session, who: Actor, case_number: str | None) -> tuple[Case, list[Line]]:
    """The case and all its lines, for the consignor of its shipment (another's case does not exist for it)."""
    if case_number is None:
        raise InvalidInput("case_number", "the consignor asks to view the lines of its shipment's case")
    case = s.exec(select(Case).where(Case.number == case_number)).first()
    ship = s.get(Shipment, case.shipment_id) if case else None
    if case is None or ship is None or ship.consignor_id != who.consignor_id:
        raise NotFound("case", case_number)
    return case, list(s.exec(select(Line).where(Line.case_id == case.id).order_by(Line.number)))


def _lines_to_view(candidates: list[Line], line_numbers: list[int] | None) -> tuple[list[int], list[Line]]:
    """The line numbers asked for (all the candidates when none), and those of them customs still holds."""
    by_number = {ln.number: ln for ln in candidates}
    wanted = sorted(set(line_numbers)) if line_numbers else sorted(by_number)
    unknown = [n for n in wanted if n not in by_number]
    if unknown:
        raise InvalidInput("line_numbers", "line(s) {lines} are not yours to view in this case", lines=unknown)
    lines = [by_number[n] for n in wanted if by_number[n].state in ("suspended", "detained", "undetermined")]
    if not lines:
        raise InvalidInput("line_numbers", "none of these lines is still held by customs")
    return wanted, lines


def decide_viewing(*, viewing_id: int, actor: str, approve: bool, reason: str = "",
                   scheduled_for: datetime | None = None, now: datetime | None = None,
                   uow: UnitOfWork | None = None) -> ViewingOut:
    """An IPR officer of the office approves (optionally for a time) or refuses (saying why) a requested
    viewing; the approve_viewing task is completed with it."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who, v, case, part = _load(s, viewing_id, actor, lock=True)
        return decide_viewing_in(s, who=who, v=v, case=case, part=part, approve=approve, reason=reason,
                                 scheduled_for=scheduled_for, now=now)


def decide_viewing_in(s: Session, *, who: Actor, v: Viewing, case: Case, part: str, approve: bool, reason: str,
                      scheduled_for: datetime | None, now: datetime) -> ViewingOut:
    """``decide_viewing`` inside the caller's transaction (the inbox completes its task with it)."""
    from services.tasks import complete_matching_tasks

    reason = plain("reason", reason.strip(), multiline=True)
    if not approve and len(reason) < 3:
        raise InvalidInput("reason", "a refusal gives its reason")
    if len(reason) > 2000:
        raise InvalidInput("reason", "at most 2000 characters")
    if scheduled_for is not None and scheduled_for.tzinfo is None:
        raise InvalidInput("scheduled_for", "must carry a timezone")
    _require_officer(who, part, "decide on a viewing", Role.IPR_OFFICER)
    if v.state != ViewingState.REQUESTED:
        raise ConcurrentUpdate(f"viewing {v.id}", "was already decided ({viewing_state})", viewing_state=v.state)
    v.state = (ViewingState.APPROVED if approve else ViewingState.REFUSED).value
    v.decided_by_id, v.decided_at, v.decision_reason = who.id, now, reason
    v.scheduled_for = scheduled_for if approve else None
    s.add(v)
    complete_matching_tasks(s, kind=TaskKind.APPROVE_VIEWING, case_id=case.id, viewing_id=v.id, who=who, now=now,  # type: ignore[arg-type]
                            outcome="approve" if approve else "refuse", details={"reason": reason})
    if approve:
        notice = s.get(Notice, v.notice_id) if v.notice_id else None
        due = _due(now, ATTEND_WITHIN, notice.deadline_at if notice else None)
        open_task(s, kind=TaskKind.ATTEND_VIEWING, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                  candidate_group=Role.SITE_OFFICER, viewing_id=v.id, notice_id=v.notice_id,
                  due_at=max(due, scheduled_for) if scheduled_for else due, priority=5,
                  title=f"Open the viewing room {v.id} of {case.number} and capture the shots asked for", now=now)
    after: dict[str, Any] = {"state": v.state, "reason": reason}
    if v.scheduled_for is not None:
        after["scheduled_for"] = v.scheduled_for.isoformat()
    record(s, actor=who, action="viewing.decided", subject=f"viewing:{v.id}", at=now, case_id=case.id,
           before={"state": ViewingState.REQUESTED.value}, after=after)
    publish(s, topic="viewing.decided", case_id=case.id, at=now,
            payload={"viewing_id": v.id, "case_number": case.number, "approved": approve,
                     "scheduled_for": v.scheduled_for.isoformat() if v.scheduled_for else None})
    return _viewing_out(s, v, case)


def open_room(*, viewing_id: int, actor: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> ViewingOut:
    """Open (or reopen) an approved viewing's room: a site or IPR officer of the office."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who, v, case, part = _load(s, viewing_id, actor, lock=True)
        return open_room_in(s, who=who, v=v, case=case, part=part, now=now)


def open_room_in(s: Session, *, who: Actor, v: Viewing, case: Case, part: str, now: datetime) -> ViewingOut:
    """``open_room`` inside the caller's transaction. The attend_viewing task stays with the officer who
    opened the room until the room closes."""
    _require_officer(who, part, "open a viewing room", Role.SITE_OFFICER, Role.IPR_OFFICER)
    if v.state not in (ViewingState.APPROVED, ViewingState.CLOSED):
        raise ConcurrentUpdate(f"viewing {v.id}", "is {viewing_state}: only an approved viewing opens", viewing_state=v.state)
    before = v.state
    v.state = ViewingState.OPEN.value
    v.opened_at = v.opened_at or now  # the first opening starts the room's clock
    v.closed_at = None
    s.add(v)
    for t in s.exec(select(Task).where(Task.viewing_id == v.id, Task.kind == TaskKind.ATTEND_VIEWING.value,
                                       col(Task.state).in_(_LIVE_TASKS), col(Task.assignee_id).is_(None))):
        t.assignee_id, t.state, t.claimed_at = who.id, TaskState.CLAIMED.value, now
        t.version += 1
        s.add(t)
    record(s, actor=who, action="viewing.opened", subject=f"viewing:{v.id}", at=now, case_id=case.id,
           before={"state": before}, after={"state": v.state})
    publish(s, topic="viewing.opened", case_id=case.id, at=now, payload={"viewing_id": v.id, "case_number": case.number})
    return _viewing_out(s, v, case)


def close_room(*, viewing_id: int, actor: str, now: datetime | None = None,
               abandon_recording: bool = False, uow: UnitOfWork | None = None) -> ViewingOut:
    """Close the room. A live session recorded in the viewing room is kept by closing the room there
    (``services.live.close_live_room``); anywhere else (the command line, the inbox) closing is refused
    while such a recording is unsaved, unless ``abandon_recording`` says it is lost (the app stopped)."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who, v, case, part = _load(s, viewing_id, actor, lock=True)
        return close_room_in(s, who=who, v=v, case=case, part=part, now=now, abandon_recording=abandon_recording)


def unsaved_recording(s: Session, v: Viewing) -> bool:
    """A live session went on air in this room (``viewing.live_started``) and its recording was neither
    stored (``viewing.recorded``) nor given up (``viewing.recording_abandoned``) since."""
    from models.tables import TimelineEntry

    last = s.exec(select(TimelineEntry.action).where(
        TimelineEntry.case_id == v.case_id, TimelineEntry.subject == f"viewing:{v.id}",
        col(TimelineEntry.action).in_(["viewing.live_started", "viewing.recorded", "viewing.recording_abandoned"]))
        .order_by(col(TimelineEntry.id).desc()).limit(1)).first()
    return last == "viewing.live_started"


def close_room_in(s: Session, *, who: Actor, v: Viewing, case: Case, part: str, now: datetime,
                  abandon_recording: bool = False) -> ViewingOut:
    """``close_room`` inside the caller's transaction; the attend_viewing task ends with it."""
    from services.tasks import complete_matching_tasks

    _require_officer(who, part, "close a viewing room", Role.SITE_OFFICER, Role.IPR_OFFICER)
    if v.state != ViewingState.OPEN:
        raise ConcurrentUpdate(f"viewing {v.id}", "is {viewing_state}, not open", viewing_state=v.state)
    if unsaved_recording(s, v):
        if not abandon_recording:
            raise ConcurrentUpdate(f"viewing {v.id}", "its live session is being recorded: close the room in the "
                                                      "viewing room so the recording is kept as evidence")
        record(s, actor=who, action="viewing.recording_abandoned", subject=f"viewing:{v.id}", at=now,
               case_id=case.id, after={"reason": "the room was closed outside the live room"})
    v.state, v.closed_at = ViewingState.CLOSED.value, now
    s.add(v)
    for shot in s.exec(select(ShotRequest).where(ShotRequest.viewing_id == v.id, ShotRequest.state == ShotRequestState.OPEN.value)):
        shot.state = ShotRequestState.CANCELLED.value
        s.add(shot)
    complete_matching_tasks(s, kind=TaskKind.ATTEND_VIEWING, case_id=case.id, viewing_id=v.id, who=who, now=now,  # type: ignore[arg-type]
                            outcome="close", details={"opened_at": v.opened_at.isoformat() if v.opened_at else None})
    record(s, actor=who, action="viewing.closed", subject=f"viewing:{v.id}", at=now, case_id=case.id,
           before={"state": ViewingState.OPEN.value}, after={"state": v.state})
    publish(s, topic="viewing.closed", case_id=case.id, at=now, payload={"viewing_id": v.id, "case_number": case.number})
    return _viewing_out(s, v, case)


def set_call_link(*, viewing_id: int, actor: str, url: str | None, now: datetime | None = None,
                  uow: UnitOfWork | None = None) -> ViewingOut:
    """Attach (or remove, ``None``) a link to an external video call; the room never depends on it."""
    uow = given(uow)
    link = CallLinkIn(url=url).url if url else None
    now = now_or(now)
    with uow.transaction() as s:
        who, v, case, part = _load(s, viewing_id, actor, lock=True)
        if part == "consignor":
            raise PermissionDenied(who.username, "set the call link", "customs or the rights holder set it")
        before = v.call_link
        v.call_link = link
        s.add(v)
        record(s, actor=who, action="viewing.call_link", subject=f"viewing:{v.id}", at=now, case_id=case.id,
               before={"call_link": before}, after={"call_link": link})
        return _viewing_out(s, v, case)


# --- shots ----------------------------------------------------------------------------------------


def request_shot(*, viewing_id: int, actor: str, text: str = "", guide_item_id: int | None = None,
                 line_number: int | None = None, now: datetime | None = None,
                 uow: UnitOfWork | None = None) -> ShotRequestOut:
    """Ask the site officer for a photo or video of a detail: free text, or an item of the
    recordation's authentication guide."""
    uow = given(uow)
    data = ShotRequestIn(text=text, guide_item_id=guide_item_id, line_number=line_number)
    now = now_or(now)
    with uow.transaction() as s:
        who, v, case, part = _load(s, viewing_id, actor)
        if v.state != ViewingState.OPEN:
            raise InvalidInput("viewing_id", "viewing {viewing} is {viewing_state}: shots are asked for while the room is open",
                               viewing=v.id, viewing_state=v.state)
        lines = {ln.number: ln for ln in s.exec(select(Line).where(col(Line.id).in_(v.line_ids)))}
        line = None
        if data.line_number is not None:
            line = lines.get(data.line_number)
            if line is None:
                raise InvalidInput("line_number", "line {line_number} is not among the lines of this viewing",
                               line_number=data.line_number)
        words = data.text
        if data.guide_item_id is not None:
            item = s.get(GuideItem, data.guide_item_id)
            recs = {ln.recordation_id for ln in lines.values()} if line is None else {line.recordation_id}
            if item is None or not item.active or item.recordation_id not in recs:
                raise InvalidInput("guide_item_id", "not an item of the authentication guide of these goods")
            words = item.text + (f": {data.text}" if data.text else "")
            if line is None and len([ln for ln in lines.values() if ln.recordation_id == item.recordation_id]) == 1:
                line = next(ln for ln in lines.values() if ln.recordation_id == item.recordation_id)
        if not words:
            raise InvalidInput("text", "say what to show, or choose an item of the authentication guide")
        if line is None and len(lines) == 1:
            line = next(iter(lines.values()))
        shot = ShotRequest(viewing_id=v.id, line_id=line.id if line else None, guide_item_id=data.guide_item_id,  # type: ignore[arg-type]
                           text=words[:1000], requested_by_id=who.id, requested_at=now, state=ShotRequestState.OPEN.value)
        s.add(shot)
        s.flush()
        record(s, actor=who, action="viewing.shot_requested", subject=f"viewing:{v.id}", at=now, case_id=case.id,
               after={"shot_request_id": shot.id, "text": shot.text, "line": line.number if line else None,
                      "guide_item_id": data.guide_item_id})
        publish(s, topic="viewing.shot_requested", case_id=case.id, at=now,
                payload={"viewing_id": v.id, "shot_request_id": shot.id})
        return _shot_out(shot, {ln.id: ln.number for ln in lines.values()}, {who.id: who.username}, [])


def cancel_shot(*, shot_request_id: int, actor: str, now: datetime | None = None,
                uow: UnitOfWork | None = None) -> ShotRequestOut:
    """Withdraw an open shot request (its author or an officer)."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        shot = s.exec(select(ShotRequest).where(ShotRequest.id == shot_request_id).with_for_update()).first()
        if shot is None:
            raise NotFound("shot request", shot_request_id)
        who, v, case, part = _load(s, shot.viewing_id, actor)
        if part != "customs" and shot.requested_by_id != who.id:
            raise PermissionDenied(who.username, "cancel this shot request", "it is someone else's")
        if shot.state != ShotRequestState.OPEN:
            raise ConcurrentUpdate(f"shot request {shot.id}", "is already {shot_state}", shot_state=shot.state)
        shot.state = ShotRequestState.CANCELLED.value
        s.add(shot)
        record(s, actor=who, action="viewing.shot_cancelled", subject=f"viewing:{v.id}", at=now, case_id=case.id,
               after={"shot_request_id": shot.id})
        lines = {ln.id: ln.number for ln in s.exec(select(Line).where(col(Line.id).in_(v.line_ids)))}
        return _shot_out(shot, lines, _usernames(s, {shot.requested_by_id}), [])


def _shot_out(shot: ShotRequest, line_numbers: dict[int, int], names: dict[int, str], evidence_ids: list[int]) -> ShotRequestOut:
    return ShotRequestOut(
        id=shot.id, viewing_id=shot.viewing_id, line_number=line_numbers.get(shot.line_id) if shot.line_id else None,  # type: ignore[arg-type]
        guide_item_id=shot.guide_item_id, text=shot.text, requested_by=names.get(shot.requested_by_id, ""),
        requested_at=shot.requested_at, state=shot.state, answered_at=shot.answered_at, evidence_ids=evidence_ids,
    )


# --- the room, as each participant sees it ---------------------------------------------------------


def room_state(*, viewing_id: int, actor: str, since: int | None = None, uow: UnitOfWork | None = None) -> RoomState:
    """Everything ``actor`` may see of the room: lines, guide, shot requests, evidence with fresh
    links, and the room's log (only entries after ``since``, the ``cursor`` of a previous call)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who, v, case, part = _load(s, viewing_id, actor)
        sc = case_scope(s, case)
        lines = sorted((sc.lines[i] for i in v.line_ids if i in sc.lines), key=lambda ln: ln.number)
        numbers = {ln.id: ln.number for ln in sc.lines.values()}
        evidence = evidence_of_viewing(s, who, sc, v.id, urls=True)
        shots = list(s.exec(select(ShotRequest).where(ShotRequest.viewing_id == v.id).order_by(col(ShotRequest.id))))
        by_shot: dict[int, list[int]] = {}
        for e in evidence:
            if e.shot_request_id is not None:
                by_shot.setdefault(e.shot_request_id, []).append(e.id)
        names = _usernames(s, {sh.requested_by_id for sh in shots})
        notice = s.get(Notice, v.notice_id) if v.notice_id else None

        rec_ids = {ln.recordation_id for ln in lines}
        recs = {r.id: r for r in s.exec(select(Recordation).where(col(Recordation.id).in_(rec_ids)))}
        guide = [GuideItemOut(id=g.id, recordation=recs[g.recordation_id].number, brand=recs[g.recordation_id].brand,  # type: ignore[arg-type]
                              position=g.position, text=g.text, active=g.active)
                 for g in s.exec(select(GuideItem).where(col(GuideItem.recordation_id).in_(rec_ids), GuideItem.active == True)  # noqa: E712
                                 .order_by(col(GuideItem.recordation_id), col(GuideItem.position)))]

        visible_ev = [f"evidence:{e.id}" for e in evidence]
        subjects = [f"viewing:{v.id}", *visible_ev]
        if notice is not None and part != "consignor":
            subjects.append(f"notice:{notice.id}")
        q = select(TimelineEntry).where(TimelineEntry.case_id == case.id, col(TimelineEntry.subject).in_(subjects))
        if since is not None:
            q = q.where(col(TimelineEntry.id) > since)
        entries = [e for e in s.exec(q.order_by(col(TimelineEntry.id)))
                   if not (e.subject.startswith("notice:") and e.action not in ("notice.answered",))]
        cursor = max([since or 0, *(e.id for e in entries)])  # type: ignore[type-var]

        participants = _participants(s, v, case, notice)
        return RoomState(
            viewing=_viewing_out(s, v, case), you=who.username, your_role=part, participants=participants,
            lines=[RoomLine(number=ln.number, description=ln.description, brand=ln.brand, quantity=ln.quantity,
                            unit=ln.unit, state=ln.state) for ln in lines],
            guide=guide,
            shot_requests=[_shot_out(sh, numbers, names, by_shot.get(sh.id, [])) for sh in shots],  # type: ignore[arg-type]
            evidence=evidence,
            log=[RoomLogEntry(id=e.id, at=e.at, actor=e.actor, actor_role=e.actor_role, action=e.action,  # type: ignore[arg-type]
                              detail=_log_detail(e)) for e in entries],
            cursor=cursor,
            notice_state=notice.state if notice else None,
            may_answer=part == "rights_holder" and notice is not None and notice.state == NoticeState.SERVED,
            may_capture=part == "customs" and v.state == ViewingState.OPEN and who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.ADMIN),
            may_request_shots=v.state == ViewingState.OPEN,
        )


def _log_detail(e: TimelineEntry) -> dict[str, Any]:
    keep = ("state", "reason", "text", "line", "lines", "shot_request_id", "evidence_id", "kind", "sha256",
            "device_time", "call_link", "verdicts", "detain")
    return {k: v for k, v in (e.after or {}).items() if k in keep}


def _participants(s: Session, v: Viewing, case: Case, notice: Notice | None) -> list[str]:
    conds = [(col(User.customs_office_id) == case.customs_office_id) & col(User.role).in_([Role.SITE_OFFICER.value, Role.IPR_OFFICER.value])]
    if notice is not None:
        conds.append(col(User.rights_holder_id) == notice.rights_holder_id)
    if v.consignor_invited:
        ship = s.get(Shipment, case.shipment_id)
        if ship is not None:
            conds.append(col(User.consignor_id) == ship.consignor_id)
    return [u.username for u in s.exec(select(User).where(or_(*conds), User.active == True).order_by(col(User.username)))]  # noqa: E712


def live_seat(*, viewing_id: int, actor: str, uow: UnitOfWork | None = None) -> LiveSeatOut:
    """Who ``actor`` is in the open room's live connection (实时连线); anyone not invited: ``NotFound``.

    The officers of the office publish their camera and close the room; they and the rights holder
    take snapshots; the invited consignor watches."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who, v, case, part = _load(s, viewing_id, actor)
        if v.state != ViewingState.OPEN:
            raise ConcurrentUpdate(f"viewing {v.id}", "is {viewing_state}: the live connection is for an open room", viewing_state=v.state)
        officer = part == "customs" and who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.ADMIN)
        return LiveSeatOut(viewing_id=v.id, case_number=case.number, you=who.username, part=part,  # type: ignore[arg-type]
                           may_publish=officer, may_snapshot=officer or part == "rights_holder", may_close=officer)


def answer_from_room(*, viewing_id: int, actor: str, answer: AnswerIn | dict[str, Any],
                     now: datetime | None = None, idempotency_key: str | None = None,
                     uow: UnitOfWork | None = None) -> NoticeOut:
    """The rights holder's verdict given in the room: the notice's answer (``record_answer``)."""
    from services.answers import record_answer
    uow = given(uow)

    with uow.transaction(readonly=True) as s:
        who, v, _case, part = _load(s, viewing_id, actor)
        if part != "rights_holder" or v.notice_id is None:
            raise PermissionDenied(who.username, "answer from this room", "only the rights holder of its notice answers")
        notice_id = v.notice_id
    return record_answer(notice_id=notice_id, actor=actor, answer=answer, now=now, idempotency_key=idempotency_key,
                         uow=uow)


def list_viewings(*, actor: str, case_number: str | None = None, notice_id: int | None = None,
                  states: list[str] | None = None, uow: UnitOfWork | None = None) -> list[ViewingOut]:
    """The viewings ``actor`` takes part in (customs: of its office), newest first."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        q = select(Viewing, Case).join(Case, col(Case.id) == Viewing.case_id)
        if case_number is not None:
            q = q.where(Case.number == case_number)
        if notice_id is not None:
            q = q.where(Viewing.notice_id == notice_id)
        if states:
            q = q.where(col(Viewing.state).in_(states))
        if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER):
            q = q.where(Case.customs_office_id == who.customs_office_id)
        elif who.role == Role.RIGHTS_HOLDER:
            q = q.join(Notice, col(Notice.id) == Viewing.notice_id).where(Notice.rights_holder_id == who.rights_holder_id)
        elif who.role == Role.CONSIGNOR:
            q = q.join(Shipment, col(Shipment.id) == Case.shipment_id).where(
                Shipment.consignor_id == who.consignor_id, Viewing.consignor_invited == True)  # noqa: E712
        elif who.role not in (Role.ADMIN, Role.SYSTEM):
            return []
        return [_viewing_out(s, v, c) for v, c in s.exec(q.order_by(col(Viewing.id).desc()).limit(500))]


# --- the 9-minute figure --------------------------------------------------------------------------


def confirmation_times(*, actor: str, case_number: str | None = None,
                       uow: UnitOfWork | None = None) -> list[ConfirmationTimeOut]:
    """For each notice ``actor`` may see: minutes from service, and from the first opening of its
    viewing room, to the rights holder's verdict (None while unanswered or never viewed)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        q = select(Notice, Case, RightsHolder).join(Case, col(Case.id) == Notice.case_id).join(
            RightsHolder, col(RightsHolder.id) == Notice.rights_holder_id)
        if case_number is not None:
            q = q.where(Case.number == case_number)
        if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER):
            q = q.where(Case.customs_office_id == who.customs_office_id)
        elif who.role == Role.RIGHTS_HOLDER:
            q = q.where(Notice.rights_holder_id == who.rights_holder_id)
        elif who.role not in (Role.ADMIN, Role.SYSTEM):
            raise PermissionDenied(who.username, "read confirmation times")
        rows = list(s.exec(q.order_by(col(Notice.id))))
        ids = [n.id for n, _, _ in rows]
        answers = {a.notice_id: a.answered_at for a in s.exec(select(Answer).where(col(Answer.notice_id).in_(ids)))}
        rooms: dict[int, tuple[datetime, int]] = {}
        for v in s.exec(select(Viewing).where(col(Viewing.notice_id).in_(ids), col(Viewing.opened_at).is_not(None))
                        .order_by(col(Viewing.opened_at))):
            rooms.setdefault(v.notice_id, (v.opened_at, v.id))  # type: ignore[arg-type]
        out = []
        for n, case, holder in rows:
            answered = answers.get(n.id)
            opened, vid = rooms.get(n.id, (None, None))  # type: ignore[arg-type]
            out.append(ConfirmationTimeOut(
                notice_id=n.id, case_number=case.number, rights_holder=holder.name, served_at=n.served_at,  # type: ignore[arg-type]
                room_opened_at=opened, viewing_id=vid, answered_at=answered,
                minutes_from_service=_minutes(n.served_at, answered),
                minutes_from_room=_minutes(opened, answered) if opened is not None and answered is not None and opened <= answered else None,
            ))
        return out


def _minutes(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 2)


__all__ = [
    "request_viewing", "decide_viewing", "open_room", "close_room", "set_call_link", "request_shot", "cancel_shot",
    "room_state", "answer_from_room", "live_seat", "list_viewings", "confirmation_times",
]
