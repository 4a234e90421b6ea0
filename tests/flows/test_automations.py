"""The automations ``yunque stack up`` creates on the Prefect server (``yunque.stack.deploy``): Prefect's
documented zombie detection, for a run whose heartbeats stop and for a run a worker took (Pending)
that no process ever started; and the acknowledgement of a cancellation nothing else acknowledged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType

from flows.case import case_process
from tests.flows.conftest import FlowStack
from yunque.stack import (CANCEL_ACK_AFTER_SECONDS, CANCEL_ACK_AUTOMATION, LOST_PENDING_AFTER_SECONDS,
                          LOST_PENDING_AUTOMATION, CASE_FLOW, ZOMBIE_AFTER_SECONDS, ZOMBIE_AUTOMATION)


def _sets(a: Automation, state: StateType) -> bool:
    return a.enabled and [x.state for x in a.actions] == [state]  # type: ignore[attr-defined]


def _crashes(a: Automation) -> bool:
    return _sets(a, StateType.CRASHED)


def _watches_case_runs_only(a: Automation) -> bool:
    """Each event a trigger covers costs the server a write: these watch the case runs, not the timers."""
    related = a.trigger.match_related  # type: ignore[union-attr]
    specs = related if isinstance(related, list) else [related]
    return CASE_FLOW == case_process.name and [dict(spec.items()) for spec in specs] == [  # type: ignore[union-attr]
        {"prefect.resource.role": ["flow"], "prefect.resource.name": [case_process.name]}]


@contextmanager
def _in_ten_seconds(name: str) -> Iterator[Automation]:
    """The automation ``name`` with a 10-second window (the real ones wait minutes), for the test."""
    real = Automation.read(name=name)
    quick = Automation(name=f"test-{name}-in-10-s", description=f"{name}, 10 s",
                       trigger=real.trigger.model_copy(update={"within": timedelta(seconds=10)}),
                       actions=real.actions).create()
    try:
        yield quick
    finally:
        quick.delete()


def test_a_run_whose_heartbeats_stop_is_marked_crashed(flow_env: FlowStack) -> None:
    a = Automation.read(name=ZOMBIE_AUTOMATION)
    assert _crashes(a)
    assert a.trigger.after == {"prefect.flow-run.heartbeat", "prefect.flow-run.Running"}  # type: ignore[union-attr]
    assert "prefect.flow-run.heartbeat" in a.trigger.expect  # type: ignore[union-attr]
    assert "prefect.flow-run.Suspended" in a.trigger.expect  # a waiting case run sends none  # type: ignore[union-attr]
    assert a.trigger.within == timedelta(seconds=ZOMBIE_AFTER_SECONDS)  # type: ignore[union-attr]
    assert not a.trigger.match_related  # every flow's runs send heartbeats  # type: ignore[union-attr]


def test_a_run_taken_by_a_worker_that_never_started_is_marked_crashed(flow_env: FlowStack) -> None:
    a = Automation.read(name=LOST_PENDING_AUTOMATION)
    assert _crashes(a)
    assert a.trigger.after == {"prefect.flow-run.Pending"}  # type: ignore[union-attr]
    assert "prefect.flow-run.Running" in a.trigger.expect  # type: ignore[union-attr]
    assert "prefect.flow-run.Pending" not in a.trigger.expect  # type: ignore[union-attr]
    assert a.trigger.within == timedelta(seconds=LOST_PENDING_AFTER_SECONDS)  # type: ignore[union-attr]
    assert a.trigger.posture == "Proactive"  # type: ignore[union-attr]
    # only case runs: the overdue timers of an outage would each cost two writes (Late, then Cancelled)
    assert _watches_case_runs_only(a)


def test_a_pending_case_run_nobody_starts_is_crashed_and_a_pending_timer_is_left_alone(flow_env: FlowStack) -> None:
    """The same trigger as ``yunque-lost-pending-runs`` with a 10-second window (the real one waits 5
    minutes), on Prefect's own events: it fires for a case run and does not see a timer run."""
    from prefect.client.orchestration import get_client
    from prefect.states import Pending

    from flows.timers import notice_deadline
    from tests.flows.conftest import run_state
    from tests.support import wait_for

    with _in_ten_seconds(LOST_PENDING_AUTOMATION):
        with get_client(sync_client=True) as c:
            case_run = c.create_flow_run(case_process, parameters={"case_number": "YQ-LOST-PENDING"}, state=Pending())
            timer_run = c.create_flow_run(notice_deadline, state=Pending(),
                                          parameters={"notice_id": 0, "deadline_at": "2026-12-10T16:00:00+00:00"})
        wait_for("the pending case run marked Crashed", lambda: run_state(str(case_run.id))[0] == "CRASHED", timeout=120)
        time.sleep(15)  # another window: a trigger that saw the timer run has acted on it by now
        assert run_state(str(timer_run.id))[0] == "PENDING"


def test_a_cancellation_nothing_acknowledges_is_marked_cancelled(flow_env: FlowStack) -> None:
    a = Automation.read(name=CANCEL_ACK_AUTOMATION)
    assert _sets(a, StateType.CANCELLED)
    assert a.trigger.after == {"prefect.flow-run.Cancelling"}  # type: ignore[union-attr]
    # the one state the server accepts after Cancelling; another would cost a write per event it covers
    assert a.trigger.expect == {"prefect.flow-run.Cancelled"}  # type: ignore[union-attr]
    assert a.trigger.within == timedelta(seconds=CANCEL_ACK_AFTER_SECONDS)  # type: ignore[union-attr]
    assert a.trigger.posture == "Proactive"  # type: ignore[union-attr]
    assert _watches_case_runs_only(a)  # every timer an answered notice makes pointless is Cancelled


def test_a_run_cancelled_while_it_ran_whose_process_says_nothing_ends_cancelled(flow_env: FlowStack) -> None:
    """The same trigger as ``yunque-unacknowledged-cancellations`` with a 10-second window, on Prefect's
    own events: a run cancelled while Running (as the Prefect UI's Cancel does), with no process that
    would acknowledge it, is marked Cancelled; the zombie automation could not (the server refuses
    Crashed after Cancelling)."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling, Running

    from tests.flows.conftest import run_state
    from tests.support import wait_for

    with _in_ten_seconds(CANCEL_ACK_AUTOMATION):
        with get_client(sync_client=True) as c:
            run = c.create_flow_run(case_process, parameters={"case_number": "YQ-CANCELLED-RUNNING"}, state=Running())
            cancel = c.set_flow_run_state(run.id, Cancelling(message="cancelled from the Prefect UI"))
        assert cancel.status.value == "ACCEPT"
        assert run_state(str(run.id))[0] == "CANCELLING"
        wait_for("the cancelled run marked Cancelled", lambda: run_state(str(run.id))[0] == "CANCELLED", timeout=120)
