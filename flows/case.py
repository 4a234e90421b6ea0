"""One flow run per case (named after the case number, tagged with the office and the brands).

The run reads like the process: register the seizure, serve the notices and start their answer
clocks, wait for the rights holders while their decisions are followed up, start the detention clocks
of detained lines, and complete once every notice is decided and every decision followed up.

A decision's follow-up (documents, mail, the artifact, which the run's page shows) is not done by
this run: a person waits on it, so the dispatcher hands it to a warm background task
(``flows/tasks.py``) the moment the decision is committed. So are the timers of a deadline that
appears while the run waits (a notice served, lines detained).

Waiting holds no process: when nothing is left to do but wait, the run suspends itself
(``suspend_flow_run`` with a typed ``CaseUpdate`` input) and its process exits. The outbox dispatcher
resumes it only when the lines were confirmed while it waited and its notices are still to go out
(``flows.decide.RESUMING_TOPICS``, ``CaseProgress.to_serve``); the resumed run starts its body again
from the top, which is safe because every step is idempotent in the database (a notice is served once)
and the timers are idempotent in Prefect (one key per legal deadline). When the case is settled while
the run waits (the last follow-up done: the usual end), the dispatcher completes the run where it
waits (``complete_waiting_run``: the same summary and message as the run's own end), so a case costs
one flow-run process, not a second one started only to end.

The run's process is a warm one (``run_warm``): the dispatcher schedules a new run a little ahead
(``WARM_CLAIM``) in the work pool and at once submits a background task that takes it from the pool
(the transition to Pending that a worker makes, which Prefect grants once) and runs it in the task
worker, which has Prefect, the services and the PDF fonts loaded. A resumed run is offered to it the
same way. If the task worker is down or slow, the process worker takes the run when it is due and
runs it in a process of its own, as before: the work pool stays the record of what is to run.
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_table_artifact
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.states import Completed

from flows.common import RETRY_DELAYS, cancel_scheduled, retried, schedule_timers, transient, transient_only
from flows.specs import timer_specs
from models.types import utcnow
from services import process

#: how far ahead a new case run is scheduled: the warm task worker takes it within a second, and
#: the process worker (which looks ``PREFECT_WORKER_PREFETCH_SECONDS`` ahead, every
#: ``PREFECT_WORKER_QUERY_SECONDS``) only when the warm one did not. The time is set before the run
#: is created, and on SQLite a busy Prefect server makes its client wait 2, 4, 8 and 16 s before it
#: asks again: with 15 s, two case runs in ten were already due when created in each of two probes
#: (none in a third), and the process worker took them, each a process of Prefect's own (seconds of
#: CPU, the stack's slowest start). With 45 s none was, in four runs; the cost is that a case whose
#: task worker is down has its notices served 45 s after the run is created, not 15 s.
WARM_CLAIM = timedelta(seconds=45)

#: the longest a case waits suspended before the run gives up (the reconciliation then starts a
#: fresh run): well past any answer deadline, which is 3 working days after service
WAIT_LIMIT = timedelta(days=30)


class CaseUpdate(RunInput):
    """What wakes a waiting case: the outbox event that happened to it."""

    event_id: int
    topic: str


def read_case(case_number: str) -> process.CaseProgress:
    """The case as it stands: a read, done in the run's body (not a task run of its own, whose records
    the manager does not need), tried again as a task would be if the database was briefly away."""
    return retried(lambda: process.case_progress(case_number=case_number))


@task(name="serve-notices", task_run_name="serve-notices-{case_number}", retries=3, retry_delay_seconds=RETRY_DELAYS,
      retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def serve_notices(case_number: str, notice_ids: list[int]) -> list[int]:
    """Issue each confirmation notice (确权通知书) and send it to its rights holder, once: one task run
    for the notices the case's run serves together (a task run each cost the Prefect server several
    writes). A notice that fails does not hold the others back: they go out first, then the task
    fails with the first failure (a transient one, if any was, so that it is retried), and its retry
    issues nothing new and mails only the notices still unsent, as often as ``MAIL_ATTEMPTS`` asks
    (then an officer serves them by hand, ``serve_manually``). Returns the notices sent now."""
    log = get_run_logger()
    sent: list[int] = []
    failed: list[Exception] = []
    for notice_id in notice_ids:
        try:
            if serve_one(case_number, notice_id):
                sent.append(notice_id)
                log.info("notice %s: issued and sent", notice_id)
        except Exception as e:  # noqa: BLE001 - the others are served all the same; raised below
            log.warning("notice %s: not sent: %s: %s", notice_id, type(e).__name__, e)
            failed.append(e)
    if failed:
        raise next((e for e in failed if transient(e)), failed[0])
    return sent


def serve_one(case_number: str, notice_id: int) -> bool:
    """Issue the notice's document and send it, unless the process did already; True if it did now."""
    key = process.notice_sent_key(notice_id)
    if process.step_done(key=key) is not None:
        return False
    from services.delivery import deliver_document
    from services.documents import issue_for_notice

    doc = issue_for_notice(notice_id=notice_id)
    deliver_document(document_id=doc.id)
    return process.mark_step_done(key=key, case_number=case_number, action="notice.sent",
                                  result={"notice_id": notice_id, "documents": [doc.number]})


