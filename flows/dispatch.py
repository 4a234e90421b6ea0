"""The outbox dispatcher: hands what the services did to the Prefect process, then marks it; and the
warm clock that releases what a deadline ends.

Every service writes its outbox events in the same transaction as the action, so nothing a person
submits is lost while the Prefect server or the workers are down: the event waits in the outbox and
is handed on once Prefect answers again. Handing on is idempotent, so several dispatchers (one per
machine) may run at once. What to do with an event is decided by ``flows.decide.decide`` (a pure
function of the case run's state and the event, with a test per branch); this module carries it out:

- the case's flow run is started (one per case, idempotency key ``case-<number>``) and offered to the
  warm task worker (``flows.case.run_warm``), resumed with a ``CaseUpdate`` input (and offered again)
  when the lines are confirmed, completed where it waits once the case is
  settled (``flows.case.complete_waiting_run``), or replaced after a crash a bounded number of times;
- a decision's follow-up (documents, mail, artifact) is submitted at once as a background task to the
  warm task worker (``flows/tasks.py``), and so is the keeping of the case's timers (a new deadline's
  created, an answered notice's cancelled: one task per case and round);
- what a round asks of the Prefect server is asked on a few threads at once (``InFlight``), and the
  next rounds do not wait for the answers: an event is marked once its requests succeeded, and only
  the later events of a case whose run is being started, resumed or completed wait for it;
- while the run is busy a waking event stays in the outbox and is looked at again on the next round.

A thread beside the rounds keeps the clock (``keep_time``): it looks for legal deadlines that have
passed (a query on the database, every ``CLOCK_SECONDS``) and submits their release to the clock's
task worker, and every ``RECONCILE_SECONDS`` submits the reconciliation; a long outbox (after an
outage) never holds it up. While a release it submitted is under way, the rounds leave the decisions
of deadline releases in the outbox (``Clock.holding``), so that their follow-ups do not slow it. The
Prefect timers of ``flows/specs.py`` remain the durable record of each deadline: they act if this
process was down, and find nothing to do otherwise.

Run it with ``python -m flows.dispatch`` (the stack does).
"""

from __future__ import annotations

import argparse
import contextvars
import faulthandler
import logging
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from flows.common import CASE_PROCESS, held_clients, read_runs, schedule_run
from flows.decide import CaseRun, Event, RunState, Step, after, decide, run_state_of
from models.types import utcnow
from services import process
from services.sweep import DEADLINE_REASONS

log = logging.getLogger("yunque.dispatch")

#: how often the dispatcher looks for deadlines that have passed, and resubmits one not done yet
CLOCK_SECONDS = 2.0
RESUBMIT_SECONDS = 60.0
#: how often the reconciliation runs (in the task worker)
RECONCILE_SECONDS = 300.0


@dataclass
class DispatchReport:
    dispatched: list[int] = field(default_factory=list)  # event ids marked
    resumed: list[str] = field(default_factory=list)  # flow run ids resumed
    completed: list[str] = field(default_factory=list)  # flow run ids completed where they waited
    started: list[str] = field(default_factory=list)  # flow run ids created
    submitted: list[str] = field(default_factory=list)  # background task runs submitted
    waiting: list[int] = field(default_factory=list)  # event ids left for the next round
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"dispatched": self.dispatched, "resumed": self.resumed, "completed": self.completed,
                "started": self.started, "submitted": self.submitted, "waiting": self.waiting, "error": self.error}


def start_case_run(p: process.CaseProgress, *, replacing: str | None = None) -> str:
    """The case's flow run, created once per key (a replacement is keyed by the run it replaces),
    and offered to the warm task worker (``flows.case.run_warm``); the process worker takes it at
    its scheduled time if the warm one has not."""
    from flows.case import WARM_CLAIM

    key = f"case-{p.case_number}" if replacing is None else f"case-{p.case_number}-after-{replacing}"
    run_id = schedule_run(CASE_PROCESS, parameters={"case_number": p.case_number}, key=key,
                          at=utcnow() + WARM_CLAIM, name=p.case_number, tags=p.tags)
    process.attach_flow_run(case_number=p.case_number, flow_run_id=run_id)
    offer_warm(p.case_number, run_id)
    return run_id


