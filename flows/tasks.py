"""What people wait on, run warm: Prefect background tasks served by a long-lived task worker.

A decision's follow-up (documents issued and mailed, the manager's artifact: ``FOLLOW_UPS``), and the
release of the notices whose deadline passed, a detention clock's step, the durable timers of a new
deadline, the cancellation of a timer whose reason is gone and the reconciliation (``CLOCK``) are
submitted with ``.delay()`` (by the dispatcher, or by a flow) and picked up within a fraction of a
second by two long-lived task workers, ``python -m flows.tasks --serve follow-ups`` and ``--serve
clock`` (``yunque stack up`` starts both), which import Prefect, the services and the PDF fonts once.
A new flow run process would pay 5-19 s for each. Two processes, because Python runs one thread of a
process at a time: at a deadline after an outage, a thousand releases would otherwise share it with
the documents of the releases before them, and a follow-up someone waits on would share it with the
bookkeeping of the timers its own answer set off. Every task is idempotent in the database, so a task submitted twice, or retried, repeats
nothing a person could see twice; each shows in the Prefect UI as a task run named after its subject.

The submitter and the worker share the store of the task parameters: ``scheduling_storage()``,
a directory under ``var/`` (on several machines, a shared directory or set
``PREFECT_TASKS_SCHEDULING_DEFAULT_STORAGE_BLOCK`` to a remote block)."""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.common import RETRY_DELAYS, cancel_scheduled, held_clients, md_text, transient_only
from models.types import utcnow
from services import process

log = logging.getLogger("yunque.tasks")


def scheduling_storage() -> Path:
    from yunque.settings import get_settings

    return get_settings().var_dir / "prefect" / "task-parameters"


@contextmanager
def shared_storage() -> Iterator[None]:
    """Prefect's settings with the task parameters' store set to ``scheduling_storage()``, unless they
    are already (a long-lived process sets it once: a copy of Prefect's settings costs 30 ms of CPU)."""
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    path = scheduling_storage()
    if PREFECT_RESULTS_LOCAL_STORAGE_PATH.value() == path:
        yield
        return
    path.mkdir(parents=True, exist_ok=True)
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: path}):
        yield


def submit(background: Any, **parameters: Any) -> str:
    """Submit a background task (``.delay``); returns its task run id."""
    with shared_storage():
        return str(background.delay(**parameters).task_run_id)


_KW = {"retries": 3, "retry_delay_seconds": RETRY_DELAYS, "retry_condition_fn": transient_only,
       "cache_policy": NO_CACHE}


# --- the decision's follow-up ---------------------------------------------------------------------


def decision_markdown(r: process.DecisionReport, documents: list[str]) -> str:
    """What a manager reads in the Prefect UI about a decision; user text is escaped."""
    met = {True: "yes", False: "no (the system acted at the deadline)", None: "not applicable"}[r.deadline_met]
    return "\n".join([
        f"### {r.case_number}: {r.kind} ({r.reason})",  # the system's own values: a number, two enum values
        "",
        f"- rights holder: {md_text(r.rights_holder or '-')} (notice {r.notice_id or '-'})",
        f"- decided by: {md_text(r.decided_by)} ({r.decided_by_role}) at "
        f"{r.decided_at.isoformat(timespec='seconds')}",
        f"- notice deadline: {r.notice_deadline_at.isoformat(timespec='seconds') if r.notice_deadline_at else '-'}",
        f"- deadline met: {met}",
        f"- documents: {md_text(', '.join(documents)) if documents else '-'}",
        "",
        "| line | brand | description | quantity | value (RMB) | state |",
        "|---:|---|---|---:|---:|---|",
        *[f"| {ln.number} | {md_text(ln.brand)} | {md_text(ln.description)} | {ln.quantity} {md_text(ln.unit)} | "
          f"{ln.value} | {md_text(ln.state)} |" for ln in r.lines],
    ])


