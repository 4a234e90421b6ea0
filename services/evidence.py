"""Evidence: photos, videos and files captured on a case, kept so that they stand up later.

An upload is read once: the first bytes decide its type (magic bytes, never the file name), it is
spooled to a temporary file on disk while its SHA-256 and size are computed, and refused before the
store is touched if it is of a type or size Yunque does not accept. It is then stored under a key
derived from the case and the hash (``evidence/<case>/<sha256>``), so a retried upload finds its
object and its record already there. The same bytes shown for another line of the case get a record
of that line (its rights holder sees it) sharing the one object. The record is written only after the store has confirmed the
object; if writing the record fails, the object this call stored is deleted again.

Who may see what (anyone else: ``NotFound``, so existence does not leak):
- customs officers of the case's office (and administrators, the system);
- a rights holder: evidence of the lines of its own notices, and evidence without a line captured
  in a viewing of its own notice;
- the consignor: evidence of its own shipment captured in a viewing it was invited to.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO, BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters import media
from adapters.objectstore import ObjectStore
from models.enums import Role, ShotRequestState, ViewingState
from models.evidence_schemas import EvidenceIn, EvidenceOut, VerifyItem, VerifyReport
from models.rules.errors import InvalidInput, NotFound, PermissionDenied
from models.tables import Case, Evidence, Line, Notice, Shipment, ShotRequest, TimelineEntry, User, Viewing
from services.context import Actor, load_actor, now_or, publish, record, system_actor
from services.unit_of_work import UnitOfWork, given, unit_of

MiB = 1024 * 1024
#: The largest file accepted of each kind. A phone photo is a few MiB, a minute of 4K video ~400 MiB.
LIMITS: dict[str, int] = {"photo": 25 * MiB, "video": 1024 * MiB, "document": 50 * MiB}
_CHUNK = MiB


def store(*, uow: UnitOfWork | None = None) -> ObjectStore:
    """The evidence store of the unit of work (the configured one by default): what the checks and the
    benchmarks read objects back from."""
    return given(uow).store


def evidence_key(case_number: str, sha256: str) -> str:
    return f"evidence/{case_number}/{sha256}"


# --- reading the upload ---------------------------------------------------------------------------


@dataclass
class Spooled:
    file: IO[bytes]
    sha256: str
    size: int
    media: media.MediaType


def _human(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


@contextmanager
def spool(stream: BinaryIO, *, var_dir: Path) -> Iterator[Spooled]:
    """Read ``stream`` once into a temporary file under ``var_dir/tmp``, hashing as it goes; refuse what is not
    accepted.

    Memory stays at one chunk (1 MiB) whatever the size; the temporary file is always removed."""
    tmp_dir = var_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=tmp_dir, prefix="upload-") as f:
        head = b""
        while len(head) < media.SNIFF_BYTES:
            data = stream.read(media.SNIFF_BYTES - len(head))
            if not data:
                break
            head += data
        if not head:
            raise InvalidInput("file", "the file is empty")
        kind = media.sniff(head)
        if kind is None:
            raise InvalidInput("file", "its content is not an accepted type: {accepted} (judged from the content, not the name)",
                               accepted=media.accepted_types())
        limit = LIMITS[kind.kind]
        digest = hashlib.sha256(head)
        f.write(head)
        size = len(head)
        while True:
            data = stream.read(_CHUNK)
            if not data:
                break
            size += len(data)
            if size > limit:
                raise InvalidInput("file", "too large: a {media_kind} may be at most {limit}",
                                       media_kind=kind.kind, limit=_human(limit))
            digest.update(data)
            f.write(data)
        f.flush()
        f.seek(0)
        if kind.kind == "photo":
            try:
                media.check_photo(f, kind)
            except media.NotAPicture as e:
                raise InvalidInput("file", "not a readable photo: {problem}", problem=e.problem) from None
        yield Spooled(file=f, sha256=digest.hexdigest(), size=size, media=kind)


# --- entitlement ----------------------------------------------------------------------------------


@dataclass
class CaseScope:
    """What is needed to decide, for each item of a case's evidence, who may see it."""

    case: Case
    shipment: Shipment
    lines: dict[int, Line]
    viewings: dict[int, Viewing]
    notice_holder: dict[int, int]  # notice id -> rights holder id


