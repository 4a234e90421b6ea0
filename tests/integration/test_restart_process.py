"""A case whose flow run was cancelled by a person, or keeps failing, is left to its office's managers: a task
to restart the case's process or leave it stopped, opened once per run, that acts when it is completed."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models.enums import TaskKind
from models.rules.errors import InvalidInput, PermissionDenied
from models.tables import OutboxEvent, TimelineEntry
from services import process
from services.demo import seed_shipment
from services.tasks import complete_task, inbox
from tests.support import open_confirmed, session_scope

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)  # a Tuesday
LATER = FOUND + timedelta(minutes=20)
KIND = TaskKind.RESTART_PROCESS.value


def _stopped_case(run: str = "run-1", why: str = "cancelled") -> tuple[str, int]:
    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    process.attach_flow_run(case_number=case.number, flow_run_id=run, now=FOUND)
    task_id = process.process_stopped(case_number=case.number, flow_run_id=run, why=why, state="Cancelled", now=LATER)
    assert task_id is not None
    return case.number, task_id


def _timeline(case_number: str, action: str) -> list[dict]:
    with session_scope(readonly=True) as s:
        from models.tables import Case

        case_id = s.exec(select(Case.id).where(Case.number == case_number)).one()
        return [e.after or {} for e in s.exec(select(TimelineEntry).where(
            TimelineEntry.case_id == case_id, TimelineEntry.action == action).order_by(TimelineEntry.id))]


def _restarts(case_number: str) -> list[dict]:
    with session_scope(readonly=True) as s:
        from models.tables import Case

        case_id = s.exec(select(Case.id).where(Case.number == case_number)).one()
        return [e.payload for e in s.exec(select(OutboxEvent).where(OutboxEvent.case_id == case_id,
                                                                    OutboxEvent.topic == "case.process_restart"))]


def test_a_stopped_run_gives_the_offices_managers_one_task_about_it(db: str) -> None:
    number, task_id = _stopped_case()
    [task] = [t for t in inbox(actor="mgr.zhao", kind=KIND)]
    assert (task.id, task.case_number, task.candidate_group, task.state) == (task_id, number, "manager", "open")
    assert "Restart" in task.title and number in task.title
    # the dispatcher meets the run again with each event, the reconciliation every few minutes: one task
    assert process.process_stopped(case_number=number, flow_run_id="run-1", why="cancelled", state="Cancelled") is None
    assert _timeline(number, "case.process_stopped") == [{"flow_run_id": "run-1", "state": "Cancelled",
                                                          "why": "cancelled"}]
    # a run the case is no longer carried by is nobody's business
    assert process.process_stopped(case_number=number, flow_run_id="run-0", why="failing", state="Crashed") is None
    assert len(inbox(actor="mgr.zhao", kind=KIND)) == 1
    # the site and IPR officers' inboxes do not show it
    assert not inbox(actor="site.wang", kind=KIND) and not inbox(actor="ipr.li", kind=KIND)


def test_restarting_hands_the_dispatcher_an_event_for_the_stopped_run(db: str) -> None:
    number, task_id = _stopped_case()
    done = complete_task(task_id=task_id, actor="mgr.zhao", outcome="restart", fields={}, now=LATER)
    assert done.state == "completed"
    assert _restarts(number) == [{"flow_run_id": "run-1", "by": "mgr.zhao"}]
    [completed] = _timeline(number, "task.completed")[-1:]
    assert completed["kind"] == KIND and completed["outcome"] == "restart" and completed["result"]["restarted"]


def test_leaving_the_process_stopped_needs_a_reason_and_asks_nothing_of_the_dispatcher(db: str) -> None:
    number, task_id = _stopped_case(why="failing")
    with pytest.raises(InvalidInput) as refused:
        complete_task(task_id=task_id, actor="mgr.zhao", outcome="leave-stopped", fields={"reason": "  "}, now=LATER)
    assert refused.value.field == "reason"
    assert [t.id for t in inbox(actor="mgr.zhao", kind=KIND)] == [task_id]  # nothing half-done
    complete_task(task_id=task_id, actor="mgr.zhao", outcome="leave-stopped",
                  fields={"reason": "货物已移交公安机关，本案在系统外办理"}, now=LATER)
    assert not _restarts(number) and not inbox(actor="mgr.zhao", kind=KIND)
    assert _timeline(number, "task.completed")[-1]["reason"] == "货物已移交公安机关，本案在系统外办理"


def test_only_a_manager_or_an_administrator_restarts_a_process(db: str) -> None:
    number, task_id = _stopped_case()
    with pytest.raises(PermissionDenied):
        complete_task(task_id=task_id, actor="ipr.li", outcome="restart", fields={}, now=LATER)
    assert not _restarts(number)
    complete_task(task_id=task_id, actor="admin", outcome="restart", fields={}, now=LATER)
    assert len(_restarts(number)) == 1


def test_a_run_that_carries_the_case_again_completes_the_managers_task(db: str) -> None:
    number, task_id = _stopped_case()
    process.attach_flow_run(case_number=number, flow_run_id="run-2", now=LATER)
    assert not inbox(actor="mgr.zhao", kind=KIND)
    assert _timeline(number, "task.completed")[-1]["outcome"] == "restarted"
    # the new run is cancelled in its turn: a task of its own
    assert process.process_stopped(case_number=number, flow_run_id="run-2", why="cancelled", state="Cancelled")
    assert len(inbox(actor="mgr.zhao", kind=KIND)) == 1