def publish_decision_artifact(r: process.DecisionReport, documents: list[str], flow_run_id: str | None) -> None:
    """The decision's artifact, on the case's flow run (so a manager reads it on the case's run page)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import ArtifactCreate

    with get_client(sync_client=True) as client:
        client.create_artifact(ArtifactCreate(
            key=f"decision-{r.decision_id}", type="markdown", data=decision_markdown(r, documents),
            description=f"{r.case_number}: lines {', '.join(str(ln.number) for ln in r.lines)} {r.kind}",
            flow_run_id=UUID(flow_run_id) if flow_run_id else None))


def follow_up(decision_id: int) -> bool:
    """Documents (release notice, or detention notice and receipt 扣留凭单, or undetermined notice),
    issued once per decision and mailed, the manager's artifact, then the decision marked followed
    up (the last one settles the case, whose waiting run the dispatcher then completes). False if it
    was already followed up."""
    from services.delivery import deliver_document
    from services.documents import issue_for_decision

    r = process.decision_report(decision_id=decision_id)
    if r.followed_up_at is not None:
        return False
    docs = issue_for_decision(decision_id=decision_id)
    for d in docs:
        deliver_document(document_id=d.id)
    numbers = [d.number for d in docs]
    case = process.case_progress(case_number=r.case_number)
    publish_decision_artifact(r, numbers, case.flow_run_id)
    return process.mark_followed_up(decision_id=decision_id, documents=numbers)


@task(name="follow-up-decision", task_run_name="follow-up-decision-{decision_id}", **_KW)
def follow_up_decision(decision_id: int) -> bool:
    return follow_up(decision_id)


# --- the case's run ----------------------------------------------------------------------------


@task(name="run-case", task_run_name="run-case-{case_number}", cache_policy=NO_CACHE)
def run_case(case_number: str, flow_run_id: str) -> str:
    """The case's flow run, started or resumed, run here rather than in a new process
    (``flows.case.run_warm``): it serves the notices a rights holder waits for. Not retried: a run
    this task could not take stays in the work pool, and the process worker runs it."""
    from flows.case import run_warm

    return run_warm(flow_run_id)


# --- deadlines ------------------------------------------------------------------------------------


#: notices released in one transaction by the warm clock (one failing sends its batch to one at a time)
RELEASE_BATCH = 25


def release_notices(notices: list[tuple[str, int]]) -> list[dict]:
    """The end of each notice's third working day passed unanswered (or claimed without a sufficient
    bond): release the lines of each notice (case number, notice id) whose deadline has passed,
    ``RELEASE_BATCH`` notices a transaction (a batch that fails is released again one notice a
    transaction, so one notice that fails leaves the others released); then cancel the timers of those
    released, in one query to the Prefect server."""
    from flows.specs import notice_timer_name
    from services.sweep import release_notice_if_expired, release_notices_if_expired

    log = get_run_logger()
    released: list[dict] = []
    timers: list[str] = []
    failed: list[Exception] = []
    for start in range(0, len(notices), RELEASE_BATCH):
        batch = {notice_id: case_number for case_number, notice_id in notices[start:start + RELEASE_BATCH]}
        try:
            done = release_notices_if_expired(notice_ids=list(batch), now=utcnow())
        except Exception as e:  # noqa: BLE001 - each notice of the batch is tried on its own below
            log.warning("notices %s: not released together (%s: %s); one at a time", list(batch), type(e).__name__, e)
            done = {}
            for notice_id in batch:
                try:
                    done[notice_id] = release_notice_if_expired(notice_id=notice_id, now=utcnow())
                except Exception as e:  # noqa: BLE001 - the others are released all the same; raised below
                    log.error("notice %s: not released: %s: %s", notice_id, type(e).__name__, e)
                    failed.append(e)
        for notice_id, lines in done.items():
            if lines:
                log.info("notice %s: released %s", notice_id,
                         ", ".join(f"line {r['line']} ({r['brand']})" for r in lines))
                timers.append(notice_timer_name(batch[notice_id], notice_id))
            released.extend(lines)
    cancel_scheduled(timers, reason="the notice's lines were released at its deadline")
    if failed:  # the task fails where managers see it, and is retried if the failure was transient
        raise failed[0]
    return released


def _release_run_name() -> str:
    from prefect.runtime import task_run

    ids = task_run.parameters.get("notice_ids") or [0]
    return f"release-notice-{ids[0]}" if len(ids) == 1 else f"release-{len(ids)}-notices-{min(ids)}-to-{max(ids)}"


@task(name="release-notices", task_run_name=_release_run_name, **_KW)
def release_due_notices(notice_ids: list[int], case_numbers: list[str]) -> list[dict]:
    """Every notice whose deadline the warm clock found passed in one look (after an outage, hundreds
    at once), released in one task: each costs a transaction, not a task run of its own."""
    return release_notices(list(zip(case_numbers, notice_ids, strict=True)))


@task(name="advance-line-clock", task_run_name="clock-line-{line_id}", **_KW)
def advance_line_clock(line_id: int) -> list[dict]:
    """A detained line's 30- or 50-working-day clock ended (Reg 20, 24; Meas 28)."""
    from services.sweep import advance_detention_clocks

    return advance_detention_clocks(now=utcnow(), line_ids=[line_id])


@task(name="keep-case-timers", task_run_name="timers-{case_number}", **_KW)
def keep_case_timers(case_number: str) -> dict[str, Any]:
    """The case's legal deadlines as durable Prefect timers (``flows/specs.py``), as the case now
    stands: a timer for each running clock the server has no run for (a notice served, lines
    detained), and the Scheduled timers of the notices answered cancelled (their reason is gone;
    a claim whose bond is still to be checked keeps its notice waiting, and its deadline). One task
    per case and dispatch round, however many of its notices were served or answered in it."""
    from flows.common import run_states_named, schedule_timers
    from flows.specs import timer_names, timers_behind

    p = process.case_progress(case_number=case_number)
    behind = timers_behind(p, run_states_named(timer_names(p)))
    created = schedule_timers(behind.missing)
    cancelled = cancel_scheduled(behind.stale, reason="the notice was answered") if behind.stale else []
    return {"created": len(created), "cancelled": cancelled}


