"""A remote viewing end to end at the service level: request, approve, open, shot, capture, see it
in the room, verdict, and the 9-minute figure; on SQLite and PostgreSQL, with S3 from moto."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound, PermissionDenied
from services.cases import open_case
from services.demo import seed_shipment
from services.evidence import add_evidence, evidence_url, list_evidence
from services.guide import add_guide_item, list_guide, update_guide_item
from services.tasks import inbox
from services.viewing import (
    answer_from_room,
    close_room,
    confirmation_times,
    decide_viewing,
    list_viewings,
    open_room,
    request_shot,
    request_viewing,
    room_state,
    set_call_link,
)

from tests.support import moto_store, open_confirmed, photo

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
JPEG = photo("serial number sticker")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _case(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    with moto_store(monkeypatch):
        yield open_confirmed(seed_shipment(T0), now=T0)


@pytest.fixture
def case(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The seed case, on SQLite and PostgreSQL, with S3 from moto."""
    yield from _case(monkeypatch)


@pytest.fixture
def lite_case(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    yield from _case(monkeypatch)


def _notice(case, brand: str):  # noqa: ANN001, ANN202
    return next(n for n in case.notices if brand in n.brands)


def test_the_remote_viewing_from_request_to_verdict(case) -> None:  # noqa: ANN001
    chanel = _notice(case, "CHANEL")
    line = chanel.lines[0]
    v = request_viewing(actor="chanel.agent", notice_id=chanel.id, invite_consignor=True, now=at(1))
    assert (v.state, v.line_numbers, v.consignor_invited) == ("requested", [line], True)
    approve = [t for t in inbox(actor="ipr.li") if t.kind == "approve_viewing" and t.viewing_id == v.id]
    assert len(approve) == 1 and approve[0].due_at <= chanel.deadline_at and approve[0].due_at == at(121)

    v = decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=at(2))
    assert v.state == "approved" and v.decided_by == "ipr.li"
    assert [t.kind for t in inbox(actor="ipr.li") if t.viewing_id == v.id] == []
    assert [t.kind for t in inbox(actor="site.wang") if t.viewing_id == v.id] == ["attend_viewing"]

    v = open_room(viewing_id=v.id, actor="site.wang", now=at(3))
    assert v.state == "open" and v.opened_at == at(3)
    set_call_link(viewing_id=v.id, actor="chanel.agent", url="https://meet.example.org/room-42", now=at(3))

    guide = room_state(viewing_id=v.id, actor="chanel.agent").guide
    assert guide and all(g.brand == "CHANEL" for g in guide)
    shot = request_shot(viewing_id=v.id, actor="chanel.agent", guide_item_id=guide[1].id, now=at(4))
    free = request_shot(viewing_id=v.id, actor="chanel.agent", text="QR code on the dust bag, close up", now=at(4.5))
    assert shot.state == "open" and shot.line_number == line and shot.text == guide[1].text

    officer_view = room_state(viewing_id=v.id, actor="site.wang")
    assert officer_view.may_capture and [s.id for s in officer_view.shot_requests if s.state == "open"] == [shot.id, free.id]
    cursor = officer_view.cursor

    ev = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="IMG_1.HEIC.jpg",
                      viewing_id=v.id, shot_request_id=shot.id, now=at(6))
    assert (ev.viewing_id, ev.shot_request_id, ev.line_number) == (v.id, shot.id, line)

    seen = room_state(viewing_id=v.id, actor="chanel.agent", since=cursor)
    assert [e.id for e in seen.evidence] == [ev.id] and seen.evidence[0].url and "X-Amz-Signature" in seen.evidence[0].url
    assert [a.action for a in seen.log] == ["evidence.added"] and seen.cursor > cursor
    assert {s.id: s.state for s in seen.shot_requests} == {shot.id: "answered", free.id: "open"}
    assert seen.may_answer and not seen.may_capture
    assert seen.viewing.call_link == "https://meet.example.org/room-42"
    assert set(seen.participants) >= {"chanel.agent", "site.wang", "ipr.li", "cq.trading"}
    assert "nike.agent" not in seen.participants

    consignor = room_state(viewing_id=v.id, actor="cq.trading")
    assert [e.id for e in consignor.evidence] == [ev.id] and not consignor.may_answer

    notice = answer_from_room(viewing_id=v.id, actor="chanel.agent", now=at(12),
                              answer={"verdicts": {line: "infringing"}, "detain": True, "bond": "general"})
    assert notice.state == "answered"
    after = room_state(viewing_id=v.id, actor="chanel.agent", since=seen.cursor)
    assert "notice.answered" in [a.action for a in after.log] and not after.may_answer
    assert [ln.state for ln in after.lines] == ["detained"]

    times = {t.notice_id: t for t in confirmation_times(actor="ipr.li", case_number=case.number)}
    assert times[chanel.id].minutes_from_room == 9.0 and times[chanel.id].minutes_from_service == 12.0
    assert times[chanel.id].viewing_id == v.id
    assert times[_notice(case, "NIKE").id].minutes_from_service is None
    assert [t.notice_id for t in confirmation_times(actor="chanel.agent")] == [chanel.id]

    closed = close_room(viewing_id=v.id, actor="site.wang", now=at(13))
    assert closed.state == "closed"
    assert room_state(viewing_id=v.id, actor="chanel.agent").shot_requests[1].state == "cancelled"


