"""Rendering legal documents as PDF: Chinese and English on the same page, fonts embedded.

The service (``services.documents``) decides what a document says; this adapter only lays it out.
Chinese is set in Droid Sans Fallback (Debian ``fonts-droid-fallback``) and Latin text in DejaVu Sans
(``fonts-dejavu-core``); both are embedded as subsets, so the reader needs no font of its own. The QR
code is drawn as vector squares from ``segno``'s module matrix, so it scans at any zoom.

Output is deterministic: the same ``LegalDocument`` gives the same bytes (the creation date and the
file id derive from the document's own date and content, never from the clock).
"""

from __future__ import annotations

import copy
import io
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import segno
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import TextEmphasis, WrapMode, XPos, YPos
from fpdf.fonts import FontFace, SubsetMap, TTFFont

CJK_FONT = Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf")
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LATIN_BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

_GREY = (90, 90, 90)
_BLACK = (0, 0, 0)


class FontMissing(Exception):
    """A font the documents embed is not installed (run ``make run`` / ``scripts/setup.sh``)."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"font {path} is missing: install Debian's fonts-droid-fallback and fonts-dejavu-core")


@dataclass(frozen=True)
class Bilingual:
    """The same text in Chinese and in English."""

    zh: str
    en: str


@dataclass(frozen=True)
class GoodsTable:
    headers: tuple[Bilingual, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[int, ...]  # relative column widths
    align_right: tuple[int, ...] = ()  # indexes of numeric columns


@dataclass(frozen=True)
class LegalDocument:
    """Everything printed on one document, already worded; the layout is this adapter's."""

    number: str
    title: Bilingual
    office: Bilingual
    dated: datetime  # the act's time: printed (Asia/Shanghai date) and used as the PDF creation date
    date_text: Bilingual  # e.g. 2026年11月24日 / 24 November 2026
    particulars: tuple[tuple[Bilingual, str], ...]  # label -> value (case no., addressee, ...)
    paragraphs: tuple[Bilingual, ...]
    goods: GoodsTable | None
    after_goods: tuple[Bilingual, ...]
    legal_basis: Bilingual
    verify_url: str
    keywords: tuple[str, ...] = field(default_factory=tuple)


def _check_fonts() -> None:
    for p in (CJK_FONT, LATIN_FONT, LATIN_BOLD_FONT):
        if not p.exists():
            raise FontMissing(p)


#: Parsed fonts, once per process: parsing the 4 MB CJK font took most of a document's rendering time.
_FONTS: dict[Path, tuple[bytes, TTFFont, tuple[str, ...]]] = {}
_FONTS_LOCK = threading.Lock()


def _parsed(path: Path) -> tuple[bytes, TTFFont, tuple[str, ...]]:
    with _FONTS_LOCK:
        if path not in _FONTS:
            data = path.read_bytes()
            if ".notdef" not in _fresh_ttfont(data)["glyf"]:  # TTFFont would draw one into its tables
                raise ValueError(f"{path}: a font without .notdef is not cached")
            template = TTFFont(FPDF(), path, "template", "")
            if template.color_font is not None or template.is_compressed or template.is_cff:
                raise ValueError(f"{path}: only plain TrueType fonts are cached")
            _FONTS[path] = (data, template, tuple(template.ttfont.getGlyphOrder()))
        return _FONTS[path]


def _fresh_ttfont(data: bytes, glyph_order: list[str] | None = None) -> ttLib.TTFont:
    """The font's tables, decoded as ``TTFFont`` decodes them (embedding subsets them in place, so
    each document needs its own; decoding the same tables keeps the embedded bytes the same). The
    glyph order, when given, is the one the font's own tables derive (for the CJK font, from its cmap:
    a fifth of the work)."""
    tt = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, lazy=True)
    if glyph_order is not None:
        tt.setGlyphOrder(list(glyph_order))
    for table in ("head", "glyf", "hmtx", "OS/2", "post", "hhea", "name"):
        if table in tt:
            tt[table]  # noqa: B018 - decoding it is the point
    tt.getBestCmap()
    return tt


