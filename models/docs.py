"""Service of documents (送达): each attempt to deliver a document, and what the services return.

A ``Delivery`` row is written for every attempt, by mail or by hand, before and after the SMTP
conversation, so the outbox shows what was sent, when the office's mail server accepted it, and what
failed and why.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from models.schemas import Out
from models.types import UTCDateTime, utcnow


class DeliveryMeans(StrEnum):
    MAIL = "mail"  # e-mail to the addressee's contact addresses, the PDF attached
    HAND = "hand"  # handed over in person, recorded by an officer
    POST = "post"  # registered post, recorded by an officer


class DeliveryState(StrEnum):
    SENDING = "sending"  # the SMTP conversation is under way (or was interrupted)
    ACCEPTED = "accepted"  # the mail server accepted the message (250 after DATA)
    FAILED = "failed"  # refused or unreachable; the reason is kept
    SERVED = "served"  # served by other means, recorded by an officer


class Delivery(SQLModel, table=True):
    """One attempt to serve a document on its addressee."""

    __tablename__ = "delivery"
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    case_id: int = Field(foreign_key="ipr_case.id", index=True)
    means: str = Field(max_length=16)
    attempt: int = 1
    state: str = Field(max_length=16)
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    refused: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    message_id: str | None = Field(default=None, max_length=300)
    server_reply: str | None = Field(default=None, sa_type=Text)  # e.g. "250 Message accepted ..."
    error: str | None = Field(default=None, sa_type=Text)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    accepted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the moment of service by mail
    recorded_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    task_id: int | None = Field(default=None, foreign_key="human_task.id")  # the serve_manually task it raised
    note: str = Field(default="", sa_type=Text)


class DeliveryOut(Out):
    """One attempt, as the outbox and the flows see it."""

    id: int
    document_id: int
    document_number: str
    document_kind: str
    case_number: str
    addressee: str
    means: str
    attempt: int
    state: str
    recipients: list[str]
    refused: dict[str, str] = {}
    message_id: str | None = None
    server_reply: str | None = None
    error: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    accepted_at: datetime | None = None
    recorded_by: str | None = None
    task_id: int | None = None
    note: str = ""


class VerificationOut(Out):
    """What the public verification page may say about a presented document.

    Shows what the printed document itself shows (its number, kind, office and date), never the
    addressee or the goods, so a guessed number reveals nothing the paper does not."""

    number: str
    issued: bool  # a document with this number was issued
    matches: bool | None = None  # the presented file (or hash) is the one issued; None if nothing presented
    kind: str | None = None
    title_zh: str | None = None
    title_en: str | None = None
    office: str | None = None
    office_en: str | None = None
    dated: datetime | None = None
    sha256: str | None = None  # the hash of the document issued, for comparison by hand
