"""Read models for the people outside customs (rights holders, consignors) and for case lists.

Every function filters by the caller's role and organisation in the query itself: a rights holder
gets its own notices only, a consignor its own shipments only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlmodel import col, select

from models.enums import NoticeState, Role
from models.rules.errors import NotFound, PermissionDenied
from models.rules.workdays import local_date
from models.schemas import DocumentOut, LineOut, NoticeOut, TimelineOut
from models.tables import Case, Consignor, CustomsOffice, Document, Line, Notice, Recordation, RightsHolder, Shipment, TimelineEntry
from services.answers import valid_general_bond
from services.cases import consignor_knows_clause, line_view, notice_view, recordation_for, sent_clause, visible_case
from services.context import load_actor, now_or, require_role
from services.unit_of_work import UnitOfWork, given


class GeneralBondOut(BaseModel):
    reference: str
    amount: Decimal
    valid_until: date


class PortalNotice(BaseModel):
    """One confirmation notice as its rights holder sees it."""

    notice: NoticeOut
    lines: list[LineOut]
    general_bond: GeneralBondOut | None
    documents: list[DocumentOut]


class CaseSummary(BaseModel):
    number: str
    status: str
    declaration_no: str
    customs_office: str
    found_at: datetime
    opened_at: datetime
    lines: int
    states: dict[str, int]
    flow_run_id: str | None = None
    consignor: str | None = None


def my_notices(*, actor: str, now: datetime | None = None, uow: UnitOfWork | None = None) -> list[PortalNotice]:
    """The rights holder's own notices, newest first, with lines, bond options and documents."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        require_role(who, "read the rights-holder portal", Role.RIGHTS_HOLDER)
        gb = valid_general_bond(s, who.rights_holder_id, local_date(now))  # type: ignore[arg-type]
        gb_out = GeneralBondOut(reference=gb.reference, amount=gb.amount, valid_until=gb.valid_until) if gb else None
        notices = list(s.exec(select(Notice).join(Case, col(Case.id) == Notice.case_id)
                              .where(Notice.rights_holder_id == who.rights_holder_id, *sent_clause())
                              .order_by(col(Notice.issued_at).desc(), col(Notice.id).desc())))
        out = []
        for n in notices:
            lines = list(s.exec(select(Line).where(Line.notice_id == n.id).order_by(Line.number)))
            recs = {r.id: r for r in s.exec(select(Recordation).where(col(Recordation.id).in_({ln.recordation_id for ln in lines})))}
            holders = {who.rights_holder_id: s.get(RightsHolder, who.rights_holder_id)}
            docs = s.exec(select(Document).where(Document.case_id == n.case_id, Document.rights_holder_id == who.rights_holder_id)
                          .order_by(Document.id))
            out.append(PortalNotice(notice=notice_view(s, n, who), lines=[line_view(s, ln, recs, holders) for ln in lines],
                                    general_bond=gb_out, documents=[DocumentOut.model_validate(d) for d in docs]))
        return out


def my_notice(*, actor: str, notice_id: int, now: datetime | None = None,
              uow: UnitOfWork | None = None) -> PortalNotice:
    uow = given(uow)
    for p in my_notices(actor=actor, now=now, uow=uow):
        if p.notice.id == notice_id:
            return p
    raise NotFound("notice", notice_id)