def offer_warm(case_number: str, run_id: str) -> str:
    """Submit the case's run, due ``WARM_CLAIM`` ahead in the work pool, to the warm task worker
    (``flows.tasks.run_case``); returns the task run id."""
    from flows import tasks

    return tasks.submit(tasks.run_case, case_number=case_number, flow_run_id=run_id)


def resume_case_run(p: process.CaseProgress, ev: process.EventOut) -> str | None:
    """Resume the case's paused run with the event as its input, back in the work pool a little ahead
    (``WARM_CLAIM``), and offer it to the warm task worker; returns the run's id, or None if another
    dispatcher resumed this pause first.

    Not through Prefect's resume endpoint: it puts the run back in the pool due *now*, and moving it
    ahead took a second request. A process worker that looked between the two (a second or more when
    the server waits for SQLite's write lock) took the run, and ran it in a process of its own once
    ``WARM_CLAIM`` had passed: the warm task worker found it Pending, and the case's notices went out
    45 s late (the flow tests failed so once in CI, the stack's seed test once in five runs). The
    dispatcher makes the endpoint's two writes itself, in the order that leaves no such moment:

    - the input, under the pause's response key (Prefect's keyset of the Suspended state, which the
      run's ``suspend_flow_run`` reads when its body reaches the pause again). The server keeps one
      input per key, so of two dispatchers resuming the same pause one creates it; the other goes on
      only if the run still waits (it may be this dispatcher's own attempt, whose transition failed);
    - the transition from Paused to Scheduled ("Resuming", ``WARM_CLAIM`` ahead), through the same
      orchestration rules as the endpoint's (a pause that timed out is refused, the run is marked as
      resuming, its pause keys kept)."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.input import keyset_from_paused_state
    from prefect.states import Scheduled

    from flows.case import WARM_CLAIM, CaseUpdate

    run_id = UUID(str(p.flow_run_id))
    with get_client(sync_client=True) as client:
        state = _waiting_state(client, run_id)
        key = keyset_from_paused_state(state)["response"]
        try:
            client.create_flow_run_input(run_id, key=key,
                                         value=CaseUpdate(event_id=ev.id, topic=ev.topic).model_dump_json())
        except httpx.HTTPStatusError as e:
            if e.response.status_code != 409:
                raise
            if not _still_waiting(client, run_id, state):
                log.info("case %s: run %s was resumed by another dispatcher", p.case_number, run_id)
                return None
        result = client.set_flow_run_state(run_id, Scheduled(scheduled_time=utcnow() + WARM_CLAIM, name="Resuming"))
        if result.status.value != "ACCEPT":
            raise RuntimeError(f"resume of run {run_id} refused: {result.details}")
    offer_warm(p.case_number, str(run_id))
    return str(run_id)


def _waiting_state(client: Any, run_id: UUID) -> Any:
    """The run's Suspended state; an error if it no longer waits (the event is decided again next round)."""
    state = client.read_flow_run(run_id).state
    if state is None or not state.is_paused():
        raise RuntimeError(f"run {run_id} no longer waits ({state.type.value if state else 'no state'}): not resumed")
    return state


def _still_waiting(client: Any, run_id: UUID, state: Any) -> bool:
    now = client.read_flow_run(run_id).state
    return now is not None and now.is_paused() and now.state_details.pause_key == state.state_details.pause_key


