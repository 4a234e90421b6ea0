"""Customs offices: the seal (印章) an office prints on its documents. Administrators only; every change
is on the system's timeline chain.

The seal is a PNG with transparency (the text under it stays legible), square within 10 % (a round
or square seal), at most 2 MB; it is kept in the evidence store under
``offices/<code>/seal-<sha256>.png`` with its SHA-256 and size on the office."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import select

from adapters import media
from adapters.objectstore import ObjectStore
from models.enums import Role
from models.rules.errors import InvalidInput, NotFound
from models.tables import CustomsOffice
from services.context import load_actor, now_or, record, require_role
from services.unit_of_work import UnitOfWork, given

MAX_SEAL_BYTES = 2 * 1024 * 1024
#: How far from square a seal may be: the longer side at most 10 % longer than the shorter.
SQUARE_TOLERANCE = 0.10


class OfficeSealOut(BaseModel):
    office: str
    key: str
    sha256: str
    size: int
    width: int
    height: int
    replaced: str | None  # the SHA-256 of the seal it replaced


def seal_key(office: str, sha256: str) -> str:
    return f"offices/{office}/seal-{sha256}.png"


def check_seal(data: bytes) -> tuple[int, int]:
    """The seal's (width, height) in pixels; ``InvalidInput`` naming ``seal`` if it cannot be one."""
    if not data:
        raise InvalidInput("seal", "the file is empty")
    if len(data) > MAX_SEAL_BYTES:
        raise InvalidInput("seal", "too large: a seal may be at most 2 MB")
    if media.sniff(data[:media.SNIFF_BYTES]) is not media.PNG:
        raise InvalidInput("seal", "its content is not a PNG image (judged from the content, not the name)")
    try:
        media.check_photo(io.BytesIO(data), media.PNG)
    except media.NotAPicture as e:
        raise InvalidInput("seal", "{problem}", problem=e.problem) from e
    from PIL import Image

    with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
        w, h = im.size
        transparent = im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info
    if max(w, h) > min(w, h) * (1 + SQUARE_TOLERANCE):
        raise InvalidInput("seal", "not square ({w}x{h} pixels): a seal's sides may differ by at most 10 %", w=w, h=h)
    if not transparent:
        raise InvalidInput("seal", "the PNG has no transparency: the office's name printed under the seal would be hidden")
    return w, h


def set_office_seal(*, office: str, actor: str, data: bytes, now: datetime | None = None,
                    store: ObjectStore | None = None, uow: UnitOfWork | None = None) -> OfficeSealOut:
    """An administrator sets the seal an office prints on its documents from now on (documents already
    issued keep theirs)."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:  # refuse before touching the store
        require_role(load_actor(s, actor), "set an office's seal", Role.ADMIN)
        if s.exec(select(CustomsOffice.id).where(CustomsOffice.code == office)).first() is None:
            raise NotFound("customs office", office)
    w, h = check_seal(data)
    sha = hashlib.sha256(data).hexdigest()
    key = seal_key(office, sha)
    st = store or uow.store
    stored_here = not st.exists(key)  # the same seal set again: the object is the one in use
    put = st.put_stream(key, io.BytesIO(data), content_type=media.PNG.content_type, max_size=len(data))
    if (put.sha256, put.size) != (sha, len(data)):
        st.delete(key)
        raise OSError(f"the evidence store holds other bytes for {key} than were sent; nothing was kept")
    try:
        return _write(office=office, actor=actor, key=key, sha=sha, size=len(data), width=w, height=h, now=now, uow=uow)
    except BaseException:
        if stored_here:
            st.delete(key)
        raise


def _write(*, office: str, actor: str, key: str, sha: str, size: int, width: int, height: int,
           now: datetime, uow: UnitOfWork) -> OfficeSealOut:
    with uow.transaction() as s:
        who = load_actor(s, actor)
        require_role(who, "set an office's seal", Role.ADMIN)
        o = s.exec(select(CustomsOffice).where(CustomsOffice.code == office).with_for_update()).first()
        if o is None:
            raise NotFound("customs office", office)
        before = o.seal_sha256
        o.seal_key, o.seal_sha256, o.seal_size = key, sha, size
        s.add(o)
        record(s, actor=who, action="office.seal_set", subject=f"customs_office:{office}", at=now, case_id=None,
               before={"sha256": before}, after={"key": key, "sha256": sha, "size": size, "width": width, "height": height})
        return OfficeSealOut(office=office, key=key, sha256=sha, size=size, width=width, height=height, replaced=before)


class OfficeSealView(BaseModel):
    """The seal an office prints now, for the administrators' page; ``image`` None when it has none."""

    office: str
    name: str
    sha256: str | None = None
    size: int | None = None
    image: bytes | None = None


def office_seal(*, office: str, actor: str, store: ObjectStore | None = None,
                uow: UnitOfWork | None = None) -> OfficeSealView:
    """An office's current seal with its image, read from the evidence store and checked against the hash
    recorded when it was set (administrators only; the store is read after the database session ends)."""
    from services.documents import SealRef, load_seal
    uow = given(uow)

    with uow.transaction(readonly=True) as s:
        require_role(load_actor(s, actor), "read an office's seal", Role.ADMIN)
        o = s.exec(select(CustomsOffice).where(CustomsOffice.code == office)).first()
        if o is None:
            raise NotFound("customs office", office)
        view = OfficeSealView(office=o.code, name=o.name_en, sha256=o.seal_sha256, size=o.seal_size)
        ref = SealRef(o.seal_key, o.seal_sha256) if o.seal_key and o.seal_sha256 else None
    if ref is None:
        return view
    return view.model_copy(update={"image": load_seal(store or uow.store, ref)})
