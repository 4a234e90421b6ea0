"""An office's seal is converted and parsed once per process, not once per document: the documents
print the same seal, byte for byte the same as when each document converted it afresh."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pypdf import PdfReader

from adapters import pdf
from tests.unit.test_documents import seal_png
from tests.unit.test_pdf_working_face import document


@pytest.fixture
def fresh() -> None:
    pdf.seal_for_print.cache_clear()
    pdf._seal_image.cache_clear()


def _fresh_render(doc: pdf.LegalDocument) -> bytes:
    pdf.seal_for_print.cache_clear()
    pdf._seal_image.cache_clear()
    return pdf.render(doc)


def test_documents_of_one_seal_convert_and_parse_it_once_and_print_it_the_same(
        fresh: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seal = seal_png(900, 900)  # larger than printed: resized to SEAL_PIXELS
    docs = [dataclasses.replace(document(name), seal=seal) for name in ("CHANEL SARL", "NIKE, Inc.", "爱马仕")]
    alone = [_fresh_render(d) for d in docs]  # each as the first document of its process

    parsed: list[int] = []
    real = pdf.preload_image
    monkeypatch.setattr(pdf, "preload_image", lambda cache, name: parsed.append(1) or real(cache, name))
    pdf.seal_for_print.cache_clear()
    pdf._seal_image.cache_clear()
    together = [pdf.render(d) for d in docs]
    assert len(parsed) == 1 and pdf.seal_for_print.cache_info().misses == 1
    assert together == alone
    for data in together:
        (image,) = PdfReader(io.BytesIO(data)).pages[-1].images
        assert image.image.mode == "RGBA" and max(image.image.size) == pdf.SEAL_PIXELS


def test_another_seal_is_converted_for_itself(fresh: None) -> None:
    first = dataclasses.replace(document("CHANEL SARL"), seal=seal_png(300, 300))
    second = dataclasses.replace(first, seal=seal_png(400, 400))
    pdf.render(first)
    data = pdf.render(second)
    assert pdf.seal_for_print.cache_info().misses == 2 and pdf._seal_image.cache_info().misses == 2
    assert data == _fresh_render(second)
    (image,) = PdfReader(io.BytesIO(data)).pages[-1].images
    assert image.image.size == (400, 400)
