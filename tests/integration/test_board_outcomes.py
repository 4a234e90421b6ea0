"""The board's outcomes are summed in SQL per day in Shanghai: a line released late in the evening UTC
counts on the next day (and week) in Shanghai, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services.answers import record_answer
from services.board import board
from services.demo import seed_shipment
from tests.support import open_confirmed

UTC = ZoneInfo("UTC")
FOUND = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # a Sunday
LATE = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)  # Sunday 17:30 UTC is Monday 01:30 in Shanghai (ISO week 49)


def test_outcomes_are_counted_per_shanghai_day_and_week(db: str) -> None:
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in ("NIKE", "GUCCI")]
    case = open_confirmed(shipment, now=FOUND)
    for brand, user, at in (("GUCCI", "gucci.agent", FOUND + timedelta(hours=1)), ("NIKE", "nike.agent", LATE)):
        lines = [ln for ln in case.lines if ln.brand == brand]
        record_answer(notice_id=lines[0].notice_id, actor=user, now=at,
                      answer={"verdicts": {ln.number: "not-infringing" for ln in lines}})
    seen = board(actor="mgr.zhao", now=LATE + timedelta(hours=1))
    released = {o["brand"]: o for o in seen.outcomes if o["kind"] == "released"}
    assert released["NIKE"]["week"] == "2026-W49" and released["GUCCI"]["week"] == "2026-W48"
    for brand in ("NIKE", "GUCCI"):
        lines = [ln for ln in case.lines if ln.brand == brand]
        assert released[brand]["lines"] == len(lines)
        assert released[brand]["quantity"] == sum(ln.quantity for ln in lines)


def test_minutes_to_an_answer_are_counted_in_sql_on_either_engine(db: str) -> None:
    shipment = seed_shipment(FOUND)
    shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in ("NIKE", "GUCCI")]
    case = open_confirmed(shipment, now=FOUND)
    served = {n.id: n.served_at for n in case.notices}
    for brand, user, after in (("GUCCI", "gucci.agent", timedelta(minutes=61, seconds=30)),
                               ("NIKE", "nike.agent", timedelta(hours=7, minutes=30))):
        lines = [ln for ln in case.lines if ln.brand == brand]
        record_answer(notice_id=lines[0].notice_id, actor=user, now=served[lines[0].notice_id] + after,
                      answer={"verdicts": {ln.number: "not-infringing" for ln in lines}})
    seen = board(actor="mgr.zhao", now=LATE + timedelta(hours=1))
    assert sorted(seen.confirmation_minutes) == [61.5, 450.0]
    assert seen.room_minutes == []  # no viewing room was opened


def test_open_lines_are_counted_by_state_in_the_managers_office_only(db: str) -> None:
    from services.cases import open_case

    def two_brands(office: str, declaration_no: str) -> dict:
        shipment = seed_shipment(FOUND)
        shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in ("NIKE", "GUCCI")]
        return dict(shipment, customs_office=office, declaration_no=declaration_no)

    here = open_confirmed(two_brands("Capital Airport Customs", "010120261129100001"), now=FOUND)
    closed = open_confirmed(two_brands("Capital Airport Customs", "010120261129100002"), now=FOUND)
    for notice in closed.notices:  # every line released: the case closes, its lines leave the count
        lines = [ln for ln in closed.lines if ln.notice_id == notice.id]
        record_answer(notice_id=notice.id, actor=f"{lines[0].brand.lower()}.agent", now=FOUND + timedelta(hours=1),
                      answer={"verdicts": {ln.number: "not-infringing" for ln in lines}})
    there = open_case(shipment=two_brands("Huanggang Customs", "530120261129100003"), actor="site.huang", now=FOUND)
    nike = [ln for ln in here.lines if ln.brand == "NIKE"]
    record_answer(notice_id=nike[0].notice_id, actor="nike.agent", now=FOUND + timedelta(hours=2),
                  answer={"verdicts": {ln.number: "not-infringing" for ln in nike}})

    seen = board(actor="mgr.zhao", now=FOUND + timedelta(hours=3))
    assert seen.open_cases == 1
    assert seen.lines_by_state == {"suspended": len(here.lines) - len(nike), "released": len(nike)}
    every = board(actor="admin", now=FOUND + timedelta(hours=3))
    assert every.open_cases == 2
    assert every.lines_by_state == {"suspended": len(here.lines) - len(nike) + len(there.lines), "released": len(nike)}