def complete_case_run(p: process.CaseProgress) -> str | None:
    """Complete the settled case's run where it waits (``flows.case.complete_waiting_run``); returns
    its id, or None if it was no longer waiting (resumed or ended meanwhile, by another dispatcher:
    it then reads the settled case and ends by itself)."""
    from prefect.client.orchestration import get_client

    from flows.case import complete_waiting_run

    with get_client(sync_client=True) as client:
        if complete_waiting_run(client, p):
            return str(p.flow_run_id)
    log.info("case %s: run %s was no longer waiting to be completed", p.case_number, p.flow_run_id)
    return None


def _run_of(client: Any, p: process.CaseProgress) -> CaseRun:
    if p.flow_run_id is None:
        return CaseRun(RunState.NONE, p.runs_started)
    return case_run(p, client.read_flow_run(UUID(p.flow_run_id)).state)


def case_run(p: process.CaseProgress, state: Any) -> CaseRun:
    """The case's run as the decision sees it, from the Prefect state of the run (None: no state yet)."""
    return CaseRun(run_state_of(state.type.value if state is not None else None), p.runs_started,
                   seen=state.name if state is not None else None)


def _carry_out(rnd: _Round, step: Step, ev: process.EventOut, p: process.CaseProgress, run: CaseRun
               ) -> process.CaseProgress:
    """One step of a plan for the case's run as it was (``run``); returns the case's progress as it now is
    (a new run id)."""
    from flows import tasks

    if step == Step.FOLLOW_UP:
        rnd.submit(ev, "submitted", tasks.submit, tasks.follow_up_decision,
                   decision_id=int(ev.payload["decision_id"]))
    elif step in (Step.SCHEDULE_TIMERS, Step.CANCEL_TIMERS):
        if p.case_number not in rnd.timed:  # nine notices served or answered at once: one task for all
            rnd.timed.add(p.case_number)  # and none if the server's timers are not behind the case
            rnd.submit(ev, "submitted", tasks.keep_timers_if_behind, p, later=True)
    elif step in (Step.START_RUN, Step.REPLACE_RUN):
        # the later events of the case in this round need no run id: the run is WOKEN for them
        rnd.submit(ev, "started", start_case_run, p, replacing=p.flow_run_id if step == Step.REPLACE_RUN else None)
        return p.model_copy(update={"runs_started": p.runs_started + 1})
    elif step == Step.RESUME_RUN:
        rnd.submit(ev, "resumed", resume_case_run, p, ev)
    elif step == Step.COMPLETE_RUN:
        rnd.submit(ev, "completed", complete_case_run, p)
    elif step == Step.LEAVE_TO_MANAGER:
        # cancelled by a person, or failing again and again: the office's managers get a task (once per run)
        # to restart the case's process or leave it stopped; the event stays in the case's timeline
        log.warning("case %s: run %s needs a manager; event %s (%s) not handed to it", p.case_number,
                    p.flow_run_id, ev.id, ev.topic)
        process.process_stopped(case_number=p.case_number, flow_run_id=str(p.flow_run_id),
                                why="cancelled" if run.state == RunState.STOPPED else "failing",
                                state=run.seen or run.state.value)
    return p


def event_of(ev: process.EventOut, p: process.CaseProgress | None = None) -> Event:
    """The outbox row as the decision sees it, with its case as read now (``p``)."""
    return Event(ev.id, ev.topic, has_case=ev.case_id is not None, case_settled=p is not None and p.settled,
                 case_settling=p is not None and p.settling, to_serve=p is not None and bool(p.to_serve))


#: a request to the Prefect server that takes longer than this is logged (the server made it wait)
SLOW_REQUEST_S = 2.0


def _timed(ev: process.EventOut, call: Callable[..., str | None], *args: Any, **kwargs: Any) -> str | None:
    t0 = time.monotonic()
    try:
        return call(*args, **kwargs)
    finally:
        if (took := time.monotonic() - t0) > SLOW_REQUEST_S:
            log.info("event %s (%s): %s took %.1f s", ev.id, ev.topic, getattr(call, "__name__", call), took)


