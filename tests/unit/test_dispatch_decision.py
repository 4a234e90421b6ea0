"""The dispatcher's decision, branch by branch: a pure function of (case run state, event)."""

from __future__ import annotations

import pytest

from flows.decide import (
    CLOCK_TOPICS,
    MAX_RUNS_PER_CASE,
    RESTARTING_TOPICS,
    RESUMING_TOPICS,
    RUN_ENDS_LATER,
    RUN_READS_NEXT,
    SETTLING_TOPICS,
    CaseRun,
    Event,
    Plan,
    RunState,
    Step,
    after,
    decide,
    run_state_of,
)

R = RunState


def ev(topic: str, *, has_case: bool = True, settled: bool = False, to_serve: bool | None = None,
       settling: bool = False) -> Event:
    """An event; a confirmation comes with notices to serve unless told otherwise."""
    serve = topic == "case.confirmed" and not settled if to_serve is None else to_serve
    return Event(id=7, topic=topic, has_case=has_case, case_settled=settled, case_settling=settling, to_serve=serve)


@pytest.mark.parametrize(("prefect", "policy"), [
    (None, R.BUSY), ("SCHEDULED", R.BUSY), ("PENDING", R.BUSY), ("RUNNING", R.BUSY),
    ("PAUSED", R.PAUSED), ("COMPLETED", R.COMPLETED), ("CRASHED", R.BROKEN), ("FAILED", R.BROKEN),
    ("CANCELLING", R.STOPPED), ("CANCELLED", R.STOPPED), ("SOMETHING-NEW", R.STOPPED),
])
def test_each_prefect_state_has_one_policy(prefect: str | None, policy: RunState) -> None:
    assert run_state_of(prefect) is policy


def test_an_event_without_a_case_is_handed_on_with_nothing_to_do() -> None:
    for state in RunState:
        assert decide(CaseRun(state), ev("user.created", has_case=False)) == Plan()


def test_the_first_event_of_a_case_without_a_run_starts_it() -> None:
    assert decide(CaseRun(R.NONE), ev("case.opened")) == Plan((Step.START_RUN,))
    # the notices served with the confirmation: the run it starts reads the case and sets their timers
    assert decide(CaseRun(R.NONE), ev("notice.served")) == Plan((Step.START_RUN,))


def test_a_decision_is_followed_up_and_its_clocks_timed_whatever_the_run_is_doing() -> None:
    for state in (R.BUSY, R.PAUSED, R.COMPLETED):
        assert decide(CaseRun(state), ev("decision.made")) == Plan((Step.FOLLOW_UP, Step.SCHEDULE_TIMERS))
    # a run that reads the case next sets the detained lines' timers itself
    assert decide(CaseRun(R.WOKEN), ev("decision.made")) == Plan((Step.FOLLOW_UP,))
    assert decide(CaseRun(R.NONE), ev("decision.made")) == Plan((Step.FOLLOW_UP, Step.START_RUN))


def test_a_new_deadline_gets_its_timer_from_the_task_worker_without_waking_the_run() -> None:
    assert CLOCK_TOPICS == {"notice.served", "decision.made", "application.decided"}
    for state in (R.BUSY, R.PAUSED, R.COMPLETED, R.BROKEN, R.STOPPED):
        assert Step.SCHEDULE_TIMERS in decide(CaseRun(state), ev("notice.served")).steps, state
    assert decide(CaseRun(R.PAUSED), ev("notice.served")) == Plan((Step.SCHEDULE_TIMERS,))


def test_a_new_deadline_gets_its_timer_from_the_run_when_the_run_reads_the_case_next() -> None:
    assert RUN_READS_NEXT == {R.NONE, R.WOKEN}  # started now, or started or resumed earlier in this round
    for topic in CLOCK_TOPICS:
        for state in RUN_READS_NEXT:
            assert Step.SCHEDULE_TIMERS not in decide(CaseRun(state), ev(topic)).steps, (topic, state)
    assert decide(CaseRun(R.WOKEN), ev("notice.served")) == Plan()


def test_a_paused_run_is_resumed_only_to_serve_the_notices_of_confirmed_lines() -> None:
    assert RESUMING_TOPICS == {"case.confirmed"}
    assert decide(CaseRun(R.PAUSED), ev("case.confirmed")) == Plan((Step.RESUME_RUN,))
    # the run read the confirmed case before it paused and served the notices: nothing to resume for
    assert decide(CaseRun(R.PAUSED), ev("case.confirmed", to_serve=False)) == Plan()
    assert decide(CaseRun(R.BUSY), ev("case.confirmed", to_serve=False)) == Plan()
    for topic in ("evidence.added", "viewing.requested", "viewing.decided", "document.issued", "notice.answered",
                  "decision.followed_up", "case.closed"):
        assert Step.RESUME_RUN not in decide(CaseRun(R.PAUSED), ev(topic)).steps
        assert Step.RESUME_RUN not in decide(CaseRun(R.PAUSED), ev(topic, settled=True)).steps
        assert Step.RESUME_RUN not in decide(CaseRun(R.PAUSED), ev(topic, to_serve=True)).steps


