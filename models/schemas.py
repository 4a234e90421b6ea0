"""Validated shapes of what comes in (``*In``) and what goes out (``*Out``).

Input is checked at the edge with pydantic: a ``ValidationError`` names the field and the reason.
Output models are what the CLI prints as JSON and what the UI renders.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from models.enums import Direction, Verdict
from models.rules.bonds import NotAnAmount, money
from models.text import PlainText, Text, many_lines

#: 统一社会信用代码: 18 characters, digits and capitals without I, O, S, V, Z.
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"

Brand = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=1, max_length=120), PlainText]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), PlainText]
Comment = many_lines(2000)


def _money(v: object, info) -> Decimal:  # noqa: ANN001
    return money(v, "")  # pydantic names the field


def positive_money(v: object, info) -> Decimal:  # noqa: ANN001
    """A field validator's body for an amount that must be more than zero (values, bonds, costs)."""
    d = _money(v, info)
    if d <= 0:
        raise NotAnAmount("", "must be more than zero")
    return d


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ConsignorIn(Strict):
    name: Text
    uscc: str = Field(pattern=USCC_PATTERN, description="unified social credit code, 18 characters")


class LineIn(Strict):
    description: Text
    brand: Brand
    quantity: int = Field(gt=0, le=100_000_000)
    unit: Unit
    value: Decimal
    nice_class: int | None = Field(default=None, ge=1, le=45, description="the goods' Nice class, as the officer states it")

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, v: object, info) -> Decimal:  # noqa: ANN001
        return positive_money(v, info)


class ShipmentIn(Strict):
    """A seizure as a site officer registers it: the declaration and its suspect lines."""

    declaration_no: str = Field(pattern=r"^[0-9]{18}$", description="18-digit declaration number")
    direction: Direction
    customs_office: Text
    consignor: ConsignorIn
    found_at: AwareDatetime
    lines: list[LineIn] = Field(min_length=1, max_length=2000)
    #: the consignor's declaration of the goods' IP status and any authorisation (Meas 21)
    consignor_declaration: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] = ""


class AnswerIn(Strict):
    """A rights holder's answer to a notice: a verdict for every line, and a detention application."""

    verdicts: dict[int, Verdict] = Field(min_length=1)
    detain: bool = False
    bond: Literal["general"] | Decimal | None = None
    comment: Comment = ""  # type: ignore[valid-type]

    @field_validator("bond", mode="before")
    @classmethod
    def _bond(cls, v: object) -> object:
        return parse_bond(v)


def parse_bond(v: object) -> Literal["general"] | Decimal | None:
    """A bond is "general" (总担保) or an amount of RMB."""
    if v is None or v == "general":
        return v  # type: ignore[return-value]
    amount = money(v, "")
    if amount <= 0:
        raise NotAnAmount("", "an individual bond must be more than zero")
    return amount


# --- output ---------------------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class LineOut(Out):
    id: int
    number: int
    description: str
    brand: str
    quantity: int
    unit: str
    value: Decimal
    state: str
    state_reason: str | None = None
    recordation: str
    rights_holder: str
    notice_id: int | None = None
    released_at: datetime | None = None
    detained_at: datetime | None = None
    investigation_due: date | None = None
    court_due: date | None = None
    nice_class: int | None = None
    match_flags: list[str] = []
    clocks_pending_year: int | None = None  # detained, its clocks wait for this year's working-day schedule


class AnswerOut(Out):
    answered_at: datetime
    answered_by: str
    verdicts: dict[int, str]  # line number -> verdict
    detain: bool
    bond_kind: str | None = None
    bond_required: Decimal | None = None
    bond_amount: Decimal | None = None
    bond_accepted: bool = False
    comment: str = ""


class NoticeOut(Out):
    id: int
    case_number: str
    rights_holder: str
    rights_holder_id: int
    state: str
    brands: list[str]
    lines: list[int]
    issued_at: datetime
    served_at: datetime | None = None
    deadline: date | None = None
    deadline_at: datetime | None = None
    deadline_pending_year: int | None = None  # served, the deadline waits for this year's working-day schedule
    answer: AnswerOut | None = None
    confirmation_minutes: float | None = None  # served -> answered


class DocumentOut(Out):
    id: int
    kind: str
    number: str
    sha256: str
    issued_at: datetime
    notice_id: int | None = None


class CaseOut(Out):
    number: str
    status: str
    declaration_no: str
    direction: str
    customs_office: str
    consignor: dict[str, str] | None = None
    found_at: datetime
    opened_at: datetime
    opened_by: str
    confirmed_at: datetime | None = None  # an IPR officer confirmed the lines: the notices go out
    flow_run_id: str | None = None
    lines: list[LineOut]
    notices: list[NoticeOut]
    documents: list[DocumentOut] = []
    route: str = "ex-officio"  # or "application": the rights holder applied first (Reg 12-15)


class TaskOut(Out):
    id: int
    kind: str
    title: str
    case_number: str
    candidate_group: str
    assignee: str | None = None
    due_at: datetime | None = None
    priority: int
    state: str
    created_at: datetime
    notice_id: int | None = None
    viewing_id: int | None = None
    line_id: int | None = None
    version: int
    #: what the title is about (case, line, brand, amount, year...), for ``ui.task_titles.render_title``
    facts: dict[str, Any] = {}


class TimelineOut(Out):
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    subject: str
    before: dict | None = None
    after: dict | None = None