#: the requests that change a case's run (the lists of ``DispatchReport`` they go into)
RUN_REQUESTS = frozenset({"started", "resumed", "completed"})


@dataclass(frozen=True)
class Request:
    """One thing a round asks of the Prefect server for an event: ``call(*args, **kwargs)``, whose
    answer (unless None) goes ``into`` that list of the report of the round that collects it; ``later``
    if nobody waits on it (the timers' task), so that it is asked after what a person waits on."""

    ev: process.EventOut
    into: str
    call: Callable[..., str | None]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    later: bool = False


def _in_turn(chain: list[Request], futures: list[Future[str | None]]) -> None:
    for r, f in zip(chain, futures, strict=True):
        f.set_running_or_notify_cancel()
        try:
            f.set_result(_timed(r.ev, r.call, *r.args, **r.kwargs))
        except Exception as e:  # noqa: BLE001 - noted when collected; the next request is asked all the same
            f.set_exception(e)


class InFlight:
    """What the rounds asked of the Prefect server (a run started, resumed or completed, a follow-up or
    the timers submitted) and is not answered yet, asked on the ``SUBMITTERS`` threads of ``submitters``.

    Each request is a write, and on SQLite one that meets another write waits in Prefect's client
    (2 s, 4, 8, 16) before it is tried again. Asked one after another, such waits held every later
    event of the round (measured on 10 cases: their decisions waited 70 s in the outbox, median); a
    round that waited for all its answers held every case behind its slowest one (a round of 63 s, 10
    cases: decisions waited 72 s, median; 5.75 cases a minute). So a round goes on without the answers
    (10.7 cases a minute, same probe and machine): an event is marked dispatched once every request
    made for it has succeeded (``collect``), and until then only the later events of its own case
    wait, and only while its run is being started, resumed or completed (``cases``).

    What a person waits on is asked at once; a case's timers only once its other requests of the round
    are answered (``submit``): a decision's follow-up and its case's timers asked at the same moment
    made the server refuse one of them, and a follow-up refused waited 2 s more (one sample in three)."""

    def __init__(self, submitters: Executor) -> None:
        self.submitters = submitters
        self.requests: list[tuple[process.EventOut, str, Future[str | None]]] = []

    def submit(self, first: list[Request], then: list[Request]) -> None:
        """Ask each of ``first`` at once, each on a submitter thread, and ``then`` one after another
        once every one of ``first`` is answered."""
        if not first:
            self._ask(then)
            return
        asked = [f for r in first for f in self._ask([r])]
        if not then:
            return
        futures = self._register(then)
        left, lock = [len(asked)], threading.Lock()

        def one_answered(_: Future[str | None]) -> None:
            with lock:
                left[0] -= 1
                if left[0]:
                    return
            self.submitters.submit(contextvars.copy_context().run, _in_turn, then, futures)

        for f in asked:
            f.add_done_callback(one_answered)

    def _register(self, chain: list[Request]) -> list[Future[str | None]]:
        futures: list[Future[str | None]] = [Future() for _ in chain]
        self.requests += [(r.ev, r.into, f) for r, f in zip(chain, futures, strict=True)]
        return futures

    def _ask(self, chain: list[Request]) -> list[Future[str | None]]:
        futures = self._register(chain)
        self.submitters.submit(contextvars.copy_context().run, _in_turn, chain, futures)
        return futures

    @property
    def events(self) -> set[int]:
        return {ev.id for ev, _, _ in self.requests}

    @property
    def unanswered(self) -> list[Future[str | None]]:
        return [f for _, _, f in self.requests if not f.done()]

    @property
    def cases(self) -> set[int]:
        """The cases whose run is being started, resumed or completed: their later events wait (they
        are decided on the run's state). A follow-up or the timers' task asked for holds nothing back:
        each is idempotent and reads what it needs when it runs."""
        return {ev.case_id for ev, into, _ in self.requests if into in RUN_REQUESTS and ev.case_id is not None}

    def collect(self, report: DispatchReport, *, wait: bool = False) -> None:
        """The events whose requests were all answered (every event's, if ``wait``): marked dispatched
        in ``report`` if every request succeeded. One that failed is not handed on: it stays in the
        outbox with the error and is decided again next round (a follow-up and the timers' task are
        idempotent, and the timers' task reads the whole case, so it also covers the events of the
        case handed on without a task of their own; a run created before the failure is found then,
        busy or paused, and a run the warm task worker was not offered is taken by the process worker
        when due)."""
        if wait:
            futures_wait([f for _, _, f in self.requests])
        open_ = {ev.id for ev, _, f in self.requests if not f.done()}
        answered = [r for r in self.requests if r[0].id not in open_]
        self.requests = [r for r in self.requests if r[0].id in open_]
        failed: dict[int, str] = {}
        for ev, into, future in answered:
            try:
                if (result := future.result()) is not None:
                    getattr(report, into).append(result)
            except Exception as e:  # noqa: BLE001 - Prefect unreachable: the event waits for the next round
                failed.setdefault(ev.id, f"{type(e).__name__}: {e}")
        for event_id in dict.fromkeys(ev.id for ev, _, _ in answered):
            if event_id not in failed:
                report.dispatched.append(event_id)
                continue
            report.error = report.error or failed[event_id]
            report.waiting.append(event_id)
            process.note_dispatch_failure(event_id=event_id, error=failed[event_id])