def list_cases(*, actor: str, status: str | None = None, limit: int = 200,
               uow: UnitOfWork | None = None) -> list[CaseSummary]:
    """Cases the caller may open: its office's (officers, managers), all (administrators), or those
    touching its notices (rights holder) or its shipments (consignor)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        q = select(Case, Shipment).join(Shipment, col(Shipment.id) == Case.shipment_id)
        if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER):
            q = q.where(Case.customs_office_id == who.customs_office_id)
        elif who.role == Role.RIGHTS_HOLDER:
            q = q.where(col(Case.id).in_(select(Notice.case_id).where(Notice.rights_holder_id == who.rights_holder_id,
                                                                     Notice.state != NoticeState.WITHDRAWN.value)),
                        sent_clause()[0])
        elif who.role == Role.CONSIGNOR:
            q = q.where(Shipment.consignor_id == who.consignor_id, consignor_knows_clause())
        elif who.role != Role.ADMIN:
            raise PermissionDenied(who.username, "list cases")
        if status:
            q = q.where(Case.status == status)
        rows = list(s.exec(q.order_by(col(Case.opened_at).desc(), col(Case.id).desc()).limit(limit)))
        offices = {o.id: o.name for o in s.exec(select(CustomsOffice))}
        out = []
        for case, ship in rows:
            lq = select(Line.state).where(Line.case_id == case.id)
            if who.role == Role.RIGHTS_HOLDER:
                lq = lq.where(Line.rights_holder_id == who.rights_holder_id)
            states: dict[str, int] = {}
            for st_ in s.exec(lq):
                states[st_] = states.get(st_, 0) + 1
            consignor = s.get(Consignor, ship.consignor_id) if who.role != Role.RIGHTS_HOLDER else None
            out.append(CaseSummary(number=case.number, status=case.status, declaration_no=ship.declaration_no,
                                   customs_office=offices.get(case.customs_office_id, ""), found_at=ship.found_at,
                                   opened_at=case.opened_at, lines=sum(states.values()), states=states,
                                   flow_run_id=case.flow_run_id if who.is_customs else None,
                                   consignor=consignor.name if consignor else None))
        return out


def my_shipments(*, actor: str, uow: UnitOfWork | None = None) -> list[CaseSummary]:
    """A consignor's shipments under suspension or detention, with the state of their lines."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        require_role(load_actor(s, actor), "read its shipments", Role.CONSIGNOR)
    return list_cases(actor=actor, uow=uow)


def case_timeline(*, case_number: str, actor: str, uow: UnitOfWork | None = None) -> list[TimelineOut]:
    """The case's timeline, for customs staff only (it names every party)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
        if not who.is_customs:
            raise NotFound("timeline", case_number)
        rows = s.exec(select(TimelineEntry).where(TimelineEntry.case_id == case.id).order_by(TimelineEntry.id))
        return [TimelineOut.model_validate(e) for e in rows]


def working_days_left(*, deadline: date | None, now: datetime | None = None,
                      served_at: datetime | None = None, uow: UnitOfWork | None = None) -> int | None:
    """Working days left to a legal deadline, today included if it is one; ``None`` when the
    deadline is not set or its year's schedule is not loaded (never guessed).

    A period that runs from the day after service (a notice's 3 working days, Reg 16, Meas 41) has not
    started on the day of service: that day is not counted, so on it the whole period is left."""
    from datetime import timedelta

    from adapters.calendar import get_calendar, recent_calendar
    from models.rules.errors import CalendarUnknown
    from models.rules.workdays import working_days_left as left

    if deadline is None:
        return None
    today = local_date(now_or(now))
    if served_at is not None:
        today = max(today, local_date(served_at) + timedelta(days=1))
    uow = given(uow)
    calendar = recent_calendar(uow.settings.db_url)
    if calendar is None:
        with uow.transaction(readonly=True) as s:
            calendar = get_calendar(s)
    try:
        return left(today, deadline, calendar)
    except CalendarUnknown:
        return None


def period_started(*, served_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a period counted from the day after service has begun (it has not on the day of service)."""
    return served_at is None or local_date(now_or(now)) > local_date(served_at)


class RecordationMatch(BaseModel):
    brand: str
    recordation: str | None
    rights_holder: str | None
    valid_until: date | None


def match_recordations(*, actor: str, brands: list[str], on: date,
                       uow: UnitOfWork | None = None) -> list[RecordationMatch]:
    """For a seizure being registered: the recordation each brand would be matched to on ``on``
    (``recordation_for``, the rule ``open_case`` applies: a recordation valid that day, Reg 16)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        require_role(who, "match recordations", Role.SITE_OFFICER, Role.IPR_OFFICER, Role.ADMIN)
        out = []
        for brand in brands:
            b = brand.strip().upper()
            rec = recordation_for(s, b, on)
            holder = s.get(RightsHolder, rec.rights_holder_id) if rec else None
            out.append(RecordationMatch(brand=b, recordation=rec.number if rec else None,
                                        rights_holder=holder.name if holder else None,
                                        valid_until=rec.valid_until if rec else None))
        return out


def office_of(*, actor: str, lang: str = "en", uow: UnitOfWork | None = None) -> str | None:
    """The name of the caller's customs office in ``lang`` (zh: 首都机场海关; else the English name);
    ``None`` outside customs. Registration knows an office by either name."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        office = s.get(CustomsOffice, who.customs_office_id) if who.customs_office_id else None
        if office is None:
            return None
        return office.name if lang == "zh" else office.name_en