def start_clocks(progress: process.CaseProgress) -> int:
    """Durable timers, one per legal deadline, kept by the Prefect server (``flows/specs.py``): the end
    of each waiting notice's last working day (Reg 16, Meas 25, 41), and for each detained line the
    30-working-day investigation and 50-working-day court clocks (Reg 20, 24; Meas 28). A notice
    without a deadline (not served yet, or its calendar year unknown) gets its timer once it is known.
    A step of the run's body, tried again as a task would be (``retried``), not a task run of its own:
    the timers are runs the manager sees, and a task run would add four writes to the Prefect server's
    database for each case. Returns the timers created."""
    return retried(lambda: len(schedule_timers(timer_specs(process.case_timers(progress)))))


def end_timers(p: process.CaseProgress) -> None:
    """The timers of a settled case, as its run ends: those of its running clocks set (a detention
    decided last has its clocks, and the dispatcher left their timers to the run's end,
    ``flows.decide.RUN_ENDS_LATER``), those whose reason is gone cancelled (its notices answered)."""
    from flows.specs import gone_timer_names

    schedule_timers(timer_specs(process.case_timers(p)))
    cancel_scheduled(gone_timer_names(p), reason="the notice was answered")


def summary_key(p: process.CaseProgress) -> str:
    return f"case-{p.case_number.lower()}"


def summary_table(p: process.CaseProgress) -> list[dict[str, object]]:
    """The case's notices at the end of its process, as the run's artifact shows them."""
    return [{"notice": n.id, "rights holder": n.rights_holder, "state": n.state,
             "deadline": n.deadline_at.isoformat(timespec="minutes") if n.deadline_at else "-"} for n in p.notices]


def summary_description(p: process.CaseProgress) -> str:
    return f"{p.case_number}: notices at the end of the case process"


def outcome(p: process.CaseProgress) -> str:
    """The message of the run's Completed state."""
    released = sum(1 for d in p.decisions if d.kind == "released" for _ in d.lines)
    return (f"{p.case_number}: every notice decided, {len(p.decisions)} decision(s) "
            f"followed up ({released} line(s) released)")