def case_scope(s: Session, case: Case) -> CaseScope:
    ship = s.get(Shipment, case.shipment_id)
    assert ship is not None
    lines = {ln.id: ln for ln in s.exec(select(Line).where(Line.case_id == case.id))}
    viewings = {v.id: v for v in s.exec(select(Viewing).where(Viewing.case_id == case.id))}
    holders = {n.id: n.rights_holder_id for n in s.exec(select(Notice).where(Notice.case_id == case.id))}
    return CaseScope(case, ship, lines, viewings, holders)  # type: ignore[arg-type]


def is_case_customs(who: Actor, case: Case) -> bool:
    if who.role in (Role.ADMIN, Role.SYSTEM):
        return True
    return who.is_customs and who.customs_office_id == case.customs_office_id


def may_see(who: Actor, sc: CaseScope, ev: Evidence) -> bool:
    if is_case_customs(who, sc.case):
        return True
    viewing = sc.viewings.get(ev.viewing_id) if ev.viewing_id else None
    if who.role == Role.RIGHTS_HOLDER:
        if sc.case.confirmed_at is None:  # nothing was sent to any holder yet
            return False
        if ev.line_id is not None:
            line = sc.lines.get(ev.line_id)
            return line is not None and line.rights_holder_id == who.rights_holder_id
        return (viewing is not None and viewing.notice_id is not None
                and sc.notice_holder.get(viewing.notice_id) == who.rights_holder_id)
    if who.role == Role.CONSIGNOR:
        return (sc.shipment.consignor_id == who.consignor_id and viewing is not None
                and viewing.consignor_invited)
    return False


def _case(s: Session, case_number: str) -> Case:
    case = s.exec(select(Case).where(Case.number == case_number)).first()
    if case is None:
        raise NotFound("case", case_number)
    return case


def _visible_case(s: Session, case_number: str, who: Actor) -> Case:
    from services.cases import visible_case

    return visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)


# --- output ---------------------------------------------------------------------------------------


def evidence_out(s: Session, ev: Evidence, case_number: str, *, url: str | None = None, duplicate: bool = False,
                 lines: dict[int, Line] | None = None, users: dict[int, str] | None = None) -> EvidenceOut:
    line = (lines or {}).get(ev.line_id) if ev.line_id else None  # type: ignore[arg-type]
    if ev.line_id and line is None:
        line = s.get(Line, ev.line_id)
    name = (users or {}).get(ev.captured_by_id)
    if name is None:
        user = s.get(User, ev.captured_by_id)
        name = user.username if user else ""
    return EvidenceOut(
        id=ev.id, case_number=case_number, line_number=line.number if line else None,  # type: ignore[arg-type]
        viewing_id=ev.viewing_id, shot_request_id=ev.shot_request_id, sha256=ev.sha256, size=ev.size,
        content_type=ev.content_type, kind=ev.kind, captured_by=name, captured_at=ev.captured_at,
        device_time=ev.device_time, note=ev.note, url=url, duplicate=duplicate,
    )


def presign(ev: Evidence, case_number: str, *, uow: UnitOfWork) -> str:
    """A GET link to the evidence's object, valid the settings' ``presign_seconds``."""
    ext = next((m.extension for m in media.ACCEPTED if m.content_type == ev.content_type), "bin")
    return uow.store.presigned_get(ev.key, seconds=uow.settings.presign_seconds,
                                 filename=f"{case_number}-E{ev.id}.{ext}", content_type=ev.content_type)


# --- adding ---------------------------------------------------------------------------------------


@dataclass
class _Target:
    case_id: int
    case_number: str
    line_id: int | None
    viewing_id: int | None
    shot_request_id: int | None


