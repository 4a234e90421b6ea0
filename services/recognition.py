"""以图识图: recordations carry images, and a photo of suspect goods suggests the recordation it shows.

Images of a recordation (the mark as registered, and reference photos of genuine goods) are kept in
the evidence store under ``recordation/<number>/<sha256>`` with their hash, added by the rights holder
of the recordation (its portal) or by a customs administrator, each addition on the timeline (it
belongs to no case). Matching (``adapters.marks``) runs against an index of every image's features,
built once per process and rebuilt when images are added (features are kept per image hash, so a
rebuild only describes the new ones). Customs officers match photos; nobody else does.
"""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, select

from adapters import marks, media
from adapters.objectstore import ObjectStore
from models.enums import Role
from models.rules.errors import InvalidInput, NotFound, PermissionDenied
from models.tables import Evidence, Line, Recordation, RecordationImage, RightsHolder, User
from services.context import Actor, load_actor, now_or, record, system_actor
from services.evidence import _visible_case, is_case_customs
from services.unit_of_work import UnitOfWork, given, unit_of

IMAGE_KINDS = ("mark", "reference")
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PHOTO_BYTES = 25 * 1024 * 1024
CUSTOMS = (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER, Role.ADMIN, Role.SYSTEM)


class RecordationImageOut(BaseModel):
    id: int
    recordation: str
    brand: str
    kind: str
    sha256: str
    size: int
    content_type: str
    width: int
    height: int
    added_by: str
    added_at: datetime
    duplicate: bool = False


class Candidate(BaseModel):
    recordation: str
    brand: str
    rights_holder: str
    rights_holder_id: int
    image_id: int
    score: float
    inliers: int
    quad: list[tuple[float, float]]


class MatchResult(BaseModel):
    """The best recordations for a photo, best first; empty ``candidates`` means no match."""

    candidates: list[Candidate]
    recordations_indexed: int
    images_indexed: int

    @property
    def matched(self) -> bool:
        return bool(self.candidates)


class SnapshotCheck(BaseModel):
    """A captured photo checked against the recordation of its line."""

    evidence_id: int
    line_number: int
    recordation: str
    brand: str
    matched: bool
    score: float
    inliers: int
    quad: list[tuple[float, float]]


def image_key(recordation_number: str, sha256: str) -> str:
    return f"recordation/{recordation_number}/{sha256}"


def _recordation(s: Session, number: str) -> Recordation:
    rec = s.exec(select(Recordation).where(Recordation.number == number)).first()
    if rec is None:
        raise NotFound("recordation", number)
    return rec


def _may_maintain(who: Actor, rec: Recordation) -> None:
    if who.role in (Role.ADMIN, Role.SYSTEM):
        return
    if who.role == Role.RIGHTS_HOLDER:
        if who.rights_holder_id != rec.rights_holder_id:
            raise NotFound("recordation", rec.number)  # another holder's: it does not exist for this one
        return
    raise PermissionDenied(who.username, "add a recordation image",
                           "only the recordation's rights holder or a customs administrator may")


def _image_out(s: Session, img: RecordationImage, rec: Recordation, duplicate: bool = False) -> RecordationImageOut:
    user = s.get(User, img.added_by_id)
    return RecordationImageOut(id=img.id, recordation=rec.number, brand=rec.brand, kind=img.kind,  # type: ignore[arg-type]
                               sha256=img.sha256, size=img.size, content_type=img.content_type, width=img.width,
                               height=img.height, added_by=user.username if user else "", added_at=img.added_at,
                               duplicate=duplicate)


