"""Opening a case from a seizure, serving its notices, and reading cases back."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, or_, select

from adapters.calendar import get_calendar
from adapters.db import lock_name
from models.enums import CaseStatus, LineState, NoticeState, Reason, Role, Route, TaskKind
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound, PermissionDenied, Words, words
from models.rules.matching import match_flags
from models.rules.moments import not_in_future
from models.rules.states import transition
from models.rules.workdays import answer_deadline, end_of_day, local_date
from models.schemas import (
    AnswerOut,
    CaseOut,
    ConsignorIn,
    DocumentOut,
    LineOut,
    NoticeOut,
    ShipmentIn,
)
from models.tables import (
    Answer,
    Case,
    Consignor,
    CustomsOffice,
    Document,
    Line,
    LineVerdict,
    Notice,
    Recordation,
    RightsHolder,
    Shipment,
    User,
)
from services.clocks import pending_year_of_line, pending_year_of_notice
from services.context import (
    Actor,
    load_actor,
    next_number,
    now_or,
    open_task,
    publish,
    record,
    remember,
    replay,
    require_role,
)
from services.unit_of_work import UnitOfWork, given

OPEN_CASE = "case.open"


def open_case(
    *,
    shipment: ShipmentIn | dict[str, Any],
    actor: str,
    now: datetime | None = None,
    idempotency_key: str | None = None,
    uow: UnitOfWork | None = None,
) -> CaseOut:
    """Register a seizure: suspend each line (中止放行) and issue one confirmation notice (确权通知)
    to each rights holder concerned, served at once when the office serves on issue."""
    uow = given(uow)
    data = shipment if isinstance(shipment, ShipmentIn) else ShipmentIn.model_validate(shipment)
    now = now_or(now)
    not_in_future(data.found_at, now=now, field="found_at")
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "register a seizure", Role.SITE_OFFICER, Role.IPR_OFFICER, Role.ADMIN, Role.SYSTEM)
        done = replay(s, idempotency_key, OPEN_CASE)
        if done is not None:
            return case_view(s, done["case_number"], who)
        office = _seizing_office(s, who, data)
        found_on = local_date(data.found_at)
        matches = _recordations_of(s, data, found_on)
        consignor = consignor_of(s, data.consignor)
        case = _new_case(s, who, data, office, consignor, now)
        record(s, actor=who, action="case.opened", subject=f"case:{case.number}", at=now, case_id=case.id,
               after={"declaration_no": data.declaration_no, "customs_office": office.name, "lines": len(data.lines)})

        notices = _suspend_lines(s, case=case, data=data, matches=matches, consignor=consignor, who=who, now=now)
        for notice in notices.values():
            record(s, actor=who, action="notice.issued", subject=f"notice:{notice.id}", at=now, case_id=case.id,
                   after={"rights_holder_id": notice.rights_holder_id})

        # An IPR officer confirms the lines against the recordations the same working day; the notices are
        # served only then (services.task_acts.confirm_seizure), and a line that does not match is released.
        open_task(s, kind=TaskKind.CONFIRM_SEIZURE, case_id=case.id, customs_office_id=office.id,  # type: ignore[arg-type]
                  candidate_group=Role.IPR_OFFICER,
                  title=f"Confirm the lines of {case.number} against the recordations",
                  due_at=confirm_by(s, now), priority=5, now=now)
        publish(s, topic="case.opened", case_id=case.id, at=now,
                payload={"case_number": case.number, "notice_ids": [n.id for n in notices.values()]})
        remember(s, idempotency_key, OPEN_CASE, {"case_number": case.number})
        return case_view(s, case.number, who)


def _seizing_office(s: Session, who: Actor, data: ShipmentIn) -> CustomsOffice:
    """The office that registers the seizure, once it may: an officer registers for its own office, and a
    declaration has one case (its name lock held, even when registered twice at once)."""
    office = find_office(s, data.customs_office)
    if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER) and who.customs_office_id != office.id:
        raise PermissionDenied(who.username, "register a seizure", "not an officer of {office}", office=office.name_en)
    lock_name(s, f"declaration:{data.declaration_no}")
    existing = s.exec(select(Shipment).where(Shipment.declaration_no == data.declaration_no)).first()
    if existing is not None:
        raise InvalidInput("declaration_no", "a case already exists for declaration {declaration_no}",
                           declaration_no=data.declaration_no)
    return office


def _new_case(s: Session, who: Actor, data: ShipmentIn, office: CustomsOffice, consignor: Consignor,
              now: datetime) -> Case:
    """The shipment and its case, numbered in the sequence of the year the goods were found."""
    ship = Shipment(
        declaration_no=data.declaration_no,
        direction=data.direction.value,
        customs_office_id=office.id,  # type: ignore[arg-type]
        consignor_id=consignor.id,  # type: ignore[arg-type]
        found_at=data.found_at,
        consignor_declaration=data.consignor_declaration,
    )
    s.add(ship)
    s.flush()
    year = local_date(data.found_at).year
    case = Case(
        number=f"YQ-{year}-{next_number(s, f'case-{year}'):06d}",
        shipment_id=ship.id,  # type: ignore[arg-type]
        customs_office_id=office.id,  # type: ignore[arg-type]
        opened_at=now,
        opened_by_id=who.id,
    )
    s.add(case)
    s.flush()
    return case


def find_office(s: Session, key: str) -> CustomsOffice:
    """A customs office by its Chinese or English name or its code; else ``InvalidInput`` naming customs_office."""
    office = s.exec(select(CustomsOffice).where(or_(CustomsOffice.name == key, CustomsOffice.name_en == key,
                                                    CustomsOffice.code == key))).first()
    if office is None:
        raise InvalidInput("customs_office", "unknown customs office {key!r}", key=key)
    return office


def consignor_of(s: Session, given: ConsignorIn) -> Consignor:
    """The consignor known by its credit code, registered with the name given the first time it is seen
    (under a lock on the code: two registrations at once make one consignor)."""
    lock_name(s, f"consignor:{given.uscc}")
    consignor = s.exec(select(Consignor).where(Consignor.uscc == given.uscc)).first()
    if consignor is None:
        consignor = Consignor(name=given.name, uscc=given.uscc)
        s.add(consignor)
        s.flush()
    return consignor


def recordation_for(s: Session, brand: str, on: date) -> Recordation | None:
    """The recordation (知识产权海关保护备案) a line of ``brand`` is matched to: one valid on ``on``, the
    lowest number if several are; ``None`` when none is (ex officio protection covers recorded rights
    only, Reg 16). The one rule for matching, used when a seizure is registered and when it is previewed."""
    return s.exec(select(Recordation).where(Recordation.brand == brand, Recordation.valid_from <= on,
                                            Recordation.valid_until >= on).order_by(Recordation.number)).first()


def _recordations_of(s: Session, data: ShipmentIn, found_on: date) -> list[Recordation]:
    """Each line's recordation valid on the day the goods were found; every line without one is named at once
    (ex officio protection covers recorded rights only, Reg 16)."""
    matches: list[Recordation] = []
    problems: list[Words] = []
    for i, line in enumerate(data.lines, start=1):
        rec = recordation_for(s, line.brand, found_on)
        if rec is None:
            problems.append(words("line {line} ({brand}): no recordation valid on {on}", line=i, brand=line.brand,
                                  on=found_on))
        else:
            matches.append(rec)
    if problems:
        raise InvalidInput("lines.brand", "{problems} (ex officio protection covers recorded rights only, Reg 16)",
                           problems=problems)
    return matches


def _suspend_lines(s: Session, *, case: Case, data: ShipmentIn, matches: list[Recordation], consignor: Consignor,
                   who: Actor, now: datetime) -> dict[int, Notice]:
    """Suspend each line (中止放行) under one notice per rights holder; the lines carry the match flags the
    confirming officer decides on (classes, licensees: Meas 21)."""
    notices: dict[int, Notice] = {}
    for i, (line_in, rec) in enumerate(zip(data.lines, matches, strict=True), start=1):
        notice = notices.get(rec.rights_holder_id)
        if notice is None:
            notice = Notice(case_id=case.id, rights_holder_id=rec.rights_holder_id, issued_at=now)  # type: ignore[arg-type]
            s.add(notice)
            s.flush()
            notices[rec.rights_holder_id] = notice
        state = transition(f"{case.number}/{i}", None, LineState.SUSPENDED, Reason.SUSPECTED)
        line = Line(case_id=case.id, number=i, description=line_in.description, brand=line_in.brand,  # type: ignore[arg-type]
                    quantity=line_in.quantity, unit=line_in.unit, value=line_in.value, recordation_id=rec.id,  # type: ignore[arg-type]
                    rights_holder_id=rec.rights_holder_id, notice_id=notice.id, state=state.value,
                    state_reason=Reason.SUSPECTED.value, suspended_at=now, nice_class=line_in.nice_class,
                    match_flags=match_flags(right_type=rec.right_type, classes=rec.classes, nice_class=line_in.nice_class,
                                            licensees=rec.licensees, consignor_name=consignor.name))
        s.add(line)
        s.flush()
        record(s, actor=who, action="line.suspended", subject=f"line:{case.number}/{i}", at=now, case_id=case.id,
               after={"state": state.value, "brand": line.brand, "recordation": rec.number, "quantity": line.quantity,
                      "value": str(line.value), "nice_class": line.nice_class, "match_flags": line.match_flags})
    return notices


def confirm_by(s: Session, now: datetime) -> datetime:
    """The end of the working day of the seizure (the next working day if it is found on a day off)."""
    from datetime import timedelta

    from models.rules.errors import CalendarUnknown

    cal, day = get_calendar(s), local_date(now)
    try:
        while not cal.is_working_day(day):
            day += timedelta(days=1)
    except CalendarUnknown:
        pass  # the year is not loaded: the day itself (the clocks record the missing year elsewhere)
    return end_of_day(day)


def serve_confirmed(s: Session, case: Case, who: Actor, *, at: datetime) -> list[Notice]:
    """After the confirmation: the notices still awaiting service are served now when the office serves on
    issue (otherwise the process mails them and service follows ``settings.service_rule``)."""
    from services.unit_of_work import settings_of

    notices = list(s.exec(select(Notice).where(Notice.case_id == case.id, Notice.state == NoticeState.ISSUED.value)
                          .order_by(Notice.id).with_for_update()))
    if settings_of(s).service_rule == "issue":
        for notice in notices:
            mark_served(s, notice, who, at=at, means="issue")
    return notices


def mark_served(s: Session, notice: Notice, who: Actor, *, at: datetime, means: str) -> None:
    """Mark a notice served (确权通知送达) at ``at`` by ``means`` (issue, mail, portal, hand), inside the
    caller's transaction: its answer deadline is set, and the step goes to the timeline and the outbox.

    Service starts the 3-working-day clock from the day after (Meas 41). The caller has locked the
    notice and checked that it is still issued; every way a notice is served goes through here."""
    from services.clocks import deadline_or_pending

    last_day = deadline_or_pending(s, clock=answer_deadline, start=at, case_id=notice.case_id, who=who,
                                   subject=f"notice:{notice.id}", what="answer (3 WD, Meas 41)")
    notice.state = NoticeState.SERVED.value
    notice.served_at = at
    notice.served_by = means
    notice.deadline = last_day
    notice.deadline_at = end_of_day(last_day) if last_day else None
    notice.version += 1
    s.add(notice)
    publish(s, topic="notice.served", case_id=notice.case_id, at=at,
            payload={"notice_id": notice.id, "means": means, "deadline_at": notice.deadline_at.isoformat() if notice.deadline_at else None})
    record(s, actor=who, action="notice.served", subject=f"notice:{notice.id}", at=at, case_id=notice.case_id,
           before={"state": NoticeState.ISSUED.value},
           after={"state": notice.state, "means": means, "deadline": last_day.isoformat() if last_day else None,
                  "deadline_at": notice.deadline_at.isoformat() if notice.deadline_at else None})


def serve_notice(*, notice_id: int, actor: str, means: str, at: datetime | None = None,
                 uow: UnitOfWork | None = None) -> NoticeOut:
    """Record the moment a notice reached its addressee (mail accepted, portal opened, by hand).

    Only the first service counts; a later one changes nothing."""
    uow = given(uow)
    if means not in ("issue", "mail", "portal", "hand"):
        raise InvalidInput("means", "must be issue, mail, portal or hand")
    at = now_or(at)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "record service of a notice", Role.IPR_OFFICER, Role.ADMIN, Role.SYSTEM, Role.RIGHTS_HOLDER)
        notice = s.exec(select(Notice).where(Notice.id == notice_id).with_for_update()).first()
        if notice is None:
            raise NotFound("notice", notice_id)
        case = s.get(Case, notice.case_id)
        assert case is not None
        if who.role == Role.RIGHTS_HOLDER and (means != "portal" or who.rights_holder_id != notice.rights_holder_id
                                               or not sent_to_holder(case, notice)):
            raise NotFound("notice", notice_id)
        if case.route == Route.APPLICATION:
            if who.role == Role.RIGHTS_HOLDER:
                return notice_view(s, notice, who)  # the holder's own application: nothing to serve
            raise InvalidInput("notice_id", "{case} is a rights holder's application: nothing is served", case=case.number)
        if case.confirmed_at is None:
            raise ConcurrentUpdate(f"notice {notice_id}", "is served once an IPR officer has confirmed the lines")
        if who.role == Role.IPR_OFFICER:
            visible_case(s, s.get(Case, notice.case_id), who, notice_id)  # another office's notice does not exist for it
        if means == "portal" and notice.first_opened_at is None:
            notice.first_opened_at = at
            s.add(notice)
            record(s, actor=who, action="notice.opened", subject=f"notice:{notice.id}", at=at, case_id=case.id,
                   after={"state": notice.state})
        # the portal's opening serves the notice unless the office's rule is service by mail alone
        opening_serves = means != "portal" or uow.settings.service_rule != "mail"
        if notice.state == NoticeState.ISSUED and opening_serves:
            mark_served(s, notice, who, at=at, means=means)
        return notice_view(s, notice, who)


# --- reading --------------------------------------------------------------------------------------


def get_case(*, case_number: str, actor: str, uow: UnitOfWork | None = None) -> CaseOut:
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        return case_view(s, case_number, load_actor(s, actor))


def sent_to_holder(case: Case, notice: Notice) -> bool:
    """A rights holder learns of a notice once an IPR officer confirmed the lines (it is sent then); a
    notice withdrawn at the confirmation never reached it. Until then it does not exist for the holder.
    On the application route the holder's side is its own application: it knows it from the start."""
    if case.route == Route.APPLICATION:
        return True
    return case.confirmed_at is not None and notice.state != NoticeState.WITHDRAWN


