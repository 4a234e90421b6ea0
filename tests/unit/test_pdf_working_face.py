"""The working face: the CJK face cut once per machine to GB 2312, in which documents render in half
the time; a document with a character outside it is set in the whole face, and reads the same."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fontTools import ttLib

from adapters import pdf
from adapters.pdf import Bilingual, LegalDocument

RARE = "㐀"  # U+3400, CJK Extension A: the whole face has it, GB 2312 has not


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A machine whose cache is empty until the working face is cut (once for the module: seconds)."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    try:
        yield pdf.working_face()
    finally:
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved


def document(name: str) -> LegalDocument:
    return LegalDocument(
        number="YQ-DOC-2027-000001", title=Bilingual("知识产权状况确认通知书", "Notice"), office=Bilingual("首都机场海关", "Capital Airport Customs"),
        dated=datetime(2027, 1, 4, 2, 0, tzinfo=UTC), date_text=Bilingual("2027年1月4日", "4 January 2027"),
        particulars=((Bilingual("收件人", "To"), name),), paragraphs=(Bilingual("请于三个工作日内答复。", "Answer within three working days."),),
        goods=None, after_goods=(), legal_basis=Bilingual("〈中华人民共和国知识产权海关保护条例〉第十六条", "Regulations, Art. 16"),
        verify_url="http://127.0.0.1:8501/verify?doc=YQ-DOC-2027-000001")


def text_of(data: bytes) -> str:
    run = subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True, timeout=60)
    return re.sub(r"\s+", "", run.stdout.decode())


def test_the_working_face_holds_gb2312_in_a_fifth_of_the_glyphs(cache: Path) -> None:
    whole = ttLib.TTFont(str(pdf.CJK_FONT), fontNumber=pdf._parsed(pdf.CJK_FONT).face, lazy=True)
    working = ttLib.TTFont(str(cache), lazy=True)
    assert cache.parent == Path(os.environ["XDG_CACHE_HOME"]) / "yunque" / "fonts"
    assert len(working.getGlyphOrder()) < len(whole.getGlyphOrder()) / 4
    drawn = set(whole.getBestCmap()) & pdf.working_characters()
    assert drawn <= set(working.getBestCmap())
    assert len(drawn) > 7000 and {0x3008, 0x3009, 0x300A, 0x300B} <= drawn  # the title marks 〈〉《》
    assert ord(RARE) in whole.getBestCmap() and ord(RARE) not in working.getBestCmap()
    assert pdf.working_face() == cache  # cut once: the second call finds it


def test_a_document_in_everyday_chinese_is_set_in_the_working_face_and_one_with_a_rare_character_in_the_whole(cache: Path) -> None:
    common, rare = document("王伟"), document(f"王{RARE}")
    assert pdf._cjk_face_for(pdf.printed_text(common)) == cache
    assert pdf._cjk_face_for(pdf.printed_text(rare)) == pdf.CJK_FONT
    assert "收件人To王伟" in text_of(pdf.render(common))
    assert f"收件人To王{RARE}" in text_of(pdf.render(rare))
    assert pdf.render(common) == pdf.render(common)  # deterministic in the working face too


def test_without_the_working_face_documents_are_set_in_the_whole_face(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert pdf._cjk_face_for("王伟") == pdf.CJK_FONT
    assert not pdf.working_face_path().exists()  # rendering never cuts it: the task worker's warm-up does
    assert "王伟" in text_of(pdf.render(document("王伟")))


def test_a_damaged_working_face_is_set_aside_and_the_whole_face_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = pdf.working_face_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"OTTO" + b"\0" * 100)
    assert pdf._cjk_face_for("王伟") == pdf.CJK_FONT
    assert not path.exists()
