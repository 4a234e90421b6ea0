"""The database: one SQLModel table per concept of DOMAIN.md.

Conventions: ids are integers; times are ``UTCDateTime`` (aware, UTC in storage); money is ``Money``
(Decimal RMB, exact fen); enumerations are stored as their string values; each status has its own
timestamp. Only ``services/`` writes these tables.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.types import Money, UTCDateTime, utcnow


def _dt(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _enum(default: str | None = None, **kw: Any) -> Any:
    if default is None:
        return Field(sa_type=String(32), **kw)
    return Field(default=default, sa_type=String(32), **kw)


# --- organisations and people -------------------------------------------------------------------


class CustomsOffice(SQLModel, table=True):
    __tablename__ = "customs_office"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=8, unique=True)
    name: str = Field(max_length=200, unique=True)  # e.g. 首都机场海关
    name_en: str = Field(max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)
    # the office's seal (印章), printed on its documents: a PNG in the evidence store (services.offices)
    seal_key: str | None = Field(default=None, max_length=300)
    seal_sha256: str | None = Field(default=None, max_length=64)
    seal_size: int | None = Field(default=None, sa_type=BigInteger)


class RightsHolder(SQLModel, table=True):
    """权利人: the owner of recorded rights; its users answer its notices."""

    __tablename__ = "rights_holder"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    country: str = Field(default="", max_length=80)
    contact_emails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    agent: str | None = Field(default=None, max_length=200)  # 代理人, if any
    created_at: datetime = _dt(default_factory=utcnow)


class GeneralBond(SQLModel, table=True):
    """总担保 (Meas 24): trademarks, at least RMB 200,000, valid to 31 December."""

    __tablename__ = "general_bond"
    id: int | None = Field(default=None, primary_key=True)
    rights_holder_id: int = Field(foreign_key="rights_holder.id", index=True)
    amount: Decimal = Field(sa_type=Money)
    valid_from: date
    valid_until: date
    reference: str = Field(default="", max_length=100)


class Consignor(SQLModel, table=True):
    """收发货人, known by its unified social credit code (统一社会信用代码)."""

    __tablename__ = "consignor"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    uscc: str = Field(max_length=18, unique=True)
    contact_emails: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class User(SQLModel, table=True):
    """A person or the system. Customs users belong to an office; others to one organisation."""

    __tablename__ = "user_account"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True)
    display_name: str = Field(max_length=200)
    role: str = _enum()
    customs_office_id: int | None = Field(default=None, foreign_key="customs_office.id")
    rights_holder_id: int | None = Field(default=None, foreign_key="rights_holder.id")
    consignor_id: int | None = Field(default=None, foreign_key="consignor.id")
    email: str | None = Field(default=None, max_length=320)
    locale: str = Field(default="zh", max_length=8)
    password_hash: str | None = Field(default=None, max_length=255)
    failed_logins: int = 0
    locked_until: datetime | None = _dt(default=None)
    active: bool = True
    created_at: datetime = _dt(default_factory=utcnow)


# --- rights ---------------------------------------------------------------------------------------


class Recordation(SQLModel, table=True):
    """备案 (Reg 8-11): a right recorded with GACC for 10 years, renewable."""

    __tablename__ = "recordation"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    right_type: str = _enum("trademark")
    brand: str = Field(max_length=120, index=True)  # the mark, in capitals
    classes: str = Field(default="", max_length=200)  # Nice classes, e.g. "18,25"
    rights_holder_id: int = Field(foreign_key="rights_holder.id", index=True)
    valid_from: date
    valid_until: date
    licensees: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    authentication_guide: str = Field(default="", sa_type=Text)


class GuideItem(SQLModel, table=True):
    """One thing to look at to tell a fake (an inner card, a serial number ...)."""

    __tablename__ = "guide_item"
    id: int | None = Field(default=None, primary_key=True)
    recordation_id: int = Field(foreign_key="recordation.id", index=True)
    position: int = 0
    text: str = Field(max_length=500)
    active: bool = True


# --- shipments and cases --------------------------------------------------------------------------


class Shipment(SQLModel, table=True):
    """A declaration (报关单): 18 digits."""

    __tablename__ = "shipment"
    id: int | None = Field(default=None, primary_key=True)
    declaration_no: str = Field(max_length=18, unique=True)
    direction: str = _enum()
    customs_office_id: int = Field(foreign_key="customs_office.id")
    consignor_id: int = Field(foreign_key="consignor.id", index=True)
    found_at: datetime = _dt()
    # the consignor's declaration of the goods' IP status and any authorisation, asked for at seizure (Meas 21)
    consignor_declaration: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class Case(SQLModel, table=True):
    __tablename__ = "ipr_case"
    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, unique=True)
    shipment_id: int = Field(foreign_key="shipment.id", unique=True)
    customs_office_id: int = Field(foreign_key="customs_office.id", index=True)
    status: str = _enum("open")
    opened_at: datetime = _dt(default_factory=utcnow, index=True)  # the board lists the latest cases
    opened_by_id: int = Field(foreign_key="user_account.id")
    closed_at: datetime | None = _dt(default=None)
    flow_run_id: str | None = Field(default=None, max_length=64)
    version: int = 1
    confirmed_at: datetime | None = _dt(default=None)  # an IPR officer confirmed the lines against the recordations
    # ex-officio: customs found the goods (Reg 16); application: a rights holder applied first (Reg 12-15)
    route: str = Field(default="ex-officio", sa_column=Column(String(32), nullable=False, server_default="ex-officio"))


class Notice(SQLModel, table=True):
    """确权通知: one per rights holder per case."""

    __tablename__ = "notice"
    __table_args__ = (UniqueConstraint("case_id", "rights_holder_id"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    rights_holder_id: int = Field(foreign_key="rights_holder.id", index=True)
    state: str = _enum("issued")
    issued_at: datetime = _dt(default_factory=utcnow)
    served_at: datetime | None = _dt(default=None)
    served_by: str | None = Field(default=None, max_length=40)  # issue, mail, portal, hand
    first_opened_at: datetime | None = _dt(default=None)
    deadline: date | None = None  # last working day
    deadline_at: datetime | None = _dt(default=None, index=True)  # its end, 24:00 Asia/Shanghai
    answered_at: datetime | None = _dt(default=None)
    expired_at: datetime | None = _dt(default=None)
    version: int = 1


class Line(SQLModel, table=True):
    """One line of suspect goods and its state (see ``models.rules.states``)."""

    __tablename__ = "goods_line"
    __table_args__ = (
        UniqueConstraint("case_id", "number"),
        Index("ix_goods_line_state_brand", "state", "brand"),
        # the board's outcomes in its window, read from the index alone (services/board.py _outcomes)
        Index("ix_goods_line_released_outcome", "released_at", "case_id", "brand", "state_reason", "quantity"),
        Index("ix_goods_line_detained_outcome", "detained_at", "case_id", "brand", "state_reason", "quantity"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    number: int
    description: str = Field(max_length=500)
    brand: str = Field(max_length=120)
    quantity: int
    unit: str = Field(max_length=20)
    value: Decimal = Field(sa_type=Money)
    recordation_id: int = Field(foreign_key="recordation.id")
    rights_holder_id: int = Field(foreign_key="rights_holder.id", index=True)
    notice_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    state: str = _enum("suspended")
    state_reason: str | None = Field(default=None, max_length=40)
    suspended_at: datetime | None = _dt(default=None)
    released_at: datetime | None = _dt(default=None)
    detained_at: datetime | None = _dt(default=None)
    confiscated_at: datetime | None = _dt(default=None)
    undetermined_at: datetime | None = _dt(default=None)
    court_hold_at: datetime | None = _dt(default=None)
    investigation_due: date | None = None  # 30 WD after detention
    court_due: date | None = None  # 50 WD after detention
    version: int = 1
    nice_class: int | None = None  # the Nice class the officer states for the goods
    match_flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    disposed_at: datetime | None = _dt(default=None)  # confiscated goods disposed of (Reg 27)
    transferred_at: datetime | None = _dt(default=None)  # the case transferred to the police (Reg 26)


class Answer(SQLModel, table=True):
    """A rights holder's answer to a notice, with its detention application and bond."""

    __tablename__ = "answer"
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", unique=True)
    answered_by_id: int = Field(foreign_key="user_account.id")
    answered_at: datetime = _dt(default_factory=utcnow, index=True)  # the board's window of answers
    detain: bool = False
    bond_kind: str | None = _enum(default=None, nullable=True)
    bond_required: Decimal | None = Field(default=None, sa_type=Money)
    bond_amount: Decimal | None = Field(default=None, sa_type=Money)
    general_bond_id: int | None = Field(default=None, foreign_key="general_bond.id")
    bond_accepted_at: datetime | None = _dt(default=None)
    comment: str = Field(default="", sa_type=Text)
    bond_charged: Decimal | None = Field(default=None, sa_type=Money)  # costs deducted at settlement (Meas 35)
    bond_refunded: Decimal | None = Field(default=None, sa_type=Money)  # the rest returned at settlement
    bond_settled_at: datetime | None = _dt(default=None)


