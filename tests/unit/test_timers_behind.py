"""Whether the Prefect server's timers are behind a case (``flows.specs.timers_behind``), and the
dispatcher's timers task submitted only when they are (``flows.tasks.keep_timers_if_behind``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from flows.specs import gone_timer_names, notice_timer_name, timer_names, timers_behind
from services.process import CaseProgress, ClockProgress, DecisionProgress, NoticeProgress

DUE = datetime(2027, 1, 6, 15, 59, 59, tzinfo=timezone.utc)


def notice(id_: int, state: str, *, sent: bool) -> NoticeProgress:
    return NoticeProgress(id=id_, rights_holder="CHANEL SARL", state=state, served_at=None,
                          deadline_at=DUE if state == "served" else None, sent=sent)


def progress(*notices: NoticeProgress, detained: bool = True, pending_decision: bool = False) -> CaseProgress:
    clocks = [ClockProgress(line_id=5, line_number=2, state="detained", investigation_due_at=DUE + timedelta(days=40),
                            court_due_at=DUE + timedelta(days=70))] if detained else []
    decisions = [DecisionProgress(id=9, kind="detained", reason="infringing", notice_id=2, lines=[5], decided_at=DUE,
                                  followed_up_at=None)] if pending_decision else []
    return CaseProgress(case_number="YQ-2026-000001", case_id=1, status="open", customs_office="首都机场海关",
                        customs_office_code="CAPAIR", brands=["CHANEL"], flow_run_id=None, notices=list(notices),
                        decisions=decisions, clocks=clocks, open_viewings=0, runs_started=1, last_event_id=0)


CASE = progress(notice(1, "served", sent=True), notice(2, "answered", sent=True), notice(3, "issued", sent=False))
RUNNING = ["YQ-2026-000001-notice-1-deadline", "YQ-2026-000001-line-2-investigation", "YQ-2026-000001-line-2-court"]


def test_the_timers_a_case_needs_and_those_whose_reason_is_gone_are_named_as_the_timers_are() -> None:
    assert gone_timer_names(CASE) == [notice_timer_name("YQ-2026-000001", 2)]  # sent and answered
    assert timer_names(CASE) == [*RUNNING, "YQ-2026-000001-notice-2-deadline"]


def test_a_server_without_the_timers_is_behind_by_every_running_clock() -> None:
    behind = timers_behind(CASE, {})
    assert behind and [t.name for t in behind.missing] == RUNNING and behind.stale == []


def test_an_answered_notice_s_timer_still_scheduled_is_stale_one_cancelled_or_run_is_not() -> None:
    known = dict.fromkeys(RUNNING, "SCHEDULED")
    behind = timers_behind(CASE, {**known, "YQ-2026-000001-notice-2-deadline": "SCHEDULED"})
    assert behind and behind.missing == [] and behind.stale == ["YQ-2026-000001-notice-2-deadline"]
    for state in ("CANCELLED", "COMPLETED"):
        assert not timers_behind(CASE, {**known, "YQ-2026-000001-notice-2-deadline": state})


def test_a_timer_that_ran_or_was_cancelled_is_not_created_again() -> None:
    assert not timers_behind(CASE, dict.fromkeys(RUNNING, "COMPLETED"))


def test_a_case_is_settling_when_every_notice_is_decided_and_only_follow_ups_are_left() -> None:
    assert progress(notice(2, "answered", sent=True), pending_decision=True).settling
    assert not progress(notice(2, "answered", sent=True)).settling  # settled
    assert not progress(notice(1, "served", sent=True), notice(2, "answered", sent=True), pending_decision=True).settling


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, dict]]:
    from flows import tasks

    calls: list[tuple[Any, dict]] = []
    monkeypatch.setattr(tasks, "submit", lambda background, **kw: calls.append((background, kw)) or "task-run-id")
    return calls


def test_the_dispatcher_submits_no_timers_task_when_the_server_is_not_behind(
        monkeypatch: pytest.MonkeyPatch, submitted: list) -> None:
    from flows import common, tasks

    asked: list[list[str]] = []
    known = {**dict.fromkeys(RUNNING, "SCHEDULED"), "YQ-2026-000001-notice-2-deadline": "CANCELLED"}
    monkeypatch.setattr(common, "run_states_named", lambda names: asked.append(names) or known)
    assert tasks.keep_timers_if_behind(CASE) is None
    assert submitted == [] and asked == [timer_names(CASE)]


def test_the_dispatcher_submits_the_timers_task_when_the_server_is_behind(
        monkeypatch: pytest.MonkeyPatch, submitted: list) -> None:
    from flows import common, tasks

    monkeypatch.setattr(common, "run_states_named", lambda names: dict.fromkeys(RUNNING, "SCHEDULED"))
    assert tasks.keep_timers_if_behind(progress(notice(1, "served", sent=True))) is None
    monkeypatch.setattr(common, "run_states_named", lambda names: dict.fromkeys(RUNNING[1:], "SCHEDULED"))
    assert tasks.keep_timers_if_behind(CASE) == "task-run-id"
    assert submitted == [(tasks.keep_case_timers, {"case_number": "YQ-2026-000001"})]