def sent_clause() -> tuple[Any, Any]:
    """``sent_to_holder`` in SQL, for a query that joins Notice with its Case."""
    return (or_(Case.route == Route.APPLICATION.value, col(Case.confirmed_at).is_not(None)),
            Notice.state != NoticeState.WITHDRAWN.value)


def consignor_knows(case: Case) -> bool:
    """A rights holder's application is between it and customs until the goods are detained: the consignor
    learns of it from the detention receipt (Reg 15); a rejected application never reaches it."""
    return case.route != Route.APPLICATION or case.confirmed_at is not None


def consignor_knows_clause() -> Any:
    """``consignor_knows`` in SQL."""
    return or_(Case.route != Route.APPLICATION.value, col(Case.confirmed_at).is_not(None))


def visible_case(s: Session, case: Case | None, who: Actor, key: object) -> Case:
    """The case if ``who`` may see it; otherwise it does not exist for them."""
    if case is None:
        raise NotFound("case", key)
    if who.role in (Role.SYSTEM, Role.ADMIN):
        return case
    if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER):  # a manager: its own office, as on the board
        if who.customs_office_id == case.customs_office_id:
            return case
    elif who.role == Role.RIGHTS_HOLDER:
        n = s.exec(select(Notice).where(Notice.case_id == case.id, Notice.rights_holder_id == who.rights_holder_id,
                                        Notice.state != NoticeState.WITHDRAWN.value)).first()
        if n is not None and sent_to_holder(case, n):
            return case
    elif who.role == Role.CONSIGNOR:
        ship = s.get(Shipment, case.shipment_id)
        if ship is not None and ship.consignor_id == who.consignor_id and consignor_knows(case):
            return case
    raise NotFound("case", key)


