"""Service of documents (送达) by e-mail, and by hand when mail fails.

``deliver_document`` mails a document to its addressee's contact addresses with the PDF attached.
Every attempt is a ``Delivery`` row, written before the SMTP conversation (state ``sending``) and
completed after it, so a crash mid-send leaves a trace rather than a silent gap. A failed attempt is
recorded and raised (``MailFailed``): the flow retries the task. After ``MAIL_ATTEMPTS`` failures, or
at once when the addressee has no address, the service stops mailing and opens a ``serve_manually``
task for the office's IPR officers, who serve the document by other means and record it with
``record_manual_service``.

The moment of service of a confirmation notice follows ``settings.service_rule``: with ``mail`` or
``first``, the mail server's acceptance (its 250 reply to DATA) serves the notice, and the answer
deadline counts from the day after (Meas 41); with ``portal`` only the portal's first opening does;
with ``issue`` the notice was served when issued. Service by hand always serves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlmodel import Session, col, select

from adapters.mail import Attachment, MailFailed, MailSent, build_message, send
from adapters.objectstore import ObjectStore
from models.docs import Delivery, DeliveryMeans, DeliveryOut, DeliveryState
from models.enums import DocumentKind, NoticeState, Role, TaskKind
from models.rules.errors import InvalidInput, NotFound
from models.tables import Case, Consignor, CustomsOffice, Document, Notice, RightsHolder, Task, User
from services.cases import mark_served
from services.context import Actor, load_actor, now_or, open_task, record, require_role, system_actor
from services.documents import TITLES, read_stored, verify_url
from yunque.settings import Settings
from services.unit_of_work import UnitOfWork, given

#: mail attempts before the document is handed to an officer (the flow must retry at least this often)
MAIL_ATTEMPTS = 3
#: an attempt still "sending" after this long was interrupted (the process died mid-conversation)
SENDING_STALE = timedelta(minutes=10)


class DeliveryInProgress(Exception):
    """Another worker is mailing this document right now; try again shortly."""

    def __init__(self, number: str):
        self.number = number
        super().__init__(f"document {number} is being mailed by another worker")


def _addressee(s: Session, doc: Document) -> tuple[str, list[str]]:
    if doc.rights_holder_id is not None:
        holder = s.get(RightsHolder, doc.rights_holder_id)
        if holder is None:
            raise NotFound("rights holder", doc.rights_holder_id)
        return holder.name, list(holder.contact_emails or [])
    if doc.consignor_id is not None:
        consignor = s.get(Consignor, doc.consignor_id)
        if consignor is None:
            raise NotFound("consignor", doc.consignor_id)
        return consignor.name, list(consignor.contact_emails or [])
    raise InvalidInput("document", "document {number} has no addressee", number=doc.number)


def _view(s: Session, row: Delivery) -> DeliveryOut:
    doc = s.get(Document, row.document_id)
    case = s.get(Case, row.case_id)
    addressee = _addressee(s, doc)[0] if doc else ""
    user = s.get(User, row.recorded_by_id) if row.recorded_by_id else None
    return DeliveryOut(
        id=row.id, document_id=row.document_id, document_number=doc.number if doc else "",  # type: ignore[arg-type]
        document_kind=doc.kind if doc else "", case_number=case.number if case else "", addressee=addressee,
        means=row.means, attempt=row.attempt, state=row.state, recipients=list(row.recipients),
        refused=dict(row.refused), message_id=row.message_id, server_reply=row.server_reply, error=row.error,
        started_at=row.started_at, finished_at=row.finished_at, accepted_at=row.accepted_at,
        recorded_by=user.username if user else None, task_id=row.task_id, note=row.note,
    )


def _message_text(doc: Document, case: Case, office: CustomsOffice, addressee: str, *,
                  public_url: str) -> tuple[str, str]:
    """The subject and bilingual body of a document's mail; links point at the portal's ``public_url``."""
    title = TITLES[DocumentKind(doc.kind)]
    portal = public_url.rstrip("/")
    verify = verify_url(public_url, doc.number)
    subject = f"[云确 Yunque] {title.zh} {title.en} {doc.number} ({case.number})"
    zh = [f"{addressee}：", "",
          f"{office.name}向你方送达{title.zh}（编号{doc.number}，案件{case.number}），文书见附件PDF。"]
    en = [f"{addressee},", "",
          f"{office.name_en} serves on you the attached {title.en} (no. {doc.number}, case {case.number})."]
    if doc.kind == DocumentKind.CONFIRMATION_NOTICE:
        zh.append(f"请自送达之次日起3个工作日内登录云确门户 {portal} 答复，或在门户中申请查看货物"
                  "（《实施办法》第四十一条）。答复期限届满之日以门户显示为准。")
        en.append(f"Please answer within 3 working days counted from the day after service, in the Yunque portal at "
                  f"{portal}, where you may also ask to view the goods (Measures, Art. 41). The portal shows the "
                  "last day.")
    zh.append(f"核验文书：{verify}（SHA-256 {doc.sha256}）")
    en.append(f"Verify the document: {verify} (SHA-256 {doc.sha256})")
    body = "\n".join(zh) + "\n\n" + "\n".join(en) + f"\n\n-- \n{office.name} {office.name_en}\n"
    return subject, body


def _escalate(s: Session, *, doc: Document, row: Delivery, who: Actor, at: datetime, reason: str) -> Task:
    """Hand the document to the office's IPR officers: serve it by other means and record it."""
    case = s.get(Case, doc.case_id)
    assert case is not None
    addressee = _addressee(s, doc)[0]
    title = TITLES[DocumentKind(doc.kind)]
    task = open_task(s, kind=TaskKind.SERVE_MANUALLY, case_id=case.id, customs_office_id=case.customs_office_id,  # type: ignore[arg-type]
                     candidate_group=Role.IPR_OFFICER, due_at=None, now=at, notice_id=doc.notice_id,
                     priority=10 if doc.kind == DocumentKind.CONFIRMATION_NOTICE else 30,
                     title=f"Serve {title.en} {doc.number} on {addressee} by other means: {reason}"[:300])
    row.task_id = task.id
    s.add(row)
    record(s, actor=who, action="delivery.escalated", subject=f"document:{doc.number}", at=at, case_id=case.id,
           after={"task_id": task.id, "attempts": row.attempt, "reason": reason})
    return task


