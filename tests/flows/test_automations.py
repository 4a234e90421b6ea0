"""The automations ``yunque stack up`` creates on the Prefect server (``yunque.stack.deploy``): Prefect's
documented zombie detection, for a run whose heartbeats stop and for a run a worker took (Pending)
that no process ever started."""

from __future__ import annotations

from datetime import timedelta

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType

from tests.flows.conftest import FlowStack
from yunque.stack import (LOST_PENDING_AFTER_SECONDS, LOST_PENDING_AUTOMATION, ZOMBIE_AFTER_SECONDS,
                          ZOMBIE_AUTOMATION)


def _crashes(a: Automation) -> bool:
    return a.enabled and [x.state for x in a.actions] == [StateType.CRASHED]  # type: ignore[attr-defined]


def test_a_run_whose_heartbeats_stop_is_marked_crashed(flow_env: FlowStack) -> None:
    a = Automation.read(name=ZOMBIE_AUTOMATION)
    assert _crashes(a)
    assert a.trigger.after == {"prefect.flow-run.heartbeat", "prefect.flow-run.Running"}  # type: ignore[union-attr]
    assert "prefect.flow-run.heartbeat" in a.trigger.expect  # type: ignore[union-attr]
    assert "prefect.flow-run.Suspended" in a.trigger.expect  # a waiting case run sends none  # type: ignore[union-attr]
    assert a.trigger.within == timedelta(seconds=ZOMBIE_AFTER_SECONDS)  # type: ignore[union-attr]


def test_a_run_taken_by_a_worker_that_never_started_is_marked_crashed(flow_env: FlowStack) -> None:
    a = Automation.read(name=LOST_PENDING_AUTOMATION)
    assert _crashes(a)
    assert a.trigger.after == {"prefect.flow-run.Pending"}  # type: ignore[union-attr]
    assert "prefect.flow-run.Running" in a.trigger.expect  # type: ignore[union-attr]
    assert "prefect.flow-run.Pending" not in a.trigger.expect  # type: ignore[union-attr]
    assert a.trigger.within == timedelta(seconds=LOST_PENDING_AFTER_SECONDS)  # type: ignore[union-attr]
    assert a.trigger.posture == "Proactive"  # type: ignore[union-attr]