def test_a_settled_case_s_waiting_run_is_completed_where_it_waits_without_a_process() -> None:
    assert SETTLING_TOPICS == {"decision.followed_up", "case.closed", "application.decided"}
    assert decide(CaseRun(R.PAUSED), ev("decision.followed_up", settled=True)) == Plan((Step.COMPLETE_RUN,))
    assert decide(CaseRun(R.PAUSED), ev("case.closed", settled=True)) == Plan((Step.COMPLETE_RUN,))
    assert decide(CaseRun(R.PAUSED), ev("application.decided", settled=True)) == Plan(
        (Step.SCHEDULE_TIMERS, Step.COMPLETE_RUN))
    # confirmed lines none of which needed a notice: nothing to serve, the run ends at once
    assert decide(CaseRun(R.PAUSED), ev("case.confirmed", settled=True)) == Plan((Step.COMPLETE_RUN,))
    assert after(CaseRun(R.PAUSED, 1), Plan((Step.COMPLETE_RUN,))) == CaseRun(R.COMPLETED, 1)


def test_an_event_that_leaves_the_case_unsettled_does_not_touch_the_waiting_run() -> None:
    assert decide(CaseRun(R.PAUSED), ev("decision.followed_up", settled=False)) == Plan()
    assert decide(CaseRun(R.PAUSED), ev("case.closed", settled=False)) == Plan()
    assert decide(CaseRun(R.PAUSED), ev("application.decided", settled=False)) == Plan((Step.SCHEDULE_TIMERS,))
    assert decide(CaseRun(R.BUSY), ev("decision.followed_up", settled=False)) == Plan()


def test_a_settling_event_waits_while_the_run_is_busy_then_completes_it() -> None:
    # the busy run may have read the case before the last follow-up: it will wait, and then end here
    assert decide(CaseRun(R.BUSY), ev("decision.followed_up", settled=True)) == Plan(handed_on=False)
    assert decide(CaseRun(R.PAUSED), ev("decision.followed_up", settled=True)) == Plan((Step.COMPLETE_RUN,))
    # a run started or resumed this round reads the settled case and ends by itself
    assert decide(CaseRun(R.WOKEN), ev("decision.followed_up", settled=True)) == Plan()


def test_an_event_after_the_run_completed_leaves_it_alone() -> None:
    for topic in ("decision.followed_up", "case.closed", "case.confirmed"):
        assert decide(CaseRun(R.COMPLETED), ev(topic, settled=True)) == Plan()


def test_an_answer_cancels_the_notice_timer_and_leaves_the_run_waiting() -> None:
    # the answer's decision is followed up in the task worker; no flow-run process competes with it
    assert decide(CaseRun(R.PAUSED), ev("notice.answered")) == Plan((Step.CANCEL_TIMERS,))
    assert decide(CaseRun(R.BUSY), ev("notice.answered")) == Plan((Step.CANCEL_TIMERS,))
    assert decide(CaseRun(R.COMPLETED), ev("notice.answered")) == Plan((Step.CANCEL_TIMERS,))


def test_the_answers_that_settle_a_case_leave_its_timers_to_the_run_s_end() -> None:
    # every notice decided, only follow-ups left: the run ends (by itself, or completed where it
    # waits) and sets the detention clocks' timers and cancels the answered notices' there
    assert RUN_ENDS_LATER == {R.BUSY, R.PAUSED}
    for state in RUN_ENDS_LATER:
        assert decide(CaseRun(state), ev("notice.answered", settling=True)) == Plan()
        assert decide(CaseRun(state), ev("decision.made", settling=True)) == Plan((Step.FOLLOW_UP,))
    # a run that will not end again keeps nothing for them: a decision on a completed case, a stopped run
    assert decide(CaseRun(R.COMPLETED), ev("decision.made", settling=True)) == Plan(
        (Step.FOLLOW_UP, Step.SCHEDULE_TIMERS))
    assert decide(CaseRun(R.STOPPED), ev("notice.answered", settling=True)) == Plan(
        (Step.CANCEL_TIMERS, Step.LEAVE_TO_MANAGER))
    assert decide(CaseRun(R.BROKEN, 1), ev("decision.made", settling=True)) == Plan(
        (Step.FOLLOW_UP, Step.SCHEDULE_TIMERS, Step.REPLACE_RUN))
    # not settling (another notice still waits): the timers now
    assert decide(CaseRun(R.PAUSED), ev("decision.made")) == Plan((Step.FOLLOW_UP, Step.SCHEDULE_TIMERS))


