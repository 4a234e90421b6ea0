"""A case run a person cancels from the Prefect UI while it runs in the warm task worker: it ends
Cancelled (not Cancelling for good), and its case's events are handed on, not held in the outbox.

The run is taken here, in this process, as the task worker takes it (``flows.case.run_warm``); the
person's Cancel comes while its step runs, just before the run would suspend to wait for the rights
holders. Everything else is real: the Prefect server refuses the pause of a run being cancelled."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from tests.flows.conftest import FlowStack, run_state
from tests.support import open_confirmed, session_scope, shipment, wait_for

SH = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.slow


def test_a_warm_run_cancelled_while_it_runs_ends_cancelled_its_case_goes_on_and_a_manager_restarts_it(
        flow_env: FlowStack, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    from flows import case as case_flow
    from flows.common import CASE_PROCESS, schedule_run
    from flows.dispatch import dispatch_once
    from models.tables import Case, OutboxEvent
    from models.types import utcnow
    from services import process

    now = datetime.now(SH)
    number = open_confirmed(shipment(f"0404{os.getpid() % 10**6:06d}00000001", now, "NIKE"), now=now).number
    run_id = schedule_run(CASE_PROCESS, parameters={"case_number": number}, key=f"case-{number}",
                          at=utcnow() + case_flow.WARM_CLAIM, name=number)
    process.attach_flow_run(case_number=number, flow_run_id=run_id)

    pause = case_flow.suspend_flow_run

    def cancelled_first(**kwargs: Any) -> Any:  # a manager presses Cancel while the notices are served
        with get_client(sync_client=True) as c:
            c.set_flow_run_state(UUID(run_id), Cancelling(message="cancelled from the Prefect UI"))
        return pause(**kwargs)

    monkeypatch.setattr(case_flow, "suspend_flow_run", cancelled_first)
    said = case_flow.run_warm(run_id)

    assert said.startswith("cancelled by a person"), said
    assert run_state(run_id)[0] == "CANCELLED"
    with get_client(sync_client=True) as c:
        assert "cancelled from the Prefect UI" in (c.read_flow_run(UUID(run_id)).state.message or "")
    assert all(n.sent for n in process.case_progress(case_number=number).notices)  # its step finished

    report = dispatch_once()  # the case's events: handed on, none held for a run that will not end
    assert report.error is None, report.error
    with session_scope(readonly=True) as s:
        case_id = s.exec(select(Case.id).where(Case.number == number)).one()
        waiting = OutboxEvent.dispatched_at.is_(None)  # type: ignore[union-attr]
        held = s.exec(select(OutboxEvent.topic).where(OutboxEvent.case_id == case_id, waiting)).all()
    assert held == [], held
    assert process.case_progress(case_number=number).flow_run_id == run_id  # a person stopped it: not replaced

    # ... and left to the office's managers, who restart it: a fresh run takes the case over and waits warm
    from services.tasks import complete_task, inbox

    [task] = [t for t in inbox(actor="mgr.zhao", kind="restart_process") if t.case_number == number]
    complete_task(task_id=task.id, actor="mgr.zhao", outcome="restart", fields={})
    report = dispatch_once()  # (the flow tests share one database: other cases' events may be handed on too)
    assert report.error is None, report
    fresh = process.case_progress(case_number=number)
    assert fresh.flow_run_id in report.started and fresh.flow_run_id != run_id and fresh.runs_started == 2
    with get_client(sync_client=True) as c:
        assert c.read_flow_run(UUID(fresh.flow_run_id)).idempotency_key == f"case-{number}-after-{run_id}"
    # offered to the warm task worker of the flow tests' stack; taken here if it has not taken it first
    monkeypatch.setattr(case_flow, "suspend_flow_run", pause)
    case_flow.run_warm(fresh.flow_run_id)
    wait_for("the fresh run to wait for the rights holder, as the first run would have",
             lambda: run_state(fresh.flow_run_id)[0] == "PAUSED", timeout=120)
