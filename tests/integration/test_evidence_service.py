"""The evidence service over a real database (SQLite and PostgreSQL) and the S3 API (moto)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import EndpointConnectionError
from pydantic import ValidationError
from sqlmodel import select

from models.rules.errors import InvalidInput, NotFound, PermissionDenied
from models.tables import Consignor, Evidence, TimelineEntry, User
from services.demo import seed_shipment
from services.evidence import add_evidence, evidence_url, list_evidence, verify_evidence

from tests.support import moto_store, photo, session_scope
from tests.support import moto_store
from tests.support import open_confirmed

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
JPEG = photo("photo-of-inner-card")
PDF = b"%PDF-1.7\n" + b"report" * 100


def _moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_store(monkeypatch) as store:
        yield store


@pytest.fixture
def s3(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """S3 from moto, over SQLite and PostgreSQL."""
    yield from _moto(monkeypatch)


@pytest.fixture
def s3_lite(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """S3 from moto over SQLite only: for refusals that never reach the database's write path."""
    yield from _moto(monkeypatch)


@pytest.fixture
def case(s3: object) -> object:
    return open_confirmed(seed_shipment(FOUND), now=FOUND)


@pytest.fixture
def lite_case(s3_lite: object) -> object:
    return open_confirmed(seed_shipment(FOUND), now=FOUND)


def _line(case, brand: str) -> int:  # noqa: ANN001
    return next(ln.number for ln in case.lines if ln.brand == brand)


def _keys(store) -> list[str]:  # noqa: ANN001
    return store.list_keys("")


def _evidence_rows() -> int:
    with session_scope(readonly=True) as s:
        return len(list(s.exec(select(Evidence))))


def test_a_photo_is_stored_under_case_and_hash_with_its_chain_of_custody(case, s3) -> None:  # noqa: ANN001
    ev = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="IMG_0001.JPG",
                      line_number=_line(case, "CHANEL"), note="inner card", now=FOUND)
    import hashlib

    assert ev.sha256 == hashlib.sha256(JPEG).hexdigest() and ev.size == len(JPEG)
    assert (ev.kind, ev.content_type, ev.captured_by, ev.line_number) == ("photo", "image/jpeg", "site.wang", 1)
    assert _keys(s3) == [f"evidence/{case.number}/{ev.sha256}"]
    with session_scope(readonly=True) as s:
        entry = s.exec(select(TimelineEntry).where(TimelineEntry.action == "evidence.added")).one()
        actor, after = entry.actor, dict(entry.after)
    assert actor == "site.wang" and after["sha256"] == ev.sha256 and after["line"] == 1
    assert after["filename"] == "IMG_0001.JPG" and after["server_time"].startswith("2026-11-24T10:30")


def test_a_retried_upload_is_harmless(case, s3) -> None:  # noqa: ANN001
    first = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="a.jpg", now=FOUND)
    again = add_evidence(case_number=case.number, actor="site.liu", stream=io.BytesIO(JPEG), filename="b.jpg", now=FOUND)
    assert again.id == first.id and again.duplicate and not first.duplicate
    assert _evidence_rows() == 1 and len(_keys(s3)) == 1


WEBM = (bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d4287810442858102")
        + b"\x18\x53\x80\x67" + b"\x01" * 400)  # the EBML header a browser's MediaRecorder writes


def test_a_browser_recording_in_webm_is_accepted_by_its_content(case, s3) -> None:  # noqa: ANN001
    ev = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(WEBM), filename="clip.bin",
                      line_number=_line(case, "CHANEL"), now=FOUND)
    assert (ev.kind, ev.content_type) == ("video", "video/webm")
    assert ".webm" in evidence_url(evidence_id=ev.id, actor="chanel.agent")


