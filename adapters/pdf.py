"""Rendering legal documents as PDF: Chinese and English on the same page, fonts embedded.

The service (``services.documents``) decides what a document says; this adapter only lays it out.
Chinese is set in Noto Sans CJK SC (Debian ``fonts-noto-cjk``: it has the inner title marks 〈〉 the law's
titles need) and Latin text in DejaVu Sans (``fonts-dejavu-core``); both are embedded as subsets, so the
reader needs no font of its own. A character neither font has is an error, never a blank.

Embedding cuts a subset out of each face for every document, and the cost of the cut grows with the
face: the whole CJK face has 65,535 glyphs in CFF outlines (each glyph's program is interpreted to cut
it), DejaVu some 6,000. So each machine keeps *working faces* in its cache (``working_faces``): the CJK
face cut once to GB 2312 and the punctuation around it, in TrueType outlines (converted within
``OUTLINE_TOLERANCE``), and each Latin face cut to Latin letters and punctuation. A document whose
characters they hold is set in them (``faces_for``), any other in the whole faces. The office's
seal (a PNG with transparency), when the office has one, is printed over its name. The QR
code is drawn as vector squares from ``segno``'s module matrix, so it scans at any zoom.

Output is deterministic: the same ``LegalDocument`` gives the same bytes (the creation date and the
file id derive from the document's own date and content, never from the clock).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import segno
from fontTools import subset as ftsubset
from fontTools import ttLib
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fpdf import FPDF
from fpdf.enums import TextEmphasis, WrapMode, XPos, YPos
from fpdf.fonts import FontFace, SubsetMap, TTFFont
from fpdf.image_datastructures import ImageCache, RasterImageInfo
from fpdf.image_parsing import preload_image

CJK_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
#: The face of the collection the documents use: simplified Chinese glyph forms.
CJK_FACE = "Noto Sans CJK SC"
LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LATIN_BOLD_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
#: The Debian package that installs each font (``scripts/setup.sh`` installs them).
FONT_PACKAGES = {CJK_FONT: "fonts-noto-cjk", LATIN_FONT: "fonts-dejavu-core", LATIN_BOLD_FONT: "fonts-dejavu-core"}

_GREY = (90, 90, 90)
_BLACK = (0, 0, 0)


class FontMissing(Exception):
    """A font the documents embed is not installed (run ``make run`` / ``scripts/setup.sh``)."""

    def __init__(self, path: Path):
        self.path = path
        self.package = FONT_PACKAGES.get(path, "?")
        super().__init__(f"font {path} is missing: install the Debian package {self.package} "
                         f"(apt-get install {self.package}, as scripts/setup.sh does)")


class GlyphsMissing(Exception):
    """The document holds characters none of its fonts can draw: printing it would leave them blank."""

    def __init__(self, number: str, characters: str):
        self.number, self.characters = number, characters
        codes = ", ".join(f"U+{ord(c):04X} {c}" for c in characters)
        super().__init__(f"document {number}: no embedded font has a glyph for {codes}")


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
    seal: bytes | None = None  # the issuing office's seal (PNG with transparency); None: the office has none


#: Text the layout itself prints on every document, besides what the document says.
_VERIFY_ZH = "扫描二维码或访问下列地址，核验本文书是否与海关签发的一致（按文件哈希值比对）。"
_VERIFY_EN = ("Scan the code or visit the address below to check that this document is the one customs issued "
              "(compared by the file's hash).")
LAYOUT_TEXT = ("中华人民共和国", ", People's Republic of China", "编号 No. ", "日期 Date: ", " / ", "法律依据 Legal basis",
               "（印）", " · ", "0123456789/", "合计 Total: ", _VERIFY_ZH, _VERIFY_EN)


def printed_text(doc: LegalDocument) -> str:
    """Every character the document prints: its wording, its particulars and the layout's own text."""
    parts = [doc.number, doc.title.zh, doc.title.en, doc.office.zh, doc.office.en, doc.date_text.zh, doc.date_text.en,
             doc.legal_basis.zh, doc.legal_basis.en, doc.verify_url, *LAYOUT_TEXT]
    for label, value in doc.particulars:
        parts += [label.zh, label.en, value]
    for para in (*doc.paragraphs, *doc.after_goods):
        parts += [para.zh, para.en]
    if doc.goods is not None:
        for h in doc.goods.headers:
            parts += [h.zh, h.en]
        for row in doc.goods.rows:
            parts += list(row)
    return "".join(parts)