def _resolve(s: Session, who: Actor, case_number: str, data: EvidenceIn) -> _Target:
    """Check that ``who`` may capture on this case and that line, viewing and shot request fit."""
    if who.role not in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.ADMIN, Role.SYSTEM):
        if who.role in (Role.RIGHTS_HOLDER, Role.CONSIGNOR):
            _visible_case(s, case_number, who)  # not theirs: it does not exist for them
        raise PermissionDenied(who.username, "add evidence", "only customs officers capture evidence")
    case = _case(s, case_number)
    if not is_case_customs(who, case):
        raise NotFound("case", case_number)
    shot = None
    viewing_id = data.viewing_id
    if data.shot_request_id is not None:
        shot = s.get(ShotRequest, data.shot_request_id)
        if shot is None:
            raise NotFound("shot request", data.shot_request_id)
        if viewing_id is not None and shot.viewing_id != viewing_id:
            raise InvalidInput("shot_request_id", "shot request {shot} belongs to another viewing", shot=shot.id)
        if shot.state == ShotRequestState.CANCELLED:
            raise InvalidInput("shot_request_id", "shot request {shot} was cancelled", shot=shot.id)
        viewing_id = shot.viewing_id
    viewing = None
    if viewing_id is not None:
        viewing = s.get(Viewing, viewing_id)
        if viewing is None or viewing.case_id != case.id:
            raise NotFound("viewing", viewing_id)
        if viewing.state != ViewingState.OPEN:
            raise InvalidInput("viewing_id", "viewing {viewing} is {viewing_state}: evidence is captured while the room is open",
                               viewing=viewing.id, viewing_state=viewing.state)
    line_id = None
    if data.line_number is not None:
        line = s.exec(select(Line).where(Line.case_id == case.id, Line.number == data.line_number)).first()
        if line is None:
            raise InvalidInput("line_number", "case {case} has no line {line_number}", case=case.number, line_number=data.line_number)
        line_id = line.id
    if shot is not None and shot.line_id is not None:
        if line_id is not None and line_id != shot.line_id:
            raise InvalidInput("line_number", "shot request {shot} is about another line", shot=shot.id)
        line_id = shot.line_id
    if viewing is not None and line_id is not None and line_id not in viewing.line_ids:
        raise InvalidInput("line_number", "line {line_number} is not among the lines of viewing {viewing}",
                               line_number=data.line_number, viewing=viewing.id)
    return _Target(case.id, case.number, line_id, viewing_id, shot.id if shot else None)  # type: ignore[arg-type]


def add_evidence(
    *,
    case_number: str,
    actor: str,
    stream: BinaryIO,
    filename: str,
    line_number: int | None = None,
    viewing_id: int | None = None,
    shot_request_id: int | None = None,
    note: str = "",
    now: datetime | None = None, uow: UnitOfWork | None = None,
) -> EvidenceOut:
    """Store a captured file as evidence of a case (and of a line, viewing and shot request)."""
    uow = given(uow)
    data = EvidenceIn(filename=filename, line_number=line_number, viewing_id=viewing_id,
                      shot_request_id=shot_request_id, note=note)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        target = _resolve(s, load_actor(s, actor), case_number, data)  # refuse early, before reading the upload

    with spool(stream, var_dir=uow.settings.var_dir) as up:
        key = evidence_key(case_number, up.sha256)
        with uow.transaction(readonly=True) as s:
            existing = _same_evidence(s, target, up.sha256)
            if existing is not None:
                return evidence_out(s, existing, case_number, duplicate=True)
        device_time = media.device_time(up.file, up.media)
        st = uow.store
        stored_here = False
        if not (st.exists(key) and st.hash_of(key) == (up.sha256, up.size)):
            put = st.put_stream(key, up.file, content_type=up.media.content_type, max_size=up.size)
            stored_here = True
            if (put.sha256, put.size) != (up.sha256, up.size):
                st.delete(key)
                raise OSError(f"the bytes sent to the store ({put.sha256}, {put.size}) differ from the bytes "
                              f"received ({up.sha256}, {up.size}): the temporary file is damaged; nothing was kept")
        try:
            return _write(key, case_number, actor, data, up, device_time, filename, now, uow=uow)
        except IntegrityError:
            # The same bytes were recorded meanwhile by a concurrent upload: that record stands.
            with uow.transaction(readonly=True) as s:
                existing = _same_evidence(s, target, up.sha256)
                if existing is not None:
                    return evidence_out(s, existing, case_number, duplicate=True)
            if stored_here:
                st.delete(key)
            raise
        except BaseException:
            if stored_here:
                st.delete(key)
            raise


