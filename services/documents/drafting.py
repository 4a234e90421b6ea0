"""What every document is drafted from: the facts of its case, its number, its particulars and its table
of goods, assembled into the ``LegalDocument`` the PDF adapter lays out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from adapters.pdf import Bilingual, GoodsTable, LegalDocument
from models.enums import DocumentKind
from models.rules.errors import NotFound
from models.rules.workdays import SHANGHAI
from models.tables import Case, Consignor, CustomsOffice, Line, Recordation, Shipment
from services.documents.wording import KIND_CODE, TITLES, cite_once, en_date, rmb, zh_date


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
class Facts:
    """The case, its shipment, office and consignor: what every document of the case names."""

    case: Case
    shipment: Shipment
    office: CustomsOffice
    consignor: Consignor


def case_facts(s: Session, case_id: int) -> Facts:
    """The facts of a case, read once for all its documents."""
    case = s.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id)
    ship = s.get(Shipment, case.shipment_id)
    office = s.get(CustomsOffice, case.customs_office_id)
    consignor = s.get(Consignor, ship.consignor_id) if ship else None
    if ship is None or office is None or consignor is None:
        raise NotFound("shipment of case", case.number)
    return Facts(case, ship, office, consignor)


def document_number(*, office_code: str, kind: DocumentKind, dated: datetime, source_id: int,
                    addressee: str | None = None) -> str:
    """``CAPAIR-CN-2026-000017`` for notice 17; ``CAPAIR-RN-2026-000042-C3`` for decision 42 to consignor 3.

    One number per (source, kind, addressee): the unique number is what makes issuing idempotent."""
    year = dated.astimezone(SHANGHAI).year
    base = f"{office_code}-{KIND_CODE[kind]}-{year}-{source_id:06d}"
    return f"{base}-{addressee}" if addressee else base


def verify_url(public_url: str, number: str) -> str:
    """The public page that verifies a document (its link, printed on it and mailed with it)."""
    return public_url.rstrip("/") + f"/verify?doc={number}"


def _particulars(f: Facts, to: str, *extra: tuple[Bilingual, str]) -> tuple[tuple[Bilingual, str], ...]:
    return (
        (Bilingual("致", "To"), to),
        (Bilingual("案件编号", "Case no."), f.case.number),
        (Bilingual("报关单号", "Declaration no."), f.shipment.declaration_no),
        *extra,
    )


def consignor_row(f: Facts) -> tuple[Bilingual, str]:
    """The consignor, named on notices to the rights holder (Meas 21, 22)."""
    return (Bilingual("收发货人", "Consignor"), f"{f.consignor.name}（USCC {f.consignor.uscc}）")


def direction(f: Facts) -> tuple[str, str]:
    return ("出口", "export") if f.shipment.direction == "export" else ("进口", "import")


#: the usual units of a declaration in the documents' words (a document is read in Chinese first: "12 件",
#: not "12 pcs"); any other unit is printed as it was declared
UNIT_WORDS = {"pcs": "件", "pairs": "双", "sets": "套", "kg": "千克"}


def _qty(ln: Line) -> str:
    return f"{ln.quantity} {UNIT_WORDS.get(ln.unit, ln.unit)}"


def goods_table(lines: list[Line], recs: dict[int, Recordation], *, with_recordation: bool = True,
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
        row += [_qty(ln), rmb(ln.value)]
        for _, _, values in extra:
            row.append(values.get(ln.id, ""))  # type: ignore[arg-type]
        rows.append(tuple(row))
    n = len(headers)
    right = (n - 1 - len(extra), n - 2 - len(extra))
    total = sum((ln.value for ln in lines), Decimal("0"))
    if len(lines) > 1:
        blank = [""] * n
        blank[1] = f"合计 Total: {sum(ln.quantity for ln in lines)} items, {len(lines)} lines"
        blank[n - 1 - len(extra)] = rmb(total)
        rows.append(tuple(blank))
    return GoodsTable(headers=tuple(headers), rows=tuple(rows), widths=tuple(widths), align_right=right)


def recordations_of(s: Session, lines: Iterable[Line]) -> dict[int, Recordation]:
    ids = {ln.recordation_id for ln in lines}
    return {r.id: r for r in s.exec(select(Recordation).where(col(Recordation.id).in_(ids)))}  # type: ignore[misc]


def _cited(paragraphs: tuple[Bilingual, ...], after: tuple[Bilingual, ...]) -> tuple[tuple[Bilingual, ...], tuple[Bilingual, ...]]:
    zh = cite_once(tuple(p.zh for p in (*paragraphs, *after)))
    both = tuple(replace(p, zh=z) for p, z in zip((*paragraphs, *after), zh, strict=True))
    return both[:len(paragraphs)], both[len(paragraphs):]


def legal_document(kind: DocumentKind, number: str, f: Facts, dated: datetime,
                   extra: tuple[tuple[Bilingual, str], ...], to: str, paragraphs: tuple[Bilingual, ...],
                   goods: GoodsTable, after: tuple[Bilingual, ...], basis: Bilingual, *,
                   public_url: str) -> LegalDocument:
    """The document's text; its verification link points at the portal's ``public_url``."""
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
        verify_url=verify_url(public_url, number),
        keywords=(kind.value, f.case.number),
    )
