"""What the case run has still to do, as ``services.process.CaseProgress`` says it."""

from __future__ import annotations

from services.process import CaseProgress, NoticeProgress


def notice(id_: int, state: str, *, sent: bool) -> NoticeProgress:
    return NoticeProgress(id=id_, rights_holder="CHANEL SARL", state=state, served_at=None, deadline_at=None, sent=sent)


def progress(*notices: NoticeProgress, confirmed: bool = True) -> CaseProgress:
    return CaseProgress(case_number="YQ-2026-000001", case_id=1, status="open", customs_office="首都机场海关",
                        customs_office_code="CAPAIR", brands=["CHANEL"], flow_run_id=None, notices=list(notices),
                        decisions=[], clocks=[], open_viewings=0, confirmed=confirmed, runs_started=1,
                        last_event_id=0)


def test_the_notices_to_serve_are_those_of_confirmed_lines_neither_sent_nor_withdrawn() -> None:
    p = progress(notice(1, "issued", sent=False), notice(2, "served", sent=True), notice(3, "withdrawn", sent=False))
    assert [n.id for n in p.to_serve] == [1]


def test_nothing_is_served_before_an_ipr_officer_confirms_the_lines() -> None:
    assert progress(notice(1, "issued", sent=False), confirmed=False).to_serve == []


def test_a_case_is_settled_only_when_no_notice_waits() -> None:
    assert not progress(notice(1, "issued", sent=False)).settled
    assert not progress(notice(1, "served", sent=True)).settled
    assert progress(notice(1, "answered", sent=True), notice(2, "withdrawn", sent=False)).settled