def _serve_notice_on_acceptance(s: Session, doc: Document, who: Actor, at: datetime, means: str) -> None:
    if doc.kind != DocumentKind.CONFIRMATION_NOTICE or doc.notice_id is None:
        return
    notice = s.exec(select(Notice).where(Notice.id == doc.notice_id).with_for_update()).first()
    if notice is not None and notice.state == NoticeState.ISSUED:
        mark_served(s, notice, who, at=at, means=means)


def deliver_document(*, document_id: int, now: datetime | None = None, store: ObjectStore | None = None,
                     max_attempts: int = MAIL_ATTEMPTS, uow: UnitOfWork | None = None) -> DeliveryOut:
    """Mail a document to its addressee; a repeat after acceptance sends nothing and returns it.

    Raises ``MailFailed`` after recording a failed attempt (the caller retries), until the
    ``max_attempts``-th failure, which opens a ``serve_manually`` task and returns that attempt.
    Three steps: the attempt is recorded as sending, the mail goes out with no transaction open, and
    its outcome is recorded."""
    uow = given(uow)
    started = now_or(now)
    begun = _begin_attempt(document_id, started, uow=uow)
    if isinstance(begun, DeliveryOut):
        return begun
    sent, failure = _mail(begun, store or uow.store, started, settings=uow.settings)
    return _record_outcome(document_id, begun, sent, failure, now_or(now), max_attempts, uow=uow)


@dataclass(frozen=True)
class _Outgoing:
    """An attempt recorded as sending, and what its mail is made of (read in the same transaction)."""

    row_id: int
    key: str
    number: str
    sha256: str
    message_id: str
    emails: list[str]
    subject: str
    body: str


