"""The reconciliation: repairs whatever the event path missed. The dispatcher submits it to the warm
task worker every few minutes (``flows.tasks.reconcile_task``); the ``reconcile`` deployment runs the
same on demand (a manager, from the Prefect UI). Either skips when another one is running.

- events still in the outbox (the dispatcher was down, or Prefect was);
- clocks waiting for a calendar year that has since been loaded;
- deadlines that passed while everything was down (the same release a timer would have made);
- timers that were never created (a timer's creation failed, a clock was filled in late): the
  running clocks' timers are looked up by name, and only those missing are created;
- overdue timers whose reason is gone (a stop between a release and the cancellation of its timer):
  cancelled, rather than each started in a flow-run process of its own;
- case runs that are missing, crashed or failed (a fresh run takes the case over, which repeats
  nothing because every step is idempotent), and runs still waiting on a case that is settled; a run
  cancelled by a person, or failing as often as a case's runs may, is left to the office's managers (a
  task to restart the case's process or leave it stopped); a run whose process died while Running
  is marked Crashed by Prefect itself: flow runs send heartbeats and the ``yunque-zombie-runs``
  automation (created by ``yunque stack up``) crashes a run whose heartbeats stop;
- decisions not followed up a while after they were taken (the task worker was down).

The missing timers and the missing run of a case the dispatcher is still handing on (an event of the
case waits in the outbox briefly, or was handed on moments ago) are left to the dispatcher, which is
creating them: in a burst both did it at once, and the reconciliation took 17 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.states import Completed

from flows.common import cancel_scheduled, read_runs, schedule_timers
from flows.decide import MAX_RUNS_PER_CASE, RunState, run_state_of
from flows.dispatch import dispatch_once, start_case_run
from flows.specs import timer_specs
from models.types import utcnow
from services import process
from services.auth import prune_attempts
from services.calendar import ensure_calendar_ahead
from services.clocks import fill_pending_clocks
from services.counter_bonds import counter_bonds_due
from services.sweep import advance_detention_clocks, release_expired
from services.tasks import escalate_overdue

#: a decision not followed up this long after it was handed to the task worker is submitted again
FOLLOW_UP_AFTER = timedelta(minutes=2)
#: a case the dispatcher is still handing on is left to it (``services.process.cases_in_event_path``):
#: an event that waits in the outbox for less than this (an older one: the dispatcher may be down) ...
LEFT_WHILE_UNDISPATCHED = timedelta(minutes=10)
#: ... or that was handed on less than this ago (the task it was handed to may still run)
LEFT_AFTER_DISPATCH = timedelta(minutes=2)


def another_running(own_id: str | None = None) -> bool:
    """Whether a reconciliation (the task or the flow) other than ``own_id`` is running now."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        TaskRunFilter,
        TaskRunFilterName,
        TaskRunFilterState,
        TaskRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    with get_client(sync_client=True) as client:
        flows = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["reconcile"])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.RUNNING]))))
        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(
            name=TaskRunFilterName(like_="reconcile-"),
            state=TaskRunFilterState(type=TaskRunFilterStateType(any_=[StateType.RUNNING]))))
    return any(str(r.id) != own_id for r in [*flows, *tasks])


def ensure_case_runs(leave: frozenset[str] = frozenset()) -> list[str]:
    """Each case the process still owes something has a live run; each decision a follow-up. The
    runs are read in filtered queries of at most 200 (``flows.common.read_runs``). A case of ``leave``
    without a run is left to the dispatcher, which is starting it (a crashed, failing or stopped run
    is seen to all the same: only an event of its case would bring it to the dispatcher)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows import tasks

    refs = process.cases_to_reconcile()
    ids = [UUID(r.flow_run_id) for r in refs if r.flow_run_id]
    with get_client(sync_client=True) as client:
        found = read_runs(client, ids, lambda batch: FlowRunFilter(id=FlowRunFilterId(any_=batch)))
        runs = {str(r.id): r for r in found}
    actions: list[str] = []
    late = utcnow() - FOLLOW_UP_AFTER
    for ref in refs:
        if ref.waiting or ref.status == "open":
            run = runs.get(ref.flow_run_id or "")
            state = RunState.NONE if ref.flow_run_id is None else run_state_of(
                run.state.type.value if run is not None and run.state is not None else None)
            if state == RunState.NONE:
                if ref.case_number not in leave:
                    run_id = start_case_run(process.case_progress(case_number=ref.case_number))
                    actions.append(f"{ref.case_number}: started run {run_id}")
            elif state == RunState.BROKEN:
                p = process.case_progress(case_number=ref.case_number)
                if p.runs_started < MAX_RUNS_PER_CASE:
                    actions.append(f"{ref.case_number}: run {ref.flow_run_id} replaced by "
                                   f"{start_case_run(p, replacing=ref.flow_run_id)}")
                else:
                    actions += _left_to_managers(ref, "failing", run)
            elif state == RunState.STOPPED:
                actions += _left_to_managers(ref, "cancelled", run)
            elif state == RunState.PAUSED and ref.settled:  # the event that settled it was not handed on
                actions.append(_complete(ref.case_number))
        for decision_id, handed_at in ref.pending_decisions:
            if handed_at <= late:
                tasks.submit(tasks.follow_up_decision, decision_id=decision_id)
                actions.append(f"{ref.case_number}: follow-up of decision {decision_id} submitted again")
    return actions


def _left_to_managers(ref: process.CaseRef, why: str, run: Any) -> list[str]:
    """A run cancelled by a person, or failing as often as a case's runs may: the office's managers get a
    task to restart the case's process or leave it stopped (once per run: the dispatcher may have opened it).
    ``run`` was read with its state (a missing run or state is not stopped or broken, ``run_state_of``)."""
    seen = run.state.name
    task_id = process.process_stopped(case_number=ref.case_number, flow_run_id=str(ref.flow_run_id), why=why,
                                      state=seen)
    return [] if task_id is None else [f"{ref.case_number}: run {ref.flow_run_id} {seen}; task {task_id} "
                                       "for its managers"]


def _complete(case_number: str) -> str:
    """End a settled case's waiting run where it waits, as the dispatcher does (``flows.decide``)."""
    from prefect.client.orchestration import get_client

    from flows.case import complete_waiting_run

    p = process.case_progress(case_number=case_number)
    with get_client(sync_client=True) as client:
        if not complete_waiting_run(client, p):  # resumed or ended meanwhile: it ends by itself
            return f"{case_number}: run {p.flow_run_id} was no longer waiting"
    return f"{case_number}: settled, run {p.flow_run_id} completed where it waited"


