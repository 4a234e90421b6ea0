"""What the dispatcher does with one outbox event: a pure function of the case run's state and the event.

Nothing here talks to Prefect or the database. The dispatcher (``flows/dispatch.py``) and the
reconciliation (``flows/reconcile.py``) translate a Prefect state into a ``RunState`` with
``run_state_of`` (the one place the run-state policy lives), ask ``decide`` and carry the steps out.

A case's run runs warm, in the task worker (``flows.case.run_warm``), and is resumed only for what it
does itself: serving the notices once the lines are confirmed (``RESUMING_TOPICS``), if they are still
to serve (a run that read the confirmed case before it paused has served them already). When the case
is settled while the run waits (the last follow-up done, the case closed, an application decided:
``SETTLING_TOPICS``), the run is completed where it waits (``Step.COMPLETE_RUN``: its summary and the
Completed state, through Prefect's API, which accepts a final state for a paused run); starting a
process of Prefect on a machine of two cores only to end a run would take seconds of CPU from the
follow-ups people wait on.
Everything else an event calls for is warm work for the task worker: a decision's follow-up, the legal
timers a new deadline needs (``CLOCK_TOPICS``; unless the run reads the case next, ``RUN_READS_NEXT``,
and sets them itself, or the case is settling and the run's end sets them, ``RUN_ENDS_LATER``), the
cancellation of a timer whose reason is gone (the same). The dispatcher submits the timers' task only
if the Prefect server's timers are behind the case (``flows.tasks.keep_timers_if_behind``).
A run cancelled by a person, or failing as often as a case's runs may, is not replaced by the process
itself: its office's managers get a task (``services.process.process_stopped``), and a fresh run takes
the case over when one of them restarts it (``RESTARTING_TOPICS``).

Why a started or resumed run needs no record of what it has seen: a run reads the case from the
database *after* it is created or resumed, so every event committed before the dispatcher started or
resumed it is covered by that read. Events of the same case later in the same round are therefore
``WOKEN``-covered; an event that arrives while the run is busy waits until the run is paused again
(it may have read the case before the event), and is then carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: what a waiting case run is resumed for: the lines were confirmed, so the notices go out
RESUMING_TOPICS = frozenset({"case.confirmed"})
#: what may leave a case settled (a follow-up done, the case closed, an application decided): its
#: waiting run is then completed where it waits; other events (answers, viewings, evidence,
#: documents) change nothing the run does
SETTLING_TOPICS = frozenset({"decision.followed_up", "case.closed", "application.decided"})
#: events after which a case may have a new legal deadline to keep as a durable timer (a notice served:
#: its answer deadline; a decision or an application decided: the detained lines' clocks)
CLOCK_TOPICS = frozenset({"notice.served", "decision.made", "application.decided"})
#: events whose reason to keep a legal timer is gone once they happened (the notice was answered)
TIMER_ENDING_TOPICS = frozenset({"notice.answered"})
#: a manager restarts the case's process (``TaskKind.RESTART_PROCESS``): a run that was cancelled or keeps
#: failing is replaced, whatever the number of runs before it
RESTARTING_TOPICS = frozenset({"case.process_restart"})
#: a case whose runs keep failing is left to a manager after this many runs
MAX_RUNS_PER_CASE = 5


class RunState(StrEnum):
    """The case run as the process policy sees it."""

    NONE = "none"  # the case has no run yet
    BUSY = "busy"  # scheduled, pending or running: it reads the case when it runs
    WOKEN = "woken"  # started or resumed in this dispatch round: its next read covers every event so far
    PAUSED = "paused"  # suspended, waiting for the rights holders; no process held
    COMPLETED = "completed"  # the case process ended
    BROKEN = "broken"  # crashed or failed: a fresh run may take the case over
    STOPPED = "stopped"  # cancelled or being cancelled by a person (or a state not known here): a person decides


#: the run states in which the case's run reads the case after the event (it is started now, or was
#: started or resumed earlier in this round) and sets the timers of every deadline it finds before
#: it waits (``flows.case.start_clocks``): a new deadline's timer then needs no task of its own (the
#: notices served with the confirmation, which start the case's run, cost one timers task a case)
RUN_READS_NEXT = frozenset({RunState.NONE, RunState.WOKEN})

#: the run states in which the case's run is still to end: when the case is settling (every notice
#: decided, only follow-ups left), its end sets the timers of the running clocks and cancels those
#: whose reason is gone (``flows.case.end_timers``: the run's own end, or ``Step.COMPLETE_RUN``), so the
#: answers and decisions that settle it need no timers task of their own (a case answered at once
#: costs none). Should the run never end (it is stopped, or its follow-ups keep failing), the
#: reconciliation creates the timers it finds missing and cancels those overdue whose reason is gone.
RUN_ENDS_LATER = frozenset({RunState.BUSY, RunState.PAUSED})


def run_state_of(prefect_state_type: str | None) -> RunState:
    """The policy for a Prefect state type (``StateType.value``; None: the run has no state yet).

    A run being cancelled (Cancelling) is stopped already as far as the case is concerned: a person
    asked for it, and the server will neither resume nor complete it. Waiting for it to end would hold
    the case's events in the outbox for as long as nobody acknowledges the cancellation (a run cancelled
    while it ran stayed Cancelling for good before ``flows.case.run_warm`` and the
    ``yunque-unacknowledged-cancellations`` automation acknowledged it)."""
    if prefect_state_type is None:
        return RunState.BUSY
    return {
        "SCHEDULED": RunState.BUSY, "PENDING": RunState.BUSY, "RUNNING": RunState.BUSY,
        "PAUSED": RunState.PAUSED, "COMPLETED": RunState.COMPLETED,
        "CRASHED": RunState.BROKEN, "FAILED": RunState.BROKEN,
    }.get(prefect_state_type, RunState.STOPPED)


class Step(StrEnum):
    START_RUN = "start-run"  # create the case's run (once per case)
    REPLACE_RUN = "replace-run"  # create a fresh run for a case whose run crashed or failed
    RESUME_RUN = "resume-run"  # resume the paused run with the event as its input
    COMPLETE_RUN = "complete-run"  # the case is settled: complete its paused run where it waits
    FOLLOW_UP = "follow-up"  # documents, mail and artifact of a decision, in a warm background task
    SCHEDULE_TIMERS = "schedule-timers"  # the case's legal deadlines as Prefect timers, in a warm background task
    CANCEL_TIMERS = "cancel-timers"  # the event ends the reason of the notice's legal timer
    LEAVE_TO_MANAGER = "leave-to-manager"  # the run was stopped or keeps failing: its managers get a task


@dataclass(frozen=True)
class CaseRun:
    state: RunState
    runs_started: int = 0
    #: the Prefect state's name as read (Cancelled, Crashed, ...), for the people a stopped run is left to
    seen: str | None = None


@dataclass(frozen=True)
class Event:
    id: int
    topic: str
    has_case: bool = True
    #: the case as the dispatcher reads it now (every event before this one included): settled, or
    #: with notices of confirmed lines still to serve (a run that served them before it paused has
    #: nothing left to do for the confirmation)
    case_settled: bool = False
    case_settling: bool = False  # every notice decided, only follow-ups left (``CaseProgress.settling``)
    to_serve: bool = False

    @property
    def concerns_run(self) -> bool:
        """Whether the waiting run has something to do about it: serve the notices, or end."""
        return (self.topic in RESUMING_TOPICS and (self.to_serve or self.case_settled)) or (
            self.topic in SETTLING_TOPICS and self.case_settled)


@dataclass(frozen=True)
class Plan:
    """The steps to carry out, in order, and whether the event is then handed on (marked dispatched)
    or waits in the outbox for the next round (and holds back the later events of its case)."""

    steps: tuple[Step, ...] = ()
    handed_on: bool = True

    @property
    def waits(self) -> bool:
        return not self.handed_on


def decide(run: CaseRun, event: Event) -> Plan:
    """What to do with ``event`` given the state of its case's run."""
    if not event.has_case:
        return Plan()
    extra: tuple[Step, ...] = ()
    if event.topic == "decision.made":
        extra += (Step.FOLLOW_UP,)  # whatever the run does: a person waits for the documents
    run_ends_timers = event.case_settling and run.state in RUN_ENDS_LATER
    if event.topic in CLOCK_TOPICS and run.state not in RUN_READS_NEXT and not run_ends_timers:
        extra += (Step.SCHEDULE_TIMERS,)
    if event.topic in TIMER_ENDING_TOPICS and not run_ends_timers:
        extra += (Step.CANCEL_TIMERS,)
    if run.state == RunState.NONE:
        return Plan(extra + (Step.START_RUN,))
    if run.state in (RunState.BROKEN, RunState.STOPPED) and event.topic in RESTARTING_TOPICS:
        return Plan(extra + (Step.REPLACE_RUN,))
    if run.state == RunState.BROKEN:
        if run.runs_started < MAX_RUNS_PER_CASE:
            return Plan(extra + (Step.REPLACE_RUN,))
        return Plan(extra + (Step.LEAVE_TO_MANAGER,))
    if run.state == RunState.STOPPED:
        return Plan(extra + (Step.LEAVE_TO_MANAGER,))
    if not event.concerns_run or run.state in (RunState.WOKEN, RunState.COMPLETED):
        return Plan(extra)
    if run.state == RunState.PAUSED:
        return Plan(extra + (Step.COMPLETE_RUN if event.case_settled else Step.RESUME_RUN,))
    # busy: it may have read the case before this event; the event waits until the run does, and is
    # then carried out with its other steps, once
    return Plan(handed_on=False)


def after(run: CaseRun, plan: Plan) -> CaseRun:
    """The run's state for the next event of the same case in this round, once ``plan`` was carried out."""
    if {Step.START_RUN, Step.REPLACE_RUN} & set(plan.steps):
        return CaseRun(RunState.WOKEN, run.runs_started + 1)
    if Step.RESUME_RUN in plan.steps:
        return CaseRun(RunState.WOKEN, run.runs_started)
    if Step.COMPLETE_RUN in plan.steps:
        return CaseRun(RunState.COMPLETED, run.runs_started)
    return run
