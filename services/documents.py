"""Legal documents (法律文书): issued once, stored as evidence, readable only by those entitled.

A document is issued once per (notice or decision, kind, addressee): its number is derived from those
three, so asking again returns the document already issued and two concurrent requests cannot issue
two. The PDF is rendered from the database alone: its date, its PDF creation date and the
``Document.issued_at`` are the act's own time (the notice's issue, the decision's moment), never the
clock, so the same act always renders to the same bytes. The timeline entry carries the moment the
file was actually produced. The PDF is stored in the evidence store under
``documents/<case>/<number>.pdf`` with its SHA-256 and size in the ``Document`` row, written to the
timeline, and announced on the outbox as ``document.issued`` (the process then serves it:
``services.delivery``).

Which documents, to whom:

| source | kind | addressee |
|---|---|---|
| confirmation notice | 确权通知书 confirmation_notice | the rights holder |
| decision "released" | 放行通知书 release_notice | each rights holder of the lines, and the consignor (unless the goods were never held on an application) |
| decision "detained" | 扣留通知书 detention_notice / 扣留凭单 detention_receipt | the rights holder / the consignor; on application with the 20-working-day court clock (Reg 15, 24(1)) |
| decision "undetermined" | 不能认定通知书 undetermined_notice | the rights holder and the consignor (Reg 20, Meas 28) |
| decision "confiscated" | 没收决定书 confiscation_decision | the rights holder and the consignor |
| decision "transferred" | 案件移送告知书 transfer_notice | the rights holder and the consignor |
| application rejected | 驳回扣留申请通知书 rejection_notice | the applicant only (Reg 15) |
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from adapters.db import session_scope
from adapters.objectstore import ObjectStore
from adapters.pdf import Bilingual, GoodsTable, LegalDocument, render
from models.docs import VerificationOut
from models.enums import DocumentKind, LineState, Reason, Role, Route
from models.rules.bonds import ex_officio_bond
from models.rules.errors import InvalidInput, NotFound
from models.rules.workdays import SHANGHAI
from models.schemas import DocumentOut
from models.tables import (
    Answer,
    Case,
    Consignor,
    CustomsOffice,
    Decision,
    Document,
    GeneralBond,
    Line,
    Notice,
    Recordation,
    RightsHolder,
    Shipment,
)
from services.cases import consignor_knows, visible_case
from services.context import Actor, load_actor, now_or, publish, record, system_actor
from yunque.settings import get_settings

PDF = "application/pdf"

KIND_CODE: dict[DocumentKind, str] = {
    DocumentKind.CONFIRMATION_NOTICE: "CN",
    DocumentKind.DETENTION_NOTICE: "DN",
    DocumentKind.DETENTION_RECEIPT: "DR",
    DocumentKind.RELEASE_NOTICE: "RN",
    DocumentKind.UNDETERMINED_NOTICE: "UN",
    DocumentKind.CONFISCATION_DECISION: "CD",
    DocumentKind.TRANSFER_NOTICE: "TN",
    DocumentKind.REJECTION_NOTICE: "RJ",
}

TITLES: dict[DocumentKind, Bilingual] = {
    DocumentKind.CONFIRMATION_NOTICE: Bilingual("确权通知书", "Notice to Confirm Intellectual Property Rights"),
    DocumentKind.DETENTION_NOTICE: Bilingual("扣留通知书", "Notice of Detention"),
    DocumentKind.DETENTION_RECEIPT: Bilingual("扣留凭单", "Detention Receipt"),
    DocumentKind.RELEASE_NOTICE: Bilingual("放行通知书", "Notice of Release"),
    DocumentKind.UNDETERMINED_NOTICE: Bilingual("不能认定通知书", "Notice that Infringement Cannot Be Determined"),
    DocumentKind.CONFISCATION_DECISION: Bilingual("没收决定书", "Decision of Confiscation"),
    DocumentKind.TRANSFER_NOTICE: Bilingual("案件移送告知书", "Notice of Transfer to the Police"),
    DocumentKind.REJECTION_NOTICE: Bilingual("驳回扣留申请通知书", "Notice Rejecting an Application for Detention"),
}

REG = "《中华人民共和国知识产权海关保护条例》"
# A title inside a title takes the inner marks 〈〉 (U+3008, U+3009): the CJK font (Noto Sans CJK) has them.
MEAS = "《中华人民共和国海关关于〈中华人民共和国知识产权海关保护条例〉的实施办法》"
REG_EN = "Regulations of the People's Republic of China on Customs Protection of Intellectual Property Rights"
MEAS_EN = "GACC Measures implementing the Regulations (Order 183, amended by Order 240)"

_CN_DIGITS = "〇一二三四五六七八九"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


class DocumentAltered(Exception):
    """The stored object no longer has the hash recorded at issue: the evidence store was tampered with."""

    def __init__(self, number: str, recorded: str, found: str):
        self.number, self.recorded, self.found = number, recorded, found
        super().__init__(f"document {number}: the stored file's SHA-256 {found} differs from {recorded} recorded at issue")


class StoreMismatch(Exception):
    """The object store reported another hash or size than the bytes handed to it."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(f"the evidence store stored {key} with another hash or size than was sent")


