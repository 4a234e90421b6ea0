"""Legal documents through the services, with an in-memory evidence store, on SQLite and PostgreSQL.

Each kind is rendered to PNG with poppler's pdftoppm (kept under test-artifacts/documents/), its text
extracted with poppler's pdftotext, and its QR code read back with zbarimg."""

from __future__ import annotations

import hashlib
import itertools
import io
import re
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from pypdf import PdfReader
from sqlmodel import col, select

from adapters.objectstore import ObjectMissing, StoredObject
from models.rules.errors import NotFound
from models.tables import Document
from services.answers import record_answer
from services.cases import get_case
from services.demo import seed_shipment
from services.detention import decide_line
from services.documents import (
    DocumentAltered,
    document_bytes,
    documents_of_case,
    issue_for_decision,
    issue_for_notice,
    verify_document,
)
from services.sweep import release_expired
from tests.support import open_confirmed, session_scope

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 9, 1, 10, 30, tzinfo=SH)  # a Tuesday: the answer deadline is Friday 4 September
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "documents"


class MemoryStore:
    """The evidence store's Protocol, in memory (unit tests only)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts = 0

    def put_stream(self, key, stream, *, content_type, max_size=None):  # noqa: ANN001, ANN201
        data = stream.read()
        if max_size is not None and len(data) > max_size:
            raise ValueError("too large")
        self.objects[key] = data
        self.puts += 1
        return StoredObject(key=key, sha256=hashlib.sha256(data).hexdigest(), size=len(data), content_type=content_type)

    def open(self, key):  # noqa: ANN001, ANN201
        if key not in self.objects:
            raise ObjectMissing(key)
        return io.BytesIO(self.objects[key])

    def hash_of(self, key):  # noqa: ANN001, ANN201
        data = self.open(key).read()
        return hashlib.sha256(data).hexdigest(), len(data)

    def presigned_get(self, key, *, seconds, filename=None):  # noqa: ANN001, ANN201
        return f"memory://{key}"

    def exists(self, key):  # noqa: ANN001, ANN201
        return key in self.objects

    def delete(self, key):  # noqa: ANN001, ANN201
        self.objects.pop(key, None)


_DECLARATIONS = itertools.count(1)


def open_seed_case(*brands: str):  # noqa: ANN201
    """The seed story's shipment, cut down to the lines of ``brands`` (fewer notices, faster tests)."""
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in brands]
    # its own declaration: two seed cases found in the same minute may draw the same random suffix
    shipment["declaration_no"] = f"{shipment['declaration_no'][:16]}{next(_DECLARATIONS):02d}"
    return open_confirmed(shipment, now=FOUND)


def notice_of(case, brand: str):  # noqa: ANN001, ANN201
    return next(n for n in case.notices if brand in n.brands)


def line_of(case, brand: str) -> int:  # noqa: ANN001
    return next(ln.number for ln in case.lines if ln.brand == brand)


def pdf_text(data: bytes) -> str:
    """The text as poppler's pdftotext reads it, in the order it is drawn. (pypdf reads the CJK font's
    encoding, a CMap embedded in the file as fpdf2 writes it for CFF fonts, as one-byte codes.)"""
    run = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True,
                         check=True, timeout=60)
    return run.stdout.decode()


def flat(text: str) -> str:
    """The text without any white space: lines wrap anywhere in Chinese, and pypdf keeps the breaks."""
    return re.sub(r"\s+", "", text)


def to_png(data: bytes, name: str, tmp: Path) -> list[Path]:
    """Render every page with pdftoppm; keep the pictures as test artefacts."""
    src = tmp / f"{name}.pdf"
    src.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "110", "-png", str(src), str(tmp / name)], check=True, capture_output=True,
                   timeout=60)
    pages = sorted(tmp.glob(f"{name}-*.png"))
    assert len(pages) == len(PdfReader(io.BytesIO(data)).pages)
    assert pages[0].stat().st_size > 20_000  # a page with text and a table, not a blank one
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    for page in pages:
        shutil.copy(page, ARTIFACTS / page.name)
    return pages