def test_the_same_file_is_evidence_of_each_line_it_shows_and_each_holder_sees_it(case, s3) -> None:  # noqa: ANN001
    chanel = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="both.jpg",
                          line_number=_line(case, "CHANEL"), now=FOUND)
    nike = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="both.jpg",
                        line_number=_line(case, "NIKE"), now=FOUND)
    again = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="both.jpg",
                         line_number=_line(case, "NIKE"), now=FOUND)
    assert nike.id != chanel.id and not nike.duplicate and nike.line_number == _line(case, "NIKE")
    assert again.id == nike.id and again.duplicate
    assert _evidence_rows() == 2 and len(_keys(s3)) == 1  # one object, a record per line
    assert [e.id for e in list_evidence(case_number=case.number, actor="nike.agent")] == [nike.id]
    assert [e.id for e in list_evidence(case_number=case.number, actor="chanel.agent")] == [chanel.id]
    assert verify_evidence(case_number=case.number).counts == {"intact": 2, "altered": 0, "missing": 0, "mismatch": 0}


@pytest.mark.parametrize("data,filename,reason", [
    (b"MZ\x90\x00" + b"\x00" * 100, "photo.jpg", "not an accepted type"),  # an executable named .jpg
    (b"<html><script>alert(1)</script></html>", "x.png", "not an accepted type"),
    (b"", "empty.jpg", "empty"),
])
def test_content_that_is_not_an_accepted_type_is_refused_and_nothing_is_left(lite_case, s3_lite, data, filename, reason) -> None:  # noqa: ANN001
    case, s3 = lite_case, s3_lite
    with pytest.raises(InvalidInput, match=reason):
        add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(data), filename=filename, now=FOUND)
    assert _evidence_rows() == 0 and _keys(s3) == []


class Endless(io.RawIOBase):
    """``size`` bytes starting with ``head``, produced on the fly (never held in memory)."""

    def __init__(self, head: bytes, size: int):
        self.head, self.size, self.pos = head, size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        n = min(len(b), self.size - self.pos)
        if n <= 0:
            return 0
        chunk = bytearray(n)
        if self.pos < len(self.head):
            k = min(n, len(self.head) - self.pos)
            chunk[:k] = self.head[self.pos:self.pos + k]
        b[:n] = chunk
        self.pos += n
        return n


def test_a_photo_over_the_size_limit_is_refused_and_nothing_is_left(lite_case, s3_lite) -> None:  # noqa: ANN001
    case, s3 = lite_case, s3_lite
    from services.evidence import LIMITS

    big = io.BufferedReader(Endless(JPEG, LIMITS["photo"] + 1))
    with pytest.raises(InvalidInput, match="too large: a photo may be at most 25 MiB"):
        add_evidence(case_number=case.number, actor="site.wang", stream=big, filename="big.jpg", now=FOUND)
    assert _evidence_rows() == 0 and _keys(s3) == []


@pytest.mark.parametrize("name", ["../../etc/passwd.jpg", "C:\\Windows\\x.jpg", "a/b.jpg", "..", "bad\x00name.jpg"])
def test_path_like_file_names_are_refused(lite_case, s3_lite, name) -> None:  # noqa: ANN001
    case, s3 = lite_case, s3_lite
    with pytest.raises(ValidationError, match="filename"):
        add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename=name, now=FOUND)
    assert _evidence_rows() == 0 and _keys(s3) == []


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff",  # three magic bytes
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"photo-of-inner-card" * 50,  # a JPEG header and no picture
    JPEG[: len(JPEG) // 2],  # a real photo cut short
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
])
def test_a_photo_that_does_not_decode_is_refused_and_nothing_is_kept(lite_case, s3_lite, data) -> None:  # noqa: ANN001
    case, s3 = lite_case, s3_lite
    with pytest.raises(InvalidInput) as caught:
        add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(data), filename="IMG_1.jpg", now=FOUND)
    assert caught.value.field == "file" and "not a readable photo" in caught.value.reason
    assert _evidence_rows() == 0 and _keys(s3) == []


