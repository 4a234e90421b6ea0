"""Timers whose reason is gone are cancelled with the Prefect server's bulk state change, fifty a request, on a
real server: only those still Scheduled, each with the reason as its message."""

from __future__ import annotations

import os
from datetime import timedelta
from uuid import UUID

import pytest

from tests.flows.conftest import FlowStack

pytestmark = pytest.mark.slow


def test_sixty_timers_are_cancelled_in_two_requests_and_one_that_ran_is_left_alone(
        flow_env: FlowStack, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName
    from prefect.states import Completed

    from flows import common
    from flows.specs import timer_specs
    from models.types import utcnow
    from services.process import TimerDue

    case = f"YQ-CANCEL-{os.getpid()}"
    due = utcnow() + timedelta(days=1)  # far enough that no worker takes them meanwhile
    specs = timer_specs([TimerDue(kind="notice", subject_id=i, case_number=case, due_at=due) for i in range(60)])
    ids = common.schedule_timers(specs)
    assert len(ids) == 60
    names = [s.name for s in specs]
    with get_client(sync_client=True) as c:
        ran = c.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[names[0]])))[0]
        c.set_flow_run_state(ran.id, Completed(message="it ran"), force=True)

    bodies: list[dict] = []
    from prefect.client.orchestration import SyncPrefectClient

    request = SyncPrefectClient.request

    def counted(self, method, path, **kw):  # noqa: ANN001, ANN202
        if path == "/flow_runs/bulk_set_state":
            bodies.append(kw["json"])
        return request(self, method, path, **kw)

    monkeypatch.setattr(SyncPrefectClient, "request", counted)
    cancelled = common.cancel_scheduled([*names, f"{case}-notice-999-deadline"], reason="the notice was answered")
    assert len(bodies) == 2 and [b["limit"] for b in bodies] == [50, 11]
    assert sorted(cancelled) == sorted(i for i in ids if UUID(i) != ran.id)
    with get_client(sync_client=True) as c:
        runs = c.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)), limit=100)
    states = {r.name: (r.state.type.value, r.state.message) for r in runs}
    assert states.pop(names[0]) == ("COMPLETED", "it ran")
    assert set(states.values()) == {("CANCELLED", "the notice was answered")} and len(states) == 59
    assert common.cancel_scheduled(names, reason="again") == []  # none is Scheduled any more