class LineVerdict(SQLModel, table=True):
    __tablename__ = "line_verdict"
    __table_args__ = (UniqueConstraint("answer_id", "line_id"),)
    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True)
    line_id: int = Field(foreign_key="goods_line.id")
    verdict: str = _enum()


class Decision(SQLModel, table=True):
    """A release, detention or other decision over some lines of a case."""

    __tablename__ = "decision"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    kind: str = _enum()  # the target line state
    reason: str = _enum()
    line_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decided_by_id: int = Field(foreign_key="user_account.id")
    decided_at: datetime = _dt(default_factory=utcnow)
    deadline_met: bool | None = None
    note: str = Field(default="", sa_type=Text)
    followed_up_at: datetime | None = _dt(default=None)  # documents and notifications done


# --- remote viewing and evidence ------------------------------------------------------------------


class Viewing(SQLModel, table=True):
    """看货: on site or remote (云确), approved by customs (Reg 17)."""

    __tablename__ = "viewing"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    notice_id: int | None = Field(default=None, foreign_key="notice.id", index=True)
    requested_by_id: int = Field(foreign_key="user_account.id")
    requested_at: datetime = _dt(default_factory=utcnow)
    remote: bool = True
    state: str = _enum("requested")
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = _dt(default=None)
    decision_reason: str = Field(default="", sa_type=Text)
    consignor_invited: bool = False
    call_link: str | None = Field(default=None, max_length=500)
    opened_at: datetime | None = _dt(default=None)
    closed_at: datetime | None = _dt(default=None)
    line_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scheduled_for: datetime | None = _dt(default=None)  # the time the approving officer set for the viewing


