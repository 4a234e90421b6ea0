"""Shapes of evidence, viewings (看货, Reg 17) and authentication guides, in and out.

Input is validated here at the edge (a ``ValidationError`` names the field); output is what the CLI
prints and the pages render. No tables here: those are in ``models.tables``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from models.text import PlainText, check_text, many_lines, one_line

Note = many_lines(2000)
ShotText = many_lines(1000)
Reason = many_lines(2000)
GuideText = one_line(500, min_length=1)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _plain_name(v: str) -> str:
    """A file name as the user's device gave it: a label only, never a key or a path."""
    if not v or v in (".", ".."):
        raise ValueError("a file name is required")
    if "/" in v or "\\" in v:
        raise ValueError("must be a plain file name, not a path")
    if any(not ch.isprintable() for ch in v):
        check_text(v)  # names the character (a NUL, a bidi override, ...)
        raise ValueError("must not contain control characters")
    return v


class EvidenceIn(_In):
    filename: Annotated[str, StringConstraints(max_length=255)]
    line_number: int | None = Field(default=None, ge=1)
    viewing_id: int | None = Field(default=None, ge=1)
    shot_request_id: int | None = Field(default=None, ge=1)
    note: Note = ""  # type: ignore[valid-type]

    @field_validator("filename")
    @classmethod
    def _filename(cls, v: str) -> str:
        return _plain_name(v)


class EvidenceOut(BaseModel):
    """One item of evidence and its chain of custody."""

    id: int
    case_number: str
    line_number: int | None = None
    viewing_id: int | None = None
    shot_request_id: int | None = None
    sha256: str
    size: int
    content_type: str
    kind: str  # photo, video, document
    captured_by: str
    captured_at: datetime  # server time
    device_time: datetime | None = None  # what the file itself says, where it says it
    note: str = ""
    url: str | None = None  # a fresh presigned GET link, when asked for
    duplicate: bool = False  # the same bytes were already evidence of this case: nothing new stored


class VerifyItem(BaseModel):
    evidence_id: int
    key: str
    status: Literal["intact", "altered", "missing", "mismatch"]
    expected_sha256: str
    actual_sha256: str | None = None
    expected_size: int
    actual_size: int | None = None
    # "mismatch": the record disagrees with its object key or with the timeline entry that recorded it
    reason: str | None = None


class VerifyReport(BaseModel):
    case_number: str
    checked_at: datetime
    intact: bool
    counts: dict[str, int]
    items: list[VerifyItem]
    orphans: list[str] = []  # objects under the case's prefix that no evidence record points at
    timeline_break: str | None = None  # the case's timeline chain is broken (which entry, why)


# --- viewing ----------------------------------------------------------------------------------------


class ViewingRequestIn(_In):
    line_numbers: list[int] | None = Field(default=None, min_length=1, max_length=2000)
    invite_consignor: bool = False
    note: Note = ""  # type: ignore[valid-type]


class CallLinkIn(_In):
    url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), PlainText]

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(v)
        if parts.scheme not in ("https", "http") or not parts.netloc or any(c.isspace() for c in v):
            raise ValueError("must be an http(s) link to the video call")
        return v


class ShotRequestIn(_In):
    text: ShotText = ""  # type: ignore[valid-type]
    guide_item_id: int | None = Field(default=None, ge=1)
    line_number: int | None = Field(default=None, ge=1)


class ViewingOut(BaseModel):
    id: int
    case_number: str
    notice_id: int | None = None
    rights_holder: str | None = None
    state: str
    remote: bool
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str = ""
    consignor_invited: bool
    call_link: str | None = None
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    line_numbers: list[int]
    scheduled_for: datetime | None = None


class ShotRequestOut(BaseModel):
    id: int
    viewing_id: int
    line_number: int | None = None
    guide_item_id: int | None = None
    text: str
    requested_by: str
    requested_at: datetime
    state: str
    answered_at: datetime | None = None
    evidence_ids: list[int] = []


class RoomLogEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    action: str
    detail: dict = {}


class RoomLine(BaseModel):
    number: int
    description: str
    brand: str
    quantity: int
    unit: str
    state: str


class RoomState(BaseModel):
    """Everything one participant may see of a viewing room, cheap enough to poll every 2 s."""

    viewing: ViewingOut
    you: str
    your_role: str
    participants: list[str]
    lines: list[RoomLine]
    guide: list[GuideItemOut]
    shot_requests: list[ShotRequestOut]
    evidence: list[EvidenceOut]
    log: list[RoomLogEntry]
    cursor: int  # pass back as ``since`` to get only newer log entries
    notice_state: str | None = None
    may_answer: bool = False
    may_capture: bool = False
    may_request_shots: bool = False


class ConfirmationTimeOut(BaseModel):
    """The 9-minute figure for one notice: from service, and from the room opening, to the verdict."""

    notice_id: int
    case_number: str
    rights_holder: str
    served_at: datetime | None = None
    room_opened_at: datetime | None = None
    viewing_id: int | None = None
    answered_at: datetime | None = None
    minutes_from_service: float | None = None
    minutes_from_room: float | None = None


# --- authentication guide ---------------------------------------------------------------------------


class GuideItemIn(_In):
    text: GuideText  # type: ignore[valid-type]
    position: int | None = Field(default=None, ge=0, le=10_000)


class GuideItemOut(BaseModel):
    id: int
    recordation: str
    brand: str
    position: int
    text: str
    active: bool


RoomState.model_rebuild()


# --- live viewing (实时连线) -----------------------------------------------------------------------------


class LiveSeatOut(BaseModel):
    """Who ``you`` are in a room's live connection, and what you may do there."""

    viewing_id: int
    case_number: str
    you: str
    part: str  # customs, rights_holder, consignor
    may_publish: bool
    may_snapshot: bool
    may_close: bool


class LivePresenceOut(BaseModel):
    username: str
    part: str
    publishing: bool
    speaking: bool = False  # has the voice channel to the officer


class LiveRoomOut(BaseModel):
    """The live connection as a participant sees it: who is connected, whether the picture flows."""

    viewing_id: int
    live: bool  # the officer's picture is arriving now
    recorded: bool  # the session is recorded as evidence (shown to everyone)
    connected: list[LivePresenceOut]
    publisher: str | None = None
    speaker: str | None = None  # who speaks to the officer now
    width: int | None = None
    height: int | None = None
    video_frames: int = 0
    last_frame_age: float | None = None


class SnapshotIn(_In):
    shot_request_id: int | None = Field(default=None, ge=1)
    line_number: int | None = Field(default=None, ge=1)
    note: Note = ""
