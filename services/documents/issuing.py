"""Issuing: render a planned document, store it, and record it (a ``Document`` row, the timeline, the
outbox) in one transaction; once per number, whoever asks and however often."""

from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.objectstore import ObjectStore
from adapters.pdf import render
from models.rules.errors import NotFound
from models.schemas import DocumentOut
from models.tables import Decision, Document, Notice
from services.context import now_or, publish, record, system_actor
from services.documents.drafting import Planned
from services.documents.planning import plan_confirmation, plan_decision
from services.documents.storage import StoreMismatch, load_seal, seal_ref
from services.unit_of_work import UnitOfWork, given


PDF = "application/pdf"


def _sealed(p: Planned, seal: bytes | None) -> Planned:
    return replace(p, doc=replace(p.doc, seal=seal))


def _existing(s: Session, p: Planned) -> Document | None:
    return s.exec(select(Document).where(Document.number == p.number)).first()


def _issue(s: Session, p: Planned, pdf: bytes, store: ObjectStore, now: datetime) -> DocumentOut:
    digest = hashlib.sha256(pdf).hexdigest()
    obj = store.put_stream(p.key, io.BytesIO(pdf), content_type=PDF, max_size=len(pdf))
    if obj.sha256 != digest or obj.size != len(pdf):
        raise StoreMismatch(p.key)
    who = system_actor(s)
    d = Document(case_id=p.case_id, kind=p.kind.value, number=p.number, notice_id=p.notice_id, decision_id=p.decision_id,
                 rights_holder_id=p.rights_holder_id, consignor_id=p.consignor_id, key=p.key, sha256=digest,
                 size=len(pdf), issued_at=p.doc.dated, issued_by_id=who.id)
    s.add(d)
    s.flush()
    record(s, actor=who, action="document.issued", subject=f"document:{p.number}", at=now, case_id=p.case_id,
           after={"kind": p.kind.value, "number": p.number, "sha256": digest, "size": len(pdf), "addressee": p.addressee,
                  "notice_id": p.notice_id, "decision_id": p.decision_id,
                  "seal_sha256": hashlib.sha256(p.doc.seal).hexdigest() if p.doc.seal is not None else None})
    publish(s, topic="document.issued", case_id=p.case_id, at=now,
            payload={"document_id": d.id, "number": p.number, "kind": p.kind.value, "case_number": p.case_number,
                     "notice_id": p.notice_id, "decision_id": p.decision_id, "rights_holder_id": p.rights_holder_id,
                     "consignor_id": p.consignor_id})
    return DocumentOut.model_validate(d)


def _concurrent(numbers: list[str], error: IntegrityError, *, uow: UnitOfWork) -> list[DocumentOut]:
    """The documents another worker issued first; the original error if that is not what happened."""
    with uow.transaction(readonly=True) as s:
        docs = {d.number: d for d in s.exec(select(Document).where(col(Document.number).in_(numbers)))}
    if set(numbers) - set(docs):
        raise error
    return [DocumentOut.model_validate(docs[n]) for n in numbers]


def issue_for_notice(*, notice_id: int, now: datetime | None = None, store: ObjectStore | None = None,
                     uow: UnitOfWork | None = None) -> DocumentOut:
    """Issue the confirmation notice (确权通知书) of a notice; the one already issued if asked again."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise NotFound("notice", notice_id)
        planned = plan_confirmation(s, notice)
        done = _existing(s, planned)
        if done is not None:
            return DocumentOut.model_validate(done)
        ref = seal_ref(s, notice.case_id)
    store = store or uow.store
    seal = load_seal(store, ref)  # the seal as set when issuing began: the timeline records its hash
    planned = _sealed(planned, seal)
    pdf = render(planned.doc)  # outside the write transaction: rendering takes a few tenths of a second
    try:
        with uow.transaction() as s:
            notice = s.exec(select(Notice).where(Notice.id == notice_id).with_for_update()).first()
            if notice is None:
                raise NotFound("notice", notice_id)
            again = _sealed(plan_confirmation(s, notice), seal)
            done = _existing(s, again)
            if done is not None:
                return DocumentOut.model_validate(done)
            if again != planned:  # served meanwhile: the deadline is known now
                planned, pdf = again, render(again.doc)
            return _issue(s, planned, pdf, store, now)
    except IntegrityError as e:
        return _concurrent([planned.number], e, uow=uow)[0]


def issue_for_decision(*, decision_id: int, now: datetime | None = None, store: ObjectStore | None = None,
                       uow: UnitOfWork | None = None) -> list[DocumentOut]:
    """Issue the documents a decision calls for (none for confiscation or a court hold); idempotent."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction(readonly=True) as s:
        decision = s.get(Decision, decision_id)
        if decision is None:
            raise NotFound("decision", decision_id)
        planned = plan_decision(s, decision)
        done = {p.number: DocumentOut.model_validate(d) for p in planned if (d := _existing(s, p)) is not None}
        ref = seal_ref(s, decision.case_id)
    if all(p.number in done for p in planned):
        return [done[p.number] for p in planned]
    store = store or uow.store
    seal = load_seal(store, ref)
    planned = [_sealed(p, seal) for p in planned]
    todo = [(p, render(p.doc)) for p in planned if p.number not in done]
    try:
        with uow.transaction() as s:
            decision = s.exec(select(Decision).where(Decision.id == decision_id).with_for_update()).first()
            if decision is None:
                raise NotFound("decision", decision_id)
            again = [_sealed(p, seal) for p in plan_decision(s, decision)]
            fresh = {p.number: (p, pdf) for p, pdf in todo}
            out = []
            for p in again:
                existing = _existing(s, p)
                if existing is not None:
                    out.append(DocumentOut.model_validate(existing))
                    continue
                prior = fresh.get(p.number)
                pdf = prior[1] if prior is not None and prior[0] == p else render(p.doc)
                out.append(_issue(s, p, pdf, store, now))
            return out
    except IntegrityError as e:
        return _concurrent([p.number for p in planned], e, uow=uow)