def test_a_busy_run_holds_a_waking_event_back_until_it_waits() -> None:
    plan = decide(CaseRun(R.BUSY), ev("case.confirmed"))
    assert plan.waits and plan.steps == ()
    plan = decide(CaseRun(R.BUSY), ev("application.decided", settled=True))
    assert plan.waits and plan.steps == ()  # its timers are scheduled once, when the event is handed on
    assert decide(CaseRun(R.BUSY), ev("evidence.added")) == Plan()


def test_a_run_started_or_resumed_this_round_covers_the_later_events_of_its_case() -> None:
    started = after(CaseRun(R.NONE, 0), decide(CaseRun(R.NONE, 0), ev("case.opened")))
    assert started == CaseRun(R.WOKEN, 1)
    assert decide(started, ev("case.confirmed")) == Plan()
    assert decide(started, ev("decision.made")) == Plan((Step.FOLLOW_UP,))
    resumed = after(CaseRun(R.PAUSED, 1), decide(CaseRun(R.PAUSED, 1), ev("case.confirmed")))
    assert resumed == CaseRun(R.WOKEN, 1)
    assert after(CaseRun(R.BUSY, 1), Plan(handed_on=False)) == CaseRun(R.BUSY, 1)


def test_a_broken_run_is_replaced_a_bounded_number_of_times_then_left_to_a_manager() -> None:
    assert decide(CaseRun(R.BROKEN, 1), ev("notice.answered")) == Plan((Step.CANCEL_TIMERS, Step.REPLACE_RUN))
    assert decide(CaseRun(R.BROKEN, MAX_RUNS_PER_CASE - 1), ev("evidence.added")) == Plan((Step.REPLACE_RUN,))
    assert decide(CaseRun(R.BROKEN, MAX_RUNS_PER_CASE), ev("evidence.added")) == Plan((Step.LEAVE_TO_MANAGER,))
    replaced = after(CaseRun(R.BROKEN, 2), Plan((Step.REPLACE_RUN,)))
    assert replaced == CaseRun(R.WOKEN, 3)


def test_a_run_a_person_cancelled_is_left_to_a_manager() -> None:
    assert decide(CaseRun(R.STOPPED), ev("notice.answered")) == Plan((Step.CANCEL_TIMERS, Step.LEAVE_TO_MANAGER))
    assert decide(CaseRun(R.STOPPED), ev("decision.made")) == Plan(
        (Step.FOLLOW_UP, Step.SCHEDULE_TIMERS, Step.LEAVE_TO_MANAGER))


def test_the_event_that_settles_a_case_whose_run_is_being_cancelled_is_handed_on_not_held() -> None:
    # a run cancelled while it ran stays Cancelling until someone acknowledges it: its case's events
    # must not wait for that in the outbox
    being_cancelled = CaseRun(run_state_of("CANCELLING"))
    assert decide(being_cancelled, ev("decision.followed_up", settled=True)) == Plan((Step.LEAVE_TO_MANAGER,))
    assert decide(being_cancelled, ev("case.confirmed")) == Plan((Step.LEAVE_TO_MANAGER,))


def test_a_managers_restart_replaces_a_cancelled_or_failing_run_whatever_the_runs_before_it() -> None:
    assert RESTARTING_TOPICS == {"case.process_restart"}
    restart = ev("case.process_restart")
    assert decide(CaseRun(R.STOPPED, 1), restart) == Plan((Step.REPLACE_RUN,))
    assert decide(CaseRun(R.BROKEN, MAX_RUNS_PER_CASE), restart) == Plan((Step.REPLACE_RUN,))
    assert decide(CaseRun(R.BROKEN, MAX_RUNS_PER_CASE + 3), restart) == Plan((Step.REPLACE_RUN,))
    assert after(CaseRun(R.STOPPED, 1), Plan((Step.REPLACE_RUN,))) == CaseRun(R.WOKEN, 2)


def test_a_restart_for_a_run_that_carries_the_case_again_changes_nothing() -> None:
    # another dispatcher, or the reconciliation, got there first: the restart is handed on and no run is made
    restart = ev("case.process_restart")
    for state in (R.BUSY, R.WOKEN, R.PAUSED, R.COMPLETED):
        assert decide(CaseRun(state, 2), restart) == Plan(), state
    assert decide(CaseRun(R.NONE), restart) == Plan((Step.START_RUN,))