#: overdue timers read in one query
STALE_READ_BATCH = 200


def cancel_stale_timers(now: datetime, running: set[str]) -> list[str]:
    """Cancel the timers whose time has passed while they are still Scheduled and whose reason is gone:
    not among the timers of the running clocks (``running``, named by ``flows.specs``). Returns their names.

    The warm clock cancels a released notice's timer right after the release; a stop in between (an
    outage, a restart) leaves it Scheduled, overdue, and the process worker would start a flow-run
    process for each, one at a time, only to find nothing to do: 794 of them after one outage probe,
    seconds of CPU each. A cancellation costs the Prefect server one state change."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    overdue = FlowRunFilter(tags=FlowRunFilterTags(all_=["timer"]),
                            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
                            expected_start_time=FlowRunFilterExpectedStartTime(before_=now))
    found: list[Any] = []
    with get_client(sync_client=True) as client:
        while len(page := client.read_flow_runs(flow_run_filter=overdue, sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                                                limit=STALE_READ_BATCH, offset=len(found))) == STALE_READ_BATCH:
            found += page
    stale = [run.name for run in [*found, *page] if run.name not in running]
    return cancel_scheduled(stale, reason="its reason is gone: the clock it keeps has ended")


def repair(*, dispatch: bool = True) -> dict:
    """Repair what was missed; safe to run at any time, as often as wanted. ``dispatch=False`` when
    the dispatcher itself submitted it (it is alive and hands the outbox on itself: two dispatch
    rounds at once could submit one follow-up twice)."""
    now = utcnow()
    first = dispatch_once() if dispatch else None
    ensure_calendar_ahead(now=now)  # from 1 November: the administrators are asked for next year's schedule
    filled = fill_pending_clocks(now=now)
    released = release_expired(now=now)
    moved = advance_detention_clocks(now=now)
    counter_bonds = counter_bonds_due(now=now)  # patent counter-bonds: 30 WD for a court filing (Reg 19, Meas 20)
    escalated = escalate_overdue(now=now)  # overdue human tasks go up to the office's managers
    pruned = prune_attempts(now=now)  # the sign-in log keeps what the limits and known browsers need
    # in a burst (hundreds of cases opened at once) the dispatcher is creating the same runs and timers:
    # done twice at once, on SQLite each refused the other's writes, and a reconciliation took 17 minutes
    leave = frozenset(process.cases_in_event_path(now=now, undispatched_for=LEFT_WHILE_UNDISPATCHED,
                                                  dispatched_within=LEFT_AFTER_DISPATCH))
    clocks = process.timers_due()
    timers = schedule_timers(timer_specs([t for t in clocks if t.due_at > now and t.case_number not in leave]))
    stale = cancel_stale_timers(now, {spec.name for spec in timer_specs(clocks)})
    runs = ensure_case_runs(leave)
    second = dispatch_once() if dispatch else None
    return {"dispatched": sum(len(r.dispatched) for r in (first, second) if r), "clocks_filled": len(filled),
            "released": len(released), "detention_steps": len(moved), "counter_bond_steps": len(counter_bonds),
            "escalated_tasks": len(escalated),
            "sign_in_attempts_pruned": pruned,
            "timers_created": len(timers), "stale_timers_cancelled": len(stale), "case_runs": runs,
            "left_to_dispatcher": len(leave)}


def _run_name() -> str:
    return f"reconcile-{utcnow().isoformat(timespec='minutes')}"


@flow(name="reconcile", flow_run_name=_run_name, log_prints=True)
def reconcile():  # noqa: ANN201 - a summary or a named no-op state
    """Repair what was missed, unless another reconciliation is running."""
    from prefect.runtime import flow_run

    if another_running(own_id=str(flow_run.id)):
        return Completed(name="Skipped", message="another reconciliation is running")
    summary = repair()
    get_run_logger().info("reconciliation: %s", summary)
    return summary