def test_an_s3_outage_mid_upload_leaves_no_record_and_no_object(case, s3, monkeypatch) -> None:  # noqa: ANN001
    from services.evidence import LIMITS

    calls = {"n": 0}
    real = s3.client.upload_part

    def flaky(**kw):  # noqa: ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise EndpointConnectionError(endpoint_url="https://s3.us-east-1.amazonaws.com")
        return real(**kw)

    monkeypatch.setattr(s3.client, "upload_part", flaky)
    video = io.BufferedReader(Endless(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", 20 * 1024 * 1024))
    assert LIMITS["video"] > 20 * 1024 * 1024
    with pytest.raises(EndpointConnectionError):
        add_evidence(case_number=case.number, actor="site.wang", stream=video, filename="clip.mp4", now=FOUND)
    assert _evidence_rows() == 0 and _keys(s3) == []
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []


def test_a_failed_record_removes_the_object_it_stored(case, s3, monkeypatch) -> None:  # noqa: ANN001
    import services.evidence as ev_mod

    def broken(*a, **kw):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("database went away")

    monkeypatch.setattr(ev_mod, "_write", broken)
    with pytest.raises(RuntimeError):
        add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="a.jpg", now=FOUND)
    assert _keys(s3) == []


def _other_consignor_user() -> None:
    """A consignor of another shipment, with its own case at the same office."""
    ship = seed_shipment(FOUND)
    ship["declaration_no"] = "010120261124999999"
    ship["consignor"] = {"name": "Other Trading Co.", "uscc": "91110000MA01ABCD1X"}
    open_confirmed(ship, now=FOUND)
    with session_scope() as s:
        other = s.exec(select(Consignor).where(Consignor.uscc == "91110000MA01ABCD1X")).one()
        s.add(User(username="other.trading", display_name="Other", role="consignor", consignor_id=other.id))


def test_only_entitled_users_list_or_get_a_link(case, s3) -> None:  # noqa: ANN001
    chanel = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="a.jpg",
                          line_number=_line(case, "CHANEL"), now=FOUND)
    nike = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(PDF), filename="r.pdf",
                        line_number=_line(case, "NIKE"), now=FOUND)
    assert [e.id for e in list_evidence(case_number=case.number, actor="ipr.li")] == [chanel.id, nike.id]
    assert [e.id for e in list_evidence(case_number=case.number, actor="chanel.agent")] == [chanel.id]
    url = evidence_url(evidence_id=chanel.id, actor="chanel.agent")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    # another brand's holder, the consignor (not invited to any viewing), an officer of another
    # office, and an unknown user
    with pytest.raises(NotFound):
        evidence_url(evidence_id=chanel.id, actor="nike.agent")
    assert list_evidence(case_number=case.number, actor="cq.trading") == []
    for who in ("cq.trading", "site.huang", "nobody"):
        with pytest.raises(NotFound):
            evidence_url(evidence_id=chanel.id, actor=who)
    _other_consignor_user()
    for who in ("other.trading", "site.huang", "nobody"):
        with pytest.raises(NotFound):
            list_evidence(case_number=case.number, actor=who)
        with pytest.raises(NotFound):
            evidence_url(evidence_id=nike.id, actor=who)
    with pytest.raises(NotFound):  # a rights holder with no notice in the case cannot even add to it
        add_evidence(case_number=case.number, actor="nobody", stream=io.BytesIO(JPEG), filename="a.jpg")


def test_rights_holders_cannot_add_evidence(case, s3) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        add_evidence(case_number=case.number, actor="chanel.agent", stream=io.BytesIO(JPEG), filename="a.jpg")
    assert _keys(s3) == []


def test_verify_reports_intact_altered_and_missing(case, s3) -> None:  # noqa: ANN001
    a = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="a.jpg", now=FOUND)
    b = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(PDF), filename="b.pdf", now=FOUND)
    c = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG + b"x"), filename="c.jpg", now=FOUND)
    assert verify_evidence(case_number=case.number).intact
    s3.client.put_object(Bucket=s3.bucket, Key=f"evidence/{case.number}/{b.sha256}", Body=PDF + b"forged")
    s3.delete(f"evidence/{case.number}/{c.sha256}")
    report = verify_evidence(case_number=case.number, actor="ipr.li")
    assert not report.intact
    assert {i.evidence_id: i.status for i in report.items} == {a.id: "intact", b.id: "altered", c.id: "missing"}
    assert report.counts == {"intact": 1, "altered": 1, "missing": 1, "mismatch": 0}
    with pytest.raises(NotFound):
        verify_evidence(case_number=case.number, actor="site.huang")