class _Round:
    """One dispatch round: the cases' progress and runs as this round has changed them, and what it
    asks of the Prefect server, by case (``flush`` hands it to ``InFlight``)."""

    def __init__(self, client: Any, report: DispatchReport, inflight: InFlight) -> None:
        self.client, self.report, self.inflight = client, report, inflight
        self.blocked: set[int] = inflight.cases  # cases whose later events wait for a later round
        self.progress: dict[int, process.CaseProgress] = {}
        self.runs: dict[int, CaseRun] = {}
        self.timed: set[str] = set()  # cases whose timers this round submitted: the task reads the whole case
        self.chains: dict[Any, list[Request]] = {}  # by case (an event without one: by itself)

    def submit(self, ev: process.EventOut, into: str, call: Callable[..., str | None], *args: Any,
               later: bool = False, **kwargs: Any) -> None:
        key = ev.case_id if ev.case_id is not None else ("event", ev.id)
        self.chains.setdefault(key, []).append(Request(ev, into, call, args, kwargs, later))

    @property
    def asked(self) -> set[int]:
        return {r.ev.id for chain in self.chains.values() for r in chain}

    def forget(self, event_id: int) -> None:
        """Ask nothing for the event (it failed half-way and is decided again next round)."""
        self.chains = {k: [r for r in chain if r.ev.id != event_id] for k, chain in self.chains.items()}

    def flush(self) -> None:
        """Hand each case's requests to ``InFlight``: those nobody waits on once the others are answered."""
        for chain in self.chains.values():
            self.inflight.submit([r for r in chain if not r.later], [r for r in chain if r.later])
        self.chains = {}

    def read_cases(self, events: list[process.EventOut]) -> None:
        """Read the progress of each case of ``events`` (but those whose events wait) and the state of
        their runs, these in queries of ``READ_BATCH`` runs rather than one request a case (each
        request costs the Prefect server CPU). A case or a run not read here (the case unreadable, a
        run the server does not know, the server away) is read again by ``handle``, which fails its
        event there as it would have without this."""
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        for ev in events:
            if ev.case_id is not None and ev.case_id not in self.blocked and ev.case_id not in self.progress:
                try:
                    self.progress[ev.case_id] = process.case_progress(case_number=ev.case_number or "")
                except Exception:  # noqa: BLE001 - handle reads it again and fails its event
                    log.debug("case %s: not read ahead of its events", ev.case_number, exc_info=True)
        try:
            ids = [UUID(p.flow_run_id) for p in self.progress.values() if p.flow_run_id]
            runs = {str(r.id): r for r in read_runs(self.client, ids, lambda batch: FlowRunFilter(
                id=FlowRunFilterId(any_=batch)))}
        except Exception:  # noqa: BLE001 - handle reads each run, and fails its event if that fails too
            log.debug("the round's runs were not read ahead", exc_info=True)
            return
        for case_id, p in self.progress.items():
            if (run := runs.get(str(p.flow_run_id))) is not None:
                self.runs[case_id] = case_run(p, run.state)

    def handle(self, ev: process.EventOut) -> None:
        """Decide on one event, carry the plan out, and note whether it was handed on, is in flight
        (marked once its requests are answered) or waits."""
        if ev.case_id is not None and ev.case_id in self.blocked:
            self.report.waiting.append(ev.id)
            return
        if ev.case_id is None:
            plan = decide(CaseRun(RunState.NONE), event_of(ev))
        else:
            p = self.progress.get(ev.case_id) or process.case_progress(case_number=ev.case_number or "")
            run = self.runs.get(ev.case_id) or _run_of(self.client, p)
            plan = decide(run, event_of(ev, p))
            for step in plan.steps:
                p = _carry_out(self, step, ev, p, run)
            self.progress[ev.case_id], self.runs[ev.case_id] = p, after(run, plan)
        if plan.waits:
            self.blocked.add(ev.case_id)  # type: ignore[arg-type]
            self.report.waiting.append(ev.id)
        elif ev.id not in self.asked:
            self.report.dispatched.append(ev.id)

    def settle(self) -> None:
        """Ask what the round has to ask, wait for every answer, and note them (``InFlight.collect``)."""
        self.flush()
        self.inflight.collect(self.report, wait=True)


