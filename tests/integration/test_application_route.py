"""The application route (Reg 12-15, 24(1)): a rights holder applies for the detention of a named
shipment with a bond equal to the value; customs accepts (bond received: detained) or rejects in writing;
without a court notice within 20 working days the goods are released. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import select

from models.enums import TaskKind
from models.rules.errors import BondInsufficient, ConcurrentUpdate, InvalidInput, NotFound, PermissionDenied
from models.tables import Case, Decision, Recordation, Task
from services.applications import file_application, get_application, list_applications, review_application, withdraw_application
from services.bonds import bond_account, settle_bond
from services.cases import get_case
from services.court import record_court_notice
from services.detention import decide_investigation
from services.documents import plan_decision
from services.portal import list_cases
from services.process import case_progress
from services.sweep import advance_detention_clocks
from services.tasks import complete_task, inbox
from tests.support import session_scope

SH = ZoneInfo("Asia/Shanghai")
FILED = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a Monday
ACCEPTED = FILED + timedelta(hours=3)
COURT_DUE = date(2026, 3, 30)  # 20 working days from the day after 2 March 2026 (no holiday in between)
CONSIGNOR = {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}


def chanel_recordation() -> str:
    with session_scope(readonly=True) as s:
        return s.exec(select(Recordation.number).where(Recordation.brand == "CHANEL")).one()


def application(**extra: Any) -> dict[str, Any]:
    return {"customs_office": "CAPAIR", "declaration_no": "010120260302000777", "direction": "export",
            "consignor": dict(CONSIGNOR), "recordation": chanel_recordation(),
            "lines": [{"description": "Handbags", "quantity": 40, "unit": "pcs", "value": "36000.00", "nice_class": 18},
                      {"description": "Wallets", "quantity": 100, "unit": "pcs", "value": "9000.00", "nice_class": 18}],
            "grounds": "Our investigator bought two samples from the consignor's shop: both counterfeit (report 2026-17).",
            "expected_on": "2026-03-04", **extra}


def filed() -> dict[str, Any]:
    return file_application(application=application(), actor="chanel.agent", now=FILED)


def review_task(case_number: str) -> int:
    return next(t.id for t in inbox(actor="ipr.li") if t.case_number == case_number and t.kind == TaskKind.REVIEW_APPLICATION)


def accepted(amount: str = "45000.00") -> dict[str, Any]:
    app = filed()
    complete_task(task_id=review_task(app["case_number"]), actor="ipr.li", outcome="accepted", now=ACCEPTED,
                  fields={"form": "guarantee", "amount": amount, "bank": "中国银行北京分行", "letter_no": "BG-2026-0301"})
    return app


def decisions(case_number: str) -> list[Decision]:
    with session_scope(readonly=True) as s:
        case = s.exec(select(Case).where(Case.number == case_number)).one()
        return [d.model_copy() for d in s.exec(select(Decision).where(Decision.case_id == case.id).order_by(Decision.id))]


def planned(decisions_: list[Decision]) -> list[Any]:
    with session_scope(readonly=True) as s:
        return [p for d in decisions_ for p in plan_decision(s, s.get(Decision, d.id))]


def test_filing_registers_the_application_for_review_with_a_bond_equal_to_the_value(db: str) -> None:
    app = filed()
    assert app["state"] == "filed" and app["brand"] == "CHANEL"
    assert app["value"] == "45000.00" and app["bond_required"] == "45000.00"  # Reg 14, Meas 15: not the ex officio tier
    case = get_case(case_number=app["case_number"], actor="ipr.li")
    assert case.route == "application"
    assert [ln.state for ln in case.lines] == ["applied", "applied"]
    assert not any(d.kind == "detained" for d in decisions(case.number))  # nothing is held before customs decides
    # the applicant sees it; the consignor does not learn of it before a detention (Reg 15)
    assert [a["case_number"] for a in list_applications(actor="chanel.agent")] == [case.number]
    assert get_case(case_number=case.number, actor="chanel.agent").lines[0].state == "applied"
    assert case.number not in [c.number for c in list_cases(actor="cq.trading")]
    with pytest.raises(NotFound):
        get_case(case_number=case.number, actor="cq.trading")
    with pytest.raises(NotFound):
        get_application(case_number=case.number, actor="nike.agent")  # another holder's application does not exist for it
    # the process waits for the review and serves no confirmation notice
    progress = case_progress(case_number=case.number)
    assert [n.state for n in progress.waiting_notices] == ["applied"] and all(n.sent for n in progress.notices)


def test_an_application_is_refused_naming_the_field(db: str) -> None:
    with pytest.raises(InvalidInput, match="recordation"):
        file_application(application=application(recordation="T2019-99999"), actor="chanel.agent", now=FILED)
    with pytest.raises(InvalidInput, match="recordation"):  # NIKE's recordation is not CHANEL's to apply with
        nike = None
        with session_scope(readonly=True) as s:
            nike = s.exec(select(Recordation.number).where(Recordation.brand == "NIKE")).one()
        file_application(application=application(recordation=nike), actor="chanel.agent", now=FILED)
    with pytest.raises(InvalidInput, match="expected_on"):
        file_application(application=application(expected_on="2026-03-01"), actor="chanel.agent", now=FILED)
    with pytest.raises(PermissionDenied):
        file_application(application=application(), actor="ipr.li", now=FILED)
    filed()
    with pytest.raises(InvalidInput, match="declaration_no"):  # one case per declaration
        file_application(application=application(), actor="chanel.agent", now=FILED)


def test_accepted_with_the_bond_received_the_goods_are_detained_for_20_working_days_without_investigation(db: str) -> None:
    app = accepted()
    case = get_case(case_number=app["case_number"], actor="ipr.li")
    assert [ln.state for ln in case.lines] == ["detained", "detained"]
    assert {ln.court_due for ln in case.lines} == {COURT_DUE}  # Reg 24(1): 20 WD, not the ex officio 50
    assert {ln.investigation_due for ln in case.lines} == {None}
    account = bond_account(notice_id=case.notices[0].id, actor="ipr.li")
    assert account["accepted"] and account["receipt"]["form"] == "guarantee" and account["receipt"]["amount"] == "45000.00"
    kinds = [t.kind for t in inbox(actor="ipr.li") if t.case_number == case.number]
    assert kinds.count(TaskKind.AWAIT_COURT) == 2 and TaskKind.INVESTIGATE not in kinds
    # the consignor now sees its goods detained, and gets the receipt; the holder its detention notice
    assert [ln.state for ln in get_case(case_number=case.number, actor="cq.trading").lines] == ["detained", "detained"]
    docs = planned([d for d in decisions(case.number) if d.kind == "detained"])
    assert [(p.kind.value, p.rights_holder_id is not None) for p in docs] == [
        ("detention_notice", True), ("detention_receipt", False)]
    text = " ".join(par.zh for p in docs for par in (*p.doc.paragraphs, *p.doc.after_goods))
    assert "第十五条" in text and "20个工作日" in text and "30个工作日" not in text
    # customs does not investigate goods detained on application (Reg 20 is for ex officio detentions)
    with pytest.raises(InvalidInput, match="not investigated"):
        decide_investigation(case_number=case.number, line_number=1, actor="ipr.li", outcome="infringing", now=ACCEPTED)


def test_a_bond_below_the_value_is_refused_and_nothing_is_detained(db: str) -> None:
    app = filed()
    with pytest.raises(BondInsufficient):
        review_application(case_number=app["case_number"], actor="ipr.li", now=ACCEPTED,
                           review={"decision": "accepted", "form": "deposit", "amount": "22500.00"})
    with pytest.raises(ValidationError, match="form"):  # accepted with no bond at all
        review_application(case_number=app["case_number"], actor="ipr.li", now=ACCEPTED, review={"decision": "accepted"})
    assert [ln.state for ln in get_case(case_number=app["case_number"], actor="ipr.li").lines] == ["applied", "applied"]


def test_without_a_court_notice_in_20_working_days_the_system_releases_and_the_bond_is_settled(db: str) -> None:
    app = accepted()
    number = app["case_number"]
    assert advance_detention_clocks(now=datetime(2026, 3, 30, 23, 59, tzinfo=SH)) == []  # the last day is not over
    moved = advance_detention_clocks(now=datetime(2026, 3, 31, 0, 1, tzinfo=SH))
    assert {(m["case"], m["reason"]) for m in moved} == {(number, "no-court-order")}
    case = get_case(case_number=number, actor="ipr.li")
    assert [ln.state for ln in case.lines] == ["released", "released"] and case.status == "closed"
    docs = planned([d for d in decisions(number) if d.kind == "released"])
    assert {p.kind.value for p in docs} == {"release_notice"} and any(p.consignor_id for p in docs)
    assert all("第二十四条第（一）项" in p.doc.legal_basis.zh for p in docs)
    kinds = {t.kind for t in inbox(actor="ipr.li") if t.case_number == number}
    assert TaskKind.AWAIT_COURT not in kinds and TaskKind.SETTLE_BOND in kinds
    out = settle_bond(notice_id=case.notices[0].id, actor="ipr.li", now=datetime(2026, 4, 1, 10, tzinfo=SH))
    assert Decimal(out["refunded"]) == Decimal("45000.00")


def test_a_court_notice_within_the_20_days_holds_the_goods_past_them(db: str) -> None:
    app = accepted()
    number = app["case_number"]
    task = next(t for t in inbox(actor="ipr.li") if t.case_number == number and t.kind == TaskKind.AWAIT_COURT)
    complete_task(task_id=task.id, actor="ipr.li", outcome="court-notice", now=datetime(2026, 3, 20, 10, tzinfo=SH),
                  fields={"court": "北京知识产权法院", "reference": "(2026)京73民初123号"})
    record_court_notice(case_number=number, line_number=2, actor="ipr.li", now=datetime(2026, 3, 20, 11, tzinfo=SH),
                        notice={"court": "北京知识产权法院", "reference": "(2026)京73民初123号"})
    assert advance_detention_clocks(now=datetime(2026, 4, 30, 10, tzinfo=SH)) == []
    assert [ln.state for ln in get_case(case_number=number, actor="ipr.li").lines] == ["court-hold", "court-hold"]
    assert not [t for t in inbox(actor="ipr.li") if t.case_number == number and t.kind == TaskKind.AWAIT_COURT]


def test_a_rejection_is_written_to_the_applicant_only_and_holds_nothing(db: str) -> None:
    app = filed()
    number = app["case_number"]
    complete_task(task_id=review_task(number), actor="ipr.li", outcome="rejected", now=ACCEPTED,
                  fields={"reason": "The grounds do not show that the goods infringe: no sample of this shipment."})
    case = get_case(case_number=number, actor="ipr.li")
    assert [ln.state for ln in case.lines] == ["released", "released"] and case.status == "closed"
    assert get_application(case_number=number, actor="chanel.agent")["state"] == "rejected"
    docs = planned([d for d in decisions(number) if d.reason == "application-rejected"])
    assert [(p.kind.value, p.rights_holder_id is not None) for p in docs] == [("rejection_notice", True)]
    assert any("no sample of this shipment" in par.zh for par in docs[0].doc.paragraphs)
    with pytest.raises(NotFound):  # the consignor never learns of a rejected application
        get_case(case_number=number, actor="cq.trading")
    with pytest.raises(ConcurrentUpdate):
        review_application(case_number=number, actor="ipr.li", now=ACCEPTED,
                           review={"decision": "accepted", "form": "deposit", "amount": "45000.00"})
    with pytest.raises(ValidationError, match="reason"):  # a rejection states its reason
        review_application(case_number=filed_again(), actor="ipr.li", now=ACCEPTED, review={"decision": "rejected"})


def filed_again() -> str:
    return file_application(application=application(declaration_no="010120260302000778"), actor="chanel.agent",
                            now=FILED)["case_number"]


def test_the_holder_withdraws_its_application_before_and_after_detention(db: str) -> None:
    app = filed()
    out = withdraw_application(case_number=app["case_number"], actor="chanel.agent", now=ACCEPTED,
                               withdrawal={"reason": "settled with the consignor"})
    assert out["state"] == "withdrawn" and {ln["state"] for ln in out["lines"]} == {"released"}
    assert not [t for t in inbox(actor="ipr.li") if t.case_number == app["case_number"]]
    docs = planned([d for d in decisions(app["case_number"]) if d.reason == "withdrawn"])
    assert [p.consignor_id for p in docs] == [None]  # never held: nothing to tell the consignor

    later = file_application(application=application(declaration_no="010120260302000779"), actor="chanel.agent", now=FILED)
    review_application(case_number=later["case_number"], actor="ipr.li", now=ACCEPTED,
                       review={"decision": "accepted", "form": "deposit", "amount": "45000.00"})
    with pytest.raises(PermissionDenied):
        withdraw_application(case_number=later["case_number"], actor="ipr.li", now=ACCEPTED)
    out = withdraw_application(case_number=later["case_number"], actor="chanel.agent", now=ACCEPTED + timedelta(days=1))
    assert out["state"] == "accepted" and {ln["state"] for ln in out["lines"]} == {"released"}
    with session_scope(readonly=True) as s:
        settle = s.exec(select(Task).where(Task.kind == TaskKind.SETTLE_BOND.value)).all()
    assert len(settle) == 1