def _begin_attempt(document_id: int, started: datetime, *, uow: UnitOfWork) -> DeliveryOut | _Outgoing:
    """Record a new mail attempt as sending; or the delivery already done (accepted, served, or with an
    officer), or an attempt that failed at once (no address: escalated)."""
    with uow.transaction() as s:
        doc = s.exec(select(Document).where(Document.id == document_id).with_for_update()).first()
        if doc is None:
            raise NotFound("document", document_id)
        prior = list(s.exec(select(Delivery).where(Delivery.document_id == doc.id).order_by(col(Delivery.id))))
        done = next((d for d in prior if d.state in (DeliveryState.ACCEPTED, DeliveryState.SERVED)), None)
        if done is None:
            done = next((d for d in prior if d.task_id is not None), None)  # an officer has it now
        if done is not None:
            return _view(s, done)
        for d in prior:
            if d.state == DeliveryState.SENDING:
                if started - d.started_at < SENDING_STALE:
                    raise DeliveryInProgress(doc.number)
                d.state, d.finished_at = DeliveryState.FAILED.value, started
                d.error = "interrupted: no outcome was recorded for this attempt"
                s.add(d)
        who = system_actor(s)
        addressee, emails = _addressee(s, doc)
        attempt = sum(1 for d in prior if d.means == DeliveryMeans.MAIL) + 1
        row = Delivery(document_id=doc.id, case_id=doc.case_id, means=DeliveryMeans.MAIL.value, attempt=attempt,  # type: ignore[arg-type]
                       state=DeliveryState.SENDING.value, recipients=emails, started_at=started,
                       message_id=make_msgid(idstring=f"{doc.number}.{attempt}",
                                             domain=uow.settings.mail_from.rsplit("@", 1)[-1]))
        s.add(row)
        s.flush()
        if not emails:
            row.state, row.finished_at = DeliveryState.FAILED.value, started
            row.error = f"{addressee} has no contact e-mail address"
            record(s, actor=who, action="document.mail_failed", subject=f"document:{doc.number}", at=started,
                   case_id=doc.case_id, after={"attempt": attempt, "error": row.error})
            _escalate(s, doc=doc, row=row, who=who, at=started, reason="no contact e-mail address")
            return _view(s, row)
        case = s.get(Case, doc.case_id)
        office = s.get(CustomsOffice, case.customs_office_id) if case else None
        assert case is not None and office is not None
        subject, body = _message_text(doc, case, office, addressee, public_url=uow.settings.public_url)
        return _Outgoing(row.id, doc.key, doc.number, doc.sha256, row.message_id,  # type: ignore[arg-type]
                         emails, subject, body)


def _mail(out: _Outgoing, store: ObjectStore, started: datetime, *,
          settings: Settings) -> tuple[MailSent | None, Exception | None]:
    """Send the mail with the stored PDF attached: (what the server accepted, None), or (None, why not)."""
    try:
        pdf = read_stored(store, key=out.key, number=out.number, sha256=out.sha256)
        msg = build_message(sender=settings.mail_from, to=out.emails, subject=out.subject, body=out.body,
                            date=started, message_id=out.message_id, attachments=[Attachment(f"{out.number}.pdf", pdf)],
                            headers={"X-Yunque-Document": out.number, "X-Yunque-SHA256": out.sha256})
        return send(msg, settings=settings), None
    except Exception as e:  # noqa: BLE001 - recorded by _record_outcome, then raised again
        return None, e


def _record_outcome(document_id: int, out: _Outgoing, sent: MailSent | None, failure: Exception | None,
                    finished: datetime, max_attempts: int, *, uow: UnitOfWork) -> DeliveryOut:
    """The attempt accepted (the notice served, under the mail rule), or failed: escalated after the last
    attempt, raised again otherwise (after the failure is committed)."""
    with uow.transaction() as s:
        row = s.exec(select(Delivery).where(Delivery.id == out.row_id).with_for_update()).one()
        doc = s.get(Document, document_id)
        assert doc is not None
        who = system_actor(s)
        row.finished_at = finished
        if sent is not None:
            row.state, row.accepted_at = DeliveryState.ACCEPTED.value, finished
            row.server_reply, row.refused = sent.reply, dict(sent.refused)
            s.add(row)
            record(s, actor=who, action="document.mailed", subject=f"document:{out.number}", at=finished,
                   case_id=doc.case_id, after={"attempt": row.attempt, "to": sent.accepted, "refused": sent.refused,
                                               "reply": sent.reply, "message_id": row.message_id})
            if uow.settings.service_rule in ("mail", "first"):
                _serve_notice_on_acceptance(s, doc, who, finished, "mail")
            return _view(s, row)
        row.state = DeliveryState.FAILED.value
        row.error = str(failure)
        if isinstance(failure, MailFailed):
            row.refused = dict(failure.refused)
        s.add(row)
        record(s, actor=who, action="document.mail_failed", subject=f"document:{out.number}", at=finished,
               case_id=doc.case_id, after={"attempt": row.attempt, "error": row.error})
        if row.attempt >= max_attempts:
            _escalate(s, doc=doc, row=row, who=who, at=finished, reason=f"mail failed {row.attempt} times ({row.error})")
            return _view(s, row)
    assert failure is not None
    raise failure