#: threads on which the rounds make their requests to the Prefect server
SUBMITTERS = 4


def dispatch_once(*, limit: int = 200, now: datetime | None = None, inflight: InFlight | None = None,
                  holding: frozenset[str] = frozenset()) -> DispatchReport:
    """One round over the outbox. Events of one case are handled in order; when one must wait, the
    later events of the same case wait with it. A failure (Prefect unreachable, a case unreadable)
    ends the round: the event and those after it are tried again next round. The decisions made for
    the reasons ``holding`` are left in the outbox for a later round (``Clock.holding``: each is
    followed up by an idempotent task that reads the case when it runs, so the events of its case
    after it lose nothing by going first).

    With ``inflight`` (the dispatcher's, kept from round to round), the round first notes the
    requests of earlier rounds that were answered, and does not wait for its own; without, it waits
    for them."""
    from prefect.client.orchestration import get_client

    report = DispatchReport()
    with ExitStack() as own:
        if inflight is None:
            inflight = InFlight(own.enter_context(ThreadPoolExecutor(SUBMITTERS, "submit")))
            own.callback(inflight.collect, report, wait=True)
        inflight.collect(report)
        asked = inflight.events | set(report.dispatched)  # the answered are marked at the round's end
        events = [ev for ev in process.pending_events(limit=limit, holding=holding) if ev.id not in asked]
        busy = inflight.cases
        if any(ev.case_id is None or ev.case_id not in busy for ev in events):  # else all wait: nothing to ask
            with get_client(sync_client=True) as client:
                rnd = _Round(client, report, inflight)
                rnd.read_cases(events)
                for ev in events:
                    try:
                        rnd.handle(ev)
                    except Exception as e:  # noqa: BLE001 - Prefect unreachable, or the case unreadable: retry later
                        rnd.forget(ev.id)
                        report.error = f"{type(e).__name__}: {e}"
                        process.note_dispatch_failure(event_id=ev.id, error=report.error)
                        report.waiting.append(ev.id)
                        break
                rnd.flush()
        else:
            report.waiting += [ev.id for ev in events]
    if report.dispatched:
        process.mark_dispatched(event_ids=report.dispatched, now=now)
    return report