def _same_evidence(s: Session, target: _Target, sha256: str) -> Evidence | None:
    """The record these bytes already have for the same line (or for no line) of the case: a retried
    upload. The same bytes shown for another line are a new record of that line, sharing the object."""
    line = col(Evidence.line_id).is_(None) if target.line_id is None else col(Evidence.line_id) == target.line_id
    return s.exec(select(Evidence).where(Evidence.case_id == target.case_id, Evidence.sha256 == sha256, line)).first()


def _write(key: str, case_number: str, actor: str, data: EvidenceIn, up: Spooled, device_time: datetime | None,
           filename: str, now: datetime, *, uow: UnitOfWork) -> EvidenceOut:
    with uow.transaction() as s:
        who = load_actor(s, actor)
        target = _resolve(s, who, case_number, data)  # again: the room may have closed meanwhile
        ev = Evidence(
            case_id=target.case_id, line_id=target.line_id, viewing_id=target.viewing_id,
            shot_request_id=target.shot_request_id, key=key, sha256=up.sha256, size=up.size,
            content_type=up.media.content_type, kind=up.media.kind, captured_by_id=who.id, captured_at=now,
            device_time=device_time, note=data.note,
        )
        s.add(ev)
        s.flush()
        line_number = data.line_number
        if target.line_id is not None and line_number is None:
            line_number = s.get(Line, target.line_id).number  # type: ignore[union-attr]
        if target.shot_request_id is not None:
            shot = s.exec(select(ShotRequest).where(ShotRequest.id == target.shot_request_id).with_for_update()).one()
            if shot.state == ShotRequestState.OPEN:
                shot.state = ShotRequestState.ANSWERED.value
                shot.answered_at = now
                s.add(shot)
        record(s, actor=who, action="evidence.added", subject=f"evidence:{ev.id}", at=now, case_id=target.case_id,
               after={"evidence_id": ev.id, "key": key, "sha256": up.sha256, "size": up.size,
                      "content_type": up.media.content_type, "kind": up.media.kind, "line": line_number,
                      "viewing_id": target.viewing_id, "shot_request_id": target.shot_request_id,
                      "server_time": now.isoformat(), "device_time": device_time.isoformat() if device_time else None,
                      "filename": filename, "note": data.note})
        publish(s, topic="evidence.added", case_id=target.case_id, at=now,
                payload={"evidence_id": ev.id, "case_number": case_number, "viewing_id": target.viewing_id,
                         "shot_request_id": target.shot_request_id})
        return evidence_out(s, ev, case_number)


# --- reading --------------------------------------------------------------------------------------


def list_evidence(*, case_number: str, actor: str, with_urls: bool = False,
                  uow: UnitOfWork | None = None) -> list[EvidenceOut]:
    """The evidence of a case that ``actor`` may see, oldest first."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        case = _visible_case(s, case_number, who)
        sc = case_scope(s, case)
        items = [ev for ev in s.exec(select(Evidence).where(Evidence.case_id == case.id).order_by(col(Evidence.id)))
                 if may_see(who, sc, ev)]
        users = _usernames(s, {ev.captured_by_id for ev in items})
        return [evidence_out(s, ev, case.number, lines=sc.lines, users=users,
                             url=presign(ev, case.number, uow=uow) if with_urls else None)
                for ev in items]


def evidence_url(*, evidence_id: int, actor: str, uow: UnitOfWork | None = None) -> str:
    """A presigned GET link (``settings.presign_seconds``) for an entitled user; ``NotFound`` otherwise."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        ev = s.get(Evidence, evidence_id)
        if ev is None:
            raise NotFound("evidence", evidence_id)
        case = s.get(Case, ev.case_id)
        assert case is not None
        if not may_see(who, case_scope(s, case), ev):
            raise NotFound("evidence", evidence_id)
        return presign(ev, case.number, uow=uow)


def _usernames(s: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.username for u in s.exec(select(User).where(col(User.id).in_(ids)))}  # type: ignore[misc]


