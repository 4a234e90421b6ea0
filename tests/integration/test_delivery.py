"""Serving documents by e-mail through a real SMTP server on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from adapters.mail import MailFailed
from adapters.mail_server import MaildirSink, start_sink
from models.docs import Delivery
from models.rules.errors import NotFound, PermissionDenied
from models.tables import Task
from services.cases import get_case, open_case, serve_notice
from services.delivery import MAIL_ATTEMPTS, deliver_document, deliveries_of_document, outbox, record_manual_service
from services.demo import seed_shipment
from services.documents import issue_for_notice
from services.tasks import inbox
from tests.support import free_port, open_confirmed, session_scope
from tests.unit.test_documents import MemoryStore, flat, pdf_text
from yunque.settings import reset_settings

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 9, 1, 10, 30, tzinfo=SH)  # Tuesday


class FlakyServer(MaildirSink):
    """Answers 451 to the first ``failures`` messages, then accepts and keeps them."""

    def __init__(self, directory: Path, failures: int):
        super().__init__(directory)
        self.failures = failures
        self.seen = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.seen += 1
        if self.seen <= self.failures:
            return "451 4.3.0 Mailbox busy, try again later"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def rule(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def set_rule(value: str) -> None:
        monkeypatch.setenv("YUNQUE_SERVICE_RULE", value)
        reset_settings()
    return set_rule


@pytest.fixture
def mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Start an SMTP server on a free loopback port: ``mail(failures=0)`` -> (server, mail dir)."""
    port = free_port()
    monkeypatch.setenv("YUNQUE_SMTP_PORT", str(port))
    reset_settings()
    started = []

    def start(failures: int = 0, refuse_all: str | None = None):  # noqa: ANN202
        directory = tmp_path / "mail"
        handler = FlakyServer(directory, 10**6 if refuse_all else failures)
        controller = start_sink(directory, port=port, handler=handler)
        started.append(controller)
        return handler, directory

    yield start
    for c in started:
        c.stop()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def _open_case(*brands: str):  # noqa: ANN202
    """The seed story's shipment, cut down to the lines of ``brands``."""
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in brands]
    return open_confirmed(shipment, now=FOUND)


def _notice(case, brand: str):  # noqa: ANN001, ANN202
    return next(n for n in case.notices if brand in n.brands)