#: the longest the follow-ups of deadline releases are held back while a release is under way
HOLD_LIMIT_SECONDS = RESUBMIT_SECONDS


class Clock:
    """Submits the release of every deadline that has passed to the clock's task worker, once (again
    after ``RESUBMIT_SECONDS`` if it is still due then: the task worker was down). The notices found
    due in one look go in one task (``flows.tasks.release_due_notices``): after an outage a thousand
    may be due at once, and a task run each would cost more than their releases.

    While notices it submitted are still due (the release is under way, for at most
    ``HOLD_LIMIT_SECONDS``), the dispatcher leaves the decisions of deadline releases in the outbox
    (``holding``): a thousand notices released at midnight made a thousand follow-ups (a PDF, a mail,
    an artifact each) that took the two cores and the database's write lock from the release itself,
    which went from 24 notices a second to 2-10 while they ran. Nobody waits on those documents at
    midnight; the law waits on the release. They follow once the release is done.

    The hold begins when the clock starts, until its first look, and as soon as a look finds notices
    due, before their release is submitted: after an outage the dispatcher's first round, and the
    submission itself, may wait for a Prefect server that is still starting, and the round that went
    first handed on 200 follow-ups of the releases before the outage, which took the cores from the
    release after it."""

    def __init__(self) -> None:
        self.submitted: dict[tuple[str, int], float] = {}
        #: since when (``time.monotonic``) notices have been due, or the clock has not looked yet; None
        #: when it looked and found none
        self.releasing_since: float | None = time.monotonic()

    def holding(self) -> frozenset[str]:
        """The reasons whose decisions the dispatcher leaves in the outbox for now (read from its thread)."""
        since = self.releasing_since
        if since is None or time.monotonic() - since >= HOLD_LIMIT_SECONDS:
            return frozenset()
        return DEADLINE_REASONS

    def tick(self, now: datetime | None = None) -> list[str]:
        from flows import tasks

        due = process.timers_due(due_before=now or utcnow())
        releasing = any(t.kind == "notice" for t in due)
        self.releasing_since = (self.releasing_since or time.monotonic()) if releasing else None
        keep = {self._key(t) for t in due}
        self.submitted = {k: at for k, at in self.submitted.items() if k in keep}
        fresh = list({self._key(t): t for t in due  # a line's two clocks ending together: one step
                      if time.monotonic() - self.submitted.get(self._key(t), -RESUBMIT_SECONDS) >= RESUBMIT_SECONDS
                      }.values())
        notices = [t for t in fresh if t.kind == "notice"]
        out = []
        if notices:
            out.append(tasks.submit(tasks.release_due_notices, notice_ids=[t.subject_id for t in notices],
                                    case_numbers=[t.case_number for t in notices]))
        out += [tasks.submit(tasks.advance_line_clock, line_id=t.subject_id) for t in fresh if t.kind != "notice"]
        for t in fresh:
            self.submitted[self._key(t)] = time.monotonic()
        return out

    @staticmethod
    def _key(t: process.TimerDue) -> tuple[str, int]:
        return (t.kind if t.kind == "notice" else "line", t.subject_id)