def record_manual_service(*, document_id: int, actor: str, means: str = "hand", at: datetime | None = None,
                          note: str = "", now: datetime | None = None, uow: UnitOfWork | None = None) -> DeliveryOut:
    """An IPR officer records that a document was served by hand or by post, and when.

    A confirmation notice not yet served is served at that moment (its deadline counts from the day
    after, Meas 41); the ``serve_manually`` tasks raised for the document are completed."""
    uow = given(uow)
    now = now_or(now)
    with uow.transaction() as s:
        return record_manual_service_in(s, who=load_actor(s, actor), document_id=document_id, means=means, at=at,
                                        note=note, now=now)


def record_manual_service_in(s: Session, *, who: Actor, document_id: int, means: str, at: datetime | None,
                             note: str, now: datetime) -> DeliveryOut:
    """``record_manual_service`` inside the caller's transaction (the inbox completes its task with it)."""
    from services.tasks import complete_matching_tasks

    if means not in (DeliveryMeans.HAND, DeliveryMeans.POST):
        raise InvalidInput("means", "must be hand or post")
    if len(note) > 2000:
        raise InvalidInput("note", "at most 2000 characters")
    at = now_or(at) if at is not None else now
    if at > now:
        raise InvalidInput("at", "the moment of service cannot be in the future")
    require_role(who, "record service of a document", Role.IPR_OFFICER, Role.ADMIN)
    doc = s.exec(select(Document).where(Document.id == document_id).with_for_update()).first()
    case = s.get(Case, doc.case_id) if doc else None
    if doc is None or case is None or (who.role != Role.ADMIN and case.customs_office_id != who.customs_office_id):
        raise NotFound("document", document_id)
    prior = list(s.exec(select(Delivery).where(Delivery.document_id == doc.id)))
    addressee, _ = _addressee(s, doc)
    row = Delivery(document_id=doc.id, case_id=doc.case_id, means=means, attempt=len(prior) + 1,  # type: ignore[arg-type]
                   state=DeliveryState.SERVED.value, recipients=[addressee], started_at=at, finished_at=now,
                   accepted_at=at, recorded_by_id=who.id, note=note)
    s.add(row)
    s.flush()
    record(s, actor=who, action="document.served_manually", subject=f"document:{doc.number}", at=now,
           case_id=doc.case_id, after={"means": means, "served_at": at.isoformat(), "note": note, "delivery_id": row.id})
    _serve_notice_on_acceptance(s, doc, who, at, means)
    for task_id in sorted({d.task_id for d in prior if d.task_id is not None}):
        complete_matching_tasks(s, kind=TaskKind.SERVE_MANUALLY, case_id=doc.case_id, task_id=task_id, who=who, now=now,
                                outcome=means, details={"means": means, "served_at": at.isoformat(), "delivery_id": row.id})
    return _view(s, row)


def deliveries_of_document(*, document_id: int, actor: str, uow: UnitOfWork | None = None) -> list[DeliveryOut]:
    """Every attempt to serve one document (customs of the office only)."""
    uow = given(uow)
    with uow.transaction(readonly=True) as s:
        who = _customs(s, actor)
        doc = s.get(Document, document_id)
        case = s.get(Case, doc.case_id) if doc else None
        if doc is None or case is None or (who.role not in (Role.ADMIN, Role.SYSTEM) and case.customs_office_id != who.customs_office_id):
            raise NotFound("document", document_id)
        rows = s.exec(select(Delivery).where(Delivery.document_id == document_id).order_by(col(Delivery.id)))
        return [_view(s, r) for r in rows]


def _customs(s: Session, actor: str) -> Actor:
    who = load_actor(s, actor)
    require_role(who, "read the outbox", Role.SITE_OFFICER, Role.IPR_OFFICER, Role.MANAGER, Role.ADMIN, Role.SYSTEM)
    return who


def outbox(*, actor: str, limit: int = 200, uow: UnitOfWork | None = None) -> list[DeliveryOut]:
    """What was sent, newest first: every delivery attempt of the actor's office (customs users only)."""
    uow = given(uow)
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit", "must be between 1 and 1000")
    with uow.transaction(readonly=True) as s:
        who = _customs(s, actor)
        q = select(Delivery).join(Case, col(Case.id) == Delivery.case_id)
        if who.role not in (Role.ADMIN, Role.SYSTEM):
            q = q.where(Case.customs_office_id == who.customs_office_id)
        q = q.order_by(col(Delivery.started_at).desc(), col(Delivery.id).desc()).limit(limit)
        return [_view(s, r) for r in s.exec(q)]