def qr_payloads(pages: list[Path]) -> list[str]:
    out = []
    for png in pages:
        run = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True, timeout=60)
        out += [ln for ln in run.stdout.splitlines() if ln.strip()]
    return out


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def test_the_confirmation_notice_names_the_lines_the_deadline_and_how_to_answer(sqlite_db: str, store: MemoryStore,
                                                                                 tmp_path: Path) -> None:
    case = open_seed_case("CHANEL", "NIKE")
    chanel = notice_of(case, "CHANEL")
    doc = issue_for_notice(notice_id=chanel.id, now=FOUND + timedelta(seconds=5), store=store)
    assert doc.kind == "confirmation_notice"
    assert doc.number == f"CAPAIR-CN-2026-{chanel.id:06d}"
    data = store.objects[f"documents/{case.number}/{doc.number}.pdf"]
    assert hashlib.sha256(data).hexdigest() == doc.sha256
    assert data.startswith(b"%PDF-")

    text = flat(pdf_text(data))
    for expected in ("确权通知书", "Notice to Confirm Intellectual Property Rights", "首都机场海关", "Capital Airport Customs",
                     doc.number, case.number, case.declaration_no, "CHANEL SARL", "T2019-40001", "36,000.00",
                     "女式手提包，绗缝皮革，CC 转锁", "12 件", "2026年9月4日24:00", "by 24:00 Beijing time on 4 September 2026",
                     "第四十一条", "Measures, Arts. 22 and 41", "Regulations, Art. 17", "2026年9月1日",
                     "第二十一条", "Article 21 of the Measures",  # the suspension (Meas 21)
                     "重庆云通商贸有限公司",  # the consignor is named
                     "20,000.00", "bank guarantee letter", "Measures, Art. 38",  # the bond required, how to post it
                     # the Measures' title, with the Regulations' title inside it in the inner marks 〈〉
                     "《中华人民共和国海关关于〈中华人民共和国知识产权海关保护条例〉的实施办法》第二十一条"):
        assert flat(expected) in text, expected
    assert "〈中华人民共和国知识产权海关保护条例〉" in text
    assert "＜" not in text and "＞" not in text  # the full-width stand-ins are gone
    assert "NIKE" not in text  # another holder's lines are not on this holder's notice
    assert "pcs" not in text  # the unit in the document's words

    png = to_png(data, "confirmation_notice", tmp_path)
    assert qr_payloads(png) == [f"http://127.0.0.1:8501/verify?doc={doc.number}"]


def test_asking_again_returns_the_document_already_issued(db: str, store: MemoryStore) -> None:
    case = open_seed_case("NIKE")
    nike = notice_of(case, "NIKE")
    first = issue_for_notice(notice_id=nike.id, now=FOUND, store=store)
    again = issue_for_notice(notice_id=nike.id, now=FOUND + timedelta(hours=3), store=store)
    assert again == first
    assert store.puts == 1
    assert [d.number for d in documents_of_case(case_number=case.number, actor="ipr.li")] == [first.number]
    shown = get_case(case_number=case.number, actor="ipr.li").documents
    assert [(d.kind, d.number, d.sha256) for d in shown] == [("confirmation_notice", first.number, first.sha256)]


def test_the_same_notice_renders_to_the_same_bytes(sqlite_db: str) -> None:
    from adapters.pdf import render
    from models.tables import Notice
    from services.documents import plan_confirmation
    from tests.support import session_scope

    case = open_seed_case("ROLEX")
    with session_scope(readonly=True) as s:
        notice = s.get(Notice, notice_of(case, "ROLEX").id)
        a = render(plan_confirmation(s, notice).doc)
        b = render(plan_confirmation(s, notice).doc)
    assert a == b


