"""The law after the rights holder's verdict, on SQLite and PostgreSQL (issue: bonds really posted,
investigations officers decide, court holds, confiscation, disposal and costs, matching)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.enums import TaskKind
from models.rules.errors import ConcurrentUpdate, IllegalTransition, InvalidInput, PermissionDenied
from models.tables import Case, Decision, Line, Notice, Recordation, Task
from services.answers import record_answer
from services.board import board
from services.bonds import bond_account, record_bond_receipt, settle_bond
from services.cases import get_case, open_case
from services.context import load_actor
from services.court import record_court_notice
from services.detention import decide_investigation
from services.disposal import record_cost, record_disposal
from services.documents import plan_decision
from services.legal_task_acts import LEGAL_TASK_ACTS
from services.matching import decide_flagged_line
from services.sweep import advance_detention_clocks, release_expired
from services.tasks import inbox
from tests.support import confirm, session_scope

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 3, 2, 10, 0, tzinfo=SH)  # a Monday; answers due by Thursday 5 March
ANSWER_DEADLINE = datetime(2026, 3, 6, 0, 0, tzinfo=SH)
INVESTIGATION_DUE = date(2026, 4, 14)  # 30 WD after a detention on 2 March (Qingming on 6 April)
COURT_DUE = date(2026, 5, 14)  # 50 WD (Labour Day 1-5 May)
CONSIGNOR = {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}


def _line(brand: str, value: str, description: str, nice_class: int | None) -> dict[str, Any]:
    return {"description": description, "brand": brand, "quantity": 10, "unit": "pcs", "value": value,
            "nice_class": nice_class}


def three_brands(**extra: Any) -> Any:
    """The three-brand case: CHANEL bags, NIKE shoes, HERMES belts, with their classes stated; an IPR officer
    confirmed the lines, so the notices are served."""
    case = open_case(actor="site.wang", now=FOUND, shipment={
        "declaration_no": "010120260302000001", "direction": "export", "customs_office": "Capital Airport Customs",
        "consignor": dict(CONSIGNOR), "found_at": FOUND.isoformat(),
        "lines": [_line("CHANEL", "36000.00", "Handbags", 18), _line("NIKE", "9000.00", "Running shoes", 25),
                  _line("HERMES", "24000.00", "Belts", 18)], **extra})
    confirm(case.number, now=FOUND)
    return get_case(case_number=case.number, actor="site.wang")


def notice_of(case: Any, brand: str) -> int:
    return next(n.id for n in case.notices if brand in n.brands)


def line_no(case: Any, brand: str) -> int:
    return next(ln.number for ln in case.lines if ln.brand == brand)


def states(case: Any) -> dict[str, str]:
    return {ln.brand: ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines}


def claim(case: Any, brand: str, bond: str, minutes: int = 10) -> Any:
    return record_answer(notice_id=notice_of(case, brand), actor=f"{brand.lower()}.agent",
                         now=FOUND + timedelta(minutes=minutes),
                         answer={"verdicts": {line_no(case, brand): "infringing"}, "detain": True, "bond": bond})


def detained_chanel() -> Any:
    case = three_brands()
    claim(case, "CHANEL", "20000.00")
    record_bond_receipt(notice_id=notice_of(case, "CHANEL"), actor="ipr.li", now=FOUND + timedelta(hours=2),
                        receipt={"form": "deposit", "amount": "20000.00"})
    assert states(case)["CHANEL"] == "detained"
    return case


# --- 1. bonds --------------------------------------------------------------------------------------


def test_a_chanel_detention_on_an_individual_bond_waits_for_the_officer_to_record_the_bond(db: str) -> None:
    case = three_brands()
    out = claim(case, "CHANEL", "20000.00")
    assert out.state == "claim-pending" and out.answer.bond_required == Decimal("20000.00")
    assert states(case)["CHANEL"] == "suspended"
    (task,) = inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value)
    assert task.notice_id == out.id and task.due_at == ANSWER_DEADLINE

    record_bond_receipt(notice_id=out.id, actor="ipr.li", now=FOUND + timedelta(hours=3),
                        receipt={"form": "guarantee", "amount": "20000.00", "bank": "中国银行重庆分行",
                                 "letter_no": "BG-2026-0302"})
    assert states(case) == {"CHANEL": "detained", "NIKE": "suspended", "HERMES": "suspended"}
    ln = next(x for x in get_case(case_number=case.number, actor="ipr.li").lines if x.brand == "CHANEL")
    assert (ln.investigation_due, ln.court_due) == (INVESTIGATION_DUE, COURT_DUE)
    assert inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value) == []
    assert [t.line_id for t in inbox(actor="ipr.li", kind=TaskKind.INVESTIGATE.value)] == [ln.id]


def test_a_chanel_claim_whose_bond_never_arrives_is_released_by_the_sweep(db: str) -> None:
    case = three_brands()
    claim(case, "CHANEL", "20000.00")
    assert release_expired(now=ANSWER_DEADLINE - timedelta(microseconds=1)) == []
    released = release_expired(now=ANSWER_DEADLINE)
    assert sorted((r["brand"], r["reason"]) for r in released) == [
        ("CHANEL", "no-bond"), ("HERMES", "expired"), ("NIKE", "expired")]
    with pytest.raises(ConcurrentUpdate):
        record_bond_receipt(notice_id=notice_of(case, "CHANEL"), actor="ipr.li", now=ANSWER_DEADLINE,
                            receipt={"form": "deposit", "amount": "20000.00"})
    assert inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value) == []


def test_a_general_bond_detains_at_once_and_its_cover_is_tracked(db: str) -> None:
    case = three_brands()
    out = claim(case, "CHANEL", "general")
    assert out.state == "answered" and states(case)["CHANEL"] == "detained"
    account = bond_account(notice_id=out.id, actor="ipr.li")
    assert account["general_bond"]["amount"] == "200000.00"
    assert account["general_bond"]["cover_left"] == "180000.00"  # 200,000 less the 20,000 this detention needs


def test_a_general_bond_whose_cover_is_used_up_is_refused(db: str) -> None:
    with session_scope() as s:
        rec = s.exec(select(Recordation).where(Recordation.brand == "CHANEL")).one()
        assert rec.classes == "18,25"
    first = open_case(actor="site.wang", now=FOUND, shipment={
        "declaration_no": "010120260302000009", "direction": "export", "customs_office": "Capital Airport Customs",
        "consignor": dict(CONSIGNOR), "found_at": FOUND.isoformat(),
        "lines": [_line("CHANEL", "900000.00", "Handbags", 18), _line("CHANEL", "900000.00", "Wallets", 18)]})
    confirm(first.number, now=FOUND)
    n = notice_of(first, "CHANEL")
    record_answer(notice_id=n, actor="chanel.agent", now=FOUND + timedelta(minutes=5),
                  answer={"verdicts": {1: "infringing", 2: "infringing"}, "detain": True, "bond": "general"})
    # that detention holds RMB 100,000 of the 200,000 general bond; two more of 100,000 do not both fit
    second = three_brands(declaration_no="010120260302000002")
    claim(second, "CHANEL", "general")
    third = open_case(actor="site.wang", now=FOUND, shipment={
        "declaration_no": "010120260302000003", "direction": "export", "customs_office": "Capital Airport Customs",
        "consignor": dict(CONSIGNOR), "found_at": FOUND.isoformat(),
        "lines": [_line("CHANEL", "500000.00", "Handbags", 18)]})
    confirm(third.number, now=FOUND)
    with pytest.raises(InvalidInput, match="covers RMB 80000.00 more"):
        claim(third, "CHANEL", "general")


# --- 2. investigation --------------------------------------------------------------------------------


def test_at_30_working_days_nothing_is_decided_and_the_manager_sees_the_overdue_investigation(db: str) -> None:
    case = detained_chanel()
    late = datetime(2026, 4, 15, 0, 0, tzinfo=SH)
    moved = advance_detention_clocks(now=late)
    assert [(m["brand"], m["state"], m["reason"]) for m in moved] == [("CHANEL", "detained", "investigation-overdue")]
    assert states(case)["CHANEL"] == "detained"
    with session_scope(readonly=True) as s:
        assert s.exec(select(Decision).where(Decision.reason == "cannot-determine")).all() == []
    overdue = board(actor="mgr.zhao", now=late + timedelta(hours=9)).overdue_tasks
    investigations = [(t.kind, t.case_number, t.priority) for t in overdue if t.kind == TaskKind.INVESTIGATE.value]
    assert investigations == [("investigate", case.number, 0)]
    assert advance_detention_clocks(now=late + timedelta(days=1)) == []  # escalated once


def test_only_an_officer_decides_and_cannot_determine_is_told_to_holder_and_consignor(db: str) -> None:
    case = detained_chanel()
    chanel = line_no(case, "CHANEL")
    with pytest.raises(PermissionDenied):
        decide_investigation(case_number=case.number, line_number=chanel, actor="chanel.agent",
                             outcome="cannot-determine", now=FOUND + timedelta(days=10))
    with pytest.raises(InvalidInput, match="outcome"):
        decide_investigation(case_number=case.number, line_number=chanel, actor="ipr.li", outcome="court-notice",
                             now=FOUND + timedelta(days=10))
    with pytest.raises(InvalidInput, match="only detained"):
        decide_investigation(case_number=case.number, line_number=line_no(case, "NIKE"), actor="ipr.li",
                             outcome="not-infringing", now=FOUND + timedelta(days=10))
    out = decide_investigation(case_number=case.number, line_number=chanel, actor="ipr.li",
                               outcome="cannot-determine", note="the serial numbers are ambiguous",
                               now=FOUND + timedelta(days=10))
    assert out.state == "undetermined"
    assert inbox(actor="ipr.li", kind=TaskKind.INVESTIGATE.value) == []
    with session_scope(readonly=True) as s:
        d = s.exec(select(Decision).where(Decision.reason == "cannot-determine")).one()
        assert d.deadline_met is True
        planned = plan_decision(s, d)
    assert [(p.kind.value, p.rights_holder_id is not None, p.consignor_id is not None) for p in planned] == [
        ("undetermined_notice", True, False), ("undetermined_notice", False, True)]


def test_an_officer_finding_no_infringement_releases_the_goods(db: str) -> None:
    case = detained_chanel()
    out = decide_investigation(case_number=case.number, line_number=line_no(case, "CHANEL"), actor="ipr.li",
                               outcome="not-infringing", now=FOUND + timedelta(days=3))
    assert (out.state, out.state_reason) == ("released", "not-infringing")


# --- 3. court ----------------------------------------------------------------------------------------


def test_a_court_notice_on_a_detained_line_holds_it_past_50_working_days(db: str) -> None:
    case = detained_chanel()
    chanel = line_no(case, "CHANEL")
    with pytest.raises(InvalidInput, match="detained goods only"):
        record_court_notice(case_number=case.number, line_number=line_no(case, "NIKE"), actor="ipr.li",
                            now=FOUND + timedelta(days=5), notice={"court": "北京知识产权法院", "reference": "(2026)京73执保1号"})
    out = record_court_notice(case_number=case.number, line_number=chanel, actor="ipr.li",
                              now=FOUND + timedelta(days=5),
                              notice={"court": "北京知识产权法院", "reference": "(2026)京73执保1号"})
    assert out["state"] == "court-hold"
    assert advance_detention_clocks(now=datetime(2026, 5, 15, 0, 0, tzinfo=SH)) == []
    assert advance_detention_clocks(now=datetime(2026, 8, 1, tzinfo=SH)) == []
    assert states(case)["CHANEL"] == "court-hold"
    assert inbox(actor="ipr.li", kind=TaskKind.INVESTIGATE.value) == []


def test_an_undetermined_line_without_a_court_notice_is_released_at_50_working_days(db: str) -> None:
    case = detained_chanel()
    decide_investigation(case_number=case.number, line_number=line_no(case, "CHANEL"), actor="ipr.li",
                         outcome="cannot-determine", now=FOUND + timedelta(days=20))
    assert advance_detention_clocks(now=datetime(2026, 5, 14, 23, 59, tzinfo=SH)) == []
    moved = advance_detention_clocks(now=datetime(2026, 5, 15, 0, 0, tzinfo=SH))
    assert [(m["brand"], m["state"], m["reason"]) for m in moved] == [("CHANEL", "released", "no-court-notice")]


# --- 5. confiscation, disposal, costs, bond ------------------------------------------------------------


def test_a_confiscated_line_gets_its_document_a_disposal_and_costs_and_the_bond_adds_up(db: str) -> None:
    case = detained_chanel()
    chanel = line_no(case, "CHANEL")
    n = notice_of(case, "CHANEL")
    decide_investigation(case_number=case.number, line_number=chanel, actor="ipr.li", outcome="infringing",
                         now=FOUND + timedelta(days=14))
    with session_scope(readonly=True) as s:
        d = s.exec(select(Decision).where(Decision.reason == "infringement-determined")).one()
        planned = plan_decision(s, d)
    assert [(p.kind.value, p.rights_holder_id is not None) for p in planned] == [
        ("confiscation_decision", True), ("confiscation_decision", False)]  # to CHANEL and to the consignor

    with pytest.raises(InvalidInput, match="not finished or not disposed"):
        settle_bond(notice_id=n, actor="ipr.li", now=FOUND + timedelta(days=15))
    record_cost(case_number=case.number, line_number=chanel, actor="ipr.li", now=FOUND + timedelta(days=20),
                cost={"kind": "storage", "amount": "1500.00", "note": "warehouse, 20 days"})
    record_cost(case_number=case.number, line_number=chanel, actor="ipr.li", now=FOUND + timedelta(days=20),
                cost={"kind": "handling", "amount": "320.50"})
    with pytest.raises(InvalidInput, match="why_not_earlier"):
        record_disposal(case_number=case.number, line_number=chanel, actor="ipr.li", now=FOUND + timedelta(days=21),
                        disposal={"method": "destruction"})
    (dispose,) = inbox(actor="ipr.li", kind=TaskKind.DISPOSE.value)
    record_disposal(case_number=case.number, line_number=chanel, actor="ipr.li", now=FOUND + timedelta(days=21),
                    disposal={"method": "destruction", "cost": "2179.50",
                              "why_not_earlier": "counterfeit handbags cannot serve public welfare; CHANEL declined "
                                                 "to buy them; the marks cannot be removed"})
    assert inbox(actor="ipr.li", kind=TaskKind.DISPOSE.value) == []
    with pytest.raises(ConcurrentUpdate):
        record_disposal(case_number=case.number, line_number=chanel, actor="ipr.li", now=FOUND + timedelta(days=22),
                        disposal={"method": "public-welfare"})
    (settle_task,) = inbox(actor="ipr.li", kind=TaskKind.SETTLE_BOND.value)
    assert settle_task.notice_id == n

    out = settle_bond(notice_id=n, actor="ipr.li", now=FOUND + timedelta(days=22))
    assert (out["bond"], out["costs"], out["charged"], out["refunded"], out["unpaid"]) == (
        "20000.00", "4000.00", "4000.00", "16000.00", "0.00")
    assert Decimal(out["charged"]) + Decimal(out["refunded"]) == Decimal(out["bond"])
    account = bond_account(notice_id=n, actor="chanel.agent")
    assert (account["costs_total"], account["charged"], account["refunded"]) == ("4000.00", "4000.00", "16000.00")
    assert inbox(actor="ipr.li", kind=TaskKind.SETTLE_BOND.value) == []
    with pytest.raises(ConcurrentUpdate, match="already settled"):
        settle_bond(notice_id=n, actor="ipr.li", now=FOUND + timedelta(days=23))


def test_a_confiscation_on_a_general_bond_gives_its_cover_back_less_the_costs(db: str) -> None:
    case = three_brands()
    n = claim(case, "CHANEL", "general").id
    chanel = line_no(case, "CHANEL")
    decide_investigation(case_number=case.number, line_number=chanel, actor="ipr.li", outcome="infringing",
                         now=FOUND + timedelta(days=7))
    record_disposal(case_number=case.number, line_number=chanel, actor="ipr.li", now=FOUND + timedelta(days=8),
                    disposal={"method": "public-welfare", "recipient": "北京市慈善协会", "cost": "500.00"})
    out = settle_bond(notice_id=n, actor="ipr.li", now=FOUND + timedelta(days=9))
    assert (out["charged"], out["refunded"], out["general_bond_cover"]) == ("500.00", "0.00", "199500.00")


# --- 8. matching -------------------------------------------------------------------------------------


def test_a_chanel_watch_line_against_classes_18_and_25_is_flagged_not_silently_matched(db: str) -> None:
    case = open_case(actor="site.wang", now=FOUND, shipment={
        "declaration_no": "010120260302000004", "direction": "export", "customs_office": "Capital Airport Customs",
        "consignor": dict(CONSIGNOR), "found_at": FOUND.isoformat(),
        "consignor_declaration": "The consignor declares the goods are its own design; no authorisation held.",
        "lines": [_line("CHANEL", "8000.00", "Wrist watches", 14), _line("CHANEL", "6000.00", "Handbags", 18),
                  _line("CHANEL", "500.00", "Key rings", None)]})
    assert [(ln.description, ln.match_flags) for ln in case.lines] == [
        ("Wrist watches", ["outside-classes"]), ("Handbags", []), ("Key rings", ["no-class-stated"])]
    with session_scope(readonly=True) as s:
        from models.tables import Shipment

        ship = s.exec(select(Shipment).where(Shipment.declaration_no == "010120260302000004")).one()
        assert ship.consignor_declaration.startswith("The consignor declares")
    with pytest.raises(PermissionDenied):
        decide_flagged_line(case_number=case.number, line_number=1, actor="site.wang", release=True,
                            reason="class 14", now=FOUND + timedelta(minutes=30))
    out = decide_flagged_line(case_number=case.number, line_number=1, actor="ipr.li", release=True,
                              reason="watches are class 14; the recordation covers classes 18 and 25",
                              now=FOUND + timedelta(minutes=30))
    assert (out["state"], out["reason"]) == ("released", "not-matched")
    kept = decide_flagged_line(case_number=case.number, line_number=3, actor="ipr.li", release=False,
                               reason="leather key rings are class 18", now=FOUND + timedelta(minutes=31))
    assert kept["flags"] == [] and kept["state"] == "suspended"


def test_goods_of_a_licensee_are_flagged(db: str) -> None:
    with session_scope() as s:
        rec = s.exec(select(Recordation).where(Recordation.brand == "NIKE")).one()
        rec.licensees = ["重庆云通商贸有限公司"]
        s.add(rec)
    case = three_brands()
    assert {ln.brand: ln.match_flags for ln in case.lines}["NIKE"] == ["consignor-is-licensee"]


# --- acts as task completions ------------------------------------------------------------------------


def test_each_legal_act_runs_as_a_task_act_inside_the_callers_session(db: str) -> None:
    case = three_brands()
    n = claim(case, "CHANEL", "20000.00").id
    form_cls, outcomes, act = LEGAL_TASK_ACTS[TaskKind.CHECK_BOND.value]
    assert outcomes == ("received",)
    with session_scope() as s:
        who = load_actor(s, "ipr.li")
        task = s.exec(select(Task).where(Task.kind == TaskKind.CHECK_BOND.value, Task.notice_id == n)).one()
        out = act(s, who=who, task=task, outcome="received", now=FOUND + timedelta(hours=1),
                  form=form_cls.model_validate({"form": "deposit", "amount": "20000.00"}))
        assert out["state"] == "answered"
    assert states(case)["CHANEL"] == "detained"

    form_cls, outcomes, act = LEGAL_TASK_ACTS[TaskKind.INVESTIGATE.value]
    assert set(outcomes) == {"infringing", "not-infringing", "cannot-determine", "court-notice"}
    with session_scope() as s:
        who = load_actor(s, "ipr.li")
        task = s.exec(select(Task).where(Task.kind == TaskKind.INVESTIGATE.value)).one()
        with pytest.raises(InvalidInput, match="court"):
            act(s, who=who, task=task, outcome="court-notice", form=form_cls(), now=FOUND + timedelta(days=2))
        out = act(s, who=who, task=task, outcome="infringing", form=form_cls(note="fake inner card"),
                  now=FOUND + timedelta(days=2))
        assert out["state"] == "confiscated"
        assert s.get(Task, task.id).state == "open"  # the registry completes the task it was given
    form_cls, outcomes, act = LEGAL_TASK_ACTS[TaskKind.DISPOSE.value]
    assert outcomes == ("public-welfare", "sale-to-rights-holder", "auction", "destruction")
    with session_scope() as s:
        who = load_actor(s, "ipr.li")
        task = s.exec(select(Task).where(Task.kind == TaskKind.DISPOSE.value)).one()
        act(s, who=who, task=task, outcome="public-welfare", form=form_cls(method="public-welfare"),
            now=FOUND + timedelta(days=3))
    with session_scope(readonly=True) as s:
        line = s.exec(select(Line).join(Case).where(Case.number == case.number, Line.brand == "CHANEL")).one()
        assert line.disposed_at is not None
        assert s.exec(select(Notice).where(Notice.id == n)).one().state == "answered"


def test_a_line_not_detained_cannot_be_held_for_a_court_or_confiscated(db: str) -> None:
    case = three_brands()
    with pytest.raises(IllegalTransition):
        from services.detention import decide_line

        decide_line(case_number=case.number, line_number=1, actor="ipr.li", outcome="confiscate",
                    now=FOUND + timedelta(hours=1))


# --- 4. the consignor's side, 6. the police ------------------------------------------------------------


def test_the_consignors_statement_accepted_releases_the_goods_with_the_reason(db: str) -> None:
    from services.consignor_side import file_statement, review_statement

    case = detained_chanel()
    chanel = line_no(case, "CHANEL")
    with pytest.raises(InvalidInput, match="not detained"):
        file_statement(case_number=case.number, actor="cq.trading", now=FOUND + timedelta(days=1),
                       statement={"lines": [line_no(case, "NIKE")], "text": "our own design"})
    with pytest.raises(PermissionDenied):
        file_statement(case_number=case.number, actor="ipr.li", now=FOUND + timedelta(days=1),
                       statement={"lines": [chanel], "text": "our own design"})
    filed = file_statement(case_number=case.number, actor="cq.trading", now=FOUND + timedelta(days=1),
                           statement={"lines": [chanel], "text": "Bought from CHANEL's authorised distributor; "
                                                                  "invoices attached."})
    (task,) = inbox(actor="ipr.li", kind=TaskKind.REVIEW_STATEMENT.value)
    form_cls, outcomes, act = LEGAL_TASK_ACTS[TaskKind.REVIEW_STATEMENT.value]
    assert outcomes == ("accepted", "rejected")
    with pytest.raises(PermissionDenied):
        review_statement(statement_id=filed["statement_id"], actor="site.wang", now=FOUND + timedelta(days=2),
                         review={"decision": "accepted", "reason": "invoices check out"})
    out = review_statement(statement_id=filed["statement_id"], actor="ipr.li", now=FOUND + timedelta(days=2),
                           review={"decision": "accepted", "reason": "the distributor confirms the invoices"})
    assert out["released"] == [chanel]
    ln = next(x for x in get_case(case_number=case.number, actor="ipr.li").lines if x.brand == "CHANEL")
    assert (ln.state, ln.state_reason) == ("released", "statement-accepted")
    assert inbox(actor="ipr.li", kind=TaskKind.REVIEW_STATEMENT.value) == []
    assert inbox(actor="ipr.li", kind=TaskKind.INVESTIGATE.value) == []
    with pytest.raises(ConcurrentUpdate):
        review_statement(statement_id=filed["statement_id"], actor="ipr.li", now=FOUND + timedelta(days=3),
                         review={"decision": "rejected", "reason": "second thoughts"})


def test_a_detained_line_transferred_to_the_police_gets_its_document(db: str) -> None:
    from services.police import transfer_to_police

    case = detained_chanel()
    chanel = line_no(case, "CHANEL")
    form = {"lines": [chanel], "police_unit": "北京市公安局首都机场分局", "reference": "移2026-01",
            "grounds": "value and quantity beyond the criminal threshold"}
    with pytest.raises(InvalidInput, match="not detained"):
        transfer_to_police(case_number=case.number, actor="ipr.li", now=FOUND + timedelta(days=4),
                           transfer={**form, "lines": [line_no(case, "NIKE")]})
    out = transfer_to_police(case_number=case.number, actor="ipr.li", now=FOUND + timedelta(days=4), transfer=form)
    assert out["lines"] == [chanel]
    assert states(case)["CHANEL"] == "transferred"
    with session_scope(readonly=True) as s:
        d = s.exec(select(Decision).where(Decision.reason == "suspected-crime")).one()
        planned = plan_decision(s, d)
    assert [(p.kind.value, p.rights_holder_id is not None) for p in planned] == [
        ("transfer_notice", True), ("transfer_notice", False)]


def test_the_acts_after_the_verdict_complete_their_tasks_from_the_inbox_once(db: str) -> None:
    """Review, investigation, disposal and settlement done as task completions (the inbox and `yunque task
    complete`): each acts once, its task is completed once, and the outcome fills the form's repeat of it."""
    from services.consignor_side import file_statement
    from services.tasks import complete_task
    from tests.integration.test_task_acts import count

    case = detained_chanel()
    chanel = line_no(case, "CHANEL")
    file_statement(case_number=case.number, actor="cq.trading", now=FOUND + timedelta(days=1),
                   statement={"lines": [chanel], "text": "Our own design."})
    (review,) = inbox(actor="ipr.li", kind=TaskKind.REVIEW_STATEMENT.value)
    with pytest.raises(InvalidInput, match="reason"):
        complete_task(task_id=review.id, actor="ipr.li", outcome="rejected", now=FOUND + timedelta(days=2))
    complete_task(task_id=review.id, actor="ipr.li", outcome="rejected", fields={"reason": "no invoice shown"},
                  now=FOUND + timedelta(days=2))
    assert states(case)["CHANEL"] == "detained"

    (investigate,) = inbox(actor="ipr.li", kind=TaskKind.INVESTIGATE.value)
    complete_task(task_id=investigate.id, actor="ipr.li", outcome="infringing", fields={"note": "fake inner card"},
                  now=FOUND + timedelta(days=3))
    assert states(case)["CHANEL"] == "confiscated"
    (dispose,) = inbox(actor="ipr.li", kind=TaskKind.DISPOSE.value)
    with pytest.raises(InvalidInput, match="outcome"):
        complete_task(task_id=dispose.id, actor="ipr.li", outcome="burning", now=FOUND + timedelta(days=4))
    complete_task(task_id=dispose.id, actor="ipr.li", outcome="public-welfare",
                  fields={"recipient": "北京市慈善协会"}, now=FOUND + timedelta(days=4))
    with session_scope(readonly=True) as s:
        line = s.exec(select(Line).join(Case).where(Case.number == case.number, Line.brand == "CHANEL")).one()
        assert line.disposed_at is not None
        from models.tables import Disposal

        assert s.exec(select(Disposal.method, Disposal.recipient).where(Disposal.line_id == line.id)).one() == (
            "public-welfare", "北京市慈善协会")  # the outcome chosen is the method recorded

    (settle,) = inbox(actor="ipr.li", kind=TaskKind.SETTLE_BOND.value)
    complete_task(task_id=settle.id, actor="ipr.li", outcome="settled", now=FOUND + timedelta(days=5))
    account = bond_account(notice_id=notice_of(case, "CHANEL"), actor="ipr.li")
    assert account["settled_at"] is not None and account["refunded"] == "20000.00"  # no costs recorded
    for task in (review, investigate, dispose, settle):
        assert count("task.completed", f"task:{task.id}") == 1
    assert count("line.confiscated") == 1 and count("bond.settled") == 1
    with pytest.raises(ConcurrentUpdate):
        complete_task(task_id=settle.id, actor="ipr.li", outcome="settled", now=FOUND + timedelta(days=6))