class ShotRequest(SQLModel, table=True):
    """A rights holder's request for a photo or video of a detail."""

    __tablename__ = "shot_request"
    id: int | None = Field(default=None, primary_key=True)
    viewing_id: int = Field(foreign_key="viewing.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="goods_line.id")
    guide_item_id: int | None = Field(default=None, foreign_key="guide_item.id")
    text: str = Field(max_length=1000)
    requested_by_id: int = Field(foreign_key="user_account.id")
    requested_at: datetime = _dt(default_factory=utcnow)
    state: str = _enum("open")
    answered_at: datetime | None = _dt(default=None)


class Evidence(SQLModel, table=True):
    """A captured photo, video or file; the object lives in S3 under ``key``."""

    __tablename__ = "evidence"
    # One record per line the file shows: the same bytes may be evidence of several lines (one object in S3).
    __table_args__ = (UniqueConstraint("case_id", "sha256", "line_id"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="goods_line.id", index=True)
    viewing_id: int | None = Field(default=None, foreign_key="viewing.id", index=True)
    shot_request_id: int | None = Field(default=None, foreign_key="shot_request.id")
    key: str = Field(max_length=300, index=True)
    sha256: str = Field(max_length=64)
    size: int = Field(sa_type=BigInteger)
    content_type: str = Field(max_length=80)
    kind: str = _enum()  # photo, video, document
    captured_by_id: int = Field(foreign_key="user_account.id")
    captured_at: datetime = _dt(default_factory=utcnow)  # server time
    device_time: datetime | None = _dt(default=None)  # from the file's own metadata, if any
    note: str = Field(default="", sa_type=Text)


class Document(SQLModel, table=True):
    """A legal document issued by Yunque (PDF), stored as an evidence-grade object."""

    __tablename__ = "document"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    kind: str = _enum()
    number: str = Field(max_length=60, unique=True)
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    rights_holder_id: int | None = Field(default=None, foreign_key="rights_holder.id")
    consignor_id: int | None = Field(default=None, foreign_key="consignor.id")
    key: str = Field(max_length=300, unique=True)
    sha256: str = Field(max_length=64, index=True)
    size: int
    issued_at: datetime = _dt(default_factory=utcnow)
    issued_by_id: int = Field(foreign_key="user_account.id")


# --- work -----------------------------------------------------------------------------------------


#: open or claimed: the condition of the inbox's partial indexes, written the same way in the queries
TASK_LIVE_SQL = "state IN ('open', 'claimed')"


class Task(SQLModel, table=True):
    """A human task in an inbox: candidate group (a role) within one customs office."""

    __tablename__ = "human_task"
    __table_args__ = (Index("ix_task_inbox", "customs_office_id", "candidate_group", "state", "due_at"),
                      # the inbox's views read open tasks only, in due order: partial indexes (services.tasks)
                      Index("ix_task_live_office", "customs_office_id", "due_at", "id",
                            sqlite_where=text(TASK_LIVE_SQL), postgresql_where=text(TASK_LIVE_SQL)),
                      Index("ix_task_live_group", "customs_office_id", "candidate_group", "assignee_id", "due_at", "id",
                            sqlite_where=text(TASK_LIVE_SQL), postgresql_where=text(TASK_LIVE_SQL)),
                      Index("ix_task_live_assignee", "assignee_id", "due_at", "id",
                            sqlite_where=text(TASK_LIVE_SQL), postgresql_where=text(TASK_LIVE_SQL)),
                      Index("ix_task_live_kind", "customs_office_id", "kind", "due_at", "id",
                            sqlite_where=text(TASK_LIVE_SQL), postgresql_where=text(TASK_LIVE_SQL)),
                      Index("ix_task_done_by", "completed_by_id", "completed_at", "id"))
    id: int | None = Field(default=None, primary_key=True)
    kind: str = _enum()
    case_id: int | None = Field(default=None, foreign_key="ipr_case.id", index=True)  # None: not about one case
    notice_id: int | None = Field(default=None, foreign_key="notice.id")
    viewing_id: int | None = Field(default=None, foreign_key="viewing.id")
    line_id: int | None = Field(default=None, foreign_key="goods_line.id")
    calendar_year: int | None = None  # load_calendar: the year whose schedule is missing
    customs_office_id: int | None = Field(default=None, foreign_key="customs_office.id")  # None: every office
    candidate_group: str = _enum()
    assignee_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    title: str = Field(max_length=300)
    due_at: datetime | None = _dt(default=None)
    priority: int = 50  # 0 most urgent .. 100
    state: str = _enum("open")
    created_at: datetime = _dt(default_factory=utcnow)
    claimed_at: datetime | None = _dt(default=None)
    completed_at: datetime | None = _dt(default=None)
    completed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    outcome: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    escalated_at: datetime | None = _dt(default=None)  # overdue: handed up to the office's managers


# --- the record -----------------------------------------------------------------------------------


class TimelineEntry(SQLModel, table=True):
    """Every action, with actor and time; each entry hashes the one before it."""

    __tablename__ = "timeline_entry"
    __table_args__ = (UniqueConstraint("chain", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="ipr_case.id", index=True)
    at: datetime = _dt()
    actor_id: int | None = Field(default=None, foreign_key="user_account.id")
    actor: str = Field(max_length=80)
    actor_role: str = _enum()
    action: str = Field(max_length=60)
    subject: str = Field(max_length=80)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
    # its chain ("case:<id>", "system", or "legacy" for entries older than keyed chains) and its number in it
    chain: str = Field(default="system", max_length=40)
    seq: int = Field(default=0)


class IdempotencyRecord(SQLModel, table=True):
    """The result of an action already done under this key; a repeat returns it unchanged."""

    __tablename__ = "idempotency_record"
    key: str = Field(primary_key=True, max_length=200)
    action: str = Field(max_length=60)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _dt(default_factory=utcnow)


class Sequence(SQLModel, table=True):
    """Counters for human-readable numbers (case YQ-2026-000001, documents)."""

    __tablename__ = "number_sequence"
    name: str = Field(primary_key=True, max_length=60)
    value: int = 0


class OutboxEvent(SQLModel, table=True):
    """Something a service did that the process (Prefect flows) must follow up on.

    Written in the same transaction as the action itself, so nothing a person submits is lost when
    the Prefect server or a worker is down; a dispatcher hands each event on and marks it."""

    __tablename__ = "outbox_event"
    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=60, index=True)  # case.opened, notice.answered, decision.made, ...
    case_id: int | None = Field(default=None, foreign_key="ipr_case.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _dt(default_factory=utcnow)
    dispatched_at: datetime | None = _dt(default=None, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)


# --- the law after the verdict --------------------------------------------------------------------


class BondReceipt(SQLModel, table=True):
    """An individual bond customs has received and checked (Meas 38): a deposit or a bank guarantee letter."""

    __tablename__ = "bond_receipt"
    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", unique=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    rights_holder_id: int = Field(foreign_key="rights_holder.id", index=True)
    form: str = _enum()  # deposit, guarantee
    amount: Decimal = Field(sa_type=Money)
    bank: str = Field(default="", max_length=200)
    letter_no: str = Field(default="", max_length=100)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    received_by_id: int = Field(foreign_key="user_account.id")
    received_at: datetime = _dt()


class CourtNotice(SQLModel, table=True):
    """A people's court's notice of assistance in enforcement (协助执行通知, Reg 23, 24)."""

    __tablename__ = "court_notice"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    line_id: int = Field(foreign_key="goods_line.id", index=True)
    court: str = Field(max_length=200)
    reference: str = Field(max_length=100)
    received_at: datetime = _dt()
    recorded_by_id: int = Field(foreign_key="user_account.id")
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")


class Disposal(SQLModel, table=True):
    """How confiscated goods were disposed of, in the order of Reg 27, with its evidence."""

    __tablename__ = "disposal"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    line_id: int = Field(foreign_key="goods_line.id", unique=True)
    method: str = _enum()
    why_not_earlier: str = Field(default="", sa_type=Text)  # why the methods before it in Reg 27 were not used
    recipient: str = Field(default="", max_length=200)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    recorded_by_id: int = Field(foreign_key="user_account.id")
    recorded_at: datetime = _dt()


class CaseCost(SQLModel, table=True):
    """Storage, handling and disposal costs of a rights holder's goods (Reg 25, Meas 35)."""

    __tablename__ = "case_cost"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="goods_line.id")
    kind: str = _enum()
    amount: Decimal = Field(sa_type=Money)
    note: str = Field(default="", sa_type=Text)
    recorded_by_id: int = Field(foreign_key="user_account.id")
    recorded_at: datetime = _dt()


class ConsignorStatement(SQLModel, table=True):
    """The consignor's written statement that its goods do not infringe, with evidence (Reg 18, 24(4))."""

    __tablename__ = "consignor_statement"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    consignor_id: int = Field(foreign_key="consignor.id")
    line_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    text: str = Field(sa_type=Text)
    filed_by_id: int = Field(foreign_key="user_account.id")
    filed_at: datetime = _dt()
    decision: str | None = _enum(default=None, nullable=True)  # accepted, rejected
    reason: str = Field(default="", sa_type=Text)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = _dt(default=None)


class PoliceTransfer(SQLModel, table=True):
    """A suspected crime transferred to the police (公安机关, Reg 26)."""

    __tablename__ = "police_transfer"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    line_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    police_unit: str = Field(max_length=200)
    reference: str = Field(default="", max_length=100)
    grounds: str = Field(sa_type=Text)
    transferred_by_id: int = Field(foreign_key="user_account.id")
    transferred_at: datetime = _dt()


class DetentionApplication(SQLModel, table=True):
    """A rights holder's application for the detention of a named shipment (申请扣留, Reg 12, 13; Meas 13).

    Its case (route ``application``) holds the goods as lines, the holder's side as an ``applied`` notice
    with an answer claiming every line, and the bond required: the value of the goods (Reg 14, Meas 15)."""

    __tablename__ = "detention_application"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", unique=True)
    rights_holder_id: int = Field(foreign_key="rights_holder.id", index=True)
    grounds: str = Field(sa_type=Text)  # the evidence that infringement is obvious (Reg 13)
    expected_on: date | None = None  # when the goods are expected to be imported or exported
    transport: str = Field(default="", max_length=200)  # means of transport, if known
    filed_by_id: int = Field(foreign_key="user_account.id")
    filed_at: datetime = _dt()
    decision: str | None = _enum(default=None, nullable=True)  # accepted, rejected, withdrawn
    reason: str = Field(default="", sa_type=Text)
    decided_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = _dt(default=None)


class CounterBond(SQLModel, table=True):
    """The consignor's counter-bond for a detained patent line (反担保, Reg 19, 24(3); Meas 20): customs
    received it and released the line; the rights holder then has 30 working days from the day after
    customs' written notice was served on it to file its court's acceptance notice (Meas 20, 41), or the
    counter-bond is refunded."""

    __tablename__ = "counter_bond"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    line_id: int = Field(foreign_key="goods_line.id", unique=True)
    consignor_id: int = Field(foreign_key="consignor.id")
    rights_holder_id: int = Field(foreign_key="rights_holder.id", index=True)
    state: str = _enum("held")
    form: str = _enum()  # deposit, guarantee
    amount: Decimal = Field(sa_type=Money)
    bank: str = Field(default="", max_length=200)
    letter_no: str = Field(default="", max_length=100)
    evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    received_by_id: int = Field(foreign_key="user_account.id")
    received_at: datetime = _dt()
    decision_id: int | None = Field(default=None, foreign_key="decision.id")  # the release it brought
    notified_at: datetime | None = _dt(default=None)  # customs' written notice served on the rights holder
    court_due: date | None = None  # last working day for the court filing (30 WD, Meas 20)
    court: str = Field(default="", max_length=200)
    court_reference: str = Field(default="", max_length=100)
    court_filed_at: datetime | None = _dt(default=None)  # when customs received the court's notice
    court_evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    court_recorded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    refundable_at: datetime | None = _dt(default=None)
    refunded_at: datetime | None = _dt(default=None)
    refunded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    refund_reference: str = Field(default="", max_length=100)
    refund_evidence_id: int | None = Field(default=None, foreign_key="evidence.id")
    version: int = 1


# --- the working-day calendar -----------------------------------------------------------------------


class CalendarYear(SQLModel, table=True):
    """A year's official working-day schedule (国务院办公厅 holiday arrangement) loaded by an administrator.

    Kept in the database so the app, the workers and the command line count the same days; a loaded year
    overrides the ``chinese-calendar`` package's copy only when it was loaded with ``--replace``."""

    __tablename__ = "calendar_year"
    year: int = Field(primary_key=True)
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # weekdays off
    workdays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # weekends worked
    source: str = Field(max_length=300)
    sha256: str = Field(max_length=64)
    loaded_by_id: int = Field(foreign_key="user_account.id")
    loaded_at: datetime = _dt()


class RecordationImage(SQLModel, table=True):
    """An image of a recorded mark (``mark``: as registered) or of genuine goods (``reference``), kept in the
    evidence store under ``recordation/<number>/<sha256>``; 以图识图 matches photos against them."""

    __tablename__ = "recordation_image"
    __table_args__ = (UniqueConstraint("recordation_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    recordation_id: int = Field(foreign_key="recordation.id", index=True)
    kind: str = _enum("mark")  # mark, reference
    key: str = Field(max_length=300, unique=True)
    sha256: str = Field(max_length=64)
    size: int = Field(sa_type=BigInteger)
    content_type: str = Field(max_length=80)
    width: int
    height: int
    added_by_id: int = Field(foreign_key="user_account.id")
    added_at: datetime = _dt(default_factory=utcnow)