def missing_glyphs(text: str) -> str:
    """The characters of ``text`` (line breaks aside) that no embedded font can draw, in order of first use.

    Latin text is set in DejaVu Sans, regular and bold; what they lack falls back to the CJK font."""
    _check_fonts()
    cjk, latin, bold = _parsed(CJK_FONT), _parsed(LATIN_FONT), _parsed(LATIN_BOLD_FONT)
    out: dict[str, None] = {}
    for ch in text:
        if ch in "\n\r" or cjk.has(ch) or (latin.has(ch) and bold.has(ch)):
            continue
        out[ch] = None
    return "".join(out)


def _check_fonts() -> None:
    for p in (CJK_FONT, LATIN_FONT, LATIN_BOLD_FONT):
        if not p.exists():
            raise FontMissing(p)


#: Parsed fonts, once per process: parsing the CJK font took most of a document's rendering time.
_FONTS: dict[Path, _Parsed] = {}
_FONTS_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Parsed:
    data: bytes  # the file (a TrueType font, or an OpenType/CFF collection)
    face: int  # the face of a collection (0 for a single font)
    template: TTFFont
    glyph_order: tuple[str, ...]

    def has(self, ch: str) -> bool:
        return ord(ch) in self.template.cmap


def _face_number(path: Path, data: bytes) -> int:
    """The face of a collection (``.ttc``) named ``CJK_FACE``; 0 for a single font."""
    if not path.suffix.lower() == ".ttc":
        return 0
    collection = ttLib.TTCollection(io.BytesIO(data), lazy=True)
    for i, face in enumerate(collection.fonts):
        if face["name"].getDebugName(1) == CJK_FACE:
            return i
    raise ValueError(f"{path}: no face named {CJK_FACE!r} in the collection")


def _parsed(path: Path) -> _Parsed:
    with _FONTS_LOCK:
        if path not in _FONTS:
            data = path.read_bytes()
            face = _face_number(path, data)
            fresh = _fresh_ttfont(data, face=face)
            if ".notdef" not in fresh.getGlyphOrder() or ("glyf" in fresh and ".notdef" not in fresh["glyf"]):
                # TTFFont would draw one into its tables
                raise ValueError(f"{path}: a font without .notdef is not cached")
            template = TTFFont(FPDF(), path, "template", "", collection_font_number=face)
            if template.color_font is not None or template.is_compressed:
                raise ValueError(f"{path}: colour and compressed fonts are not cached")
            if template.is_cff and not template.is_cid_keyed:
                raise ValueError(f"{path}: only CID-keyed CFF fonts are cached (fpdf2 embeds their CFF table alone)")
            _FONTS[path] = _Parsed(data, face, template, tuple(template.ttfont.getGlyphOrder()))
        return _FONTS[path]


def _fresh_ttfont(data: bytes, glyph_order: list[str] | None = None, *, face: int = 0) -> ttLib.TTFont:
    """The font's tables, decoded as ``TTFFont`` decodes them (embedding subsets them in place, so
    each document needs its own; decoding the same tables keeps the embedded bytes the same). The
    glyph order, when given, is the one the font's own tables derive (a fifth of the work). ``face``
    picks the face of a collection."""
    tt = ttLib.TTFont(io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True, fontNumber=face)
    if glyph_order is not None:
        tt.setGlyphOrder(list(glyph_order))
    for table in ("head", "glyf", "CFF ", "hmtx", "OS/2", "post", "hhea", "name"):
        if table in tt:
            tt[table]  # noqa: B018 - decoding it is the point
    tt.getBestCmap()
    return tt