def keep_time(*, stop: threading.Event, reconcile_every: float = RECONCILE_SECONDS, clock: Clock | None = None
              ) -> None:
    """The warm clock, on a thread of its own: every ``CLOCK_SECONDS`` the deadlines passed are
    submitted for release, and every ``reconcile_every`` seconds (0: never) the reconciliation, however
    long the outbox takes to hand on (after an outage, hundreds of events may wait in it)."""
    from flows import tasks

    clock = clock or Clock()
    next_reconcile = time.monotonic() + min(30.0, reconcile_every) if reconcile_every else float("inf")
    while not stop.is_set():
        try:
            submitted = clock.tick()
            if time.monotonic() >= next_reconcile:
                started = utcnow().isoformat(timespec="seconds")
                submitted.append(tasks.submit(tasks.reconcile_task, started=started))
                next_reconcile = time.monotonic() + reconcile_every
            if submitted:
                log.info("clock: submitted %d task(s)", len(submitted))
        except Exception as e:  # noqa: BLE001 - the database or Prefect is down: the next tick tries again
            log.warning("clock: %s: %s", type(e).__name__, e)
        stop.wait(CLOCK_SECONDS)


def _load() -> None:
    """Import, before the clock's thread starts, what both threads import on first use: two threads
    importing the same modules at the same moment can deadlock on Python's module locks (a restart
    logged "Failed to initialize plugins: deadlock detected by _ModuleLock(...)" from Prefect)."""
    import prefect.client.orchestration  # noqa: F401
    import flows.case  # noqa: F401
    import flows.tasks  # noqa: F401


def run_forever(*, interval: float = 0.25, stop: threading.Event | None = None,
                reconcile_every: float = RECONCILE_SECONDS) -> None:
    """Dispatch until stopped (SIGTERM/SIGINT), sleeping ``interval`` seconds when idle, with the warm
    clock (``keep_time``) on a thread beside it."""
    from flows.tasks import shared_storage

    stop = stop or threading.Event()
    _load()
    with shared_storage(), held_clients():  # for the clock's thread and the submitters too: they copy this context
        _run(interval=interval, stop=stop, reconcile_every=reconcile_every)


def _run(*, interval: float, stop: threading.Event, reconcile_every: float) -> None:
    clock = Clock()
    ticking = threading.Thread(target=contextvars.copy_context().run, args=(keep_time,), name="clock", daemon=True,
                               kwargs={"stop": stop, "reconcile_every": reconcile_every, "clock": clock})
    ticking.start()
    failing = False
    with ThreadPoolExecutor(SUBMITTERS, "submit") as submitters:
        inflight = InFlight(submitters)
        while not stop.is_set():
            try:
                report = dispatch_once(inflight=inflight, holding=clock.holding())
            except Exception as e:  # noqa: BLE001 - the database or Prefect is down: keep trying
                report = DispatchReport(error=f"{type(e).__name__}: {e}")
            if report.error and not failing:
                log.warning("dispatch paused: %s (events wait in the outbox)", report.error)
            elif failing and not report.error:
                log.info("dispatch resumed")
            failing = report.error is not None
            if report.dispatched or report.started or report.submitted:
                log.info("dispatched %d event(s), resumed %d run(s), completed %d, started %d, submitted %d task(s)",
                         len(report.dispatched), len(report.resumed), len(report.completed), len(report.started),
                         len(report.submitted))
            if report.dispatched and not report.error:
                stop.wait(0.05)
            elif inflight.requests:  # the next round when an answer comes (or an event may have)
                futures_wait(inflight.unanswered, timeout=interval, return_when=FIRST_COMPLETED)
            else:
                stop.wait(interval * (5 if failing else 1))
        last = DispatchReport()  # what was asked before the stop is marked, not asked again at the next start
        inflight.collect(last, wait=True)
        try:
            process.mark_dispatched(event_ids=last.dispatched)
        except Exception as e:  # noqa: BLE001 - the database is down: the events are handed on again (idempotent)
            log.warning("at stop: %d event(s) not marked: %s: %s", len(last.dispatched), type(e).__name__, e)
    ticking.join(30)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Hand Yunque's outbox events to the Prefect process.")
    ap.add_argument("--interval", type=float, default=0.25, help="seconds between rounds when idle")
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
    # `kill -USR1 <pid>` writes every thread's stack to the log: what a round that does not end waits on
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    run_forever(interval=args.interval, stop=stop)


if __name__ == "__main__":
    main()
