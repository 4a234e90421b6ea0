"""Reading: who may read a document, the documents of a case, a document's bytes, and the public check
that a presented document is the one issued."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from adapters.objectstore import ObjectStore
from models.docs import VerificationOut
from models.enums import DocumentKind, Role
from models.rules.errors import InvalidInput, NotFound
from models.schemas import DocumentOut
from models.tables import Case, CustomsOffice, Document
from services.cases import visible_case
from services.context import Actor, load_actor
from services.documents.storage import read_stored
from services.documents.wording import TITLES
from services.unit_of_work import UnitOfWork, given


class VerifyIn(BaseModel):
    """What the public verification page is given: a document number and the file or its hash."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    number: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9-]+$")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


def may_read(s: Session, who: Actor, doc: Document) -> bool:
    """Customs of the office; the rights holder its own documents; the consignor its own receipts and
    release notices."""
    if who.role in (Role.ADMIN, Role.SYSTEM):
        return True
    if who.role in (Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER):
        case = s.get(Case, doc.case_id)
        return case is not None and case.customs_office_id == who.customs_office_id
    if who.role == Role.RIGHTS_HOLDER:
        return doc.rights_holder_id is not None and doc.rights_holder_id == who.rights_holder_id
    if who.role == Role.CONSIGNOR:
        return doc.consignor_id is not None and doc.consignor_id == who.consignor_id
    return False


def documents_of_case(*, case_number: str, actor: str, uow: UnitOfWork | None = None) -> list[DocumentOut]:
    """The documents of a case that ``actor`` may read, in order of issue."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        case = visible_case(s, s.exec(select(Case).where(Case.number == case_number)).first(), who, case_number)
        docs = s.exec(select(Document).where(Document.case_id == case.id).order_by(Document.id))
        return [DocumentOut.model_validate(d) for d in docs if may_read(s, who, d)]


def find_document(s: Session, who: Actor, *, document_id: int | None = None, number: str | None = None) -> Document:
    """A document ``who`` may read, by id or number; ``NotFound`` otherwise (existence does not leak)."""
    if (document_id is None) == (number is None):
        raise InvalidInput("document", "give either the document's id or its number")
    if document_id is not None:
        d = s.get(Document, document_id)
    else:
        d = s.exec(select(Document).where(Document.number == number)).first()
    key = document_id if document_id is not None else number
    if d is None or not may_read(s, who, d):
        raise NotFound("document", key)
    return d


def document_bytes(*, document_id: int | None = None, actor: str, number: str | None = None,
                   store: ObjectStore | None = None, uow: UnitOfWork | None = None) -> tuple[str, bytes]:
    """(file name, PDF bytes) of a document, for those entitled to it; ``NotFound`` for anyone else."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = load_actor(s, actor)
        d = find_document(s, who, document_id=document_id, number=number)
        key, doc_number, sha256 = d.key, d.number, d.sha256
    return f"{doc_number}.pdf", read_stored(store or uow.store, key=key, number=doc_number, sha256=sha256)


def verify_document(*, number: str, data: bytes | None = None, sha256: str | None = None,
                    uow: UnitOfWork | None = None) -> VerificationOut:
    """Whether a presented document (its bytes, or their SHA-256) is the one issued under ``number``.

    Public: it says only what the printed document itself says (number, kind, office, date)."""
    uow = given(uow)
    presented = VerifyIn(number=number, sha256=sha256)
    hashes = set()
    if data is not None:
        hashes.add(hashlib.sha256(data).hexdigest())
    if presented.sha256 is not None:
        hashes.add(presented.sha256.lower())
    with uow.transaction(readonly=True) as s:
        d = s.exec(select(Document).where(Document.number == presented.number)).first()
        if d is None:
            return VerificationOut(number=presented.number, issued=False, matches=False if hashes else None)
        case = s.get(Case, d.case_id)
        office = s.get(CustomsOffice, case.customs_office_id) if case else None
        kind = DocumentKind(d.kind)
        return VerificationOut(
            number=d.number, issued=True, matches=(hashes == {d.sha256}) if hashes else None, kind=d.kind,
            title_zh=TITLES[kind].zh, title_en=TITLES[kind].en,
            office=office.name if office else None, office_en=office.name_en if office else None,
            dated=d.issued_at, sha256=d.sha256,
        )