def _add_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    """``pdf.add_font(family, style, path)`` from the parsed font: the per-document state (its
    subset, its descriptor, its number in the document and its tables) is new, the rest is shared."""
    parsed = _parsed(path)
    template = parsed.template
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
    font.ttfont = _fresh_ttfont(parsed.data, list(parsed.glyph_order), face=parsed.face)
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
    """The document as PDF bytes (A4); ``GlyphsMissing`` if a character could not be printed."""
    _check_fonts()
    text = printed_text(doc)
    missing = missing_glyphs(text)
    if missing:
        raise GlyphsMissing(doc.number, missing)
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
    faces = faces_for(text)
    _add_font(pdf, "yq", "", faces.latin)
    _add_font(pdf, "yq", "B", faces.bold)
    _add_font(pdf, "yqcjk", "", faces.cjk)
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
    pdf.cell(width, 5, f"日期 Date: {doc.date_text.zh} / {doc.date_text.en}", align="R", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)
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
    pdf.multi_cell(width * 0.5, 4, _VERIFY_ZH, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("yq", size=7.5)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(width * 0.5, 3.8, _VERIFY_EN, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
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
    end = pdf.get_y()
    if doc.seal is not None:
        # over the office's name, centred on its line, as a seal is pressed on paper
        png, ratio = seal_for_print(doc.seal)
        _preloaded_seal(pdf, png)
        h = SEAL_MM
        w = h * ratio
        pdf.image(io.BytesIO(png), x=right_x + width * 0.16 - w / 2, y=top + 9 - h / 2, w=w, h=h)
    pdf.set_y(max(end, top + size + 2))


#: The printed seal's height (a square seal: also its width).
SEAL_MM = 25.0
#: The seal is embedded at most this many pixels a side (600 px over 25 mm: about 600 dpi).
SEAL_PIXELS = 600


@functools.lru_cache(maxsize=8)
def seal_for_print(data: bytes) -> tuple[bytes, float]:
    """The seal as embedded (RGBA PNG, at most ``SEAL_PIXELS`` a side) and its width over its height.

    A 2 MB seal would otherwise be copied whole into every document of the office. Converted once per
    process and seal (an office prints the same seal on all its documents): decoding, resizing and
    encoding a 1,200-pixel seal took 173 ms a document, longer than the rest of a notice (148 ms)."""
    from PIL import Image

    with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
        im = im.convert("RGBA")
        if max(im.size) > SEAL_PIXELS:
            im.thumbnail((SEAL_PIXELS, SEAL_PIXELS), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        im.save(out, format="PNG")
        return out.getvalue(), im.width / im.height


@functools.lru_cache(maxsize=8)
def _seal_image(png: bytes) -> tuple[str, RasterImageInfo]:
    """The seal as fpdf2 embeds it (its name in a document's image cache and its parsed image: the
    pixels split from the transparency and compressed), parsed once per process and seal: parsing it
    took 120 ms a document, most of a sealed notice's time once the seal's conversion was kept."""
    name, _, info = preload_image(ImageCache(), io.BytesIO(png))
    if not isinstance(info, RasterImageInfo) or info.get("iccp") is not None:
        raise ValueError("a seal is a PNG without a colour profile (seal_for_print makes it so)")
    return name, info


def _preloaded_seal(pdf: FPDF, png: bytes) -> None:
    """Put the parsed seal in the document's image cache, as ``FPDF.image`` would on its first use
    (``preload_image``): the document's first image, used once by the call that draws it."""
    name, info = _seal_image(png)
    if name not in pdf.image_cache.images:
        mine = copy.copy(info)  # the bytes are shared; the numbering is the document's
        mine.update(i=len(pdf.image_cache.images) + 1, usages=0, iccp_i=None)
        pdf.image_cache.images[name] = mine


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
                pdf.rect(x + (start + quiet) * module, y + (r + quiet) * module, (c - start) * module, module,
                         style="F")
            else:
                c += 1


#: The recipe of the working faces; a new one (other characters, other outlines) is cached under new names.
WORKING_FACE_RECIPE = 2
#: How far (in font units, 1,000 to the em) a working CJK face's quadratic outline may stray from the
#: cubic one it replaces: a thousandth of the character's height, far below what print or screen shows.
OUTLINE_TOLERANCE = 1.0


def working_characters() -> frozenset[int]:
    """What Chinese documents are set in: GB 2312 (its 6,763 characters and its symbols), printable
    ASCII, CJK punctuation (with the title marks 《》〈〉) and the full-width forms."""
    chars = set(range(0x20, 0x7F)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(chars)


def latin_working_characters() -> frozenset[int]:
    """What the English half of a document and foreign names are set in: Latin letters with their
    accents (Basic Latin, Latin-1 and Latin Extended-A), general punctuation, currency signs and the
    letter-like symbols (™, №)."""
    return frozenset({*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x2000, 0x2070), *range(0x20A0, 0x20C1),
                      *range(0x2100, 0x2150)})


@dataclass(frozen=True)
class Faces:
    """The three fonts a document is set in."""

    latin: Path
    bold: Path
    cjk: Path


WHOLE_FACES = Faces(LATIN_FONT, LATIN_BOLD_FONT, CJK_FONT)


def working_face_path(source: Path = CJK_FONT, cache_dir: Path | None = None) -> Path:
    """Where this machine keeps the working face cut from ``source``: under ``$XDG_CACHE_HOME``
    (``~/.cache``), named after the recipe and the installed font's size and date, so that an updated
    font is cut again."""
    base = cache_dir or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "yunque" / "fonts"
    st = source.stat()
    face = _face_name(source)
    key = hashlib.sha256(f"{source}|{face}|{st.st_size}|{st.st_mtime_ns}|{WORKING_FACE_RECIPE}".encode())
    return base / f"working-{face.replace(' ', '')}-{key.hexdigest()[:16]}.ttf"


def _face_name(source: Path) -> str:
    return CJK_FACE if source == CJK_FONT else source.stem


def working_faces(cache_dir: Path | None = None) -> Faces:
    """The working faces, each cut now if this machine has none yet (seconds of CPU, once; written under
    a temporary name and then renamed, so that a reader never sees half a font)."""
    _check_fonts()
    latin = latin_working_characters()
    return Faces(_cut(LATIN_FONT, latin, cache_dir), _cut(LATIN_BOLD_FONT, latin, cache_dir),
                 _cut(CJK_FONT, working_characters(), cache_dir))


def _cut(source: Path, characters: frozenset[int], cache_dir: Path | None) -> Path:
    path = working_face_path(source, cache_dir)
    if path.exists():
        return path
    tt = ttLib.TTFont(str(source), fontNumber=_parsed(source).face, recalcBBoxes=False, recalcTimestamp=False)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, name_IDs=["*"], name_languages=["*"])
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM"]  # fpdf2 drops them from what it embeds, too
    cutter = ftsubset.Subsetter(options)
    cutter.populate(unicodes=characters)
    cutter.subset(tt)
    if "CFF " in tt:
        _to_truetype_outlines(tt)
    tt["post"].formatType = 3.0  # no glyph names: each document reads the font again, names and all
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    tt.save(str(tmp))
    os.replace(tmp, path)
    earlier = re.compile(rf"working-{re.escape(_face_name(source).replace(' ', ''))}-[0-9a-f]{{16}}\.(otf|ttf)")
    for old in path.parent.iterdir():  # the face's cuts by an earlier recipe, or from the font before an update
        if old != path and earlier.fullmatch(old.name):
            old.unlink(missing_ok=True)
    return path


def _to_truetype_outlines(tt: ttLib.TTFont) -> None:
    """The font's CFF outlines (cubic curves) as TrueType outlines (quadratic), within
    ``OUTLINE_TOLERANCE``. Embedding cuts a subset out of the working face for every document; a
    TrueType subset is cut without interpreting each glyph's program, in a fraction of the time."""
    glyph_order = tt.getGlyphOrder()
    glyphs = tt.getGlyphSet()
    glyf = ttLib.newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyphs)
        glyphs[name].draw(Cu2QuPen(pen, OUTLINE_TOLERANCE, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    tt["loca"] = ttLib.newTable("loca")
    tt["glyf"] = glyf
    tt.recalcBBoxes = True  # the outlines' bounds, measured when they are compiled
    del tt["CFF "]
    if "VORG" in tt:
        del tt["VORG"]  # vertical origins of CFF outlines
    glyf.compile(tt)
    hmtx = tt["hmtx"]
    for name, glyph in glyf.glyphs.items():  # a glyph's left side bearing is its outline's left edge
        if hasattr(glyph, "xMin"):
            hmtx[name] = (hmtx[name][0], glyph.xMin)
    maxp = ttLib.newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for name in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs", "maxStackElements",
                 "maxSizeOfInstructions", "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, name, 0)
    tt["maxp"] = maxp  # the glyph counts are recalculated when the font is saved
    tt["head"].glyphDataFormat = 0
    tt.sfntVersion = "\x00\x01\x00\x00"


def faces_for(text: str) -> Faces:
    """The faces ``text`` is set in: the working Latin faces if they have every character the whole
    Latin faces would draw, the working CJK face if it has every character left to the CJK face; the
    whole faces otherwise (a document then takes longer, and reads the same)."""
    working = _working_faces_if_cut()
    if working is None:
        return WHOLE_FACES
    latin, bold = _parsed(LATIN_FONT), _parsed(LATIN_BOLD_FONT)
    wlatin, wbold, wcjk = _parsed(working.latin), _parsed(working.bold), _parsed(working.cjk)
    latin_ok = cjk_ok = True
    for ch in set(text) - {"\n", "\r"}:
        if latin.has(ch) and bold.has(ch):
            latin_ok = latin_ok and wlatin.has(ch) and wbold.has(ch)
        else:
            cjk_ok = cjk_ok and wcjk.has(ch)
    return Faces(working.latin if latin_ok else LATIN_FONT, working.bold if latin_ok else LATIN_BOLD_FONT,
                 working.cjk if cjk_ok else CJK_FONT)


def _working_faces_if_cut() -> Faces | None:
    """The working faces if this machine has cut them all (rendering never cuts them: the task worker's
    warm-up and the set-up do); a damaged one is removed, to be cut again."""
    paths = Faces(*(working_face_path(p) for p in (LATIN_FONT, LATIN_BOLD_FONT, CJK_FONT)))
    for path in (paths.latin, paths.bold, paths.cjk):
        if not path.exists():
            return None
        try:
            _parsed(path)
        except Exception:  # noqa: BLE001 - a damaged cache: set in the whole faces, and cut it again
            path.unlink(missing_ok=True)
            return None
    return paths


def warm_up() -> None:
    """Parse the fonts now (and cut the working face if this machine has none), so that a long-lived
    process (the task worker) renders its first document as fast as the rest."""
    _check_fonts()
    for p in (CJK_FONT, LATIN_FONT, LATIN_BOLD_FONT):
        _parsed(p)
    try:
        faces = working_faces()
    except OSError:  # no writable cache here: the documents are set in the whole faces
        return
    for p in (faces.latin, faces.bold, faces.cjk):
        _parsed(p)