def _read_image(data: bytes, *, limit: int, field: str = "file") -> tuple[media.MediaType, int, int]:
    if not data:
        raise InvalidInput(field, "the file is empty")
    if len(data) > limit:
        raise InvalidInput(field, "too large: an image may be at most {mib} MiB", mib=limit // (1024 * 1024))
    kind = media.sniff(data[:media.SNIFF_BYTES])
    if kind is None or kind.name not in ("jpeg", "png"):
        raise InvalidInput(field, "its content is not a JPEG or PNG image (judged from the content, not the name)")
    try:
        w, h = marks.image_size(data)
    except marks.UnreadableImage as e:
        raise InvalidInput(field, "the file is not an image that can be read") from e
    if min(w, h) < 32:
        raise InvalidInput(field, "too small ({w}x{h} pixels): at least 32 pixels a side", w=w, h=h)
    return kind, w, h


def phone_photo(data: bytes, *, limit: int, field: str) -> bytes:
    """A photo as the matcher reads it: a HEIC (what an iPhone takes) converted to JPEG, anything else as it
    is; a HEIC that does not decode is refused naming ``field``."""
    if len(data) > limit:
        raise InvalidInput(field, "too large: an image may be at most {mib} MiB", mib=limit // (1024 * 1024))
    try:
        return media.as_jpeg(data)
    except media.NotAPicture as e:
        raise InvalidInput(field, "{problem}", problem=e.problem) from None


def add_recordation_image(*, recordation: str, actor: str, data: bytes, kind: str = "mark",
                          now: datetime | None = None, uow: UnitOfWork | None = None) -> RecordationImageOut:
    """Store an image of a recordation (the mark as registered, or a reference photo of genuine goods)."""
    uow = given(uow)
    now = now_or(now)
    if kind not in IMAGE_KINDS:
        raise InvalidInput("kind", "must be one of {image_kinds}", image_kinds=list(IMAGE_KINDS))
    with uow.transaction(readonly=True) as s:
        _may_maintain(load_actor(s, actor), _recordation(s, recordation))  # refuse before touching the store
    mtype, w, h = _read_image(data, limit=MAX_IMAGE_BYTES)
    sha = hashlib.sha256(data).hexdigest()
    key = image_key(recordation, sha)
    with uow.transaction(readonly=True) as s:
        existing = s.exec(select(RecordationImage).where(RecordationImage.key == key)).first()
        if existing is not None:
            return _image_out(s, existing, _recordation(s, recordation), duplicate=True)
    st = uow.store
    stored_here = False
    if not (st.exists(key) and st.hash_of(key) == (sha, len(data))):
        put = st.put_stream(key, io.BytesIO(data), content_type=mtype.content_type, max_size=len(data))
        stored_here = True
        if (put.sha256, put.size) != (sha, len(data)):
            st.delete(key)
            raise OSError(f"the evidence store holds other bytes for {key} than were sent; nothing was kept")
    try:
        with uow.transaction() as s:
            who = load_actor(s, actor)
            rec = _recordation(s, recordation)
            _may_maintain(who, rec)
            img = RecordationImage(recordation_id=rec.id, kind=kind, key=key, sha256=sha, size=len(data),  # type: ignore[arg-type]
                                   content_type=mtype.content_type, width=w, height=h, added_by_id=who.id, added_at=now)
            s.add(img)
            s.flush()
            record(s, actor=who, action="recordation.image_added", subject=f"recordation:{rec.number}", at=now,
                   case_id=None, after={"image_id": img.id, "recordation": rec.number, "kind": kind, "key": key,
                                        "sha256": sha, "size": len(data), "width": w, "height": h})
            return _image_out(s, img, rec)
    except BaseException:
        if stored_here:
            st.delete(key)
        raise


def recordation_images(*, recordation: str, actor: str, uow: UnitOfWork | None = None) -> list[RecordationImageOut]:
    """The images of a recordation: for customs, and for its own rights holder."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        rec = _recordation(s, recordation)
        if who.role == Role.RIGHTS_HOLDER and who.rights_holder_id != rec.rights_holder_id:
            raise NotFound("recordation", recordation)
        if who.role not in (*CUSTOMS, Role.RIGHTS_HOLDER):
            raise PermissionDenied(who.username, "see recordation images", "only customs and the rights holder may")
        imgs = s.exec(select(RecordationImage).where(RecordationImage.recordation_id == rec.id)
                      .order_by(RecordationImage.id)).all()
        return [_image_out(s, i, rec) for i in imgs]


# --- the index ------------------------------------------------------------------------------------


def _read_object(st: ObjectStore, key: str) -> bytes:
    body = st.open(key)
    try:
        return body.read()
    finally:
        body.close()


class _Cache:
    """The index of every recordation image, per process; rebuilt when the images change."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.signature: tuple[int, int] | None = None
        self.index = marks.MarkIndex.build([])
        self.owner: dict[int, int] = {}  # image id -> recordation id
        self.features: dict[str, marks.Features] = {}  # sha256 -> features (kept across rebuilds)


_cache = _Cache()


def _signature(s: Session) -> tuple[int, int]:
    n, last = s.exec(select(func.count(RecordationImage.id), func.max(RecordationImage.id))).one()  # type: ignore[call-overload, arg-type]
    return int(n or 0), int(last or 0)


def mark_index(s: Session) -> tuple[marks.MarkIndex, dict[int, int]]:
    """The current index (image id -> features) and which recordation each image belongs to."""
    sig = _signature(s)
    with _cache.lock:
        if sig != _cache.signature:
            rows = s.exec(select(RecordationImage.id, RecordationImage.recordation_id, RecordationImage.sha256,
                                 RecordationImage.key)).all()
            st = unit_of(s).store
            entries = []
            for image_id, rec_id, sha, key in rows:
                f = _cache.features.get(sha)
                if f is None:
                    f = marks.mark_features(_read_object(st, key))
                    _cache.features[sha] = f
                entries.append((image_id, f))
            _cache.index = marks.MarkIndex.build(entries)
            _cache.owner = {image_id: rec_id for image_id, rec_id, _, _ in rows}
            _cache.signature = sig
        return _cache.index, dict(_cache.owner)


def forget_index() -> None:
    """Drop the cached index (tests that swap databases or stores)."""
    global _cache
    _cache = _Cache()


def _require_customs(who: Actor, action: str) -> None:
    if who.role not in CUSTOMS:
        raise PermissionDenied(who.username, action, "only customs officers match photos")


def match_photo(*, actor: str, data: bytes, top: int = 3, uow: UnitOfWork | None = None) -> MatchResult:
    """The recordations whose images appear in the photo, best first ("no match": none)."""
    uow = given(uow)
    if not 1 <= top <= 20:
        raise InvalidInput("top", "must be between 1 and 20")
    data = phone_photo(data, limit=MAX_PHOTO_BYTES, field="photo")
    _read_image(data, limit=MAX_PHOTO_BYTES, field="photo")
    with uow.transaction(readonly=True) as s:
        _require_customs(load_actor(s, actor), "match a photo")
        index, owner = mark_index(s)
        photo = marks.photo_features(data)
        # Several images of one recordation may match: keep each recordation's best.
        found = index.search(photo, top=top * 3)
        best: dict[int, marks.Match] = {}
        for m in found:
            rid = owner[m.mark]
            if rid not in best or m.score > best[rid].score:
                best[rid] = m
        ranked = sorted(best.items(), key=lambda kv: -kv[1].score)[:top]
        out = []
        for rid, m in ranked:
            rec = s.get(Recordation, rid)
            holder = s.get(RightsHolder, rec.rights_holder_id)  # type: ignore[union-attr]
            out.append(Candidate(recordation=rec.number, brand=rec.brand, rights_holder=holder.name,  # type: ignore[union-attr]
                                 rights_holder_id=holder.id, image_id=m.mark, score=m.score,  # type: ignore[union-attr, arg-type]
                                 inliers=m.inliers, quad=m.quad))
        return MatchResult(candidates=out, recordations_indexed=len(set(owner.values())), images_indexed=len(index))


def outline(data: bytes, candidate: Candidate) -> bytes:
    """The photo as PNG with the candidate's matched region drawn on it (a HEIC photo converted first)."""
    return marks.draw_match(phone_photo(data, limit=MAX_PHOTO_BYTES, field="photo"), candidate.quad)


def check_snapshot(*, actor: str, case_number: str, evidence_id: int, uow: UnitOfWork | None = None) -> SnapshotCheck:
    """Does a captured photo of a line show the mark of the line's recordation? (customs of the case)"""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        _require_customs(who, "check a snapshot")
        case = _visible_case(s, case_number, who)
        if not is_case_customs(who, case):
            raise NotFound("case", case_number)
        ev = s.get(Evidence, evidence_id)
        if ev is None or ev.case_id != case.id:
            raise NotFound("evidence", evidence_id)
        if ev.kind != "photo" or ev.content_type not in ("image/jpeg", "image/png", "image/heic"):
            raise InvalidInput("evidence_id", "evidence {evidence} is not a JPEG, PNG or HEIC photo",
                               evidence=evidence_id)
        if ev.line_id is None:
            raise InvalidInput("evidence_id", "evidence {evidence} is of no line", evidence=evidence_id)
        line = s.get(Line, ev.line_id)
        rec = s.get(Recordation, line.recordation_id)  # type: ignore[union-attr]
        index, owner = mark_index(s)
        mine = [(i, index.marks[i]) for i, rid in owner.items() if rid == rec.id and i in index.marks]  # type: ignore[union-attr]
        photo = marks.photo_features(phone_photo(_read_object(uow.store, ev.key), limit=MAX_PHOTO_BYTES,
                                                 field="evidence_id"))
        found = marks.MarkIndex.build(mine).search(photo, top=1)
        m = found[0] if found else None
        return SnapshotCheck(evidence_id=ev.id, line_number=line.number, recordation=rec.number,  # type: ignore[union-attr, arg-type]
                             brand=rec.brand, matched=m is not None, score=m.score if m else 0.0,  # type: ignore[union-attr]
                             inliers=m.inliers if m else 0, quad=m.quad if m else [])


def demo_mark_png(brand: str) -> bytes:
    """The demo mark of a brand: drawn by the project (shapes and DejaVu glyphs), never a real logo."""
    return marks.png_bytes(marks.synthetic_mark(brand, 0))


def load_demo_marks(*, now: datetime | None = None, uow: UnitOfWork | None = None) -> list[RecordationImageOut]:
    """Give each recordation of the demo rights holders its synthetic mark (once; a second run finds them)."""
    uow = given(uow)
    import json

    from services.demo import DEMO_FILE

    now = now_or(now)
    demo = {(rh["name"], rh["brand"]) for rh in json.loads(DEMO_FILE.read_text(encoding="utf-8"))["rights_holders"]}
    with uow.transaction() as s:
        who = system_actor(s)
        recs = [r for r, holder in s.exec(select(Recordation, RightsHolder)
                                          .where(Recordation.rights_holder_id == RightsHolder.id)
                                          .order_by(Recordation.id)) if (holder.name, r.brand) in demo]
        username = who.username
    return [add_recordation_image(recordation=r.number, actor=username, data=demo_mark_png(r.brand), now=now, uow=uow)
            for r in recs]


class RecordationMarks(BaseModel):
    recordation: str
    brand: str
    images: list[RecordationImageOut]


def my_recordations(*, actor: str, uow: UnitOfWork | None = None) -> list[RecordationMarks]:
    """The rights holder's own recordations with their images (for its portal)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        if who.role != Role.RIGHTS_HOLDER:
            raise PermissionDenied(who.username, "list its recordations", "only a rights holder has its own")
        recs = s.exec(select(Recordation).where(Recordation.rights_holder_id == who.rights_holder_id)
                      .order_by(Recordation.number)).all()
        out = []
        for rec in recs:
            imgs = s.exec(select(RecordationImage).where(RecordationImage.recordation_id == rec.id)
                          .order_by(RecordationImage.id)).all()
            out.append(RecordationMarks(recordation=rec.number, brand=rec.brand,
                                        images=[_image_out(s, i, rec) for i in imgs]))
        return out


class Identification(BaseModel):
    """A line's brand suggested by 以图识图 at registration and accepted by the officer."""

    line_number: int
    recordation: str
    score: float
    inliers: int


def record_identifications(*, case_number: str, actor: str, identifications: list[Identification],
                           now: datetime | None = None, uow: UnitOfWork | None = None) -> int:
    """Put on the case's timeline which lines were identified from a photo, with the match scores, so the
    IPR officer confirming the seizure sees them. Returns how many were recorded."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        _require_customs(who, "record an identification")
        case = _visible_case(s, case_number, who)
        if not is_case_customs(who, case):
            raise NotFound("case", case_number)
        for ident in identifications:
            line = s.exec(select(Line).where(Line.case_id == case.id, Line.number == ident.line_number)).first()
            if line is None:
                raise InvalidInput("line_number", "case {case} has no line {line}", case=case_number,
                                   line=ident.line_number)
            rec = _recordation(s, ident.recordation)
            record(s, actor=who, action="line.identified_from_photo", subject=f"line:{line.id}", at=now,
                   case_id=case.id, after={"line": line.number, "recordation": rec.number, "brand": rec.brand,
                                           "line_recordation_matches": rec.id == line.recordation_id,
                                           "score": ident.score, "inliers": ident.inliers})
        return len(identifications)