def verify_evidence(*, case_number: str, actor: str | None = None, now: datetime | None = None,
                    uow: UnitOfWork | None = None) -> VerifyReport:
    """Re-read every object of a case and compare it with its record, and the record with its object key
    and with the timeline entry that recorded it: intact, altered, missing, or mismatch (the record was
    changed to fit other bytes). The case's timeline chain is verified too.

    Customs of the case's office (``actor=None``: the system, as for ``yunque evidence verify``)."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        who = system_actor(s) if actor is None else load_actor(s, actor)
        case = _visible_case(s, case_number, who)
        if not is_case_customs(who, case):
            raise PermissionDenied(who.username, "verify evidence", "only customs officers verify evidence")
        case_id = case.id
        rows = [(ev.id, ev.key, ev.sha256, ev.size)
                for ev in s.exec(select(Evidence).where(Evidence.case_id == case.id).order_by(col(Evidence.id)))]
        recorded = {e.subject: (e.id, e.after or {}) for e in s.exec(select(TimelineEntry).where(
            TimelineEntry.case_id == case.id, TimelineEntry.action == "evidence.added"))}
        from services.audit import verify_case_chain

        brk = verify_case_chain(s, case_id)  # type: ignore[arg-type]
        chain_break = None if brk is None else f"entry {brk.entry_id} (number {brk.seq}): {brk.reason}"
    from adapters.objectstore import ObjectMissing

    st = uow.store
    items: list[VerifyItem] = []
    for ev_id, key, expected, expected_size in rows:
        try:
            sha, size = st.hash_of(key)
        except ObjectMissing:
            items.append(VerifyItem(evidence_id=ev_id, key=key, status="missing", expected_sha256=expected,  # type: ignore[arg-type]
                                    expected_size=expected_size))
            continue
        status = "intact" if (sha, size) == (expected, expected_size) else "altered"
        reason = None
        if status == "intact":
            reason = binding_problem(case_number, ev_id, key, expected, expected_size,  # type: ignore[arg-type]
                                     recorded.get(f"evidence:{ev_id}"))
            status = "intact" if reason is None else "mismatch"
        items.append(VerifyItem(evidence_id=ev_id, key=key, status=status, expected_sha256=expected,  # type: ignore[arg-type]
                                actual_sha256=sha, expected_size=expected_size, actual_size=size, reason=reason))
    known = {key for _, key, _, _ in rows}
    orphans = sorted(k for k in st.list_keys(f"evidence/{case_number}/") if k not in known)
    counts = {k: sum(1 for i in items if i.status == k) for k in ("intact", "altered", "missing", "mismatch")}
    report = VerifyReport(case_number=case_number, checked_at=now,
                          intact=counts["intact"] == len(items) and chain_break is None,
                          counts=counts, items=items, orphans=orphans, timeline_break=chain_break)
    with uow.transaction() as s:
        who = system_actor(s) if actor is None else load_actor(s, actor)
        record(s, actor=who, action="evidence.verified", subject=f"case:{case_number}", at=now, case_id=case_id,
               after={"counts": counts, "orphans": len(orphans), "timeline_break": chain_break,
                      "not_intact": [i.evidence_id for i in items if i.status != "intact"]})
    return report


def binding_problem(case_number: str, evidence_id: int, key: str, sha256: str, size: int,
                    entry: tuple[int, dict] | None) -> str | None:
    """Why an evidence record is not the one captured: its key does not name its hash, or the timeline
    entry that recorded it (itself chained and keyed) says other bytes; None when all three agree."""
    if key != evidence_key(case_number, sha256):
        return f"its object key {key} does not name its hash {sha256}"
    if entry is None:
        return f"no timeline entry records evidence {evidence_id}"
    entry_id, after = entry
    if (after.get("key"), after.get("sha256"), after.get("size")) != (key, sha256, size):
        return (f"timeline entry {entry_id} recorded {after.get('key')} ({after.get('sha256')}, {after.get('size')} "
                f"bytes), the record now says {key} ({sha256}, {size} bytes)")
    return None


def evidence_of_viewing(s: Session, who: Actor, sc: CaseScope, viewing_id: int, *, urls: bool) -> list[EvidenceOut]:
    """For the viewing room: the evidence captured in it that ``who`` may see, with fresh links."""
    rows = [ev for ev in s.exec(select(Evidence).where(Evidence.viewing_id == viewing_id).order_by(col(Evidence.id)))
            if may_see(who, sc, ev)]
    users = _usernames(s, {ev.captured_by_id for ev in rows})
    return [evidence_out(s, ev, sc.case.number, lines=sc.lines, users=users,
                         url=presign(ev, sc.case.number, uow=unit_of(s)) if urls else None)
            for ev in rows]
