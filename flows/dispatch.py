"""The outbox dispatcher: hands what the services did to the Prefect process, then marks it.

Every service writes its outbox events in the same transaction as the action, so nothing a person
submits is lost while the Prefect server or the workers are down: the event waits in the outbox and
is handed on once Prefect answers again. Handing on is idempotent, so several dispatchers (one per
machine) may run at once:

- ``case.opened`` starts the case's flow run (one per case, idempotency key ``case-<number>``);
- any other event of a case whose run is suspended resumes it with a ``CaseUpdate`` input, unless the
  run had already seen the event when it suspended (its pause key names the newest event it saw);
- while the run is busy the event stays in the outbox and is looked at again on the next round;
- a decision taken after the case run ended gets its own ``decision-follow-up`` run;
- a case run that crashed (or failed) is replaced by a fresh run, a bounded number of times.

Run it with ``python -m flows.dispatch`` (the stack does).
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from flows.common import CASE_PROCESS, DECISION_FOLLOW_UP, schedule_run
from services import process

log = logging.getLogger("yunque.dispatch")

#: what a waiting case run wakes for; other events (evidence, shots, documents) change nothing it does
WAKING_TOPICS = frozenset({"notice.served", "notice.answered", "decision.made", "case.closed", "case.confirmed",
                           "viewing.requested", "viewing.decided"})
#: a case whose runs keep failing is left to a manager after this many runs
MAX_RUNS_PER_CASE = 5
_PAUSE_KEY = re.compile(r"^wait-(\d+)-\d+$")


@dataclass
class DispatchReport:
    dispatched: list[int] = field(default_factory=list)  # event ids marked
    resumed: list[str] = field(default_factory=list)  # flow run ids resumed
    started: list[str] = field(default_factory=list)  # flow run ids created
    waiting: list[int] = field(default_factory=list)  # event ids left for the next round
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"dispatched": self.dispatched, "resumed": self.resumed, "started": self.started,
                "waiting": self.waiting, "error": self.error}


def start_case_run(p: process.CaseProgress, *, replacing: str | None = None) -> str:
    """The case's flow run, created once per key; a replacement is keyed by the run it replaces."""
    key = f"case-{p.case_number}" if replacing is None else f"case-{p.case_number}-after-{replacing}"
    run_id = schedule_run(CASE_PROCESS, parameters={"case_number": p.case_number}, key=key,
                          name=p.case_number, tags=p.tags)
    process.attach_flow_run(case_number=p.case_number, flow_run_id=run_id)
    return run_id


def _seen_up_to(state: Any) -> int:
    m = _PAUSE_KEY.match(str(getattr(state.state_details, "pause_key", "") or ""))
    return int(m.group(1)) if m else 0


def _replaceable(state: Any) -> bool:
    return state.type.value in ("CRASHED", "FAILED")


