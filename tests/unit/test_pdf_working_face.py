"""The working faces: each font cut once per machine to the characters documents are set in (the CJK
face to GB 2312, in TrueType outlines; the Latin faces to Latin letters and punctuation), in which a
document renders in about half the time; a document with a character outside them is set in the whole
faces, and reads the same."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fontTools import ttLib
from fontTools.pens.boundsPen import BoundsPen

from adapters import pdf
from adapters.pdf import Bilingual, Faces, LegalDocument

RARE = "㐀"  # U+3400, CJK Extension A: the whole face has it, GB 2312 has not
CYRILLIC = "Ж"  # the whole Latin faces have it, the working ones have not


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faces]:
    """A machine whose cache is empty until the working faces are cut (once for the module: seconds)."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    try:
        yield pdf.working_faces()
    finally:
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved


def document(name: str) -> LegalDocument:
    return LegalDocument(
        number="YQ-DOC-2027-000001", title=Bilingual("知识产权状况确认通知书", "Notice"),
        office=Bilingual("首都机场海关", "Capital Airport Customs"),
        dated=datetime(2027, 1, 4, 2, 0, tzinfo=UTC), date_text=Bilingual("2027年1月4日", "4 January 2027"),
        particulars=((Bilingual("收件人", "To"), name),),
        paragraphs=(Bilingual("请于三个工作日内答复。", "Answer within three working days."),),
        goods=None, after_goods=(), legal_basis=Bilingual("〈中华人民共和国知识产权海关保护条例〉第十六条", "Regulations, Art. 16"),
        verify_url="http://127.0.0.1:8501/verify?doc=YQ-DOC-2027-000001")


def text_of(data: bytes) -> str:
    run = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True,
                         timeout=60)
    return re.sub(r"\s+", "", run.stdout.decode())


def embedded_fonts(data: bytes) -> list[str]:
    run = subprocess.run(["pdffonts", "-"], input=data, capture_output=True, check=False, timeout=60)
    if run.returncode != 0:  # an older pdffonts reads only files
        raise AssertionError(run.stderr.decode())
    return run.stdout.decode().splitlines()[2:]


def test_the_working_cjk_face_holds_gb2312_in_a_fifth_of_the_glyphs_in_truetype_outlines(cache: Faces) -> None:
    whole = ttLib.TTFont(str(pdf.CJK_FONT), fontNumber=pdf._parsed(pdf.CJK_FONT).face, lazy=True)
    working = ttLib.TTFont(str(cache.cjk), lazy=True)
    assert cache.cjk.parent == Path(os.environ["XDG_CACHE_HOME"]) / "yunque" / "fonts"
    assert len(working.getGlyphOrder()) < len(whole.getGlyphOrder()) / 4
    drawn = set(whole.getBestCmap()) & pdf.working_characters()
    assert drawn <= set(working.getBestCmap())
    assert len(drawn) > 7000 and {0x3008, 0x3009, 0x300A, 0x300B} <= drawn  # the title marks 〈〉《》
    assert ord(RARE) in whole.getBestCmap() and ord(RARE) not in working.getBestCmap()
    assert "glyf" in working and "CFF " not in working and "CFF " in whole
    assert pdf.working_faces() == cache  # cut once: the second call finds them


def test_the_working_cjk_outlines_keep_the_shape_of_the_whole_face(cache: Faces) -> None:
    """Every character's outline bounds stay within two font units (of 1,000 to the em) of the cubic
    outline it was converted from, and the advance widths are the same."""
    whole = ttLib.TTFont(str(pdf.CJK_FONT), fontNumber=pdf._parsed(pdf.CJK_FONT).face, lazy=True)
    working = ttLib.TTFont(str(cache.cjk), lazy=True)
    whole_names, working_names = whole.getBestCmap(), working.getBestCmap()
    whole_glyphs, working_glyphs = whole.getGlyphSet(), working.getGlyphSet()
    checked = 0
    for code in sorted(working_names)[::23]:  # a sample across the set: every 23rd character
        a, b = BoundsPen(whole_glyphs), BoundsPen(working_glyphs)
        whole_glyphs[whole_names[code]].draw(a)
        working_glyphs[working_names[code]].draw(b)
        assert whole_glyphs[whole_names[code]].width == working_glyphs[working_names[code]].width, chr(code)
        if a.bounds is None:
            assert b.bounds is None, chr(code)
            continue
        assert max(abs(x - y) for x, y in zip(a.bounds, b.bounds, strict=True)) <= 2, (chr(code), a.bounds, b.bounds)
        checked += 1
    assert checked > 300