@task(name="case-summary", retries=3, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def case_summary(progress: process.CaseProgress) -> None:
    create_table_artifact(key=summary_key(progress), table=summary_table(progress),
                          description=summary_description(progress))


def complete_waiting_run(client: Any, p: process.CaseProgress) -> bool:
    """End the settled case's run where it waits (suspended, no process): the summary artifact on the
    run and its Completed state with the same message as the run's own end, through Prefect's API (the
    server accepts a final state for a paused run). As at the run's own end, the timers of the case's
    running clocks are set first (a detention decided last has its clocks; the task worker may not
    have set their timers yet), and those whose reason is gone cancelled (``end_timers``). False if the
    server refused: the run is no longer paused (resumed or ended meanwhile), and then reads the case
    and ends by itself."""
    import json
    from uuid import UUID

    from prefect.client.schemas.actions import ArtifactCreate

    end_timers(p)
    run_id = UUID(str(p.flow_run_id))
    client.create_artifact(ArtifactCreate(key=summary_key(p), type="table", data=json.dumps(summary_table(p)),
                                          description=summary_description(p), flow_run_id=run_id))
    result = client.set_flow_run_state(run_id, Completed(message=outcome(p)))
    return result.status.value == "ACCEPT"


def _step(case_number: str, p: process.CaseProgress) -> bool:
    """Do what the case's current state calls for; True if anything changed in the case."""
    if not p.to_serve:  # notices go out after the confirmation
        return False
    return bool(serve_notices(case_number, [n.id for n in p.to_serve]))


def _clock_marks(p: process.CaseProgress) -> frozenset:
    return frozenset((n.id, n.deadline_at) for n in p.waiting_notices) | frozenset(
        (c.line_id, c.state, c.investigation_due_at, c.court_due_at) for c in p.clocks)


@flow(name="case-process", flow_run_name="{case_number}", log_prints=True)
def case_process(case_number: str):  # noqa: ANN201 - a Prefect state or a summary
    """Register the seizure, serve the notices, wait for the rights holders, release or detain, follow up."""
    log = get_run_logger()
    rounds = 0
    clocks_started: frozenset = frozenset()
    while True:
        p = read_case(case_number)
        if _step(case_number, p):
            continue  # something changed: read again before deciding to wait
        if p.settled:
            retried(lambda: end_timers(p))
            case_summary(p)
            return Completed(message=outcome(p))
        if _clock_marks(p) - clocks_started:
            log.info("%s: %d timer(s) set for its legal deadlines", case_number, start_clocks(p))
            clocks_started |= _clock_marks(p)
        waiting = ", ".join(f"notice {n.id} ({n.rights_holder}, {n.state})" for n in p.waiting_notices)
        following = ", ".join(f"decision {d.id}" for d in p.pending_decisions)
        log.info("%s waits for %s%s%s", case_number, waiting or "nothing",
                 f"; {following} being followed up" if following else "",
                 f"; {p.open_viewings} viewing(s) requested or under way" if p.open_viewings else "")
        # One pause per read of the case (Prefect returns a resumed pause's input when the body
        # re-runs and reaches the same key). Nobody else reads the key: the dispatcher's decision
        # needs only the run's state (flows/decide.py).
        update = suspend_flow_run(wait_for_input=CaseUpdate, key=f"wait-{p.last_event_id}-{rounds}",
                                  timeout=int(WAIT_LIMIT.total_seconds()))
        log.info("%s woken by event %s (%s)", case_number, update.event_id, update.topic)
        rounds += 1


def run_warm(flow_run_id: str) -> str:
    """Run the case run ``flow_run_id`` in this process, if it is still in the work pool (Scheduled):
    take it as a worker does (the transition to Pending, which the Prefect server grants to one
    claimant only), then run it with Prefect's flow engine until it suspends or ends. Returns what
    happened, in words: the run's state, or why it was left to the process worker. One engine at a
    time for a run (``ENGINES``)."""
    run_id = UUID(flow_run_id)
    with ENGINES.turn(run_id):
        return _run_warm(run_id)


class _Turns:
    """One flow engine at a time for each flow run in this process. Prefect's engine watches, while a
    run's engine is alive, for the run's Suspended event, and on seeing it marks the suspension
    request registered *now* for that run id: a resumed run taken here while the engine that suspended
    it was still ending (a confirmation a second after the case was opened) was marked by the old
    engine's own Suspended event and ended Suspended at once, its notices never served (two of five
    runs of the stack's seed test, on a fast Prefect server). The entry of a run goes when nobody
    waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._runs: dict[UUID, list[Any]] = {}  # run id -> [its lock, how many hold or wait for it]

    @contextmanager
    def turn(self, run_id: UUID) -> Iterator[None]:
        with self._guard:
            entry = self._runs.setdefault(run_id, [threading.Lock(), 0])
            entry[1] += 1
        try:
            with entry[0]:
                yield
        finally:
            with self._guard:
                entry[1] -= 1
                if entry[1] == 0:
                    del self._runs[run_id]


ENGINES = _Turns()


def _run_warm(run_id: UUID) -> str:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.context import TaskRunContext
    from prefect.exceptions import Pause
    from prefect.flow_engine import run_flow
    from prefect.states import Pending

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        if run.state is None or run.state.type != StateType.SCHEDULED:
            return f"not in the work pool ({run.state.type.value if run.state else 'no state'})"
        # due now: a Pending state keeps the run's scheduled time unless it names its own, and Prefect
        # holds a run back from Running until then
        claim = Pending()
        claim.state_details.scheduled_time = utcnow()
        if client.set_flow_run_state(run_id, claim).status.value != "ACCEPT":
            return "taken by a worker"
        run = client.read_flow_run(run_id)
    # the flow engine runs here as in a flow-run process of its own: not inside the background task
    # that called it (Prefect refuses to suspend a flow run from within a task run)
    here = contextvars.copy_context()
    here.run(TaskRunContext.__var__.set, None)
    here.run(_log_warm, run)
    try:
        state = here.run(run_flow, case_process, flow_run=run, return_type="state")
    except Pause:
        return "suspended: waits for the rights holders"
    if state.is_cancelling():  # the state the server answered the engine's last change with
        _acknowledge_cancellation(run, state)
        return "cancelled by a person while it ran: stopped after its step, and marked Cancelled"
    return f"ended {state.type.value}"


def _acknowledge_cancellation(run: Any, cancelling: Any) -> None:
    """Mark the run Cancelled: a person cancelled it while it ran here (the Prefect UI's Cancel makes
    it Cancelling), this process is where it ran, and its engine has stopped, so the cancellation is
    done. Nobody else would say so: a process worker stops only the runs it started, and the server
    accepts no state but Cancelled after Cancelling, so the run would stay Cancelling for good. The
    step under way when the person cancelled has finished (each step is idempotent); the run's
    pause was refused, so nothing more runs."""
    from prefect.client.orchestration import get_client
    from prefect.logging.loggers import flow_run_logger
    from prefect.states import Cancelled

    said = cancelling.message or "cancelled"
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(run.id, Cancelled(message=f"{said}; the warm task worker stopped it after its step"))
    flow_run_logger(run).info("Cancelled while it ran: its step finished, then it stopped (process %d)", os.getpid())


def _log_warm(run: Any) -> None:
    from prefect.logging.loggers import flow_run_logger

    flow_run_logger(run).info("Taken by the warm task worker (process %d on %s)", os.getpid(), os.uname().nodename)
