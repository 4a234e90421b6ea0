"""Overdue timers whose reason is gone are cancelled by the reconciliation (``flows.reconcile``), on the
real Prefect server: a stop between a release and the cancellation of its timer left 794 of them
Scheduled in one outage probe, and the process worker started a flow-run process for each. A timer of
a clock that still runs is left to act, and so is one not due yet."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from tests.flows.conftest import FlowStack

pytestmark = pytest.mark.slow


def _scheduled_timer_names() -> set[str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
                                                FlowRunFilterTags)
    from prefect.client.schemas.objects import StateType

    scheduled = FlowRunFilter(tags=FlowRunFilterTags(all_=["timer"]),
                              state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))
    names: list[str] = []
    with get_client(sync_client=True) as client:
        while page := client.read_flow_runs(limit=200, offset=len(names), flow_run_filter=scheduled):
            names += [r.name for r in page]
    return set(names)


def test_overdue_timers_whose_clock_ended_are_cancelled_and_the_others_left(flow_env: FlowStack) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    from flows.common import NOTICE_DEADLINE, cancel_scheduled, schedule_timers
    from flows.reconcile import cancel_stale_timers
    from flows.specs import TimerSpec
    from models.types import utcnow

    # an hour ahead, so that no worker of the flow tests takes them; "now" is then three hours ahead
    soon, later = utcnow() + timedelta(hours=1), utcnow() + timedelta(hours=5)
    tag = uuid4().hex[:8]
    specs = {name: TimerSpec(NOTICE_DEADLINE, {"notice_id": 10**9 + i, "deadline_at": at.isoformat()},
                             key=f"test-stale-{tag}-{name}", at=at, name=f"test-{tag}-{name}", tags=("timer",))
             for i, (name, at) in enumerate((("ended", soon), ("running", soon), ("not-due", later)))}
    assert len(schedule_timers(list(specs.values()))) == 3
    others = _scheduled_timer_names() - {s.name for s in specs.values()}  # other tests' timers: their clocks run
    running = others | {specs["running"].name}

    assert cancel_stale_timers(utcnow() + timedelta(hours=3), running) == [specs["ended"].name]

    names = [s.name for s in specs.values()] + sorted(others)
    with get_client(sync_client=True) as client:
        runs = {r.name: r for at in range(0, len(names), 200) for r in client.read_flow_runs(
            limit=200, flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names[at:at + 200])))}
    assert {n: runs[s.name].state.type.value for n, s in specs.items()} == {
        "ended": "CANCELLED", "running": "SCHEDULED", "not-due": "SCHEDULED"}
    assert "reason is gone" in (runs[specs["ended"].name].state.message or "")
    # nobody else's timer was cancelled (a worker of the flow tests may have started one meanwhile)
    assert not [n for n in others if "reason is gone" in (runs[n].state.message or "")]
    cancel_scheduled([specs["running"].name, specs["not-due"].name], reason="the test is over")