def test_outsiders_see_no_room_and_no_evidence(case) -> None:  # noqa: ANN001
    chanel = _notice(case, "CHANEL")
    v = request_viewing(actor="chanel.agent", notice_id=chanel.id, now=at(1))
    decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=at(2))
    open_room(viewing_id=v.id, actor="site.wang", now=at(3))
    ev = add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="a.jpg",
                      viewing_id=v.id, now=at(4))  # no line: only this viewing's holder may see it
    assert evidence_url(evidence_id=ev.id, actor="chanel.agent")
    for who in ("nike.agent", "cq.trading", "site.huang", "nobody"):  # the consignor was not invited
        with pytest.raises(NotFound):
            room_state(viewing_id=v.id, actor=who)
        with pytest.raises(NotFound):
            evidence_url(evidence_id=ev.id, actor=who)
        with pytest.raises(NotFound):
            request_shot(viewing_id=v.id, actor=who, text="show me")
    assert list_evidence(case_number=case.number, actor="nike.agent") == []
    assert list_viewings(actor="nike.agent") == [] and [x.id for x in list_viewings(actor="chanel.agent")] == [v.id]
    with pytest.raises(NotFound):
        request_viewing(actor="nike.agent", notice_id=chanel.id, now=at(5))


def test_a_refusal_needs_a_reason_and_only_an_ipr_officer_decides(lite_case) -> None:  # noqa: ANN001
    case = lite_case
    v = request_viewing(actor="nike.agent", notice_id=_notice(case, "NIKE").id, now=at(1))
    with pytest.raises(InvalidInput, match="reason"):
        decide_viewing(viewing_id=v.id, actor="ipr.li", approve=False, now=at(2))
    with pytest.raises(PermissionDenied):
        decide_viewing(viewing_id=v.id, actor="site.wang", approve=True, now=at(2))
    with pytest.raises(NotFound):
        decide_viewing(viewing_id=v.id, actor="site.huang", approve=True, now=at(2))
    refused = decide_viewing(viewing_id=v.id, actor="ipr.li", approve=False, reason="goods already unpacked", now=at(2))
    assert (refused.state, refused.decision_reason) == ("refused", "goods already unpacked")
    with pytest.raises(ConcurrentUpdate):
        open_room(viewing_id=v.id, actor="site.wang", now=at(3))
    with pytest.raises(ConcurrentUpdate):
        decide_viewing(viewing_id=v.id, actor="ipr.chen", approve=True, now=at(3))


def test_capture_needs_an_open_room_and_shots_a_subject(lite_case) -> None:  # noqa: ANN001
    case = lite_case
    v = request_viewing(actor="chanel.agent", notice_id=_notice(case, "CHANEL").id, now=at(1))
    decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=at(2))
    with pytest.raises(InvalidInput, match="open"):
        add_evidence(case_number=case.number, actor="site.wang", stream=io.BytesIO(JPEG), filename="a.jpg",
                     viewing_id=v.id, now=at(3))
    open_room(viewing_id=v.id, actor="site.wang", now=at(3))
    with pytest.raises(InvalidInput, match="text"):
        request_shot(viewing_id=v.id, actor="chanel.agent", now=at(4))
    nike_guide = list_guide(recordation="T2019-40002", actor="nike.agent")
    with pytest.raises(InvalidInput, match="guide"):
        request_shot(viewing_id=v.id, actor="chanel.agent", guide_item_id=nike_guide[0].id, now=at(4))
    with pytest.raises(ValidationError, match="url"):
        set_call_link(viewing_id=v.id, actor="chanel.agent", url="javascript:alert(1)")


def test_a_consignor_may_ask_to_view_its_own_goods(lite_case) -> None:  # noqa: ANN001
    case = lite_case
    v = request_viewing(actor="cq.trading", case_number=case.number, line_numbers=[2, 3], now=at(1))
    assert v.consignor_invited and v.notice_id is None and v.line_numbers == [2, 3]
    with pytest.raises(InvalidInput):
        request_viewing(actor="cq.trading", case_number=case.number, line_numbers=[99], now=at(1))
    with pytest.raises(PermissionDenied):
        request_viewing(actor="site.wang", case_number=case.number, now=at(1))


def test_rights_holders_keep_their_own_guides(lite_case) -> None:  # noqa: ANN001
    case = lite_case
    item = add_guide_item(recordation="T2019-40001", actor="chanel.agent", text="Hologram sticker under the flap")
    assert item.text in [g.text for g in list_guide(recordation="T2019-40001", actor="site.wang")]
    update_guide_item(item_id=item.id, actor="chanel.agent", active=False)
    assert item.id not in [g.id for g in list_guide(recordation="T2019-40001", actor="chanel.agent")]
    with pytest.raises(NotFound):
        add_guide_item(recordation="T2019-40001", actor="nike.agent", text="anything")
    with pytest.raises(PermissionDenied):
        add_guide_item(recordation="T2019-40001", actor="site.wang", text="anything")
    with pytest.raises(ValidationError, match="text"):
        add_guide_item(recordation="T2019-40001", actor="chanel.agent", text="   ")