def _add_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """``pdf.add_font(family, style, path)`` from the parsed font: the per-document state (its
    subset, its descriptor, its number in the document and its tables) is new, the rest is shared."""
    data, template, glyph_order = _parsed(path)
    font = copy.copy(template)
    font.i = len(pdf.fonts) + 1
    font.fontkey = f"{family.lower()}{style}"
    font.emphasis = TextEmphasis.coerce(style)
    font.desc = copy.deepcopy(template.desc)
    font.cw = copy.copy(template.cw)  # a defaultdict: reading an unknown character adds it
    font.cmap = dict(template.cmap)
    font.glyph_ids = dict(template.glyph_ids)
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None  # noqa: SLF001 - per document, as fpdf builds it
    font.ttfont = _fresh_ttfont(data, list(glyph_order))
    font.subset = SubsetMap(font)
    pdf.fonts[font.fontkey] = font


class _Page(FPDF):
    doc: LegalDocument

    def footer(self) -> None:  # noqa: D102 (fpdf hook)
        self.set_y(-14)
        self.set_font("yq", size=7.5)
        self.set_text_color(*_GREY)
        self.cell(0, 5, f"{self.doc.office.zh} · {self.doc.office.en}    {self.doc.number}", align="L")
        self.set_x(self.l_margin)
        self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="R")
        self.set_text_color(*_BLACK)