def test_the_working_latin_faces_hold_latin_letters_and_punctuation(cache: Faces) -> None:
    for whole_path, working_path in ((pdf.LATIN_FONT, cache.latin), (pdf.LATIN_BOLD_FONT, cache.bold)):
        whole, working = ttLib.TTFont(str(whole_path), lazy=True), ttLib.TTFont(str(working_path), lazy=True)
        kept = set(whole.getBestCmap()) & pdf.latin_working_characters()
        assert kept == set(working.getBestCmap())
        assert {ord(c) for c in "AZaz09éüçñß€·“”–—™"} <= kept
        assert len(working.getGlyphOrder()) < len(whole.getGlyphOrder()) / 5


def test_a_document_in_everyday_words_is_set_in_the_working_faces_and_one_with_a_rare_character_in_the_whole(
        cache: Faces) -> None:
    common, rare_cjk, rare_latin = document("王伟 Müller"), document(f"王{RARE}"), document(f"Иван {CYRILLIC}")
    assert pdf.faces_for(pdf.printed_text(common)) == cache
    assert pdf.faces_for(pdf.printed_text(rare_cjk)) == Faces(cache.latin, cache.bold, pdf.CJK_FONT)
    assert pdf.faces_for(pdf.printed_text(rare_latin)) == Faces(pdf.LATIN_FONT, pdf.LATIN_BOLD_FONT, cache.cjk)
    assert "收件人To王伟Müller" in text_of(pdf.render(common))
    assert f"收件人To王{RARE}" in text_of(pdf.render(rare_cjk))
    assert f"收件人ToИван{CYRILLIC}" in text_of(pdf.render(rare_latin))
    assert pdf.render(common) == pdf.render(common)  # deterministic in the working faces too
    fonts = embedded_fonts(pdf.render(common))
    assert len(fonts) == 3 and all("CID TrueType" in f and " yes yes yes " in f for f in fonts), fonts


def test_without_the_working_faces_documents_are_set_in_the_whole_faces(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert pdf.faces_for("王伟") == pdf.WHOLE_FACES
    assert not pdf.working_face_path().exists()  # rendering never cuts them: the task worker's warm-up does
    assert "王伟" in text_of(pdf.render(document("王伟")))


def test_a_damaged_working_face_is_set_aside_and_the_whole_faces_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                     cache: Faces) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    faces = Faces(*(pdf.working_face_path(p) for p in (pdf.LATIN_FONT, pdf.LATIN_BOLD_FONT, pdf.CJK_FONT)))
    faces.cjk.parent.mkdir(parents=True)
    for good, copy in ((cache.latin, faces.latin), (cache.bold, faces.bold)):
        copy.write_bytes(good.read_bytes())
    faces.cjk.write_bytes(b"\0\1\0\0" + b"\0" * 100)
    assert pdf.faces_for("王伟") == pdf.WHOLE_FACES
    assert not faces.cjk.exists() and faces.latin.exists()


def test_cutting_a_face_removes_its_earlier_cuts_and_no_other_face(tmp_path: Path) -> None:
    earlier = tmp_path / "working-DejaVuSans-0123456789abcdef.otf"
    others = [tmp_path / "working-DejaVuSans-Bold-0123456789abcdef.ttf",
              tmp_path / "working-NotoSansCJKSC-0123456789abcdef.otf", tmp_path / "notes.txt"]
    for p in (earlier, *others):
        p.write_bytes(b"x")
    cut = pdf._cut(pdf.LATIN_FONT, pdf.latin_working_characters(), tmp_path)
    assert sorted(tmp_path.iterdir()) == sorted([cut, *others])