def test_release_and_detention_documents_go_to_the_right_addressees(sqlite_db: str, store: MemoryStore, tmp_path: Path) -> None:
    case = open_seed_case("NIKE", "CHANEL")
    nike, chanel = notice_of(case, "NIKE"), notice_of(case, "CHANEL")
    record_answer(notice_id=nike.id, actor="nike.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {line_of(case, "NIKE"): "not-infringing"}})
    record_answer(notice_id=chanel.id, actor="chanel.agent", now=FOUND + timedelta(minutes=12),
                  answer={"verdicts": {line_of(case, "CHANEL"): "infringing"}, "detain": True, "bond": "general"})
    decisions = _decisions(case.number)
    released = issue_for_decision(decision_id=decisions["released"], store=store)
    detained = issue_for_decision(decision_id=decisions["detained"], store=store)

    assert sorted(d.kind for d in released) == ["release_notice", "release_notice"]
    assert sorted(d.kind for d in detained) == ["detention_notice", "detention_receipt"]
    assert issue_for_decision(decision_id=decisions["detained"], store=store) == detained  # never issued twice

    by_kind = {d.kind: d for d in detained}
    notice_text = flat(pdf_text(store.objects[f"documents/{case.number}/{by_kind['detention_notice'].number}.pdf"]))
    for expected in ("扣留通知书", "Notice of Detention", "CHANEL SARL", "36,000.00", "总担保", "第二十条",
                     "Regulations, Art. 20", "30 working days", by_kind["detention_notice"].number):
        assert flat(expected) in notice_text, expected
    line = next(ln for ln in get_case(case_number=case.number, actor="ipr.li").lines if ln.brand == "CHANEL")
    assert line.investigation_due is not None
    assert f"{line.investigation_due.year}年{line.investigation_due.month}月{line.investigation_due.day}日" in notice_text

    receipt = store.objects[f"documents/{case.number}/{by_kind['detention_receipt'].number}.pdf"]
    receipt_text = flat(pdf_text(receipt))
    for expected in ("扣留凭单", "Detention Receipt", "重庆云通商贸有限公司", "91500000MA5U7X2K3B", "CHANEL SARL"):
        assert flat(expected) in receipt_text, expected
    for patent_only in ("第十九条", "Art. 19", "counter", "patents"):  # a trademark case: no counter-bond paragraph
        assert flat(patent_only) not in receipt_text, patent_only
    to_png(store.objects[f"documents/{case.number}/{by_kind['detention_notice'].number}.pdf"], "detention_notice", tmp_path)
    png = to_png(receipt, "detention_receipt", tmp_path)
    assert qr_payloads(png) == [f"http://127.0.0.1:8501/verify?doc={by_kind['detention_receipt'].number}"]

    release_to_holder = next(d for d in released if d.number.endswith(f"-R{nike.rights_holder_id}"))
    release_text = flat(pdf_text(store.objects[f"documents/{case.number}/{release_to_holder.number}.pdf"]))
    for expected in ("放行通知书", "Notice of Release", "Nike Innovate C.V.", "9,000.00",
                     "权利人认为上述货物未侵犯其知识产权", "do not infringe its rights"):
        assert flat(expected) in release_text, expected
    to_png(store.objects[f"documents/{case.number}/{release_to_holder.number}.pdf"], "release_notice", tmp_path)


def test_the_undetermined_notice_gives_the_court_deadline(sqlite_db: str, store: MemoryStore, tmp_path: Path) -> None:
    case = open_seed_case("CHANEL")
    chanel = notice_of(case, "CHANEL")
    record_answer(notice_id=chanel.id, actor="chanel.agent", now=FOUND + timedelta(minutes=12),
                  answer={"verdicts": {line_of(case, "CHANEL"): "infringing"}, "detain": True, "bond": "general"})
    decide_line(case_number=case.number, line_number=line_of(case, "CHANEL"), actor="ipr.li", outcome="cannot-determine",
                now=FOUND + timedelta(days=20))
    docs = issue_for_decision(decision_id=_decisions(case.number)["undetermined"], store=store)
    # Reg 20, Meas 28: the rights holder and the consignor are both told in writing
    assert [d.kind for d in docs] == ["undetermined_notice", "undetermined_notice"]
    with session_scope(readonly=True) as s:
        to = [(d.rights_holder_id is not None, d.consignor_id is not None)
              for d in s.exec(select(Document).where(col(Document.id).in_([d.id for d in docs])).order_by(Document.id))]
    assert to == [(True, False), (False, True)]
    doc = docs[0]
    text = flat(pdf_text(store.objects[f"documents/{case.number}/{doc.number}.pdf"]))
    line = next(ln for ln in get_case(case_number=case.number, actor="ipr.li").lines if ln.brand == "CHANEL")
    due = line.court_due
    assert due is not None
    for expected in ("不能认定通知书", "Notice that Infringement Cannot Be Determined", "第二十四条", "50 working days",
                     f"{due.year}年{due.month}月{due.day}日"):
        assert flat(expected) in text, expected
    to_png(store.objects[f"documents/{case.number}/{doc.number}.pdf"], "undetermined_notice", tmp_path)


def test_silence_releases_with_a_release_notice_citing_the_deadline(sqlite_db: str, store: MemoryStore) -> None:
    case = open_seed_case("HERMES", "ADIDAS")
    release_expired(now=datetime(2026, 9, 5, 0, 0, tzinfo=SH))
    decisions = _decisions(case.number, all_of_kind=True)["released"]
    assert len(decisions) == 2
    docs = issue_for_decision(decision_id=decisions[0], store=store)
    text = flat(pdf_text(store.objects[f"documents/{case.number}/{docs[0].number}.pdf"]))
    assert "权利人未在规定期限内答复" in text and flat("did not answer within the time allowed") in text


def test_only_those_entitled_may_read_a_document(db: str, store: MemoryStore) -> None:
    case = open_seed_case("CHANEL", "NIKE")
    chanel = notice_of(case, "CHANEL")
    record_answer(notice_id=chanel.id, actor="chanel.agent", now=FOUND + timedelta(minutes=12),
                  answer={"verdicts": {line_of(case, "CHANEL"): "infringing"}, "detain": True, "bond": "general"})
    notice_doc = issue_for_notice(notice_id=chanel.id, store=store)
    docs = {d.kind: d for d in issue_for_decision(decision_id=_decisions(case.number)["detained"], store=store)}
    receipt = docs["detention_receipt"]

    name, data = document_bytes(document_id=notice_doc.id, actor="chanel.agent", store=store)
    assert name == f"{notice_doc.number}.pdf" and hashlib.sha256(data).hexdigest() == notice_doc.sha256
    assert document_bytes(number=receipt.number, actor="cq.trading", store=store)[1].startswith(b"%PDF")
    assert document_bytes(document_id=receipt.id, actor="ipr.chen", store=store)[0] == f"{receipt.number}.pdf"
    for who, doc in [("nike.agent", notice_doc), ("cq.trading", notice_doc), ("chanel.agent", receipt),
                     ("site.huang", notice_doc)]:
        with pytest.raises(NotFound):
            document_bytes(document_id=doc.id, actor=who, store=store)
    assert [d.kind for d in documents_of_case(case_number=case.number, actor="cq.trading")] == ["detention_receipt"]
    assert {d.kind for d in documents_of_case(case_number=case.number, actor="chanel.agent")} == {
        "confirmation_notice", "detention_notice"}
    with pytest.raises(NotFound):
        documents_of_case(case_number=case.number, actor="site.huang")


def test_a_tampered_stored_document_is_refused(sqlite_db: str, store: MemoryStore) -> None:
    case = open_seed_case("PRADA")
    doc = issue_for_notice(notice_id=notice_of(case, "PRADA").id, store=store)
    key = f"documents/{case.number}/{doc.number}.pdf"
    store.objects[key] = store.objects[key][:-40] + b"%% altered after issue %%" + store.objects[key][-15:]
    with pytest.raises(DocumentAltered):
        document_bytes(document_id=doc.id, actor="ipr.li", store=store)


def test_verification_compares_the_presented_file_with_the_one_issued(sqlite_db: str, store: MemoryStore) -> None:
    case = open_seed_case("GUCCI")
    doc = issue_for_notice(notice_id=notice_of(case, "GUCCI").id, store=store)
    data = store.objects[f"documents/{case.number}/{doc.number}.pdf"]
    ok = verify_document(number=doc.number, data=data)
    assert ok.issued and ok.matches is True and ok.kind == "confirmation_notice" and ok.office == "首都机场海关"
    assert verify_document(number=doc.number, sha256=doc.sha256.upper()).matches is True
    assert verify_document(number=doc.number, data=data + b"\n% edited").matches is False
    assert verify_document(number=doc.number).matches is None
    unknown = verify_document(number="CAPAIR-CN-2026-999999", data=data)
    assert unknown.issued is False and unknown.matches is False
    with pytest.raises(ValidationError, match="sha256"):
        verify_document(number=doc.number, sha256="not-a-hash")


def test_issuing_records_the_timeline_and_the_outbox_event(db: str, store: MemoryStore) -> None:
    from sqlmodel import select

    from models.tables import Document, OutboxEvent, TimelineEntry
    from services.audit import verify_timeline
    from tests.support import session_scope

    case = open_seed_case("ADIDAS")
    doc = issue_for_notice(notice_id=notice_of(case, "ADIDAS").id, store=store)
    with session_scope(readonly=True) as s:
        row = s.get(Document, doc.id)
        assert row is not None and row.size == len(store.objects[row.key]) and row.key == f"documents/{case.number}/{doc.number}.pdf"
        events = list(s.exec(select(OutboxEvent).where(OutboxEvent.topic == "document.issued")))
        assert [e.payload["number"] for e in events] == [doc.number]
        entries = list(s.exec(select(TimelineEntry).where(TimelineEntry.action == "document.issued")))
        assert [e.subject for e in entries] == [f"document:{doc.number}"]
    assert verify_timeline().intact


def test_a_failing_store_leaves_no_document_behind(db: str) -> None:
    class Broken(MemoryStore):
        def put_stream(self, key, stream, *, content_type, max_size=None):  # noqa: ANN001, ANN201
            raise ConnectionError("evidence store unreachable")

    case = open_seed_case("BURBERRY")
    with pytest.raises(ConnectionError):
        issue_for_notice(notice_id=notice_of(case, "BURBERRY").id, store=Broken())
    assert documents_of_case(case_number=case.number, actor="ipr.li") == []


def _decisions(case_number: str, all_of_kind: bool = False) -> dict:
    from sqlmodel import select

    from models.tables import Case, Decision
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        case = s.exec(select(Case).where(Case.number == case_number)).one()
        rows = [(d.kind, d.id) for d in s.exec(select(Decision).where(Decision.case_id == case.id).order_by(Decision.id))]
    if all_of_kind:
        out: dict[str, list[int]] = {}
        for kind, decision_id in rows:
            out.setdefault(kind, []).append(decision_id)
        return out
    return dict(rows)


# --- fonts: every character printed has a glyph ----------------------------------------------------


def _every_kind_of_document() -> list:
    """The planned documents of every kind: a three-brand case (confiscation, undetermined, release)
    and a one-brand case transferred to the police; the confirmation notices of both."""
    from models.tables import Decision, Notice
    from services.detention import decide_investigation
    from services.documents import plan_confirmation, plan_decision
    from services.police import transfer_to_police

    later = FOUND + timedelta(days=20)
    case = open_seed_case("CHANEL", "NIKE", "HERMES")
    record_answer(notice_id=notice_of(case, "CHANEL").id, actor="chanel.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {line_of(case, "CHANEL"): "infringing"}, "detain": True, "bond": "general"})
    record_answer(notice_id=notice_of(case, "NIKE").id, actor="nike.agent", now=FOUND + timedelta(minutes=10),
                  answer={"verdicts": {line_of(case, "NIKE"): "infringing"}, "detain": True, "bond": "general"})
    record_answer(notice_id=notice_of(case, "HERMES").id, actor="hermes.agent", now=FOUND + timedelta(minutes=11),
                  answer={"verdicts": {line_of(case, "HERMES"): "not-infringing"}})
    decide_investigation(case_number=case.number, line_number=line_of(case, "CHANEL"), actor="ipr.li",
                         outcome="infringing", now=later)
    decide_investigation(case_number=case.number, line_number=line_of(case, "NIKE"), actor="ipr.li",
                         outcome="cannot-determine", now=later)
    second = open_seed_case("CHANEL")
    record_answer(notice_id=notice_of(second, "CHANEL").id, actor="chanel.agent", now=FOUND + timedelta(minutes=9),
                  answer={"verdicts": {line_of(second, "CHANEL"): "infringing"}, "detain": True, "bond": "general"})
    transfer_to_police(case_number=second.number, actor="ipr.li", now=later, transfer={
        "lines": [line_of(second, "CHANEL")], "police_unit": "北京市公安局", "grounds": "货值巨大，涉嫌犯罪"})
    _applications(later)
    with session_scope(readonly=True) as s:
        planned = [plan_confirmation(s, n) for n in s.exec(select(Notice).order_by(Notice.id)) if _ex_officio(s, n)]
        for d in s.exec(select(Decision).order_by(Decision.id)):
            planned += plan_decision(s, d)
    return planned


def _ex_officio(s, notice) -> bool:  # noqa: ANN001
    from models.tables import Case

    case = s.get(Case, notice.case_id)
    return case is not None and case.route == "ex-officio"


def _applications(at: datetime) -> None:
    """Two applications for detention (Reg 12-15): one accepted (detention notice and receipt on application),
    one rejected (the rejection notice); the accepted one released at 20 working days without a court notice."""
    from models.tables import Recordation
    from services.applications import file_application, review_application
    from services.sweep import advance_detention_clocks

    with session_scope(readonly=True) as s:
        rec = s.exec(select(Recordation.number).where(Recordation.brand == "CHANEL")).one()
    numbers = []
    for i in (1, 2):
        numbers.append(file_application(actor="chanel.agent", now=at, application={
            "customs_office": "CAPAIR", "declaration_no": f"01012026030200090{i}", "direction": "export",
            "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}, "recordation": rec,
            "lines": [{"description": "手袋 Handbags", "quantity": 5, "unit": "pcs", "value": "36000.00"}],
            "grounds": "样品经鉴定为假冒。"})["case_number"])
    review_application(case_number=numbers[0], actor="ipr.li", now=at, review={
        "decision": "accepted", "form": "guarantee", "amount": "36000.00", "bank": "中国银行", "letter_no": "BG-1"})
    review_application(case_number=numbers[1], actor="ipr.li", now=at, review={
        "decision": "rejected", "reason": "证据不足：未附送本批货物侵权的证据。"})
    advance_detention_clocks(now=at + timedelta(days=60))


def _wording_tables() -> str:
    """Every character of the wording tables of ``services.documents.wording``."""
    from services.documents import wording as d

    parts = [d.REG, d.MEAS, d.REG_EN, d.MEAS_EN, d.CN_DIGITS, *d.MONTHS, *d.KIND_CODE.values()]
    parts += [t for title in d.TITLES.values() for t in (title.zh, title.en)]
    for zh, en, basis in d.RELEASE_WHY.values():
        parts += [zh, en, basis.zh, basis.en]
    return "".join(parts)


def _font_cmaps() -> tuple[set[int], set[int], set[int]]:
    """The characters of the chosen CJK face and of the two Latin fonts, read with fontTools directly."""
    from fontTools import ttLib

    from adapters.pdf import CJK_FACE, CJK_FONT, LATIN_BOLD_FONT, LATIN_FONT

    assert CJK_FONT.name == "NotoSansCJK-Regular.ttc"
    faces = [f for f in ttLib.TTCollection(str(CJK_FONT), lazy=True).fonts if f["name"].getDebugName(1) == CJK_FACE]
    assert len(faces) == 1
    cjk = set(faces[0].getBestCmap())
    latin = set(ttLib.TTFont(str(LATIN_FONT), lazy=True).getBestCmap())
    bold = set(ttLib.TTFont(str(LATIN_BOLD_FONT), lazy=True).getBestCmap())
    return cjk, latin, bold


def test_every_character_of_every_kind_of_document_has_a_glyph(sqlite_db: str) -> None:
    from dataclasses import replace

    from adapters.pdf import Bilingual, printed_text, render
    from models.enums import DocumentKind

    planned = _every_kind_of_document()
    assert {p.kind for p in planned} == set(DocumentKind)
    tables = _wording_tables()
    assert "〈" in tables and "〉" in tables and "《" in tables
    cjk, latin, bold = _font_cmaps()
    assert {0x3008, 0x3009} <= cjk
    for p in planned:
        # the document as issued, and with every character of the wording tables added to it
        doc = replace(p.doc, after_goods=(*p.doc.after_goods, Bilingual(tables, tables)))
        text = printed_text(doc)
        blank = sorted({ch for ch in text if ch != "\n" and ord(ch) not in cjk and not {ord(ch)} <= latin & bold})
        assert blank == [], f"{p.kind}: no glyph for {blank}"
        data = render(doc)
        assert flat("〈中华人民共和国知识产权海关保护条例〉") in flat(pdf_text(data)), p.kind


def test_a_character_no_font_has_is_refused_not_printed_blank(sqlite_db: str) -> None:
    from dataclasses import replace

    from adapters.pdf import Bilingual, GlyphsMissing, render
    from models.tables import Notice
    from services.documents import plan_confirmation

    case = open_seed_case("ROLEX")
    with session_scope(readonly=True) as s:
        doc = plan_confirmation(s, s.get(Notice, notice_of(case, "ROLEX").id)).doc
    cjk, latin, bold = _font_cmaps()
    nowhere = next(chr(c) for c in range(0xE000, 0xF900) if c not in cjk | latin | bold)  # a private-use character
    with pytest.raises(GlyphsMissing, match=f"U\\+{ord(nowhere):04X}"):
        render(replace(doc, paragraphs=(Bilingual(f"品名{nowhere}", "x"), *doc.paragraphs)))


def test_a_missing_font_names_the_package_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import adapters.pdf as pdf

    gone = tmp_path / "NotoSansCJK-Regular.ttc"
    monkeypatch.setattr(pdf, "CJK_FONT", gone)
    monkeypatch.setitem(pdf.FONT_PACKAGES, gone, "fonts-noto-cjk")
    with pytest.raises(pdf.FontMissing, match="fonts-noto-cjk"):
        pdf.missing_glyphs("确权")


# --- the office's seal -----------------------------------------------------------------------------


def seal_png(width: int = 300, height: int = 300, *, mode: str = "RGBA", fmt: str = "PNG") -> bytes:
    """A red round seal on a transparent ground (``mode="RGB"``: on white)."""
    from PIL import Image, ImageDraw

    im = Image.new(mode, (width, height), (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255))
    ImageDraw.Draw(im).ellipse((4, 4, width - 5, height - 5), outline=(200, 20, 20), width=max(3, width // 25))
    out = io.BytesIO()
    im.save(out, format=fmt)
    return out.getvalue()


def _images(data: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)


def test_an_office_seal_is_printed_over_its_name_on_the_documents_it_issues(db: str, store: MemoryStore) -> None:
    from models.tables import CustomsOffice, TimelineEntry
    from services.audit import verify_timeline
    from services.offices import set_office_seal

    case = open_seed_case("CHANEL", "NIKE")
    unsealed = issue_for_notice(notice_id=notice_of(case, "NIKE").id, store=store)
    assert _images(store.objects[f"documents/{case.number}/{unsealed.number}.pdf"]) == 0  # no seal, no placeholder

    png = seal_png()
    out = set_office_seal(office="CAPAIR", actor="admin", data=png, now=FOUND + timedelta(seconds=1), store=store)
    assert out.sha256 == hashlib.sha256(png).hexdigest() and store.objects[out.key] == png
    with session_scope(readonly=True) as s:
        office = s.exec(select(CustomsOffice).where(CustomsOffice.code == "CAPAIR")).one()
        assert (office.seal_key, office.seal_sha256, office.seal_size) == (out.key, out.sha256, len(png))
        entry = s.exec(select(TimelineEntry).where(TimelineEntry.action == "office.seal_set")).one()
        assert entry.case_id is None and entry.actor == "admin" and entry.after["sha256"] == out.sha256
    assert verify_timeline().intact

    sealed = issue_for_notice(notice_id=notice_of(case, "CHANEL").id, store=store)
    data = store.objects[f"documents/{case.number}/{sealed.number}.pdf"]
    assert _images(data) == 1
    with session_scope(readonly=True) as s:
        issued = s.exec(select(TimelineEntry).where(TimelineEntry.subject == f"document:{sealed.number}")).one()
        assert issued.after["seal_sha256"] == out.sha256
    image = PdfReader(io.BytesIO(data)).pages[-1].images[0].image
    assert image.mode == "RGBA"  # the transparency is kept: the name under the seal stays legible
    assert "首都机场海关（印）" in flat(pdf_text(data))


@pytest.mark.parametrize(("seal", "reason"), [
    (lambda: seal_png(fmt="JPEG", mode="RGB"), "not a PNG"),
    (lambda: seal_png(300, 340), "not square"),
    (lambda: seal_png(mode="RGB"), "no transparency"),
    (lambda: seal_png() + b"\0" * (2 * 1024 * 1024), "at most 2 MB"),
    (lambda: b"", "empty"),
])
def test_a_seal_that_cannot_be_one_is_refused_naming_the_field(sqlite_db: str, store: MemoryStore, seal, reason) -> None:  # noqa: ANN001
    from models.rules.errors import InvalidInput
    from models.tables import CustomsOffice
    from services.offices import set_office_seal

    with pytest.raises(InvalidInput, match=reason) as caught:
        set_office_seal(office="CAPAIR", actor="admin", data=seal(), now=FOUND, store=store)
    assert caught.value.field == "seal"
    assert store.objects == {}
    with session_scope(readonly=True) as s:
        assert s.exec(select(CustomsOffice.seal_key).where(CustomsOffice.code == "CAPAIR")).one() is None


def test_a_square_enough_seal_is_accepted_and_only_an_administrator_sets_it(sqlite_db: str, store: MemoryStore) -> None:
    from models.rules.errors import PermissionDenied
    from services.offices import set_office_seal

    with pytest.raises(PermissionDenied):
        set_office_seal(office="CAPAIR", actor="ipr.li", data=seal_png(), now=FOUND, store=store)
    with pytest.raises(NotFound):
        set_office_seal(office="NOWHERE", actor="admin", data=seal_png(), now=FOUND, store=store)
    assert store.objects == {}
    out = set_office_seal(office="CAPAIR", actor="admin", data=seal_png(300, 330), now=FOUND, store=store)
    assert (out.width, out.height, out.replaced) == (300, 330, None)


def test_the_cli_sets_a_seal_and_refuses_a_bad_one_in_one_line_exit_2(sqlite_db: str, store: MemoryStore,
                                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    import yunque.bootstrap
    from yunque.cli import app

    plain = yunque.bootstrap.bootstrap
    monkeypatch.setattr(yunque.bootstrap, "bootstrap", lambda **kw: plain(**{"store": store, **kw}))
    good, bad = tmp_path / "seal.png", tmp_path / "seal.jpg"
    good.write_bytes(seal_png())
    bad.write_bytes(seal_png(fmt="JPEG", mode="RGB"))
    r = CliRunner().invoke(app, ["office", "seal", "CAPAIR", str(good), "--as", "admin", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sha256"] == hashlib.sha256(good.read_bytes()).hexdigest()
    r = CliRunner().invoke(app, ["office", "seal", "CAPAIR", str(bad), "--as", "admin"])
    assert r.exit_code == 2
    assert r.stderr.strip().count("\n") == 0 and "seal:" in r.stderr


def test_a_statute_is_cited_in_full_once_then_by_its_short_title() -> None:
    from services.documents import MEAS, REG, cite_once

    texts = cite_once((f"依照{REG}第十六条和{MEAS}第二十一条的规定", "（《条例》第十六条，《实施办法》第二十二条）",
                       f"依照{REG}第二十条", "无引用"))
    assert texts[0] == (f"依照{REG}（以下简称《条例》）第十六条和{MEAS}（以下简称《实施办法》）第二十一条的规定")
    assert texts[1:] == ("（《条例》第十六条，《实施办法》第二十二条）", "依照《条例》第二十条", "无引用")
    # a first mention by the short title is written out in full
    assert cite_once(("（《条例》第二十条）", "《条例》"))[0] == f"（{REG}（以下简称《条例》）第二十条）"


def test_every_document_cites_each_statute_in_full_once_in_its_text(sqlite_db: str) -> None:
    from services.documents import STATUTES

    for p in _every_kind_of_document():
        text = "".join(par.zh for par in (*p.doc.paragraphs, *p.doc.after_goods))
        for full, short in STATUTES:
            assert text.count(full) <= 1, (p.kind, full)
            if short in text:
                assert text.count(f"{full}（以下简称{short}）") == 1, (p.kind, short)
                assert text.index(full) < text.index(f"{short}"), (p.kind, short)