def keep_timers_if_behind(p: process.CaseProgress) -> str | None:
    """Submit ``keep_case_timers`` for the case (``p``, as the dispatcher read it) if the Prefect
    server's timers are behind it; returns the task run id, or None when they are not: one read
    instead of a task run, whose records cost the server several writes (the usual case: the case's
    run set the timers of the notices it served before it waited, and the dispatcher learns of the
    service only after)."""
    from flows.common import run_states_named
    from flows.specs import timer_names, timers_behind

    if not timers_behind(p, run_states_named(timer_names(p))):
        return None
    return submit(keep_case_timers, case_number=p.case_number)


@task(name="reconcile", task_run_name="reconcile-{started}", **_KW)
def reconcile_task(started: str) -> dict:
    """The periodic reconciliation (``flows/reconcile.py``), unless another one is running."""
    from prefect.runtime import task_run

    from flows.reconcile import another_running, repair

    if another_running(own_id=str(task_run.id)):
        return {"skipped": "another reconciliation is running"}
    return repair(dispatch=False)


#: what a person waits on after acting: a decision's documents and mail, and the case's run that
#: serves the notices
FOLLOW_UPS = (follow_up_decision, run_case)
#: what the law does by itself when a deadline passes, the Prefect timers that back it up (created for
#: a new deadline, cancelled when its reason is gone) and the reconciliation
CLOCK = (release_due_notices, advance_line_clock, keep_case_timers, reconcile_task)
#: the task workers of the stack, by name: each a process of its own, so that a thousand releases at a
#: deadline never wait behind the documents of the releases before them (a process runs one thread of
#: Python at a time), and a follow-up never waits behind a thousand releases
GROUPS = {"follow-ups": FOLLOW_UPS, "clock": CLOCK, "all": FOLLOW_UPS + CLOCK}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Serve Yunque's background tasks (follow-ups, deadlines, reconciliation).")
    ap.add_argument("--limit", type=int, default=10, help="tasks run at once")
    ap.add_argument("--serve", choices=sorted(GROUPS), default="all",
                    help="which tasks: the follow-ups, the clock's (deadline releases, reconciliation), or all")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # `kill -USR1 <pid>` writes every thread's stack to the log: what a task that never ends is doing
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    from prefect.task_worker import serve

    warm(args.serve)
    with shared_storage(), held_clients():
        serve_until_stopped(GROUPS[args.serve], limit=args.limit, serve=serve)


def warm(group: str) -> None:
    """Load, before the first task is taken, what the tasks load on first use: the modules they
    import, and for the follow-ups the fonts. Taken at start-up, a dozen tasks that waited in the
    queue start at once, each in its own thread, and would otherwise all import and parse at the same
    moment (the flow tests saw a task worker whose every task stayed Running from its first second)."""
    import prefect.runtime  # noqa: F401
    import flows.reconcile  # noqa: F401
    import flows.specs  # noqa: F401
    import services.sweep  # noqa: F401

    if group == "clock":
        return
    import prefect.flow_engine  # noqa: F401
    import flows.case  # noqa: F401
    import services.delivery  # noqa: F401
    import services.documents  # noqa: F401
    from adapters.pdf import warm_up

    try:
        warm_up()
    except Exception as e:  # noqa: BLE001 - no fonts: the follow-ups report it; the others still run
        log.warning("task worker: the fonts were not loaded (%s: %s)", type(e).__name__, e)


#: seconds between the end of a subscription and the next
RESUBSCRIBE_SECONDS = 1.0


def serve_until_stopped(tasks: tuple[Any, ...], *, limit: int, serve: Any, pause: float = RESUBSCRIBE_SECONDS) -> None:
    """Serve ``tasks`` until this process is told to stop (SIGTERM, Ctrl-C). Prefect's task worker
    reconnects by itself when its subscription to the server breaks, but ends when the server closes it
    normally or a reconnection does not complete its handshake in time (on a loaded machine): the
    follow-ups people wait on would then wait for a supervisor to restart the whole process. Each
    such end is logged and the tasks are subscribed to again; the task runs it was running finish
    first, and those it had not acknowledged are delivered again by the server."""
    while True:
        try:
            serve(*tasks, limit=limit)
        except Exception as e:  # noqa: BLE001 - any end but a stop: subscribe again
            log.warning("task worker: the subscription ended (%s: %s); subscribing again", type(e).__name__, e)
        else:
            log.warning("task worker: the subscription ended; subscribing again")
        time.sleep(pause)


if __name__ == "__main__":
    main()
