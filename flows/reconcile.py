"""The periodic reconciliation: repairs whatever the event path missed.

- events still in the outbox (the dispatcher was down, or Prefect was);
- clocks waiting for a calendar year that has since been loaded;
- deadlines that passed while everything was down (the same release a timer would have made);
- timers that were never created (a timer's creation failed, a clock was filled in late);
- case runs that are missing, crashed, failed, or stuck Running with no live process (a worker killed
  mid-run): such a run is marked Crashed and a fresh run takes the case over, which repeats nothing
  because every step is idempotent;
- decisions taken after their case run ended that were never followed up.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import DECISION_FOLLOW_UP, DETENTION_CLOCK, NOTICE_DEADLINE, RETRY_DELAYS, schedule_run, schedule_runs, transient_only
from flows.dispatch import MAX_RUNS_PER_CASE, dispatch_once, start_case_run
from models.types import utcnow
from services import process
from services.calendar import ensure_calendar_ahead
from services.clocks import fill_pending_clocks
from services.sweep import advance_detention_clocks, release_expired

#: a case run Running this long without a state change has lost its process (case steps take seconds)
STALE_AFTER_SECONDS = 600


@task(name="dispatch-outbox", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def dispatch_outbox() -> dict:
    return dispatch_once().as_dict()


@task(name="fill-pending-clocks", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def fill_clocks() -> list[dict]:
    now = utcnow()
    ensure_calendar_ahead(now=now)  # from 1 November: the administrators are asked for next year's schedule
    return fill_pending_clocks(now=now)


@task(name="release-overdue", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def release_overdue() -> list[dict]:
    return release_expired(now=utcnow())


@task(name="advance-detention-clocks", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def advance_clocks() -> list[dict]:
    return advance_detention_clocks(now=utcnow())


@task(name="escalate-overdue-tasks", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only,
      cache_policy=NO_CACHE)
def escalate_tasks() -> list[int]:
    """Overdue human tasks go up to the office's managers."""
    from services.tasks import escalate_overdue

    return escalate_overdue(now=utcnow())


@task(name="ensure-timers", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def ensure_timers() -> int:
    """Every future legal deadline has its timer (creating one that exists returns it)."""
    now = utcnow()
    notices, clocks = [], []
    for t in process.timers_due():
        if t.due_at <= now:
            continue  # handled just now by release-overdue / advance-detention-clocks
        if t.kind == "notice":
            notices.append({"parameters": {"notice_id": t.subject_id, "deadline_at": t.due_at.isoformat()},
                            "key": f"deadline-notice-{t.subject_id}", "at": t.due_at,
                            "name": f"{t.case_number}-notice-{t.subject_id}-deadline"})
        else:
            clocks.append({"parameters": {"line_id": t.subject_id, "clock": t.kind, "due_at": t.due_at.isoformat()},
                           "key": f"clock-{t.kind}-line-{t.subject_id}", "at": t.due_at,
                           "name": f"{t.case_number}-line-{t.subject_id}-{t.kind}"})
    return len(schedule_runs(NOTICE_DEADLINE, notices)) + len(schedule_runs(DETENTION_CLOCK, clocks))


@task(name="ensure-case-runs", retries=2, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def ensure_case_runs(stale_after_seconds: int) -> list[str]:
    """Each case the process still owes something has a live run, or a follow-up run per decision."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    log = get_run_logger()
    actions: list[str] = []
    stale_before = utcnow() - timedelta(seconds=stale_after_seconds)
    with get_client(sync_client=True) as client:
        for ref in process.cases_to_reconcile():
            if ref.flow_run_id is None:
                run_id = start_case_run(process.case_progress(case_number=ref.case_number))
                actions.append(f"{ref.case_number}: started run {run_id}")
                continue
            run = client.read_flow_run(UUID(ref.flow_run_id))
            state = run.state
            if state is None:
                continue
            if state.type == StateType.RUNNING and state.timestamp < stale_before:
                client.set_flow_run_state(run.id, Crashed(message="no sign of life: its process is gone (reconciliation)"),
                                          force=True)
                log.warning("%s: run %s stuck Running since %s, marked Crashed", ref.case_number, run.id, state.timestamp)
                state = client.read_flow_run(run.id).state
            if state is None:
                continue
            if state.type in (StateType.CRASHED, StateType.FAILED):
                p = process.case_progress(case_number=ref.case_number)
                if p.runs_started < MAX_RUNS_PER_CASE:
                    run_id = start_case_run(p, replacing=str(run.id))
                    actions.append(f"{ref.case_number}: run {run.id} {state.type.value}, replaced by {run_id}")
            elif state.type == StateType.COMPLETED:
                for decision_id in ref.pending_decisions:
                    schedule_run(DECISION_FOLLOW_UP, parameters={"decision_id": decision_id},
                                 key=f"follow-up-decision-{decision_id}", name=f"{ref.case_number}-decision-{decision_id}")
                    actions.append(f"{ref.case_number}: follow-up of decision {decision_id}")
    return actions


@flow(name="reconcile", log_prints=True)
def reconcile(stale_after_seconds: int = STALE_AFTER_SECONDS) -> dict:
    """Repair what was missed; safe to run at any time, as often as wanted."""
    first = dispatch_outbox()
    filled = fill_clocks()
    released = release_overdue()
    moved = advance_clocks()
    escalated = escalate_tasks()
    timers = ensure_timers()
    runs = ensure_case_runs(stale_after_seconds)
    second = dispatch_outbox()
    summary = {"dispatched": len(first["dispatched"]) + len(second["dispatched"]), "clocks_filled": len(filled),
               "released": len(released), "detention_steps": len(moved), "escalated_tasks": len(escalated),
               "timers": timers, "case_runs": runs}
    get_run_logger().info("reconciliation: %s", summary)
    return summary