class VerifyIn(BaseModel):
    """What the public verification page is given: a document number and the file or its hash."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    number: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9-]+$")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


# --- wording -------------------------------------------------------------------------------------


def zh_date(dt: datetime) -> str:
    d = dt.astimezone(SHANGHAI)
    return f"{d.year}年{d.month}月{d.day}日"


def en_date(dt: datetime) -> str:
    d = dt.astimezone(SHANGHAI)
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _day(d) -> tuple[str, str]:  # noqa: ANN001  (a date)
    return f"{d.year}年{d.month}月{d.day}日", f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _time(dt: datetime) -> tuple[str, str]:
    d = dt.astimezone(SHANGHAI)
    return f"{zh_date(d)} {d:%H:%M}（北京时间）", f"{en_date(d)}, {d:%H:%M} Beijing time"


def _due(d) -> str:  # noqa: ANN001  (a date or None)
    """A clock's last day, or why it is not known yet (its year's working-day schedule is not loaded)."""
    if d is None:
        return "待定（工作日安排尚未公布）\npending: the year's working-day schedule is not yet published"
    zh, en = _day(d)
    return f"{zh}\n{en}"


def _rmb(v: Decimal) -> str:
    return f"{v:,.2f}"


def _qty(ln: Line) -> str:
    return f"{ln.quantity} {ln.unit}"


@dataclass(frozen=True)
class Planned:
    """A document about to be issued: what it says, where it goes, whom it is for."""

    kind: DocumentKind
    number: str
    key: str
    case_id: int
    case_number: str
    notice_id: int | None
    decision_id: int | None
    rights_holder_id: int | None
    consignor_id: int | None
    addressee: str
    doc: LegalDocument


@dataclass(frozen=True)
class _Facts:
    case: Case
    shipment: Shipment
    office: CustomsOffice
    consignor: Consignor


def _facts(s: Session, case_id: int) -> _Facts:
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id)
    ship = s.get(Shipment, case.shipment_id)
    office = s.get(CustomsOffice, case.customs_office_id)
    consignor = s.get(Consignor, ship.consignor_id) if ship else None
    if ship is None or office is None or consignor is None:
        raise NotFound("shipment of case", case.number)
    return _Facts(case, ship, office, consignor)


def document_number(*, office_code: str, kind: DocumentKind, dated: datetime, source_id: int,
                    addressee: str | None = None) -> str:
    """``CAPAIR-CN-2026-000017`` for notice 17; ``CAPAIR-RN-2026-000042-C3`` for decision 42 to consignor 3.

    One number per (source, kind, addressee): the unique number is what makes issuing idempotent."""
    year = dated.astimezone(SHANGHAI).year
    base = f"{office_code}-{KIND_CODE[kind]}-{year}-{source_id:06d}"
    return f"{base}-{addressee}" if addressee else base


def _verify_url(number: str) -> str:
    return get_settings().public_url.rstrip("/") + f"/verify?doc={number}"


def _particulars(f: _Facts, to: str, *extra: tuple[Bilingual, str]) -> tuple[tuple[Bilingual, str], ...]:
    return (
        (Bilingual("致", "To"), to),
        (Bilingual("案件编号", "Case no."), f.case.number),
        (Bilingual("报关单号", "Declaration no."), f.shipment.declaration_no),
        *extra,
    )


def _consignor_row(f: _Facts) -> tuple[Bilingual, str]:
    """The consignor, named on notices to the rights holder (Meas 21, 22)."""
    return (Bilingual("收发货人", "Consignor"), f"{f.consignor.name}（USCC {f.consignor.uscc}）")


def _direction(f: _Facts) -> tuple[str, str]:
    return ("出口", "export") if f.shipment.direction == "export" else ("进口", "import")


def _goods(lines: list[Line], recs: dict[int, Recordation], *, with_recordation: bool = True,
           extra: tuple[tuple[Bilingual, int, dict[int, str]], ...] = ()) -> GoodsTable:
    headers = [Bilingual("序号", "No."), Bilingual("品名", "Description"), Bilingual("商标", "Brand")]
    widths = [8, 46, 18]
    if with_recordation:
        headers.append(Bilingual("备案号", "Recordation"))
        widths.append(20)
    headers += [Bilingual("数量", "Quantity"), Bilingual("价值（人民币元）", "Value (RMB)")]
    widths += [14, 18]
    for h, w, _ in extra:
        headers.append(h)
        widths.append(w)
    rows = []
    for ln in lines:
        row = [str(ln.number), ln.description, ln.brand]
        if with_recordation:
            rec = recs.get(ln.recordation_id)
            row.append(rec.number if rec else "")
        row += [_qty(ln), _rmb(ln.value)]
        for _, _, values in extra:
            row.append(values.get(ln.id, ""))  # type: ignore[arg-type]
        rows.append(tuple(row))
    n = len(headers)
    right = (n - 1 - len(extra), n - 2 - len(extra))
    total = sum((ln.value for ln in lines), Decimal("0"))
    if len(lines) > 1:
        blank = [""] * n
        blank[1] = f"合计 Total: {sum(ln.quantity for ln in lines)} items, {len(lines)} lines"
        blank[n - 1 - len(extra)] = _rmb(total)
        rows.append(tuple(blank))
    return GoodsTable(headers=tuple(headers), rows=tuple(rows), widths=tuple(widths), align_right=right)


def _recs(s: Session, lines: Iterable[Line]) -> dict[int, Recordation]:
    ids = {ln.recordation_id for ln in lines}
    return {r.id: r for r in s.exec(select(Recordation).where(col(Recordation.id).in_(ids)))}  # type: ignore[misc]


def _basis(zh_reg: str, zh_meas: str, en_reg: str, en_meas: str) -> Bilingual:
    zh = f"{REG}{zh_reg}" + (f"；{MEAS}{zh_meas}" if zh_meas else "") + "。"
    en = f"{REG_EN}, {en_reg}" + (f"; {MEAS_EN}, {en_meas}" if en_meas else "") + "."
    return Bilingual(zh, en)


#: the statutes a document's Chinese text cites: (full title, short title)
STATUTES = ((REG, "《条例》"), (MEAS, "《实施办法》"))


def cite_once(texts: tuple[str, ...]) -> tuple[str, ...]:
    """The Chinese text of a document cites each statute in full once, at its first mention, with the short
    title it goes by afterwards ("（以下简称《条例》）"), and by the short title everywhere after that."""
    out = list(texts)
    for full, short in STATUTES:
        first = True
        for i, text in enumerate(out):
            pieces = text.replace(full, short).split(short)
            if len(pieces) == 1:
                continue
            rebuilt = pieces[0]
            for piece in pieces[1:]:
                rebuilt += (f"{full}（以下简称{short}）" if first else short) + piece
                first = False
            out[i] = rebuilt
    return tuple(out)


def _cited(paragraphs: tuple[Bilingual, ...], after: tuple[Bilingual, ...]) -> tuple[tuple[Bilingual, ...], tuple[Bilingual, ...]]:
    zh = cite_once(tuple(p.zh for p in (*paragraphs, *after)))
    both = tuple(replace(p, zh=z) for p, z in zip((*paragraphs, *after), zh, strict=True))
    return both[:len(paragraphs)], both[len(paragraphs):]


def _legal(kind: DocumentKind, number: str, f: _Facts, dated: datetime, extra: tuple[tuple[Bilingual, str], ...],
           to: str, paragraphs: tuple[Bilingual, ...], goods: GoodsTable, after: tuple[Bilingual, ...],
           basis: Bilingual) -> LegalDocument:
    paragraphs, after = _cited(paragraphs, after)
    return LegalDocument(
        number=number,
        title=TITLES[kind],
        office=Bilingual(f.office.name, f.office.name_en),
        dated=dated,
        date_text=Bilingual(zh_date(dated), en_date(dated)),
        particulars=_particulars(f, to, *extra),
        paragraphs=paragraphs,
        goods=goods,
        after_goods=after,
        legal_basis=basis,
        verify_url=_verify_url(number),
        keywords=(kind.value, f.case.number),
    )


# --- the five documents --------------------------------------------------------------------------


def plan_confirmation(s: Session, notice: Notice) -> Planned:
    """确权通知书 to the rights holder: the lines concerned, the deadline, how to answer (Reg 16, Meas 41)."""
    f = _facts(s, notice.case_id)
    if f.case.route == Route.APPLICATION:
        raise InvalidInput("notice_id", f"{f.case.number} is a rights holder's application: there is no confirmation notice")
    holder = s.get(RightsHolder, notice.rights_holder_id)
    if holder is None:
        raise NotFound("rights holder", notice.rights_holder_id)
    lines = list(s.exec(select(Line).where(Line.notice_id == notice.id).order_by(Line.number)))
    kind = DocumentKind.CONFIRMATION_NOTICE
    number = document_number(office_code=f.office.code, kind=kind, dated=notice.issued_at, source_id=notice.id)  # type: ignore[arg-type]
    dzh, den = _direction(f)
    portal = get_settings().public_url.rstrip("/")
    opening = Bilingual(
        f"{holder.name}：本关在对{dzh}报关单（编号{f.shipment.declaration_no}）项下货物查验中，发现下列货物涉嫌侵犯"
        f"贵方已在海关总署备案的知识产权。依照{REG}第十六条和{MEAS}第二十一条的规定，本关已中止放行下列货物，现书面通知贵方。",
        f"In inspecting the goods of {den} declaration no. {f.shipment.declaration_no}, this office found the goods "
        "listed below suspected of infringing intellectual property rights of yours recorded with the General "
        "Administration of Customs. Under Article 16 of the Regulations and Article 21 of the Measures, their release "
        "has been suspended, of which you are hereby notified.",
    )
    if notice.deadline is not None and notice.served_at is not None:
        szh, sen = _time(notice.served_at)
        lzh, len_ = _day(notice.deadline)
        deadline = Bilingual(
            f"本通知已于{szh}送达。请贵方自送达之次日起3个工作日内，即于{lzh}24:00（北京时间）前予以答复"
            f"（《条例》第十六条，{MEAS}第二十二条、第四十一条）。",
            f"This notice was served on {sen}. Please answer within 3 working days counted from the day after service, "
            f"that is by 24:00 Beijing time on {len_} (Regulations, Art. 16; Measures, Arts. 22 and 41).",
        )
    else:
        deadline = Bilingual(
            f"请贵方自本通知送达之次日起3个工作日内予以答复（《条例》第十六条，{MEAS}第二十二条、第四十一条）。"
            "答复期限的最后一日按送达时间计算，送达后在云确门户中显示。",
            "Please answer within 3 working days counted from the day after this notice is served (Regulations, "
            "Art. 16; Measures, Arts. 22 and 41). "
            "The last day is computed from the moment of service and shown in the Yunque portal once served.",
        )
    how = Bilingual(
        f"答复方式：登录云确门户（{portal}），打开本通知，对每项货物作出认定（侵权或不侵权）。认为侵权并要求海关扣留的，"
        f"应在答复中提出扣留申请，并按规定提供担保（{MEAS}第二十三条、第二十四条）。",
        f"How to answer: sign in to the Yunque portal ({portal}), open this notice and give a verdict for each line "
        "(infringing or not infringing). To have infringing goods detained, apply for detention in the same answer and "
        "provide the bond required (Measures, Arts. 23 and 24).",
    )
    required = ex_officio_bond(sum((ln.value for ln in lines), Decimal("0")))
    bond = Bilingual(
        f"担保：扣留上述全部货物须提供人民币{_rmb(required)}元的担保（货物价值按{MEAS}第二十三条计算；只申请扣留部分货物的，"
        "按该部分货物的价值计算）。担保可以是向本关缴纳的保证金，或者银行出具的保函（写明金额、银行和保函编号，"
        f"原件或扫描件交本关），经本关收取并审核后扣留货物（{MEAS}第三十八条）；已向海关总署提供有效总担保的，"
        f"可以在答复中选择以总担保提供（{MEAS}第二十四条）。",
        f"Bond: detaining all the goods listed requires a bond of RMB {_rmb(required)} (Measures, Art. 23, on their "
        "value; for part of the goods, on the value of that part). It is a deposit paid to this office or a bank "
        "guarantee letter (stating its amount, bank and letter number, the original or a scan delivered to this "
        "office); the goods are detained once this office has received and checked it (Measures, Art. 38). A rights "
        "holder with a valid general bond (总担保) may choose it in its answer instead (Measures, Art. 24).",
    )
    viewing = Bilingual(
        "查看货物：贵方可在门户中申请远程查看（云确）或到现场查看货物，经海关同意后进行（《条例》第十七条）。",
        "Viewing the goods: you may ask in the portal to view the goods remotely (云确, a live session with the "
        "inspection site) or on site; customs approves the viewing (Regulations, Art. 17).",
    )
    silence = Bilingual(
        "逾期未答复，或者要求扣留但未按规定提供担保的，海关将放行上述货物（《条例》第十六条，《实施办法》第二十五条）。",
        "If you do not answer by the deadline, or ask for detention without providing the bond, customs will release "
        "the goods (Regulations, Art. 16; Measures, Art. 25).",
    )
    doc = _legal(kind, number, f, notice.issued_at, ((Bilingual("中止放行日期", "Release suspended on"),
                                                       f"{zh_date(notice.issued_at)} / {en_date(notice.issued_at)}"),
                                                      _consignor_row(f)),
                 holder.name, (opening,), _goods(lines, _recs(s, lines)), (deadline, how, bond, viewing, silence),
                 _basis("第十六条、第十七条", "第二十一条、第二十二条、第二十三条、第二十四条、第二十五条、第三十八条、第四十一条",
                        "Arts. 16 and 17", "Arts. 21, 22, 23, 24, 25, 38 and 41"))
    return Planned(kind, number, f"documents/{f.case.number}/{number}.pdf", f.case.id, f.case.number,  # type: ignore[arg-type]
                   notice.id, None, holder.id, None, holder.name, doc)


_RELEASE_WHY: dict[str, tuple[str, str, Bilingual]] = {
    Reason.CLEARED.value: ("权利人认为上述货物未侵犯其知识产权", "the rights holder stated that they do not infringe its rights",
                           _basis("第十六条", "第二十五条", "Art. 16", "Art. 25")),
    Reason.NO_DETENTION.value: ("权利人未申请扣留上述货物", "the rights holder did not apply for their detention",
                                _basis("第十六条", "第二十五条", "Art. 16", "Art. 25")),
    Reason.EXPIRED.value: ("权利人未在规定期限内答复", "the rights holder did not answer within the time allowed",
                           _basis("第十六条", "第二十五条、第四十一条", "Art. 16", "Arts. 25 and 41")),
    Reason.NO_BOND.value: ("权利人申请扣留但未在规定期限内提供担保", "the rights holder applied for detention but did not provide the bond in time",
                           _basis("第十六条", "第二十三条、第二十五条", "Art. 16", "Arts. 23 and 25")),
    Reason.NO_COURT_NOTICE.value: ("自扣留之日起50个工作日内未收到人民法院协助执行通知",
                                   "no court notice of assistance arrived within 50 working days of detention",
                                   _basis("第二十四条", "", "Art. 24", "")),
    Reason.COUNTER_BOND.value: ("收发货人已提供与货物等值的担保金", "the consignor posted a bond equal to the value of the goods",
                                _basis("第十九条、第二十四条", "", "Arts. 19 and 24", "")),
    Reason.NOT_MATCHED.value: ("经审核，上述货物不属于备案知识产权的保护范围（核定使用商品类别或被许可人）",
                               "on review they fall outside the recorded right (its classes of goods or its licensees)",
                               _basis("第十六条", "第二十一条", "Art. 16", "Art. 21")),
    Reason.STATEMENT_ACCEPTED.value: ("收发货人书面说明理由并附送证据，本关审查后予以采纳",
                                      "this office accepted the consignor's written statement and evidence",
                                      _basis("第十八条、第二十四条", "", "Arts. 18 and 24", "")),
    Reason.NOT_INFRINGING.value: ("经调查，本关认定上述货物未侵犯知识产权", "this office's investigation found no infringement",
                                  _basis("第二十条、第二十四条", "第二十八条", "Arts. 20 and 24", "Art. 28")),
    Reason.NO_COURT_ORDER.value: ("自依权利人申请扣留之日起20个工作日内未收到人民法院协助执行通知",
                                  "no court notice of assistance arrived within 20 working days of their detention on "
                                  "the rights holder's application",
                                  _basis("第二十四条第（一）项", "", "Art. 24(1)", "")),
    Reason.WITHDRAWN.value: ("权利人撤回了扣留申请", "the rights holder withdrew its application for detention",
                             _basis("第二十四条", "", "Art. 24", "")),
}


def _decision_lines(s: Session, decision: Decision) -> list[Line]:
    return list(s.exec(select(Line).where(col(Line.id).in_(decision.line_ids)).order_by(Line.number)))


def _by_holder(lines: list[Line]) -> dict[int, list[Line]]:
    out: dict[int, list[Line]] = {}
    for ln in lines:
        out.setdefault(ln.rights_holder_id, []).append(ln)
    return out


def plan_decision(s: Session, decision: Decision) -> list[Planned]:
    """The documents a decision calls for, by its kind (see the table in this module's docstring)."""
    lines = _decision_lines(s, decision)
    if not lines:
        return []
    f = _facts(s, decision.case_id)
    recs = _recs(s, lines)
    holders = {h.id: h for h in s.exec(select(RightsHolder).where(col(RightsHolder.id).in_({ln.rights_holder_id for ln in lines})))}
    at = decision.decided_at

    def plan(kind: DocumentKind, to_holder: RightsHolder | None, extra: tuple, paragraphs: tuple,
             goods: GoodsTable, after: tuple, basis: Bilingual) -> Planned:
        who = f"R{to_holder.id}" if to_holder is not None else f"C{f.consignor.id}"
        number = document_number(office_code=f.office.code, kind=kind, dated=at, source_id=decision.id, addressee=who)  # type: ignore[arg-type]
        to = to_holder.name if to_holder is not None else f"{f.consignor.name}（统一社会信用代码 USCC {f.consignor.uscc}）"
        doc = _legal(kind, number, f, at, extra, to, paragraphs, goods, after, basis)
        return Planned(kind, number, f"documents/{f.case.number}/{number}.pdf", f.case.id, f.case.number,  # type: ignore[arg-type]
                       decision.notice_id, decision.id, to_holder.id if to_holder else None,
                       None if to_holder else f.consignor.id, to_holder.name if to_holder else f.consignor.name, doc)

    c = _DecisionPlan(s, decision, f, lines, recs, holders, plan)
    if decision.reason == Reason.APPLICATION_REJECTED.value:
        return _plan_rejection(c)
    if decision.reason == Reason.APPLICATION_ACCEPTED.value:
        return _plan_detention_on_application(c)
    by_kind = {LineState.RELEASED.value: _plan_release, LineState.DETAINED.value: _plan_detention,
               LineState.UNDETERMINED.value: _plan_undetermined, LineState.CONFISCATED.value: _plan_confiscation,
               LineState.TRANSFERRED.value: _plan_transfer}
    planner = by_kind.get(decision.kind)
    return planner(c) if planner is not None else []


@dataclass(frozen=True)
class _DecisionPlan:
    """What every document of one decision is written from."""

    s: Session
    decision: Decision
    f: _Facts
    lines: list[Line]
    recs: dict[int, Recordation]
    holders: dict[int, RightsHolder]
    plan: Callable[..., Planned]


def _plan_release(c: _DecisionPlan) -> list[Planned]:
    """放行通知书 to each rights holder of the lines and, unless the goods were never held, to the consignor."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = _direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    why_zh, why_en, basis = _RELEASE_WHY.get(decision.reason, ("", "", _basis("第二十四条", "", "Art. 24", "")))
    day = ((Bilingual("放行日期", "Released on"), f"{zh_date(at)} / {en_date(at)}"),)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        para = Bilingual(f"{dzh}报关单（编号{decl}）项下的下列货物，因{why_zh}，本关决定予以放行。",
                         f"The goods listed below, of {den} declaration no. {decl}, are released because {why_en}.")
        out.append(plan(DocumentKind.RELEASE_NOTICE, holders[holder_id], day, (para,), _goods(hl, recs), (), basis))
    para = Bilingual(f"你单位{dzh}报关单（编号{decl}）项下的下列货物，因{why_zh}，本关决定予以放行。",
                     f"The goods listed below, of your {den} declaration no. {decl}, are released because {why_en}.")
    if consignor_knows(f.case):  # an application withdrawn before any detention never concerned the consignor
        out.append(plan(DocumentKind.RELEASE_NOTICE, None, day, (para,), _goods(lines, recs, with_recordation=False),
                        (), basis))
    return out


def _plan_detention(c: _DecisionPlan) -> list[Planned]:
    """扣留通知书 to each rights holder, 扣留凭单 to the consignor (ex officio: Reg 16, 20, 24)."""
    s, decision, f, lines, recs, holders, plan = c.s, c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = _direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("扣留日期", "Detained on"), f"{zh_date(at)} / {en_date(at)}"),)
    due = {ln.id: _due(ln.investigation_due) for ln in lines}
    due_col = ((Bilingual("调查期限", "Investigation until"), 20, due),)
    bond = _bond_text(s, decision)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = [Bilingual(
            f"贵方就{dzh}报关单（编号{decl}）项下的下列货物提出了扣留申请并提供了担保。依照{REG}第十六条的规定，"
            f"本关于{zh_date(at)}扣留下列货物。",
            f"You applied for the detention of the goods listed below, of {den} declaration no. {decl}, and provided "
            f"a bond. Under Article 16 of the Regulations, this office detained them on {en_date(at)}.")]
        if bond is not None:
            paras.append(bond)
        after = (
            Bilingual("本关将自扣留之日起30个工作日内对被扣留货物是否侵犯贵方知识产权进行调查认定"
                      "（《条例》第二十条，《实施办法》第二十八条）。",
                      "This office will investigate within 30 working days of the detention whether the goods "
                      "infringe your rights (Regulations, Art. 20; Measures, Art. 28)."),
            Bilingual("贵方可以就被扣留的货物向人民法院申请采取责令停止侵权行为或者财产保全的措施；海关收到人民法院"
                      "协助执行通知的，予以协助（《条例》第二十四条）。",
                      "You may ask a people's court to order the infringement stopped or the property preserved; "
                      "customs assists on a court's notice of assistance (Regulations, Art. 24)."),
        )
        out.append(plan(DocumentKind.DETENTION_NOTICE, holders[holder_id], (*day, _consignor_row(f)), tuple(paras),
                        _goods(hl, recs, extra=due_col), after,
                        _basis("第十六条、第二十条、第二十四条", "第二十三条、第二十四条、第二十八条",
                               "Arts. 16, 20 and 24", "Arts. 23, 24 and 28")))
    names_zh = "、".join(holders[h].name for h in sorted(holders))
    para = Bilingual(
        f"你单位{dzh}报关单（编号{decl}）项下的下列货物涉嫌侵犯{names_zh}已在海关总署备案的知识产权，"
        f"经权利人申请并提供担保，本关依照{REG}第十六条的规定，于{zh_date(at)}予以扣留。特此出具扣留凭单。",
        f"The goods listed below, of your {den} declaration no. {decl}, are suspected of infringing intellectual "
        f"property rights of {names_zh} recorded with the General Administration of Customs. On the rights "
        f"holder's application and bond, this office detained them on {en_date(at)} under Article 16 of the "
        "Regulations. This receipt is issued to you.")
    patent = any(r.right_type == "patent" for r in recs.values())
    after = (
        Bilingual("本关将自扣留之日起30个工作日内对货物是否侵权进行调查认定（《条例》第二十条）。你单位认为货物未侵权的，"
                  "可以向本关书面说明理由并附送证据。",
                  "This office will investigate within 30 working days of the detention whether the goods infringe "
                  "(Regulations, Art. 20). If you consider that they do not, you may say so to this office in "
                  "writing with your evidence."),
        Bilingual("涉嫌侵犯专利权的，你单位可以向海关提供与货物等值的担保金，请求海关放行货物（《条例》第十九条）。",
                  "Where the rights concerned are patents, you may post a bond equal to the value of the goods and "
                  "ask customs to release them (Regulations, Art. 19)."),
    )[: 2 if patent else 1]  # the counter-bond paragraph only where a patent is concerned
    out.append(plan(DocumentKind.DETENTION_RECEIPT, None, day, (para,),
                    _goods(lines, recs, with_recordation=False), after,
                    _basis("第十六条、第十九条、第二十条", "", "Arts. 16, 19 and 20", "") if patent
                    else _basis("第十六条、第二十条", "", "Arts. 16 and 20", "")))
    return out


def _plan_undetermined(c: _DecisionPlan) -> list[Planned]:
    """不能认定通知书 to each rights holder and to the consignor (Reg 20, Meas 28)."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = _direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("认定日期", "Decided on"), f"{zh_date(at)} / {en_date(at)}"),)
    court = {ln.id: _due(ln.court_due) for ln in lines}
    court_col = ((Bilingual("法院协助执行通知截止", "Court notice by"), 22, court),)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = (Bilingual(
            f"本关对扣留的{dzh}报关单（编号{decl}）项下的下列货物进行了调查，不能认定其是否侵犯贵方知识产权"
            "（《条例》第二十条，《实施办法》第二十八条）。",
            f"This office investigated the detained goods listed below, of {den} declaration no. {decl}, and cannot "
            "determine whether they infringe your rights (Regulations, Art. 20; Measures, Art. 28)."),)
        after = (Bilingual(
            "贵方可以向人民法院申请采取责令停止侵权行为或者财产保全的措施。自扣留之日起50个工作日内本关未收到人民法院"
            "协助执行通知的，本关将放行上述货物（《条例》第二十四条）。",
            "You may ask a people's court to order the infringement stopped or the property preserved. If this "
            "office receives no court notice of assistance within 50 working days of the detention (dates "
            "above), it will release the goods (Regulations, Art. 24)."),)
        out.append(plan(DocumentKind.UNDETERMINED_NOTICE, holders[holder_id], day, paras,
                        _goods(hl, recs, extra=court_col), after,
                        _basis("第二十条、第二十四条", "第二十八条", "Arts. 20 and 24", "Art. 28")))
    # Reg 20, Meas 28: the consignor is told in writing too
    paras = (Bilingual(
        f"本关对扣留的你单位{dzh}报关单（编号{decl}）项下的下列货物进行了调查，不能认定其是否侵犯知识产权"
        "（《条例》第二十条，《实施办法》第二十八条）。",
        f"This office investigated the detained goods listed below, of your {den} declaration no. {decl}, and "
        "cannot determine whether they infringe intellectual property rights (Regulations, Art. 20; Measures, "
        "Art. 28)."),)
    after = (Bilingual(
        "自扣留之日起50个工作日内本关未收到人民法院协助执行通知的，本关将放行上述货物（《条例》第二十四条）。",
        "If this office receives no court notice of assistance within 50 working days of the detention (dates "
        "above), it will release the goods (Regulations, Art. 24)."),)
    out.append(plan(DocumentKind.UNDETERMINED_NOTICE, None, day, paras,
                    _goods(lines, recs, with_recordation=False, extra=court_col), after,
                    _basis("第二十条、第二十四条", "第二十八条", "Arts. 20 and 24", "Art. 28")))
    return out


def _plan_confiscation(c: _DecisionPlan) -> list[Planned]:
    """没收决定书 to each rights holder and to the consignor, with the order of disposal (Reg 27)."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = _direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("决定日期", "Decided on"), f"{zh_date(at)} / {en_date(at)}"),)
    basis = _basis("第二十七条", "", "Art. 27", "")
    disposal = Bilingual(
        "没收的侵权货物，本关依照《条例》第二十七条的规定处置：可用于社会公益事业的，转交有关公益机构；权利人有收购意愿的，"
        "有偿转让给权利人；无法用于社会公益事业且权利人无收购意愿的，在消除侵权特征后依法拍卖（不能消除侵权特征的除外）；"
        "侵权特征无法消除的，予以销毁。",
        "Confiscated infringing goods are disposed of under Article 27 of the Regulations: given to a public "
        "welfare body where they can serve public welfare; sold to the rights holder where it wishes to buy them; "
        "otherwise auctioned after the infringing features are removed, where that is possible; destroyed where "
        "the features cannot be removed.")
    for holder_id, hl in sorted(_by_holder(lines).items()):
        para = Bilingual(
            f"经调查，本关认定{dzh}报关单（编号{decl}）项下的下列货物侵犯贵方知识产权，依照{REG}第二十七条的规定，"
            "决定予以没收。",
            f"Having investigated, this office finds that the goods listed below, of {den} declaration no. {decl}, "
            "infringe your rights and confiscates them under Article 27 of the Regulations.")
        out.append(plan(DocumentKind.CONFISCATION_DECISION, holders[holder_id], day, (para,), _goods(hl, recs),
                        (disposal, Bilingual("仓储、保管和处置等费用由权利人承担，可从其担保中扣除（《条例》第二十五条，"
                                             "《实施办法》第三十五条）。",
                                             "Storage, handling and disposal costs are borne by the rights holder "
                                             "and may be deducted from its bond (Regulations, Art. 25; Measures, "
                                             "Art. 35).")), basis))
    para = Bilingual(
        f"经调查，本关认定你单位{dzh}报关单（编号{decl}）项下的下列货物侵犯他人知识产权，依照{REG}第二十七条的规定，"
        "决定予以没收。",
        f"Having investigated, this office finds that the goods listed below, of your {den} declaration no. "
        f"{decl}, infringe intellectual property rights of others and confiscates them under Article 27 of the "
        "Regulations.")
    out.append(plan(DocumentKind.CONFISCATION_DECISION, None, day, (para,),
                    _goods(lines, recs, with_recordation=False), (disposal,), basis))
    return out


def _plan_transfer(c: _DecisionPlan) -> list[Planned]:
    """案件移送告知书 to each rights holder and to the consignor (Reg 26)."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = _direction(f)
    decl = f.shipment.declaration_no
    out: list[Planned] = []
    day = ((Bilingual("移送日期", "Transferred on"), f"{zh_date(at)} / {en_date(at)}"),)
    basis = _basis("第二十六条", "", "Art. 26", "")
    to_police = (f"本关发现{dzh}报关单（编号{decl}）项下的下列货物涉嫌犯罪，依照{REG}第二十六条的规定，已将案件移送公安机关"
                 f"（{decision.note}）依法处理。",
                 f"This office found the goods listed below, of {den} declaration no. {decl}, to involve a suspected "
                 f"crime and, under Article 26 of the Regulations, has transferred the case to the police "
                 f"({decision.note}).")
    for holder_id, hl in sorted(_by_holder(lines).items()):
        out.append(plan(DocumentKind.TRANSFER_NOTICE, holders[holder_id], day, (Bilingual(*to_police),),
                        _goods(hl, recs), (), basis))
    out.append(plan(DocumentKind.TRANSFER_NOTICE, None, day, (Bilingual(*to_police),),
                    _goods(lines, recs, with_recordation=False), (), basis))
    return out


def _plan_rejection(c: _DecisionPlan) -> list[Planned]:
    """Reg 15: an application that is not as the law requires, or without its bond, is rejected in writing.
    Only the applicant is told: the goods were never held, and the consignor never learnt of it."""
    decision, f, lines, recs, holders, plan = c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = _direction(f)
    decl = f.shipment.declaration_no
    day = ((Bilingual("决定日期", "Decided on"), f"{zh_date(at)} / {en_date(at)}"),)
    out = []
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = (Bilingual(f"贵方申请扣留{dzh}报关单（编号{decl}）项下的下列货物。经审查，本关决定驳回该申请，理由如下：",
                           f"You applied for the detention of the goods listed below, of {den} declaration no. {decl}. "
                           "Having reviewed the application, this office rejects it, for this reason:"),
                 Bilingual(decision.note, decision.note))
        after = (Bilingual("本关未扣留上述货物。", "This office has not detained the goods."),)
        out.append(plan(DocumentKind.REJECTION_NOTICE, holders[holder_id], (*day, _consignor_row(f)), paras,
                        _goods(hl, recs), after, _basis("第十三条、第十四条、第十五条", "", "Arts. 13, 14 and 15", "")))
    return out


def _plan_detention_on_application(c: _DecisionPlan) -> list[Planned]:
    """Reg 15: customs detains on the application and the bond, tells the applicant in writing and gives the
    consignor a detention receipt. No investigation follows: without a court's notice of assistance within 20
    working days the goods are released (Reg 24(1))."""
    s, decision, f, lines, recs, holders, plan = c.s, c.decision, c.f, c.lines, c.recs, c.holders, c.plan
    at = decision.decided_at
    dzh, den = _direction(f)
    decl = f.shipment.declaration_no
    day = ((Bilingual("扣留日期", "Detained on"), f"{zh_date(at)} / {en_date(at)}"),)
    court_col = ((Bilingual("法院协助执行通知截止", "Court notice by"), 22, {ln.id: _due(ln.court_due) for ln in lines}),)
    court = (Bilingual("自扣留之日起20个工作日内本关未收到人民法院协助执行通知的，本关将放行上述货物（《条例》第二十四条第（一）项）。",
                       "If this office receives no court notice of assistance within 20 working days of the detention "
                       "(dates above), it will release the goods (Regulations, Art. 24(1))."),)
    out = []
    bond = _bond_text(s, decision)
    for holder_id, hl in sorted(_by_holder(lines).items()):
        paras = [Bilingual(
            f"贵方申请扣留{dzh}报关单（编号{decl}）项下的下列货物并提供了担保。依照{REG}第十五条的规定，"
            f"本关于{zh_date(at)}扣留下列货物。",
            f"You applied for the detention of the goods listed below, of {den} declaration no. {decl}, and provided "
            f"a bond. Under Article 15 of the Regulations, this office detained them on {en_date(at)}.")]
        if bond is not None:
            paras.append(bond)
        after = (Bilingual("贵方可以就被扣留的货物向人民法院申请采取责令停止侵权行为或者财产保全的措施（《条例》第二十三条）。",
                           "You may ask a people's court to order the infringement stopped or the property preserved "
                           "(Regulations, Art. 23)."), *court)
        out.append(plan(DocumentKind.DETENTION_NOTICE, holders[holder_id], (*day, _consignor_row(f)), tuple(paras),
                        _goods(hl, recs, extra=court_col), after,
                        _basis("第十四条、第十五条、第二十三条、第二十四条", "第十五条", "Arts. 14, 15, 23 and 24", "Art. 15")))
    names_zh = "、".join(holders[h].name for h in sorted(holders))
    para = Bilingual(
        f"你单位{dzh}报关单（编号{decl}）项下的下列货物涉嫌侵犯{names_zh}的知识产权，经权利人申请并提供担保，"
        f"本关依照{REG}第十五条的规定，于{zh_date(at)}予以扣留。特此出具扣留凭单。",
        f"The goods listed below, of your {den} declaration no. {decl}, are suspected of infringing intellectual "
        f"property rights of {names_zh}. On the rights holder's application and bond, this office detained them on "
        f"{en_date(at)} under Article 15 of the Regulations. This receipt is issued to you.")
    patent = any(r.right_type == "patent" for r in recs.values())
    after = (*court,
             Bilingual("你单位认为货物未侵权的，可以向本关书面说明理由并附送证据（《条例》第十八条）。",
                       "If you consider that the goods do not infringe, you may say so to this office in writing with "
                       "your evidence (Regulations, Art. 18)."),
             Bilingual("涉嫌侵犯专利权的，你单位可以向海关提供与货物等值的担保金，请求海关放行货物（《条例》第十九条）。",
                       "Where the rights concerned are patents, you may post a bond equal to the value of the goods and "
                       "ask customs to release them (Regulations, Art. 19)."))[: 3 if patent else 2]
    out.append(plan(DocumentKind.DETENTION_RECEIPT, None, day, (para,),
                    _goods(lines, recs, with_recordation=False, extra=court_col), after,
                    _basis("第十五条、第十八条、第十九条、第二十四条", "", "Arts. 15, 18, 19 and 24", "") if patent
                    else _basis("第十五条、第十八条、第二十四条", "", "Arts. 15, 18 and 24", "")))
    return out


def _bond_text(s: Session, decision: Decision) -> Bilingual | None:
    if decision.notice_id is None:
        return None
    answer = s.exec(select(Answer).where(Answer.notice_id == decision.notice_id)).first()
    if answer is None or answer.bond_kind is None:
        return None
    if answer.bond_kind == "general" and answer.general_bond_id is not None:
        gb = s.get(GeneralBond, answer.general_bond_id)
        ref = gb.reference if gb else ""
        return Bilingual(f"担保：总担保（编号{ref}），应缴担保金额人民币{_rmb(answer.bond_required or Decimal(0))}元"
                         f"（《实施办法》第二十四条）。",
                         f"Bond: general bond (总担保) {ref}, covering the RMB {_rmb(answer.bond_required or Decimal(0))} "
                         "required (Measures, Art. 24).")
    amount = answer.bond_amount or Decimal(0)
    case = s.get(Case, decision.case_id)
    if case is not None and case.route == Route.APPLICATION:  # the value of the goods (Reg 14, Meas 15)
        return Bilingual(f"担保：人民币{_rmb(amount)}元（《条例》第十四条，《实施办法》第十五条）。",
                         f"Bond: RMB {_rmb(amount)} (Regulations, Art. 14; Measures, Art. 15).")
    return Bilingual(f"担保：人民币{_rmb(amount)}元（《实施办法》第二十三条）。",
                     f"Bond: RMB {_rmb(amount)} (Measures, Art. 23).")


# --- issuing ---------------------------------------------------------------------------------------


def default_store() -> ObjectStore:
    """The evidence store the settings point at."""
    from adapters.s3 import get_store

    return get_store()


@dataclass(frozen=True)
class SealRef:
    """Where an office's seal is stored, and its hash at the time it was set."""

    key: str
    sha256: str


def seal_ref(s: Session, case_id: int) -> SealRef | None:
    """The seal of the office of a case; ``None`` if the office has none (its documents print none)."""
    case = s.get(Case, case_id)
    office = s.get(CustomsOffice, case.customs_office_id) if case else None
    if office is None or office.seal_key is None or office.seal_sha256 is None:
        return None
    return SealRef(office.seal_key, office.seal_sha256)


def load_seal(store: ObjectStore, ref: SealRef | None) -> bytes | None:
    """The seal's bytes, checked against the hash recorded when it was set (read outside a write transaction)."""
    if ref is None:
        return None
    return read_stored(store, key=ref.key, number=f"(seal {ref.key})", sha256=ref.sha256)


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


def _concurrent(numbers: list[str], error: IntegrityError) -> list[DocumentOut]:
    """The documents another worker issued first; the original error if that is not what happened."""
    with session_scope(readonly=True) as s:
        docs = {d.number: d for d in s.exec(select(Document).where(col(Document.number).in_(numbers)))}
    if set(numbers) - set(docs):
        raise error
    return [DocumentOut.model_validate(docs[n]) for n in numbers]


def issue_for_notice(*, notice_id: int, now: datetime | None = None, store: ObjectStore | None = None) -> DocumentOut:
    """Issue the confirmation notice (确权通知书) of a notice; the one already issued if asked again."""
    now = now_or(now)
    with session_scope(readonly=True) as s:
        notice = s.get(Notice, notice_id)
        if notice is None:
            raise NotFound("notice", notice_id)
        planned = plan_confirmation(s, notice)
        done = _existing(s, planned)
        if done is not None:
            return DocumentOut.model_validate(done)
        ref = seal_ref(s, notice.case_id)
    store = store or default_store()
    seal = load_seal(store, ref)  # the seal as set when issuing began: the timeline records its hash
    planned = _sealed(planned, seal)
    pdf = render(planned.doc)  # outside the write transaction: rendering takes a few tenths of a second
    try:
        with session_scope() as s:
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
        return _concurrent([planned.number], e)[0]


def issue_for_decision(*, decision_id: int, now: datetime | None = None, store: ObjectStore | None = None) -> list[DocumentOut]:
    """Issue the documents a decision calls for (none for confiscation or a court hold); idempotent."""
    now = now_or(now)
    with session_scope(readonly=True) as s:
        decision = s.get(Decision, decision_id)
        if decision is None:
            raise NotFound("decision", decision_id)
        planned = plan_decision(s, decision)
        done = {p.number: DocumentOut.model_validate(d) for p in planned if (d := _existing(s, p)) is not None}
        ref = seal_ref(s, decision.case_id)
    if all(p.number in done for p in planned):
        return [done[p.number] for p in planned]
    store = store or default_store()
    seal = load_seal(store, ref)
    planned = [_sealed(p, seal) for p in planned]
    todo = [(p, render(p.doc)) for p in planned if p.number not in done]
    try:
        with session_scope() as s:
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
        return _concurrent([p.number for p in planned], e)


# --- reading ---------------------------------------------------------------------------------------


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


def documents_of_case(*, case_number: str, actor: str) -> list[DocumentOut]:
    """The documents of a case that ``actor`` may read, in order of issue."""
    with session_scope(readonly=True) as s:
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


def read_stored(store: ObjectStore, *, key: str, number: str, sha256: str) -> bytes:
    """The stored bytes, checked against the hash recorded at issue."""
    f = store.open(key)
    try:
        data = f.read()
    finally:
        f.close()
    found = hashlib.sha256(data).hexdigest()
    if found != sha256:
        raise DocumentAltered(number, sha256, found)
    return data


def document_bytes(*, document_id: int | None = None, actor: str, number: str | None = None,
                   store: ObjectStore | None = None) -> tuple[str, bytes]:
    """(file name, PDF bytes) of a document, for those entitled to it; ``NotFound`` for anyone else."""
    with session_scope(readonly=True) as s:
        who = load_actor(s, actor)
        d = find_document(s, who, document_id=document_id, number=number)
        key, doc_number, sha256 = d.key, d.number, d.sha256
    return f"{doc_number}.pdf", read_stored(store or default_store(), key=key, number=doc_number, sha256=sha256)


def verify_document(*, number: str, data: bytes | None = None, sha256: str | None = None) -> VerificationOut:
    """Whether a presented document (its bytes, or their SHA-256) is the one issued under ``number``.

    Public: it says only what the printed document itself says (number, kind, office, date)."""
    given = VerifyIn(number=number, sha256=sha256)
    hashes = set()
    if data is not None:
        hashes.add(hashlib.sha256(data).hexdigest())
    if given.sha256 is not None:
        hashes.add(given.sha256.lower())
    with session_scope(readonly=True) as s:
        d = s.exec(select(Document).where(Document.number == given.number)).first()
        if d is None:
            return VerificationOut(number=given.number, issued=False, matches=False if hashes else None)
        case = s.get(Case, d.case_id)
        office = s.get(CustomsOffice, case.customs_office_id) if case else None
        kind = DocumentKind(d.kind)
        return VerificationOut(
            number=d.number, issued=True, matches=(hashes == {d.sha256}) if hashes else None, kind=d.kind,
            title_zh=TITLES[kind].zh, title_en=TITLES[kind].en,
            office=office.name if office else None, office_en=office.name_en if office else None,
            dated=d.issued_at, sha256=d.sha256,
        )