def case_view(s: Session, case_number: str, who: Actor) -> CaseOut:
    case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
    ship = s.get(Shipment, case.shipment_id)
    office = s.get(CustomsOffice, case.customs_office_id)
    consignor = s.get(Consignor, ship.consignor_id) if ship else None
    opener = s.get(User, case.opened_by_id)
    lines_q = select(Line).where(Line.case_id == case.id).order_by(Line.number)
    notices_q = select(Notice).where(Notice.case_id == case.id).order_by(Notice.id)
    docs_q = select(Document).where(Document.case_id == case.id).order_by(Document.id)
    if who.role == Role.RIGHTS_HOLDER:
        lines_q = lines_q.where(Line.rights_holder_id == who.rights_holder_id)
        notices_q = notices_q.where(Notice.rights_holder_id == who.rights_holder_id)
        docs_q = docs_q.where(Document.rights_holder_id == who.rights_holder_id)
    elif who.role == Role.CONSIGNOR:
        notices_q = notices_q.where(col(Notice.id) < 0)  # consignors see states, not notices
        docs_q = docs_q.where(Document.consignor_id == who.consignor_id)
    lines = list(s.exec(lines_q))
    notices = list(s.exec(notices_q))
    recs = {r.id: r for r in s.exec(select(Recordation).where(col(Recordation.id).in_({ln.recordation_id for ln in lines})))}
    holders = {h.id: h for h in s.exec(select(RightsHolder).where(col(RightsHolder.id).in_({ln.rights_holder_id for ln in lines} | {n.rights_holder_id for n in notices})))}
    show_consignor = who.role != Role.RIGHTS_HOLDER  # shown only as needed
    return CaseOut(
        number=case.number,
        status=case.status,
        declaration_no=ship.declaration_no if ship else "",
        direction=ship.direction if ship else "",
        customs_office=office.name if office else "",
        consignor={"name": consignor.name, "uscc": consignor.uscc} if (consignor and show_consignor) else None,
        found_at=ship.found_at if ship else case.opened_at,
        opened_at=case.opened_at,
        opened_by=opener.username if opener else "",
        confirmed_at=case.confirmed_at,
        flow_run_id=case.flow_run_id,
        lines=[line_view(s, ln, recs, holders, on_application=case.route == Route.APPLICATION) for ln in lines],
        notices=[notice_view(s, n, who, case=case, holders=holders) for n in notices],
        documents=[DocumentOut.model_validate(d) for d in s.exec(docs_q)],
        route=case.route,
    )


