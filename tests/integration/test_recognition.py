"""以图识图 over a real database (SQLite and PostgreSQL) and the S3 API (moto): recordation images
are stored with their hash and timeline entry, and a photo is matched to the recordation it shows."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from adapters import marks
from models.rules.errors import InvalidInput, NotFound, PermissionDenied
from models.tables import RecordationImage, TimelineEntry
from services import recognition
from services.cases import open_case
from services.demo import seed_shipment
from services.evidence import add_evidence
from tests.support import moto_store, session_scope

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
CHANEL, NIKE = "T2019-40001", "T2019-40002"


@pytest.fixture
def s3(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    recognition.forget_index()
    with moto_store(monkeypatch) as store:
        yield store
    recognition.forget_index()


@pytest.fixture
def demo_marks(s3: object) -> list[recognition.RecordationImageOut]:
    return recognition.load_demo_marks(now=NOW)


def test_demo_marks_are_stored_with_their_hash_and_recorded_on_the_timeline(s3, demo_marks) -> None:
    assert len(demo_marks) == 9
    chanel = next(i for i in demo_marks if i.recordation == CHANEL)
    assert chanel.brand == "CHANEL" and chanel.kind == "mark"
    key = recognition.image_key(CHANEL, chanel.sha256)
    assert s3.hash_of(key) == (chanel.sha256, chanel.size)  # type: ignore[attr-defined]
    assert hashlib.sha256(recognition.demo_mark_png("CHANEL")).hexdigest() == chanel.sha256
    with session_scope(readonly=True) as s:
        entries = [(e.case_id, e.subject) for e in
                   s.exec(select(TimelineEntry).where(TimelineEntry.action == "recordation.image_added"))]
    assert len(entries) == 9
    assert {case_id for case_id, _ in entries} == {None}
    assert (None, f"recordation:{CHANEL}") in entries


def test_loading_the_demo_marks_twice_stores_nothing_new(demo_marks) -> None:
    again = recognition.load_demo_marks(now=NOW)
    assert [i.duplicate for i in again] == [True] * 9
    with session_scope(readonly=True) as s:
        count = len(s.exec(select(RecordationImage)).all())
    assert count == 9


def test_a_photo_of_a_mark_suggests_its_recordation_and_rights_holder(demo_marks) -> None:
    photo = marks.synthetic_photo(marks.synthetic_mark("NIKE", 0), seed=42)
    result = recognition.match_photo(actor="site.wang", data=photo)
    assert result.matched
    best = result.candidates[0]
    assert (best.recordation, best.brand, best.rights_holder) == (NIKE, "NIKE", "Nike Innovate C.V.")
    assert best.score > 0 and len(best.quad) == 4
    assert recognition.outline(photo, best).startswith(b"\x89PNG")


def test_an_iphone_photo_in_heic_is_matched_like_its_jpeg(demo_marks) -> None:
    import io

    from PIL import Image
    from pillow_heif import register_heif_opener

    register_heif_opener()
    jpeg = marks.synthetic_photo(marks.synthetic_mark("NIKE", 0), seed=42)
    heic = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(heic, format="HEIF", quality=95)
    assert heic.getvalue()[4:12] == b"ftypheic"
    result = recognition.match_photo(actor="site.wang", data=heic.getvalue())
    assert [c.recordation for c in result.candidates][:1] == [NIKE]
    assert recognition.outline(heic.getvalue(), result.candidates[0]).startswith(b"\x89PNG")
    with pytest.raises(InvalidInput, match="photo"):  # a HEIC cut short is refused naming the field
        recognition.match_photo(actor="site.wang", data=heic.getvalue()[:300])


def test_a_photo_without_a_mark_is_no_match(demo_marks) -> None:
    result = recognition.match_photo(actor="site.wang", data=marks.synthetic_photo(None, seed=43))
    assert result.candidates == [] and result.recordations_indexed == 9


def test_a_new_image_is_matched_without_restarting(demo_marks) -> None:
    recognition.match_photo(actor="site.wang", data=marks.synthetic_photo(None, seed=1))  # the index is built
    ref = marks.synthetic_mark("PRADA", 77)
    recognition.add_recordation_image(recordation="T2019-40007", actor="prada.agent", data=marks.png_bytes(ref),
                                   kind="reference", now=NOW)
    result = recognition.match_photo(actor="ipr.li", data=marks.synthetic_photo(ref, seed=5))
    assert result.candidates[0].recordation == "T2019-40007"
    assert result.candidates[0].brand == "PRADA"


def test_a_rights_holder_maintains_only_its_own_recordations(s3) -> None:
    png = recognition.demo_mark_png("NIKE")
    with pytest.raises(NotFound):
        recognition.add_recordation_image(recordation=NIKE, actor="chanel.agent", data=png, now=NOW)
    with pytest.raises(PermissionDenied):
        recognition.add_recordation_image(recordation=NIKE, actor="site.wang", data=png, now=NOW)
    out = recognition.add_recordation_image(recordation=NIKE, actor="nike.agent", data=png, now=NOW)
    assert out.added_by == "nike.agent"
    with session_scope(readonly=True) as s:
        count = len(s.exec(select(RecordationImage)).all())
    assert count == 1


def test_only_customs_match_photos(demo_marks) -> None:
    with pytest.raises(PermissionDenied):
        recognition.match_photo(actor="nike.agent", data=marks.synthetic_photo(None, seed=2))


@pytest.mark.parametrize(("data", "field"), [(b"", "file"), (b"%PDF-1.7\n" + b"x" * 200, "file"),
                                             (b"\xff\xd8\xff\xe0 truncated", "file")])
def test_what_is_not_an_image_is_refused_naming_the_field(s3, data: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as e:
        recognition.add_recordation_image(recordation=CHANEL, actor="chanel.agent", data=data, now=NOW)
    assert e.value.field == field
    with session_scope(readonly=True) as s:
        count = len(s.exec(select(RecordationImage)).all())
    assert count == 0


def test_a_snapshot_is_checked_against_its_lines_recordation(demo_marks) -> None:
    case = open_case(shipment=seed_shipment(NOW), actor="site.wang", now=NOW)
    line = next(ln.number for ln in case.lines if ln.brand == "GUCCI")
    photo = marks.synthetic_photo(marks.synthetic_mark("GUCCI", 0), seed=9)
    import io

    ev = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(photo), filename="g.jpg",
                      line_number=line, now=NOW)
    check = recognition.check_snapshot(actor="ipr.li", case_number=case.number, evidence_id=ev.id)
    assert check.matched and check.brand == "GUCCI" and check.line_number == line
    other = next(ln.number for ln in case.lines if ln.brand == "ROLEX")
    ev2 = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(photo), filename="g2.jpg",
                       line_number=other, now=NOW)
    assert not ev2.duplicate and ev2.line_number == other  # the same bytes, evidence of each line they show
    miss = recognition.check_snapshot(actor="ipr.li", case_number=case.number, evidence_id=ev2.id)
    assert not miss.matched and miss.brand == "ROLEX"


def test_identifications_go_on_the_case_timeline_with_their_scores(demo_marks) -> None:
    case = open_case(shipment=seed_shipment(NOW), actor="site.wang", now=NOW)
    line = next(ln.number for ln in case.lines if ln.brand == "NIKE")
    n = recognition.record_identifications(
        case_number=case.number, actor="site.wang", now=NOW,
        identifications=[recognition.Identification(line_number=line, recordation=NIKE, score=88.5, inliers=91)])
    assert n == 1
    with session_scope(readonly=True) as s:
        entries = [e.after for e in s.exec(select(TimelineEntry).where(
            TimelineEntry.action == "line.identified_from_photo"))]
    assert entries == [{"line": line, "recordation": NIKE, "brand": "NIKE", "line_recordation_matches": True,
                        "score": 88.5, "inliers": 91}]
    with pytest.raises(InvalidInput) as e:
        recognition.record_identifications(
            case_number=case.number, actor="site.wang", now=NOW,
            identifications=[recognition.Identification(line_number=99, recordation=NIKE, score=1, inliers=14)])
    assert e.value.field == "line_number"