def test_mail_acceptance_serves_the_notice_and_starts_the_clock(db: str, mail, rule, store: MemoryStore) -> None:  # noqa: ANN001
    rule("mail")
    _, directory = mail()
    case = _open_case("CHANEL", "NIKE")
    chanel = _notice(case, "CHANEL")
    assert chanel.state == "issued" and chanel.deadline is None  # no clock before service
    doc = issue_for_notice(notice_id=chanel.id, now=FOUND, store=store)
    text = flat(pdf_text(store.objects[f"documents/{case.number}/{doc.number}.pdf"]))
    assert "送达后在云确门户中显示" in text and flat("shown in the Yunque portal once served") in text  # no date yet

    accepted = FOUND + timedelta(minutes=2)
    out = deliver_document(document_id=doc.id, now=accepted, store=store)
    assert out.state == "accepted" and out.attempt == 1 and out.accepted_at == accepted
    assert out.recipients == ["chanel.agent@rights.localhost"] and out.server_reply.startswith("250 ")

    served = _notice(get_case(case_number=case.number, actor="ipr.li"), "CHANEL")
    assert served.state == "served" and served.served_at == accepted
    assert served.deadline.isoformat() == "2026-09-04"  # 3 working days from Wednesday 2 September (Meas 41)
    other = _notice(get_case(case_number=case.number, actor="ipr.li"), "NIKE")
    assert other.state == "issued"  # only the notice mailed is served

    [eml] = list(directory.glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "chanel.agent@rights.localhost"
    assert msg["X-Yunque-Document"] == doc.number and doc.number in msg["Subject"] and "确权通知书" in msg["Subject"]
    [pdf] = list(msg.iter_attachments())
    assert pdf.get_filename() == f"{doc.number}.pdf"
    assert hashlib.sha256(pdf.get_content()).hexdigest() == doc.sha256
    assert "3个工作日" in msg.get_body(("plain",)).get_content()

    again = deliver_document(document_id=doc.id, now=accepted + timedelta(hours=1), store=store)
    assert again.id == out.id and len(list(directory.glob("*.eml"))) == 1  # never mailed twice


def test_with_the_portal_rule_mail_does_not_serve(sqlite_db: str, mail, rule, store: MemoryStore) -> None:  # noqa: ANN001
    rule("portal")
    mail()
    case = _open_case("NIKE")
    nike = _notice(case, "NIKE")
    doc = issue_for_notice(notice_id=nike.id, now=FOUND, store=store)
    assert deliver_document(document_id=doc.id, now=FOUND + timedelta(minutes=1), store=store).state == "accepted"
    assert _notice(get_case(case_number=case.number, actor="ipr.li"), "NIKE").state == "issued"
    opened = FOUND + timedelta(minutes=30)
    serve_notice(notice_id=nike.id, actor="nike.agent", means="portal", at=opened)
    served = _notice(get_case(case_number=case.number, actor="ipr.li"), "NIKE")
    assert served.served_at == opened and served.deadline.isoformat() == "2026-09-04"


def test_with_the_first_rule_the_portal_opening_before_the_mail_counts(sqlite_db: str, mail, rule, store: MemoryStore) -> None:  # noqa: ANN001
    rule("first")
    mail()
    case = _open_case("HERMES")
    hermes = _notice(case, "HERMES")
    doc = issue_for_notice(notice_id=hermes.id, now=FOUND, store=store)
    serve_notice(notice_id=hermes.id, actor="hermes.agent", means="portal", at=FOUND + timedelta(minutes=1))
    deliver_document(document_id=doc.id, now=FOUND + timedelta(days=1), store=store)
    served = _notice(get_case(case_number=case.number, actor="ipr.li"), "HERMES")
    assert served.served_at == FOUND + timedelta(minutes=1)


def test_a_refusing_server_is_retried_and_each_attempt_recorded(db: str, mail, rule, store: MemoryStore) -> None:  # noqa: ANN001
    rule("mail")
    server, directory = mail(failures=2)
    case = _open_case("ROLEX")
    rolex = _notice(case, "ROLEX")
    doc = issue_for_notice(notice_id=rolex.id, now=FOUND, store=store)
    for i in range(2):
        with pytest.raises(MailFailed, match="451"):
            deliver_document(document_id=doc.id, now=FOUND + timedelta(minutes=i), store=store)
        assert _notice(get_case(case_number=case.number, actor="ipr.li"), "ROLEX").state == "issued"
    out = deliver_document(document_id=doc.id, now=FOUND + timedelta(minutes=5), store=store)
    assert out.state == "accepted" and out.attempt == 3 and server.seen == 3
    attempts = deliveries_of_document(document_id=doc.id, actor="ipr.li")
    assert [(a.attempt, a.state) for a in attempts] == [(1, "failed"), (2, "failed"), (3, "accepted")]
    assert "451 4.3.0 Mailbox busy" in (attempts[0].error or "")
    assert _notice(get_case(case_number=case.number, actor="ipr.li"), "ROLEX").served_at == FOUND + timedelta(minutes=5)
    assert [d.document_number for d in outbox(actor="mgr.zhao")] == [doc.number] * 3
    assert len(list(directory.glob("*.eml"))) == 1


def test_delivery_that_keeps_failing_becomes_a_task_then_service_by_hand(db: str, mail, rule, store: MemoryStore) -> None:  # noqa: ANN001
    rule("mail")
    mail(refuse_all="451")
    case = _open_case("GUCCI")
    gucci = _notice(case, "GUCCI")
    doc = issue_for_notice(notice_id=gucci.id, now=FOUND, store=store)
    for i in range(MAIL_ATTEMPTS - 1):
        with pytest.raises(MailFailed):
            deliver_document(document_id=doc.id, now=FOUND + timedelta(minutes=i), store=store)
    last = deliver_document(document_id=doc.id, now=FOUND + timedelta(minutes=10), store=store)
    assert last.state == "failed" and last.attempt == MAIL_ATTEMPTS and last.task_id is not None
    [task] = inbox(actor="ipr.li", kind="serve_manually")
    assert task.id == last.task_id and task.notice_id == gucci.id and doc.number in task.title
    # the flow retrying once more sends nothing and opens nothing new
    assert deliver_document(document_id=doc.id, now=FOUND + timedelta(minutes=11), store=store).id == last.id
    assert len(inbox(actor="ipr.li", kind="serve_manually")) == 1
    assert _notice(get_case(case_number=case.number, actor="ipr.li"), "GUCCI").state == "issued"

    with pytest.raises(PermissionDenied):
        record_manual_service(document_id=doc.id, actor="gucci.agent", means="hand")
    handed = FOUND + timedelta(hours=3)
    out = record_manual_service(document_id=doc.id, actor="ipr.li", means="hand", at=handed,
                                note="handed to the agent's office", now=handed + timedelta(minutes=5))
    assert out.state == "served" and out.recorded_by == "ipr.li"
    served = _notice(get_case(case_number=case.number, actor="ipr.li"), "GUCCI")
    assert served.state == "served" and served.served_at == handed and served.deadline.isoformat() == "2026-09-04"
    assert inbox(actor="ipr.li", kind="serve_manually") == []
    with session_scope(readonly=True) as s:
        assert s.get(Task, task.id).outcome["means"] == "hand"  # type: ignore[union-attr]


def test_an_addressee_without_an_address_goes_straight_to_an_officer(sqlite_db: str, mail, rule, store: MemoryStore) -> None:  # noqa: ANN001
    from models.tables import RightsHolder

    rule("mail")
    mail()
    case = _open_case("PRADA")
    prada = _notice(case, "PRADA")
    with session_scope() as s:
        holder = s.get(RightsHolder, prada.rights_holder_id)
        holder.contact_emails = []  # type: ignore[union-attr]
        s.add(holder)
    doc = issue_for_notice(notice_id=prada.id, now=FOUND, store=store)
    out = deliver_document(document_id=doc.id, now=FOUND, store=store)
    assert out.state == "failed" and "no contact e-mail address" in (out.error or "") and out.task_id is not None


def test_the_outbox_is_for_customs_of_the_office(db: str, mail, rule, store: MemoryStore) -> None:  # noqa: ANN001
    rule("issue")
    mail()
    case = _open_case("BURBERRY")
    doc = issue_for_notice(notice_id=_notice(case, "BURBERRY").id, now=FOUND, store=store)
    deliver_document(document_id=doc.id, now=FOUND, store=store)
    [entry] = outbox(actor="ipr.chen")
    assert entry.addressee == "Burberry Limited" and entry.case_number == case.number and entry.state == "accepted"
    assert outbox(actor="site.huang") == []  # another office
    for outsider in ("burberry.agent", "cq.trading"):
        with pytest.raises(PermissionDenied):
            outbox(actor=outsider)
    with pytest.raises(NotFound):
        deliveries_of_document(document_id=doc.id, actor="site.huang")
    with session_scope(readonly=True) as s:
        assert len(list(s.exec(select(Delivery)))) == 1


def test_with_the_mail_rule_a_portal_opening_is_recorded_and_serves_nothing(sqlite_db: str, rule) -> None:  # noqa: ANN001
    from tests.integration.test_task_acts import count

    rule("mail")
    case = _open_case("NIKE")
    nike = _notice(case, "NIKE")
    opened = serve_notice(notice_id=nike.id, actor="nike.agent", means="portal", at=FOUND + timedelta(minutes=5))
    assert opened.state == "issued" and opened.deadline is None  # the clock waits for the mail's acceptance
    serve_notice(notice_id=nike.id, actor="nike.agent", means="portal", at=FOUND + timedelta(minutes=6))
    assert count("notice.opened", f"notice:{nike.id}") == 1 and count("notice.served", f"notice:{nike.id}") == 0


def test_before_the_confirmation_a_notice_does_not_exist_for_its_rights_holder(sqlite_db: str, rule) -> None:  # noqa: ANN001
    from models.rules.errors import ConcurrentUpdate, NotFound
    from services.answers import record_answer
    from services.cases import open_case
    from services.portal import list_cases, my_notices
    from services.viewing import request_viewing
    from tests.support import confirm

    rule("first")
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] == "NIKE"]
    case = open_case(shipment=shipment, actor="site.wang", now=FOUND)
    nike = _notice(case, "NIKE")
    assert my_notices(actor="nike.agent", now=FOUND) == [] and list_cases(actor="nike.agent") == []
    for act in (lambda: get_case(case_number=case.number, actor="nike.agent"),
                lambda: serve_notice(notice_id=nike.id, actor="nike.agent", means="portal", at=FOUND),
                lambda: record_answer(notice_id=nike.id, actor="nike.agent", now=FOUND,
                                      answer={"verdicts": {1: "not-infringing"}}),
                lambda: request_viewing(actor="nike.agent", notice_id=nike.id, now=FOUND)):
        with pytest.raises(NotFound):
            act()
    with pytest.raises(ConcurrentUpdate, match="confirmed"):  # nobody serves it before the confirmation
        serve_notice(notice_id=nike.id, actor="ipr.li", means="hand", at=FOUND)
    confirm(case.number, now=FOUND + timedelta(minutes=2))
    (mine,) = my_notices(actor="nike.agent", now=FOUND + timedelta(minutes=3))
    assert mine.notice.state == "issued"  # sent; under the default rule the mail or the first opening serves it
    opened = serve_notice(notice_id=nike.id, actor="nike.agent", means="portal", at=FOUND + timedelta(minutes=4))
    assert opened.state == "served" and opened.served_at == FOUND + timedelta(minutes=4)