def render(doc: LegalDocument) -> bytes:
    """The document as PDF bytes (A4)."""
    _check_fonts()
    pdf = _Page(format="A4", unit="mm")
    pdf.doc = doc
    pdf.set_creation_date(doc.dated)
    pdf.set_producer("Yunque")
    pdf.set_creator("Yunque (云确)")
    pdf.set_author(f"{doc.office.zh} {doc.office.en}")
    pdf.set_title(f"{doc.title.zh} {doc.title.en} {doc.number}")
    pdf.set_subject(doc.number)
    if doc.keywords:
        pdf.set_keywords(" ".join(doc.keywords))
    pdf.set_lang("zh-CN")
    _add_font(pdf, "yq", "", LATIN_FONT)
    _add_font(pdf, "yq", "B", LATIN_BOLD_FONT)
    _add_font(pdf, "yqcjk", "", CJK_FONT)
    pdf.set_fallback_fonts(["yqcjk"], exact_match=False)
    pdf.set_margins(18, 14, 18)
    pdf.set_auto_page_break(True, margin=20)
    pdf.alias_nb_pages()
    pdf.add_page()
    width = pdf.epw

    # Head: the issuing office and the title, centred.
    pdf.set_font("yq", "B", 14)
    pdf.cell(width, 7, f"中华人民共和国{doc.office.zh}", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("yq", size=9)
    pdf.set_text_color(*_GREY)
    pdf.cell(width, 5, f"{doc.office.en}, People's Republic of China", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_BLACK)
    pdf.ln(3)
    pdf.set_font("yq", "B", 18)
    pdf.cell(width, 9, doc.title.zh, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("yq", "B", 12)
    pdf.cell(width, 7, doc.title.en, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    pdf.set_font("yq", size=9.5)
    pdf.cell(width, 5, f"编号 No. {doc.number}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.cell(width, 5, f"日期 Date: {doc.date_text.zh} / {doc.date_text.en}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)

    # Particulars: label on the left, value on the right.
    label_w = 62
    for label, value in doc.particulars:
        pdf.set_font("yq", size=9)
        pdf.set_text_color(*_GREY)
        y = pdf.get_y()
        pdf.multi_cell(label_w, 5, f"{label.zh} {label.en}", align="L", new_x=XPos.RIGHT, new_y=YPos.TOP)
        pdf.set_text_color(*_BLACK)
        pdf.set_font("yq", size=9.5)
        pdf.multi_cell(width - label_w, 5, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_y(max(pdf.get_y(), y + 5))
    pdf.ln(2)

    for para in doc.paragraphs:
        _paragraph(pdf, para, width)

    if doc.goods is not None:
        _goods(pdf, doc.goods)
        pdf.ln(2)

    for para in doc.after_goods:
        _paragraph(pdf, para, width)

    pdf.set_font("yq", "B", 9.5)
    pdf.multi_cell(width, 5, "法律依据 Legal basis", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _paragraph(pdf, doc.legal_basis, width)

    _closing(pdf, doc, width)
    return bytes(pdf.output())


def _paragraph(pdf: FPDF, para: Bilingual, width: float) -> None:
    pdf.set_font("yq", size=9.5)
    # Chinese has no spaces between words: break anywhere, not only at spaces.
    pdf.multi_cell(width, 5.0, para.zh, align="L", wrapmode=WrapMode.CHAR, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("yq", size=8)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(width, 3.9, para.en, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*_BLACK)
    pdf.ln(1.6)


def _goods(pdf: FPDF, goods: GoodsTable) -> None:
    pdf.set_font("yq", size=8)
    total = sum(goods.widths)
    widths = tuple(w * pdf.epw / total for w in goods.widths)
    aligns = tuple("RIGHT" if i in goods.align_right else "LEFT" for i in range(len(goods.widths)))
    heading = FontFace(fill_color=(235, 235, 235))
    with pdf.table(col_widths=widths, text_align=aligns, line_height=4.2, padding=1.2,
                   headings_style=heading, first_row_as_headings=True) as table:
        head = table.row()
        for h in goods.headers:
            head.cell(f"{h.zh}\n{h.en}")
        for r in goods.rows:
            row = table.row()
            for value in r:
                row.cell(value)


def _closing(pdf: FPDF, doc: LegalDocument, width: float) -> None:
    """The QR code to the verification page on the left, the office's signature on the right."""
    size = 27.0
    if pdf.get_y() + size + 6 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(4)
    top = pdf.get_y()
    left = pdf.l_margin
    draw_qr(pdf, doc.verify_url, x=left, y=top, size=size)
    text_x = left + size + 4
    # Each run of text sets its own size: fpdf2 re-selects the font only when the size or family
    # changes, and the CJK fallback font would otherwise stay selected for the Latin run after it.
    pdf.set_xy(text_x, top + 1)
    pdf.set_font("yq", size=8)
    pdf.multi_cell(width * 0.5, 4, "扫描二维码或访问下列地址，核验本文书是否与海关签发的一致（按文件哈希值比对）。",
                   align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("yq", size=7.5)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(width * 0.5, 3.8, "Scan the code or visit the address below to check that this document is the one "
                   "customs issued (compared by the file's hash).", align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(*_BLACK)
    pdf.set_font("yq", size=7)
    pdf.multi_cell(width * 0.5, 3.8, doc.verify_url, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    right_x = left + width * 0.68
    pdf.set_xy(right_x, top + 6)
    pdf.set_font("yq", "B", 11)
    pdf.multi_cell(width * 0.32, 6, f"{doc.office.zh}（印）", align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("yq", size=8.5)
    pdf.multi_cell(width * 0.32, 4.5, doc.office.en, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("yq", size=9)
    pdf.multi_cell(width * 0.32, 4.5, doc.date_text.zh, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("yq", size=8.5)
    pdf.multi_cell(width * 0.32, 4.5, doc.date_text.en, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(max(pdf.get_y(), top + size + 2))


def draw_qr(pdf: FPDF, data: str, *, x: float, y: float, size: float) -> None:
    """A QR code (error correction M) drawn from its module matrix, quiet zone included."""
    qr = segno.make(data, error="m", micro=False)
    matrix = qr.matrix
    quiet = 4
    n = len(matrix) + 2 * quiet
    module = size / n
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, size, size, style="F")
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                pdf.rect(x + (start + quiet) * module, y + (r + quiet) * module, (c - start) * module, module, style="F")
            else:
                c += 1


def warm_up() -> None:
    """Parse the fonts now, so that a long-lived process (the task worker) renders its first document
    as fast as the rest."""
    _check_fonts()
    for p in (CJK_FONT, LATIN_FONT, LATIN_BOLD_FONT):
        _parsed(p)
