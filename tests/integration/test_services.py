"""The services on SQLite and PostgreSQL: opening cases, answers and bonds, the sweep, detention
clocks, decisions, tasks, idempotency keys, visibility.

Input that pydantic or the service refuses before any SQL runs is checked on SQLite only (each
PostgreSQL test costs a database of its own)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import func
from sqlmodel import select

from models.enums import TaskKind
from models.rules.errors import (
    BondInsufficient,
    ConcurrentUpdate,
    DeadlinePassed,
    IllegalTransition,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from models.tables import BondReceipt, Case, Decision, GeneralBond, Recordation, RightsHolder, Task, TimelineEntry
from services.answers import post_bond, record_answer
from services.audit import verify_timeline
from services.bonds import record_bond_receipt
from services.cases import get_case, open_case
from services.detention import decide_line
from services.sweep import advance_detention_clocks, release_expired
from services.tasks import claim_task, complete_task, inbox
from tests.support import confirm, open_confirmed, session_scope

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)  # a Tuesday; answers due by Friday 27 November
DEADLINE_AT = datetime(2026, 11, 28, 0, 0, tzinfo=SH)
CONSIGNOR = {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}

VALUES = {"CHANEL": "36000.00", "NIKE": "9000.00", "HERMES": "24000.00", "ROLEX": "16000.00", "GUCCI": "4500.00"}


def line(brand: str, value: str | None = None, quantity: int = 10, description: str | None = None) -> dict[str, Any]:
    return {"description": description or f"Goods marked {brand}", "brand": brand, "quantity": quantity, "unit": "pcs",
            "value": value or VALUES.get(brand, "1000.00")}


def shipment(*lines: dict[str, Any], declaration_no: str = "010120261124000001", found_at: datetime = FOUND,
             office: str = "Capital Airport Customs") -> dict[str, Any]:
    return {"declaration_no": declaration_no, "direction": "export", "customs_office": office,
            "consignor": dict(CONSIGNOR), "found_at": found_at.isoformat(), "lines": list(lines)}


def count(model: type, *where: Any) -> int:
    with session_scope(readonly=True) as s:
        q = select(func.count()).select_from(model)
        for w in where:
            q = q.where(w)
        return int(s.exec(q).one())


def snapshot() -> dict[str, int]:
    """How many rows each table of the database holds: 'nothing written' means this does not change."""
    from sqlalchemy import inspect, table

    out = {}
    with session_scope(readonly=True) as s:
        for name in inspect(s.connection()).get_table_names():
            if name != "alembic_version":
                out[name] = int(s.exec(select(func.count()).select_from(table(name))).one())
    return out


def notice_for(case: Any, brand: str) -> Any:
    return next(n for n in case.notices if brand in n.brands)


def line_no(case: Any, brand: str) -> int:
    return next(ln.number for ln in case.lines if ln.brand == brand)


def timeline_len() -> int:
    return count(TimelineEntry)


def open_(*lines, confirmed: bool = True, **kw):  # noqa: ANN001, ANN002, ANN003
    if not confirmed:
        return open_case(shipment=shipment(*lines, **kw), actor="site.wang", now=kw.get("found_at", FOUND))
    return open_confirmed(shipment(*lines, **kw), now=kw.get("found_at", FOUND))


def answer(case, brand: str, verdicts: dict[str, str], *, who: str | None = None, minutes: int = 10, **kw):  # noqa: ANN001, ANN003
    n = notice_for(case, brand)
    body = {"verdicts": {line_no(case, b): v for b, v in verdicts.items()}, **kw}
    return record_answer(notice_id=n.id, actor=who or f"{brand.lower()}.agent", answer=body,
                         now=FOUND + timedelta(minutes=minutes))


def states(case) -> dict[str, str]:  # noqa: ANN001
    return {ln.brand: ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines}


# --- opening a case -----------------------------------------------------------------------------------


def test_open_case_suspends_each_line_and_serves_one_notice_per_rights_holder(db: str) -> None:
    case = open_(line("CHANEL"), line("NIKE"), line("CHANEL", "1200.00", description="Scarves"))
    assert case.number == "YQ-2026-000001"
    assert [(ln.number, ln.brand, ln.state) for ln in case.lines] == [
        (1, "CHANEL", "suspended"), (2, "NIKE", "suspended"), (3, "CHANEL", "suspended")]
    assert len(case.notices) == 2
    chanel = notice_for(case, "CHANEL")
    assert chanel.lines == [1, 3] and chanel.brands == ["CHANEL"] and chanel.rights_holder == "CHANEL SARL"
    assert chanel.state == "served" and chanel.served_at == FOUND
    assert chanel.deadline == date(2026, 11, 27) and chanel.deadline_at == DEADLINE_AT
    assert {ln.notice_id for ln in case.lines if ln.brand == "CHANEL"} == {chanel.id}
    assert count(Task, Task.kind == TaskKind.CONFIRM_SEIZURE.value) == 1
    actions = [e.action for e in _timeline()]
    assert actions.count("line.suspended") == 3 and actions.count("notice.served") == 2
    assert "case.opened" in actions


def _timeline() -> list[TimelineEntry]:
    with session_scope(readonly=True) as s:
        entries = list(s.exec(select(TimelineEntry).order_by(TimelineEntry.id)))
        s.expunge_all()
        return entries


def test_case_numbers_count_up_within_the_year_of_the_seizure(db: str) -> None:
    a = open_(line("NIKE"), declaration_no="010120261124000001")
    b = open_(line("NIKE"), declaration_no="010120261124000002")
    assert (a.number, b.number) == ("YQ-2026-000001", "YQ-2026-000002")


def test_the_deadline_starts_from_the_shanghai_day_of_service(db: str) -> None:
    # 00:30 on Friday 27 November in Shanghai is still Thursday in UTC
    found = datetime(2026, 11, 26, 16, 30, tzinfo=ZoneInfo("UTC"))
    case = open_(line("NIKE"), found_at=found)
    assert case.notices[0].deadline == date(2026, 12, 2)  # Mon 30, Tue 1, Wed 2


def test_a_line_with_no_valid_recordation_is_refused_and_nothing_is_written(db: str) -> None:
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        open_(line("NIKE"), line("ACME"))
    assert caught.value.field == "lines.brand" and "ACME" in str(caught.value) and "line 2" in str(caught.value)
    assert snapshot() == before


def test_an_expired_recordation_does_not_protect(db: str) -> None:
    with session_scope() as s:
        rec = s.exec(select(Recordation).where(Recordation.brand == "ROLEX")).one()
        rec.valid_until = date(2026, 11, 23)
        s.add(rec)
    before = snapshot()
    with pytest.raises(InvalidInput, match="ROLEX"):
        open_(line("ROLEX"))
    assert snapshot() == before


def test_a_holder_with_two_recordations_of_one_brand_gets_the_one_valid_on_the_day_found(db: str) -> None:
    with session_scope() as s:
        old = s.exec(select(Recordation).where(Recordation.brand == "GUCCI")).one()
        old.valid_until = date(2026, 1, 31)
        s.add(old)
        s.add(Recordation(number="T2026-99999", brand="GUCCI", rights_holder_id=old.rights_holder_id,
                          valid_from=date(2026, 2, 1), valid_until=date(2036, 1, 31), classes="18"))
    case = open_(line("GUCCI"), line("GUCCI", "300.00"))
    assert [ln.recordation for ln in case.lines] == ["T2026-99999", "T2026-99999"]
    assert len(case.notices) == 1 and case.notices[0].lines == [1, 2]


def test_two_valid_recordations_of_one_holder_still_make_one_notice(db: str) -> None:
    with session_scope() as s:
        old = s.exec(select(Recordation).where(Recordation.brand == "GUCCI")).one()
        s.add(Recordation(number="T2020-00001", brand="GUCCI", rights_holder_id=old.rights_holder_id,
                          valid_from=date(2020, 1, 1), valid_until=date(2030, 1, 1), classes="25"))
    case = open_(line("GUCCI"), line("NIKE"), line("GUCCI", "300.00"))
    assert len(case.notices) == 2
    assert notice_for(case, "GUCCI").lines == [1, 3]


def test_brands_are_matched_in_capitals(sqlite_db: str) -> None:
    case = open_(line("  nike "))
    assert case.lines[0].brand == "NIKE"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"declaration_no": "0101202611240000011"}, "declaration_no"),  # 19 digits
        ({"declaration_no": "01012026112400000A"}, "declaration_no"),
        ({"found_at": "2026-11-24T10:30:00"}, "found_at"),  # naive
        ({"direction": "sideways"}, "direction"),
        ({"consignor": {"name": "X", "uscc": "123"}}, "consignor.uscc"),
        ({"lines": []}, "lines"),
        ({"lines": [{**line("NIKE"), "value": "-1.00"}]}, "lines.0.value"),
        ({"lines": [{**line("NIKE"), "value": "ten"}]}, "lines.0.value"),
        ({"lines": [{**line("NIKE"), "value": 9000.5}]}, "lines.0.value"),  # a float is never money
        ({"lines": [{**line("NIKE"), "value": "0"}]}, "lines.0.value"),
        ({"lines": [{**line("NIKE"), "quantity": -3}]}, "lines.0.quantity"),
        ({"lines": [{**line("NIKE"), "quantity": "many"}]}, "lines.0.quantity"),
        ({"lines": [{**line("NIKE"), "colour": "red"}]}, "lines.0.colour"),
    ],
)
def test_malformed_shipments_are_refused_naming_the_field(sqlite_db: str, change: dict, field: str) -> None:
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        open_case(shipment={**shipment(line("NIKE")), **change}, actor="site.wang", now=FOUND)
    assert field in {".".join(map(str, e["loc"])) for e in caught.value.errors()}
    assert snapshot() == before


def test_unknown_office_and_duplicate_declaration_are_refused(db: str) -> None:
    with pytest.raises(InvalidInput, match="customs_office"):
        open_(line("NIKE"), office="Atlantis Customs")
    open_(line("NIKE"))
    before = snapshot()
    with pytest.raises(InvalidInput, match="declaration_no"):
        open_(line("NIKE"))
    assert snapshot() == before


def test_only_officers_of_the_office_may_register_a_seizure(db: str) -> None:
    with pytest.raises(PermissionDenied):
        open_case(shipment=shipment(line("NIKE")), actor="site.huang", now=FOUND)  # Huanggang officer
    with pytest.raises(PermissionDenied):
        open_case(shipment=shipment(line("NIKE")), actor="nike.agent", now=FOUND)
    with pytest.raises(NotFound):
        open_case(shipment=shipment(line("NIKE")), actor="nobody", now=FOUND)
    assert count(Case) == 0


def test_the_same_idempotency_key_opens_one_case(db: str) -> None:
    first = open_case(shipment=shipment(line("NIKE")), actor="site.wang", now=FOUND, idempotency_key="scan-1")
    before = snapshot()
    again = open_case(shipment=shipment(line("NIKE")), actor="site.wang", now=FOUND, idempotency_key="scan-1")
    assert again.number == first.number
    assert snapshot() == before
    confirm(first.number, now=FOUND)
    with pytest.raises(InvalidInput, match="idempotency_key"):
        record_answer(notice_id=first.notices[0].id, actor="nike.agent", idempotency_key="scan-1", now=FOUND,
                      answer={"verdicts": {1: "not-infringing"}})


# --- answers ---------------------------------------------------------------------------------------


def test_not_infringing_releases_at_once(db: str) -> None:
    case = open_(line("NIKE"), line("CHANEL"))
    out = answer(case, "NIKE", {"NIKE": "not-infringing"}, minutes=9)
    assert out.state == "answered" and out.answer.verdicts == {1: "not-infringing"} and out.confirmation_minutes == 9
    line1 = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert (line1.state, line1.state_reason) == ("released", "cleared")
    assert states(case)["CHANEL"] == "suspended"


def test_infringing_without_detention_releases_with_reason_no_detention(db: str) -> None:
    case = open_(line("NIKE"))
    answer(case, "NIKE", {"NIKE": "infringing"})
    c = get_case(case_number=case.number, actor="ipr.li")
    assert (c.lines[0].state, c.lines[0].state_reason) == ("released", "no-detention")
    assert c.status == "closed"


def test_detention_with_a_valid_general_bond_detains_and_starts_the_investigation_clock(db: str) -> None:
    case = open_(line("CHANEL"), line("NIKE"))
    out = answer(case, "CHANEL", {"CHANEL": "infringing"}, detain=True, bond="general")
    assert out.state == "answered" and out.answer.bond_kind == "general" and out.answer.bond_accepted
    assert out.answer.bond_required == Decimal("20000.00")
    ln = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert ln.state == "detained" and ln.detained_at is not None
    # 30 working days from 24 November reach into 2027, whose schedule is not loaded: pending, not guessed
    assert ln.investigation_due is None and ln.court_due is None
    assert count(Task, Task.kind == TaskKind.INVESTIGATE.value) == 1
    assert count(Task, Task.kind == TaskKind.LOAD_CALENDAR.value) == 1
    assert count(TimelineEntry, TimelineEntry.action == "clock.pending") == 2


def test_a_general_bond_that_has_expired_does_not_cover(db: str) -> None:
    with session_scope() as s:
        gb = s.exec(select(GeneralBond).join(RightsHolder).where(RightsHolder.name == "CHANEL SARL",
                                                                 GeneralBond.valid_from <= date(2026, 11, 24))).one()
        gb.valid_until = date(2026, 11, 23)  # the 2026 bond ends early; the 2027 one starts on 1 January
        s.add(gb)
    case = open_(line("CHANEL"))
    before = snapshot()
    with pytest.raises(InvalidInput, match="general bond"):
        answer(case, "CHANEL", {"CHANEL": "infringing"}, detain=True, bond="general")
    assert snapshot() == before


def test_a_holder_without_a_general_bond_cannot_use_one(db: str) -> None:
    case = open_(line("HERMES"))
    with pytest.raises(InvalidInput, match="bond"):
        answer(case, "HERMES", {"HERMES": "infringing"}, detain=True, bond="general")
    assert states(case)["HERMES"] == "suspended"


def receive(notice_id: int, amount: str, *, hours: int = 1, who: str = "ipr.li", **kw: Any) -> dict[str, Any]:
    """An IPR officer records the bond customs received (Meas 38)."""
    return record_bond_receipt(notice_id=notice_id, actor=who, now=FOUND + timedelta(hours=hours),
                               receipt={"form": "deposit", "amount": amount, **kw})


def test_an_individual_bond_detains_only_when_an_officer_records_its_receipt(db: str) -> None:
    case = open_(line("HERMES", "24000.00"))
    out = answer(case, "HERMES", {"HERMES": "infringing"}, detain=True, bond="20000.00")
    assert out.state == "claim-pending" and out.answer.bond_kind == "individual" and not out.answer.bond_accepted
    assert states(case)["HERMES"] == "suspended"  # an amount typed by the rights holder is not a bond
    (task,) = inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value)
    assert task.notice_id == out.id and task.due_at == DEADLINE_AT

    with pytest.raises(PermissionDenied):
        receive(out.id, "20000.00", who="hermes.agent")
    with pytest.raises(BondInsufficient):
        receive(out.id, "19999.99")
    with pytest.raises(ValidationError, match="bank"):
        receive(out.id, "20000.00", form="guarantee")
    done = receive(out.id, "20000.00", form="guarantee", bank="Bank of China Chongqing Branch", letter_no="BG-2026-118")
    assert done["state"] == "answered"
    assert states(case)["HERMES"] == "detained"
    assert inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value) == []
    with session_scope(readonly=True) as s:
        (receipt,) = s.exec(select(BondReceipt)).all()
        assert (receipt.form, receipt.amount, receipt.letter_no) == ("guarantee", Decimal("20000.00"), "BG-2026-118")
        (bond_task,) = s.exec(select(Task).where(Task.kind == TaskKind.CHECK_BOND.value)).all()
        assert bond_task.state == "completed" and bond_task.outcome["outcome"] == "received"
    with pytest.raises(ConcurrentUpdate):
        receive(out.id, "20000.00", hours=2)


def test_an_insufficient_bond_leaves_the_claim_pending_until_the_bond_is_received(db: str) -> None:
    case = open_(line("HERMES", "24000.00"), line("NIKE"))
    out = answer(case, "HERMES", {"HERMES": "infringing"}, detain=True, bond="19999.99")
    assert out.state == "claim-pending" and not out.answer.bond_accepted
    assert states(case)["HERMES"] == "suspended"
    tasks = inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value)
    assert len(tasks) == 1 and tasks[0].notice_id == out.id and tasks[0].due_at == DEADLINE_AT

    with pytest.raises(BondInsufficient):
        post_bond(notice_id=out.id, actor="hermes.agent", bond="19999.99", now=FOUND + timedelta(hours=1))
    with pytest.raises(NotFound):
        post_bond(notice_id=out.id, actor="nike.agent", bond="20000", now=FOUND + timedelta(hours=1))
    offered = post_bond(notice_id=out.id, actor="hermes.agent", bond="20000", now=FOUND + timedelta(hours=2))
    assert offered.state == "claim-pending" and offered.answer.bond_amount == Decimal("20000.00")
    assert states(case)["HERMES"] == "suspended"
    receive(out.id, "20000.00", hours=3)
    assert states(case)["HERMES"] == "detained"
    assert inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value) == []
    with pytest.raises(ConcurrentUpdate):
        post_bond(notice_id=out.id, actor="hermes.agent", bond="20000", now=FOUND + timedelta(hours=4))


def test_a_claim_without_a_bond_is_released_at_the_deadline_for_want_of_a_bond(db: str) -> None:
    case = open_(line("HERMES"), line("ROLEX"))
    answer(case, "HERMES", {"HERMES": "infringing"}, detain=True)
    assert release_expired(now=DEADLINE_AT - timedelta(microseconds=1)) == []
    released = release_expired(now=DEADLINE_AT)
    assert sorted((r["brand"], r["reason"]) for r in released) == [("HERMES", "no-bond"), ("ROLEX", "expired")]
    c = get_case(case_number=case.number, actor="ipr.li")
    assert {ln.state for ln in c.lines} == {"released"} and c.status == "closed"
    assert {n.state for n in c.notices} == {"expired"}
    with pytest.raises(ConcurrentUpdate, match="expired"):
        post_bond(notice_id=notice_for(case, "HERMES").id, actor="hermes.agent", bond="20000", now=DEADLINE_AT)
    with session_scope(readonly=True) as s:
        met = [d.deadline_met for d in s.exec(select(Decision).where(Decision.reason.in_(["no-bond", "expired"])))]  # type: ignore[attr-defined]
    assert met == [False, False]


def test_post_bond_after_the_deadline_is_refused(db: str) -> None:
    case = open_(line("HERMES"))
    out = answer(case, "HERMES", {"HERMES": "infringing"}, detain=True, bond="100")
    with pytest.raises(DeadlinePassed):
        post_bond(notice_id=out.id, actor="hermes.agent", bond="20000", now=DEADLINE_AT)


def test_mixed_verdicts_on_one_notice_release_some_lines_and_detain_others(db: str) -> None:
    case = open_(line("CHANEL", "36000.00"), line("CHANEL", "5000.00", description="Scarves"))
    n = notice_for(case, "CHANEL")
    out = record_answer(notice_id=n.id, actor="chanel.agent", now=FOUND + timedelta(minutes=9),
                        answer={"verdicts": {1: "infringing", 2: "not-infringing"}, "detain": True, "bond": "20000"})
    assert out.answer.bond_required == Decimal("20000.00")  # on the claimed line only (36,000 -> 20,000)
    receive(n.id, "20000.00")
    c = get_case(case_number=case.number, actor="ipr.li")
    assert [(ln.number, ln.state) for ln in c.lines] == [(1, "detained"), (2, "released")]
    assert c.status == "open"


def test_the_bond_is_required_on_the_sum_of_the_claimed_lines(db: str) -> None:
    case = open_(line("HERMES", "150000.00"), line("HERMES", "100000.00"))
    n = notice_for(case, "HERMES")
    out = record_answer(notice_id=n.id, actor="hermes.agent", now=FOUND,
                        answer={"verdicts": {1: "infringing", 2: "infringing"}, "detain": True, "bond": "99999.99"})
    assert out.state == "claim-pending" and out.answer.bond_required == Decimal("100000.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"verdicts": {1: "not-infringing"}}, "verdicts"),  # line 2 has no verdict
        ({"verdicts": {1: "not-infringing", 2: "not-infringing", 7: "infringing"}}, "verdicts"),
        ({"verdicts": {1: "not-infringing", 2: "not-infringing"}, "detain": True}, "detain"),
        ({"verdicts": {1: "infringing", 2: "infringing"}, "bond": "20000"}, "bond"),
    ],
)
def test_an_incomplete_or_inconsistent_answer_is_refused_and_changes_nothing(sqlite_db: str, body: dict, field: str) -> None:
    case = open_(line("CHANEL"), line("CHANEL", "100.00"))
    before = snapshot()
    with pytest.raises(InvalidInput) as caught:
        record_answer(notice_id=case.notices[0].id, actor="chanel.agent", answer=body, now=FOUND)
    assert caught.value.field == field
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"verdicts": {1: "maybe"}}, "verdicts.1"),
        ({"verdicts": {}}, "verdicts"),
        ({"verdicts": {1: "infringing"}, "detain": True, "bond": "-5"}, "bond"),
        ({"verdicts": {1: "infringing"}, "detain": True, "bond": "lots"}, "bond"),
        ({"verdicts": {1: "infringing"}, "detain": True, "bond": "0"}, "bond"),
    ],
)
def test_a_malformed_answer_is_a_validation_error_naming_the_field(sqlite_db: str, body: dict, field: str) -> None:
    case = open_(line("CHANEL"))
    before = snapshot()
    with pytest.raises(ValidationError) as caught:
        record_answer(notice_id=case.notices[0].id, actor="chanel.agent", answer=body, now=FOUND)
    assert field in {".".join(map(str, e["loc"])) for e in caught.value.errors()}
    assert snapshot() == before


def test_an_answer_from_another_rights_holder_finds_no_notice(db: str) -> None:
    case = open_(line("CHANEL"))
    before = snapshot()
    for who in ["nike.agent", "site.wang", "cq.trading", "site.huang"]:
        with pytest.raises(NotFound):
            answer(case, "CHANEL", {"CHANEL": "not-infringing"}, who=who)
    assert snapshot() == before


def test_an_answer_at_the_last_microsecond_counts_and_at_24_00_is_too_late(db: str) -> None:
    case = open_(line("NIKE"), line("ROLEX"))
    nike, rolex = notice_for(case, "NIKE"), notice_for(case, "ROLEX")
    out = record_answer(notice_id=nike.id, actor="nike.agent", now=DEADLINE_AT - timedelta(microseconds=1),
                        answer={"verdicts": {1: "not-infringing"}})
    assert out.state == "answered"
    before = snapshot()
    with pytest.raises(DeadlinePassed) as caught:
        record_answer(notice_id=rolex.id, actor="rolex.agent", now=DEADLINE_AT, answer={"verdicts": {2: "infringing"}})
    assert caught.value.deadline == DEADLINE_AT
    assert snapshot() == before


def test_a_second_answer_to_an_answered_notice_is_a_conflict(db: str) -> None:
    case = open_(line("NIKE"))
    answer(case, "NIKE", {"NIKE": "not-infringing"})
    before = snapshot()
    with pytest.raises(ConcurrentUpdate):
        answer(case, "NIKE", {"NIKE": "infringing"}, minutes=20)
    assert snapshot() == before


def test_the_same_answer_key_twice_changes_nothing_the_second_time(db: str) -> None:
    case = open_(line("CHANEL"))
    n = case.notices[0]
    body = {"verdicts": {1: "infringing"}, "detain": True, "bond": "general"}
    first = record_answer(notice_id=n.id, actor="chanel.agent", answer=body, now=FOUND, idempotency_key="ans-1")
    before = snapshot()
    again = record_answer(notice_id=n.id, actor="chanel.agent", answer=body, now=FOUND + timedelta(minutes=1),
                          idempotency_key="ans-1")
    assert again == first
    assert snapshot() == before


def test_an_answer_key_cannot_be_replayed_against_another_notice(db: str) -> None:
    case = open_(line("CHANEL"), line("NIKE"))
    record_answer(notice_id=notice_for(case, "CHANEL").id, actor="chanel.agent", idempotency_key="k",
                  answer={"verdicts": {1: "not-infringing"}}, now=FOUND)
    with pytest.raises(InvalidInput, match="idempotency_key"):
        record_answer(notice_id=notice_for(case, "NIKE").id, actor="nike.agent", idempotency_key="k",
                      answer={"verdicts": {2: "not-infringing"}}, now=FOUND)
    assert states(case)["NIKE"] == "suspended"


# --- the sweep -------------------------------------------------------------------------------------


def test_release_expired_releases_silent_lines_once(db: str) -> None:
    case = open_(line("NIKE"), line("ROLEX"), line("ROLEX", "20.00"))
    answer(case, "NIKE", {"NIKE": "not-infringing"})
    assert release_expired(now=datetime(2026, 11, 27, 23, 59, 59, tzinfo=SH)) == []
    released = release_expired(now=DEADLINE_AT)
    assert [(r["line"], r["reason"], r["state"]) for r in released] == [(2, "expired", "released"), (3, "expired", "released")]
    assert release_expired(now=DEADLINE_AT + timedelta(days=3)) == []
    c = get_case(case_number=case.number, actor="ipr.li")
    assert c.status == "closed"
    assert notice_for(c, "ROLEX").state == "expired"
    assert all(t.state != "open" for t in inbox(actor="ipr.li", include_done=True) if t.notice_id is not None)


# --- detention clocks and decisions ------------------------------------------------------------------


def _detained_case():  # noqa: ANN202
    case = open_(line("CHANEL"), line("NIKE", "9000.00"))
    answer(case, "CHANEL", {"CHANEL": "infringing"}, detain=True, bond="general")
    answer(case, "NIKE", {"NIKE": "infringing"}, detain=True, bond="general")
    return case


def test_detention_clocks_are_30_and_50_working_days(db: str) -> None:
    found = datetime(2026, 3, 2, 10, 0, tzinfo=SH)
    case = open_(line("CHANEL"), found_at=found)
    record_answer(notice_id=case.notices[0].id, actor="chanel.agent", now=found + timedelta(minutes=5),
                  answer={"verdicts": {1: "infringing"}, "detain": True, "bond": "general"})
    ln = get_case(case_number=case.number, actor="ipr.li").lines[0]
    assert (ln.investigation_due, ln.court_due) == (date(2026, 4, 14), date(2026, 5, 14))

    assert advance_detention_clocks(now=datetime(2026, 4, 14, 23, 0, tzinfo=SH)) == []
    # 30 WD is customs' own deadline: nothing is decided; the investigation is overdue and escalated once
    moved = advance_detention_clocks(now=datetime(2026, 4, 15, 0, 0, tzinfo=SH))
    assert [(m["line"], m["state"], m["reason"]) for m in moved] == [(1, "detained", "investigation-overdue")]
    assert advance_detention_clocks(now=datetime(2026, 4, 20, tzinfo=SH)) == []
    assert get_case(case_number=case.number, actor="ipr.li").lines[0].state == "detained"
    # still detained at 50 WD: only an undetermined line is released then (Reg 24(2))
    assert advance_detention_clocks(now=datetime(2026, 5, 15, 0, 0, tzinfo=SH)) == []
    decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="cannot-determine",
                now=datetime(2026, 5, 15, 9, 0, tzinfo=SH))
    moved = advance_detention_clocks(now=datetime(2026, 5, 15, 9, 1, tzinfo=SH))
    assert [(m["state"], m["reason"]) for m in moved] == [("released", "no-court-notice")]
    assert get_case(case_number=case.number, actor="ipr.li").status == "closed"


def test_an_officer_decides_detained_lines_and_the_case_closes_when_all_are_final(db: str) -> None:
    case = _detained_case()
    with pytest.raises(PermissionDenied):
        decide_line(case_number=case.number, line_number=1, actor="site.wang", outcome="confiscate")
    with pytest.raises(InvalidInput, match="patent"):
        decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="counter-bond")
    with pytest.raises(InvalidInput, match="outcome"):
        decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="burn")
    with pytest.raises(NotFound):
        decide_line(case_number=case.number, line_number=9, actor="ipr.li", outcome="confiscate")
    out = decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="confiscate",
                      now=FOUND + timedelta(days=5))
    assert out.state == "confiscated"
    with pytest.raises(IllegalTransition) as caught:
        decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="withdrawn")
    assert (caught.value.current, caught.value.target) == ("confiscated", "released")
    decide_line(case_number=case.number, line_number=2, actor="ipr.li", outcome="cannot-determine")
    assert get_case(case_number=case.number, actor="ipr.li").status == "open"
    decide_line(case_number=case.number, line_number=2, actor="ipr.li", outcome="court-notice")
    c = get_case(case_number=case.number, actor="ipr.li")
    assert [ln.state for ln in c.lines] == ["confiscated", "court-hold"] and c.status == "closed"
    assert inbox(actor="ipr.li", kind=TaskKind.INVESTIGATE.value) == []


def test_a_suspended_line_cannot_be_confiscated(db: str) -> None:
    case = open_(line("NIKE"))
    with pytest.raises(IllegalTransition) as caught:
        decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="confiscate")
    assert "YQ-2026-000001/1" in str(caught.value) and "suspended" in str(caught.value)


def test_a_patent_line_is_released_on_a_counter_bond(db: str) -> None:
    with session_scope() as s:
        rec = s.exec(select(Recordation).where(Recordation.brand == "ROLEX")).one()
        rec.right_type = "patent"
        s.add(rec)
    case = open_(line("ROLEX", "16000.00"))
    with pytest.raises(InvalidInput, match="trademarks only"):
        answer(case, "ROLEX", {"ROLEX": "infringing"}, detain=True, bond="general")
    answer(case, "ROLEX", {"ROLEX": "infringing"}, detain=True, bond="16000")
    receive(notice_for(case, "ROLEX").id, "16000.00")
    with pytest.raises(InvalidInput, match="outcome") as caught:  # released only by recording the counter-bond
        decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="counter-bond")
    assert "record_counter_bond" in str(caught.value)
    from services.counter_bonds import record_counter_bond

    out = record_counter_bond(case_number=case.number, line_number=1, actor="ipr.li",
                              bond={"form": "deposit", "amount": "16000.00"})
    assert (out["state"], get_case(case_number=case.number, actor="ipr.li").lines[0].state_reason) == (
        "held", "counter-bond")


# --- tasks -------------------------------------------------------------------------------------------


def test_tasks_are_claimed_and_completed_by_one_officer(db: str) -> None:
    open_(line("NIKE"), confirmed=False)
    (task,) = inbox(actor="ipr.li")
    assert task.kind == "confirm_seizure" and task.candidate_group == "ipr_officer" and task.state == "open"
    assert inbox(actor="site.wang") == []
    with pytest.raises(PermissionDenied):
        inbox(actor="nike.agent")
    with pytest.raises(PermissionDenied):
        claim_task(task_id=task.id, actor="site.wang")
    with pytest.raises(NotFound):
        claim_task(task_id=task.id, actor="site.huang")  # another office's task does not exist for it
    claimed = claim_task(task_id=task.id, actor="ipr.li")
    assert claimed.assignee == "ipr.li" and claimed.state == "claimed" and claimed.version == task.version + 1
    assert inbox(actor="ipr.chen") == []  # claimed by a colleague
    with pytest.raises(ConcurrentUpdate):
        claim_task(task_id=task.id, actor="ipr.chen")
    with pytest.raises(ConcurrentUpdate):
        complete_task(task_id=task.id, actor="ipr.chen", outcome="confirmed")
    with pytest.raises(ConcurrentUpdate):
        complete_task(task_id=task.id, actor="ipr.li", outcome="confirmed", expected_version=task.version)  # stale
    done = complete_task(task_id=task.id, actor="ipr.li", outcome="confirmed")
    assert done.state == "completed"
    with pytest.raises(ConcurrentUpdate, match="completed"):
        complete_task(task_id=task.id, actor="ipr.li", outcome="confirmed")
    assert inbox(actor="ipr.li") == [] and len(inbox(actor="ipr.li", include_done=True)) == 1


# --- visibility ----------------------------------------------------------------------------------------


def test_each_rights_holder_sees_only_its_own_lines_and_notices(db: str) -> None:
    case = open_(line("CHANEL"), line("NIKE"))
    seen = get_case(case_number=case.number, actor="nike.agent")
    assert [ln.brand for ln in seen.lines] == ["NIKE"]
    assert [n.rights_holder for n in seen.notices] == ["Nike Innovate C.V."]
    assert seen.consignor is None
    with pytest.raises(NotFound):
        get_case(case_number=case.number, actor="hermes.agent")
    with pytest.raises(NotFound):
        get_case(case_number=case.number, actor="site.huang")
    consignor_view = get_case(case_number=case.number, actor="cq.trading")
    assert consignor_view.notices == [] and len(consignor_view.lines) == 2
    with pytest.raises(NotFound):
        get_case(case_number="YQ-2026-999999", actor="ipr.li")


def test_the_timeline_stays_intact_through_a_whole_story(db: str) -> None:
    case = _detained_case()
    decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="confiscate")
    release_expired(now=DEADLINE_AT)
    result = verify_timeline(batch=7)  # small batches: the stream crosses batch edges
    assert result.intact and result.entries == timeline_len() and result.entries > 15


def test_pages_show_the_names_people_go_by_for_any_signed_in_reader(db: str) -> None:
    from services.users import display_names
    from ui.chrome import person

    names = display_names(actor="nike.agent", usernames=["site.wang", "ipr.li", "nobody.here", "site.wang"])
    assert names == {"site.wang": "王伟", "ipr.li": "李娜"}
    assert person("site.wang", names) == "王伟" and person("nobody.here", names) == "nobody.here"
    assert display_names(actor="ipr.li", usernames=[]) == {}
    with pytest.raises(NotFound):
        display_names(actor="not.a.user", usernames=["site.wang"])