def dispatch_once(*, limit: int = 200, now: datetime | None = None) -> DispatchReport:
    """One round over the outbox. Events of one case are handled in order; when one must wait, the
    later events of the same case wait with it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType

    report = DispatchReport()
    events = process.pending_events(limit=limit)
    if not events:
        return report
    blocked: set[int] = set()
    progress: dict[int, process.CaseProgress] = {}
    with get_client(sync_client=True) as client:
        for ev in events:
            if ev.case_id is None:
                report.dispatched.append(ev.id)
                continue
            if ev.case_id in blocked:
                report.waiting.append(ev.id)
                continue
            try:
                p = progress.get(ev.case_id)
                if p is None:
                    p = progress[ev.case_id] = process.case_progress(case_number=ev.case_number or "")
                if p.flow_run_id is None:
                    run_id = start_case_run(p)
                    report.started.append(run_id)
                    p = progress[ev.case_id] = p.model_copy(update={"flow_run_id": run_id})
                    if ev.topic == "case.opened":
                        report.dispatched.append(ev.id)
                        continue
                run = client.read_flow_run(UUID(p.flow_run_id))
                state = run.state
                if state is None or state.type in (StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING,
                                                   StateType.CANCELLING):
                    # busy: it reads the case when it runs; look again once it waits
                    blocked.add(ev.case_id)
                    report.waiting.append(ev.id)
                elif state.type == StateType.PAUSED:
                    if ev.id <= _seen_up_to(state) or ev.topic not in WAKING_TOPICS:
                        report.dispatched.append(ev.id)
                        continue
                    result = client.resume_flow_run(run.id, run_input={"event_id": ev.id, "topic": ev.topic})
                    if result.status.value == "ACCEPT":
                        report.resumed.append(str(run.id))
                        report.dispatched.append(ev.id)
                    else:
                        report.waiting.append(ev.id)
                    blocked.add(ev.case_id)  # the run now reads the case afresh
                elif state.type == StateType.COMPLETED:
                    decision_id = int(ev.payload.get("decision_id") or 0)
                    if ev.topic == "decision.made" and decision_id and \
                            process.decision_report(decision_id=decision_id).followed_up_at is None:
                        report.started.append(schedule_run(
                            DECISION_FOLLOW_UP, parameters={"decision_id": decision_id},
                            key=f"follow-up-decision-{decision_id}", name=f"{p.case_number}-decision-{decision_id}",
                            tags=p.tags))
                    report.dispatched.append(ev.id)
                elif _replaceable(state) and p.runs_started < MAX_RUNS_PER_CASE:
                    run_id = start_case_run(p, replacing=str(run.id))
                    report.started.append(run_id)
                    progress[ev.case_id] = p.model_copy(update={"flow_run_id": run_id})
                    blocked.add(ev.case_id)
                    report.waiting.append(ev.id)
                else:
                    # cancelled by a manager, or failing again and again: a person must look; the
                    # event is not lost, it stays in the timeline and the outbox row keeps the reason
                    log.warning("case %s: run %s is %s; event %s (%s) left to a manager",
                                p.case_number, run.id, state.type.value, ev.id, ev.topic)
                    process.note_dispatch_failure(event_id=ev.id, error=f"case run {run.id} is {state.type.value}")
                    report.dispatched.append(ev.id)
            except Exception as e:  # noqa: BLE001 - Prefect unreachable, or the case unreadable: retry later
                report.error = f"{type(e).__name__}: {e}"
                process.note_dispatch_failure(event_id=ev.id, error=report.error)
                report.waiting.append(ev.id)
                break
    process.mark_dispatched(event_ids=report.dispatched, now=now)
    return report


def run_forever(*, interval: float = 1.0, stop: threading.Event | None = None) -> None:
    """Dispatch until stopped (SIGTERM/SIGINT), sleeping ``interval`` seconds when idle."""
    stop = stop or threading.Event()
    failing = False
    while not stop.is_set():
        try:
            report = dispatch_once()
        except Exception as e:  # noqa: BLE001 - the database or Prefect is down: keep trying
            report = DispatchReport(error=f"{type(e).__name__}: {e}")
        if report.error and not failing:
            log.warning("dispatch paused: %s (events wait in the outbox)", report.error)
        elif failing and not report.error:
            log.info("dispatch resumed")
        failing = report.error is not None
        if report.dispatched or report.started:
            log.info("dispatched %d event(s), resumed %d run(s), started %d run(s)",
                     len(report.dispatched), len(report.resumed), len(report.started))
        busy = bool(report.dispatched) and not report.error
        stop.wait(0.05 if busy else (interval * (5 if failing else 1)))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Hand Yunque's outbox events to the Prefect process.")
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between rounds when idle")
    ap.add_argument("--once", action="store_true", help="one round, then exit")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.once:
        print(dispatch_once().as_dict())
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(interval=args.interval, stop=stop)


if __name__ == "__main__":
    main()
