"""AppTest: an administrator sets an office's seal from the administrators' page; a file that cannot be a seal
is refused with a message naming ``seal`` and nothing changes; the seal in use is shown."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pytest

from services.offices import office_seal
from tests.support import moto_store
from tests.ui.test_pages import app_as, texts
from ui.i18n import t


def _seal(mode: str = "RGBA") -> bytes:
    """A red round seal, on a transparent ground (``mode="RGB"``: on white, which would hide the text under it)."""
    from PIL import Image, ImageDraw

    im = Image.new(mode, (160, 160), (0, 0, 0, 0) if mode == "RGBA" else (255, 255, 255))
    ImageDraw.Draw(im).ellipse((4, 4, 155, 155), outline=(200, 20, 20), width=8)
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def store(sqlite_db_now: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_store(monkeypatch) as s:
        yield s


def _upload(at: Any, name: str, data: bytes) -> Any:
    at.file_uploader(key="admin.seal.file").set_value((name, data, "image/png"))
    next(b for b in at.button if b.label == t("seal.set", "en")).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_an_administrator_sets_the_seal_and_a_bad_file_is_refused_naming_seal(store: Any) -> None:
    at = app_as("admin", "views/admin.py")
    assert at.selectbox(key="admin.seal.office").value == "CAPAIR"
    assert t("seal.none", "en") in texts(at) and not at.get("image")

    _upload(at, "seal.png", b"%PDF-1.4 not an image at all")  # named .png: the content is what is judged
    errors = [e.value for e in at.error]
    assert any(e.startswith("seal:") and "PNG" in e for e in errors), errors
    _upload(at, "seal.png", _seal("RGB"))  # a PNG, but no transparency
    assert any(e.value.startswith("seal:") and "transparency" in e.value for e in at.error)
    assert office_seal(office="CAPAIR", actor="admin").sha256 is None  # nothing was set
    assert store.list_keys("offices/") == []

    good = _seal()
    _upload(at, "seal.png", good)
    assert [s.value for s in at.success] == [t("seal.saved", "en")] and not at.error
    sha = hashlib.sha256(good).hexdigest()
    current = office_seal(office="CAPAIR", actor="admin")
    assert (current.sha256, current.image) == (sha, good)
    assert t("seal.current", "en", sha=sha[:12], size=len(good)) in texts(at)
    assert len(at.get("image")) == 1, "the seal in use is shown"
    again = app_as("admin", "views/admin.py")  # a fresh page shows the seal set
    assert t("seal.current", "en", sha=sha[:12], size=len(good)) in texts(again) and len(again.get("image")) == 1