def line_view(s: Session, ln: Line, recs: dict, holders: dict, *, on_application: bool = False) -> LineOut:
    """A line as every reader sees it, with its recordation's number and its rights holder's name looked
    up in ``recs`` and ``holders`` (by id; a missing one shows as ""). ``on_application``: the case is a rights
    holder's application, whose only clock is the court notice (Reg 24(1))."""
    return LineOut(
        id=ln.id, number=ln.number, description=ln.description, brand=ln.brand, quantity=ln.quantity,  # type: ignore[arg-type]
        unit=ln.unit, value=ln.value, state=ln.state, state_reason=ln.state_reason,
        recordation=recs[ln.recordation_id].number if ln.recordation_id in recs else "",
        rights_holder=holders[ln.rights_holder_id].name if ln.rights_holder_id in holders else "",
        notice_id=ln.notice_id, released_at=ln.released_at, detained_at=ln.detained_at,
        investigation_due=ln.investigation_due, court_due=ln.court_due, clocks_pending_year=pending_year_of_line(ln, get_calendar(s), on_application=on_application),
        nice_class=ln.nice_class, match_flags=list(ln.match_flags or []),
    )


def notice_view(s: Session, n: Notice, who: Actor, *, case: Case | None = None, holders: dict | None = None) -> NoticeOut:
    case = case or s.get(Case, n.case_id)
    holder = (holders or {}).get(n.rights_holder_id) or s.get(RightsHolder, n.rights_holder_id)
    lines = list(s.exec(select(Line).where(Line.notice_id == n.id).order_by(Line.number)))
    answer = s.exec(select(Answer).where(Answer.notice_id == n.id)).first()
    answer_out = None
    minutes = None
    if answer is not None:
        by_line = {ln.id: ln.number for ln in lines}
        verdicts = {by_line[v.line_id]: v.verdict for v in s.exec(select(LineVerdict).where(LineVerdict.answer_id == answer.id))}
        user = s.get(User, answer.answered_by_id)
        answer_out = AnswerOut(
            answered_at=answer.answered_at, answered_by=user.username if user else "", verdicts=verdicts,
            detain=answer.detain, bond_kind=answer.bond_kind, bond_required=answer.bond_required,
            bond_amount=answer.bond_amount, bond_accepted=answer.bond_accepted_at is not None, comment=answer.comment,
        )
        if n.served_at is not None:
            minutes = round((answer.answered_at - n.served_at).total_seconds() / 60, 2)
    return NoticeOut(
        id=n.id, case_number=case.number if case else "", rights_holder=holder.name if holder else "",  # type: ignore[arg-type]
        rights_holder_id=n.rights_holder_id, state=n.state,
        brands=sorted({ln.brand for ln in lines}), lines=[ln.number for ln in lines],
        issued_at=n.issued_at, served_at=n.served_at, deadline=n.deadline, deadline_at=n.deadline_at,
        deadline_pending_year=pending_year_of_notice(n, get_calendar(s)), answer=answer_out, confirmation_minutes=minutes,
    )


def close_if_done(s: Session, case: Case, who: Actor, at: datetime) -> None:
    """A case closes when every line is released, confiscated or under a court hold."""
    from models.rules.states import TERMINAL

    states = {ln.state for ln in s.exec(select(Line).where(Line.case_id == case.id))}
    if case.status == CaseStatus.OPEN and states and all(LineState(st) in TERMINAL for st in states):
        case.status = CaseStatus.CLOSED.value
        case.closed_at = at
        case.version += 1
        s.add(case)
        publish(s, topic="case.closed", case_id=case.id, at=at, payload={"case_number": case.number})
        record(s, actor=who, action="case.closed", subject=f"case:{case.number}", at=at, case_id=case.id,
               before={"status": CaseStatus.OPEN.value}, after={"status": CaseStatus.CLOSED.value})


def lines_by_notice(s: Session, notice_ids: list[int]) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = defaultdict(list)
    for ln in s.exec(select(Line).where(col(Line.notice_id).in_(notice_ids)).order_by(Line.number)):
        out[ln.notice_id].append(ln)  # type: ignore[index]
    return out
