"""Sign-in sessions of the web app: a random token known to the browser, only its hash stored here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class SignInSession(SQLModel, table=True):
    """One signed-in browser. The token itself is never stored, only its SHA-256.

    ``handoff_hash`` is a one-time code (valid a minute) the app trades for an HttpOnly cookie, so the
    reusable token never passes through page scripts."""

    __tablename__ = "sign_in_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    via: str = Field(default="password", max_length=16)  # password, oidc
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(sa_type=UTCDateTime, default=None)
    handoff_hash: str | None = Field(default=None, max_length=64, index=True)
    handoff_expires_at: datetime | None = Field(sa_type=UTCDateTime, default=None)
    # The browser that signed in: SHA-256 of its pre-sign-in nonce cookie; the handoff needs the same nonce.
    nonce_hash: str | None = Field(default=None, max_length=64)
    # The session of the sign-in this one was traded from (the cookie's); sign-out ends them all.
    origin_id: int | None = Field(default=None, foreign_key="sign_in_session.id", index=True)


class SignInAttempt(SQLModel, table=True):
    """One password check: the sign-in log and what the rate limits count (``services.auth``).

    Written before the password is checked, as failed, and turned into a success only if it was one,
    so checks still running count against the limits too."""

    __tablename__ = "sign_in_attempt"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    username: str = Field(max_length=80, index=True)  # as typed (lower case); the account may not exist
    client: str = Field(max_length=64, index=True)  # the network address the attempt came from
    browser: str | None = Field(default=None, max_length=64, index=True)  # SHA-256 of its nonce cookie
    succeeded: bool = False


class SavedView(SQLModel, table=True):
    """A named set of inbox filters shared by the officers of one customs office."""

    __tablename__ = "saved_view"
    __table_args__ = (UniqueConstraint("customs_office_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    customs_office_id: int = Field(foreign_key="customs_office.id", index=True)
    name: str = Field(max_length=80)
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by_id: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class SignInUnlock(SQLModel, table=True):
    """One request for an unlock link (``services.unlock``), whether or not the account exists.

    Every request is kept (the rate limits count them per user name as typed and per client); only a
    request for an existing local account gets a token, a random secret mailed to the account's own
    address of which only the SHA-256 is stored. Opening the link (``used_at``) clears the failures
    counted against the account up to that moment (``services.auth``)."""

    __tablename__ = "sign_in_unlock"
    id: int | None = Field(default=None, primary_key=True)
    requested_at: datetime = Field(sa_type=UTCDateTime, index=True)
    username: str = Field(max_length=80, index=True)  # as typed (lower case); the account may not exist
    client: str = Field(max_length=64, index=True)  # the network address the request came from
    user_id: int | None = Field(default=None, foreign_key="user_account.id", index=True)
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    expires_at: datetime | None = Field(sa_type=UTCDateTime, default=None)
    mailed_at: datetime | None = Field(sa_type=UTCDateTime, default=None)  # the mail server accepted it
    used_at: datetime | None = Field(sa_type=UTCDateTime, default=None)
    used_client: str | None = Field(default=None, max_length=64)
