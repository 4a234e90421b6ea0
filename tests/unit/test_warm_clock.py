"""The dispatcher's warm clock: the notices found due in one look are released by one background task;
nothing is submitted twice while it may still be running; the batch releases every notice it can. And
the dispatcher's round: one timers task a case, submissions side by side, a failed one left in the
outbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from flows import dispatch, tasks
from services.process import TimerDue

DUE = datetime(2027, 1, 8, 16, 0, tzinfo=UTC)


def notice(i: int) -> TimerDue:
    return TimerDue(kind="notice", subject_id=i, case_number=f"YQ-{i}", due_at=DUE)


def line_clock(kind: str, line_id: int) -> TimerDue:
    return TimerDue(kind=kind, subject_id=line_id, case_number="YQ-9", due_at=DUE, line_number=1)


@pytest.fixture(autouse=True)
def no_prefect_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dispatcher's loop runs here without a Prefect server (``tests/unit/test_held_clients.py``
    tests the clients it holds)."""
    from contextlib import nullcontext

    monkeypatch.setattr(dispatch, "held_clients", nullcontext)


@pytest.fixture(autouse=True)
def timers_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Prefect server's timers are behind every case here, so each round that has timers to keep
    submits the task (``tests/unit/test_timers_behind.py`` tests the look that may spare it)."""
    monkeypatch.setattr(tasks, "keep_timers_if_behind",
                        lambda p: tasks.submit(tasks.keep_case_timers, case_number=p.case_number))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    due: list[TimerDue] = []
    submitted: list[tuple[str, dict]] = []
    now = [1000.0]
    monkeypatch.setattr(dispatch.process, "timers_due", lambda due_before: list(due))
    monkeypatch.setattr(tasks, "submit", lambda t, **kw: submitted.append((t.name, kw)) or f"run-{len(submitted)}")
    monkeypatch.setattr(dispatch.time, "monotonic", lambda: now[0])
    return dispatch.Clock(), due, submitted, now


def test_the_notices_due_in_one_look_go_to_one_task(clock) -> None:  # noqa: ANN001
    c, due, submitted, _ = clock
    due += [notice(i) for i in range(1, 1001)]
    assert c.tick(DUE) == ["run-1"]
    assert [name for name, _ in submitted] == ["release-notices"]
    assert submitted[0][1]["notice_ids"] == list(range(1, 1001))
    assert submitted[0][1]["case_numbers"] == [f"YQ-{i}" for i in range(1, 1001)]


def test_a_notice_submitted_is_not_submitted_again_until_the_resubmit_time(clock) -> None:  # noqa: ANN001
    c, due, submitted, now = clock
    due += [notice(1), notice(2)]
    c.tick(DUE)
    now[0] += dispatch.CLOCK_SECONDS
    due.append(notice(3))  # came due since: only it goes in the next task
    c.tick(DUE)
    assert [kw["notice_ids"] for _, kw in submitted] == [[1, 2], [3]]
    now[0] += dispatch.RESUBMIT_SECONDS  # still due a minute later: the task worker was down
    c.tick(DUE)
    assert [kw["notice_ids"] for _, kw in submitted] == [[1, 2], [3], [1, 2, 3]]


def test_a_released_notice_is_forgotten_and_a_line_with_two_clocks_ending_gets_one_step(clock) -> None:  # noqa: ANN001
    c, due, submitted, _ = clock
    due += [notice(1), line_clock("investigation", 40), line_clock("court", 40)]
    c.tick(DUE)
    assert [(name, kw) for name, kw in submitted][1:] == [("advance-line-clock", {"line_id": 40})]
    due.clear()
    c.tick(DUE)
    assert c.submitted == {}
    assert len(submitted) == 2


def test_until_the_clock_first_looks_the_follow_ups_of_deadline_releases_are_held(clock) -> None:  # noqa: ANN001
    c, due, submitted, now = clock
    assert c.holding() == {"expired", "no-bond"}  # after an outage, deadlines may have passed meanwhile
    c.tick(DUE)  # none had
    assert c.holding() == frozenset() and submitted == []
    fresh = dispatch.Clock()
    now[0] += dispatch.HOLD_LIMIT_SECONDS  # a clock that cannot look (the database down) holds for the limit
    assert fresh.holding() == frozenset()


def test_the_hold_begins_before_the_release_is_submitted(clock, monkeypatch) -> None:  # noqa: ANN001
    c, due, _, _ = clock
    c.tick(DUE)
    held: list[frozenset[str]] = []
    # the Prefect server is still starting: the submission waits, and the dispatcher's rounds go on
    monkeypatch.setattr(tasks, "submit", lambda t, **kw: held.append(c.holding()) or "run")
    due.append(notice(1))
    c.tick(DUE)
    assert held == [{"expired", "no-bond"}]


def test_while_a_release_is_under_way_the_follow_ups_of_deadline_releases_are_held(clock) -> None:  # noqa: ANN001
    c, due, _, now = clock
    c.tick(DUE)
    assert c.holding() == frozenset()
    due += [notice(1), notice(2), line_clock("investigation", 40)]
    c.tick(DUE)
    assert c.holding() == {"expired", "no-bond"}
    now[0] += dispatch.CLOCK_SECONDS
    due.remove(notice(1))  # released; notice 2 still due
    c.tick(DUE)
    assert c.holding() == {"expired", "no-bond"}
    now[0] += dispatch.CLOCK_SECONDS
    due.remove(notice(2))  # the release is done (a line's clock step holds nothing back)
    c.tick(DUE)
    assert c.holding() == frozenset()


def test_a_release_that_does_not_end_holds_nothing_back_after_the_limit(clock) -> None:  # noqa: ANN001
    c, due, submitted, now = clock
    due.append(notice(1))
    c.tick(DUE)
    now[0] += dispatch.HOLD_LIMIT_SECONDS - 0.1
    assert c.holding() == {"expired", "no-bond"}
    now[0] += 0.1  # the clock's task worker is down: the follow-ups go, and the release is submitted again
    assert c.holding() == frozenset()
    c.tick(DUE)
    assert c.holding() == frozenset() and len(submitted) == 2


def test_the_dispatcher_asks_the_outbox_with_what_the_clock_holds(monkeypatch) -> None:  # noqa: ANN001
    import threading

    asked: list[frozenset[str]] = []
    stop = threading.Event()

    def round_(*, inflight: Any, holding: frozenset[str]) -> dispatch.DispatchReport:
        asked.append(holding)
        if len(asked) == 2:
            stop.set()
        return dispatch.DispatchReport()

    monkeypatch.setattr(dispatch, "dispatch_once", round_)
    monkeypatch.setattr(dispatch, "keep_time", lambda *, stop, reconcile_every, clock: setattr(
        clock, "releasing_since", dispatch.time.monotonic()))
    dispatch.run_forever(interval=0.01, stop=stop, reconcile_every=0)
    assert asked[-1] == {"expired", "no-bond"}


def test_the_batch_releases_every_notice_it_can_and_then_fails_where_managers_see_it(monkeypatch) -> None:  # noqa: ANN001
    import logging

    import services.sweep

    together, alone, cancelled = [], [], []

    def release(*, notice_id: int, now: datetime) -> list[dict]:
        if notice_id == 2:
            raise RuntimeError("notice 2: the database refused the write")
        alone.append(notice_id)
        return [] if notice_id == 4 else [{"line": notice_id, "brand": "NIKE"}]  # 4 was answered in time

    def release_together(*, notice_ids: list[int], now: datetime) -> dict[int, list[dict]]:
        together.append(notice_ids)
        if 2 in notice_ids:
            raise RuntimeError("notice 2: the database refused the write")
        return {n: [{"line": n, "brand": "GUCCI"}] for n in notice_ids}

    monkeypatch.setattr(services.sweep, "release_notice_if_expired", release)
    monkeypatch.setattr(services.sweep, "release_notices_if_expired", release_together)
    monkeypatch.setattr(tasks, "RELEASE_BATCH", 4)
    monkeypatch.setattr(tasks, "cancel_scheduled", lambda names, reason: cancelled.extend(names) or names)
    monkeypatch.setattr(tasks, "get_run_logger", lambda: logging.getLogger("test"))
    with pytest.raises(RuntimeError, match="notice 2"):
        tasks.release_notices([("YQ-1", 1), ("YQ-1", 2), ("YQ-3", 3), ("YQ-3", 4), ("YQ-5", 5), ("YQ-5", 6)])
    assert together == [[1, 2, 3, 4], [5, 6]]  # four notices a transaction
    assert alone == [1, 3, 4]  # the batch that failed, one notice at a time; the other batch untouched
    from flows.specs import notice_timer_name

    assert cancelled == [notice_timer_name(c, n) for c, n in [("YQ-1", 1), ("YQ-3", 3), ("YQ-5", 5), ("YQ-5", 6)]]


def test_the_stack_serves_follow_ups_and_the_clock_in_two_processes() -> None:
    assert set(tasks.GROUPS["follow-ups"]).isdisjoint(tasks.GROUPS["clock"])
    assert set(tasks.GROUPS["all"]) == set(tasks.GROUPS["follow-ups"]) | set(tasks.GROUPS["clock"])
    from yunque.settings import get_settings
    from yunque.stack import plan

    serving = {p.name: p.argv[p.argv.index("--serve") + 1] for p in plan(get_settings()) if "flows.tasks" in p.argv}
    assert serving == {"tasks": "follow-ups", "clock": "clock"}


def test_the_clock_keeps_time_while_a_long_outbox_is_handed_on(monkeypatch) -> None:  # noqa: ANN001
    import threading

    stop = threading.Event()
    ticks: list[float] = []

    def slow_round(**_: Any) -> dispatch.DispatchReport:  # after an outage: hundreds of events in the outbox
        stop.wait(5)
        return dispatch.DispatchReport()

    monkeypatch.setattr(dispatch, "dispatch_once", slow_round)
    monkeypatch.setattr(dispatch, "CLOCK_SECONDS", 0.05)
    monkeypatch.setattr(dispatch.Clock, "tick", lambda self, now=None: ticks.append(1) or [])
    t = threading.Thread(target=dispatch.run_forever, kwargs={"stop": stop, "reconcile_every": 0})
    t.start()
    threading.Event().wait(0.6)
    stop.set()
    t.join(10)
    assert not t.is_alive()
    assert len(ticks) >= 4  # the round never ended meanwhile


def test_the_notices_of_a_case_served_at_once_get_their_timers_from_one_task(monkeypatch) -> None:  # noqa: ANN001
    from services.process import CaseProgress, EventOut

    submitted: list[tuple[str, dict]] = []
    monkeypatch.setattr(tasks, "submit", lambda t, **kw: submitted.append((t.name, kw)) or "run")

    def progress(case_number: str) -> CaseProgress:
        return CaseProgress.model_construct(case_number=case_number, case_id=int(case_number[3:]), flow_run_id="r",
                                            runs_started=1, last_event_id=0, notices=[], decisions=[])

    monkeypatch.setattr(dispatch.process, "case_progress", lambda case_number: progress(case_number))
    monkeypatch.setattr(dispatch, "_run_of", lambda client, p: dispatch.CaseRun(dispatch.RunState.PAUSED, 1))
    rnd = dispatch._Round(client=None, report=dispatch.DispatchReport(),
                          inflight=dispatch.InFlight(ThreadPoolExecutor(1)))
    events = [EventOut(id=i, topic="notice.served", case_id=case, case_number=f"YQ-{case}", payload={},
                       created_at=DUE, attempts=0) for i, case in enumerate([1, 1, 1, 2, 2, 1], start=1)]
    for ev in events:
        rnd.handle(ev)
    rnd.settle()
    assert sorted(rnd.report.dispatched) == [1, 2, 3, 4, 5, 6]
    assert submitted == [("keep-case-timers", {"case_number": "YQ-1"}), ("keep-case-timers", {"case_number": "YQ-2"})]


def _round_of(monkeypatch, submit) -> Any:  # noqa: ANN001
    """A round over cases YQ-1, YQ-2... whose runs wait (paused), ``submit`` standing for ``tasks.submit``."""
    from services.process import CaseProgress

    monkeypatch.setattr(tasks, "submit", submit)
    monkeypatch.setattr(dispatch.process, "case_progress", lambda case_number: CaseProgress.model_construct(
        case_number=case_number, case_id=int(case_number[3:]), flow_run_id="r", runs_started=1, last_event_id=0,
        notices=[], decisions=[]))
    monkeypatch.setattr(dispatch, "_run_of", lambda client, p: dispatch.CaseRun(dispatch.RunState.PAUSED, 1))
    return dispatch._Round(client=None, report=dispatch.DispatchReport(),
                           inflight=dispatch.InFlight(ThreadPoolExecutor(4)))


def _event(i: int, topic: str, case: int, **payload: Any) -> Any:
    from services.process import EventOut

    return EventOut(id=i, topic=topic, case_id=case, case_number=f"YQ-{case}", payload=payload, created_at=DUE,
                    attempts=0)


def test_a_round_gives_one_timers_task_a_case_and_a_follow_up_a_decision(monkeypatch) -> None:  # noqa: ANN001
    submitted: list[tuple[str, dict]] = []
    rnd = _round_of(monkeypatch, lambda t, **kw: submitted.append((t.name, kw)) or "run")
    for ev in [_event(1, "notice.answered", 1, notice_id=11), _event(2, "notice.answered", 1, notice_id=12),
               _event(3, "decision.made", 1, decision_id=5), _event(4, "notice.answered", 2, notice_id=21),
               _event(5, "decision.made", 1, decision_id=6)]:
        rnd.handle(ev)
    rnd.settle()
    assert sorted(rnd.report.dispatched) == [1, 2, 3, 4, 5] and rnd.report.error is None
    assert sorted(submitted, key=str) == sorted([
        ("keep-case-timers", {"case_number": "YQ-1"}), ("keep-case-timers", {"case_number": "YQ-2"}),
        ("follow-up-decision", {"decision_id": 5}), ("follow-up-decision", {"decision_id": 6})], key=str)


def test_a_failed_submission_leaves_its_event_in_the_outbox_and_the_others_go_on(monkeypatch) -> None:  # noqa: ANN001
    import threading

    noted: list[tuple[int, str]] = []
    monkeypatch.setattr(dispatch.process, "note_dispatch_failure",
                        lambda event_id, error: noted.append((event_id, error)))
    both = threading.Barrier(2, timeout=10)  # the two follow-ups are submitted at the same time

    def submit(t: Any, **kw: Any) -> str:
        if "decision_id" not in kw:  # the timers' task of each case
            return f"timers-{kw['case_number']}"
        both.wait()
        if kw["decision_id"] == 6:
            raise ConnectionError("the Prefect server did not answer")
        return f"task-{kw['decision_id']}"

    rnd = _round_of(monkeypatch, submit)
    rnd.handle(_event(1, "decision.made", 1, decision_id=5))
    rnd.handle(_event(2, "decision.made", 2, decision_id=6))
    rnd.settle()
    assert rnd.report.dispatched == [1] and rnd.report.waiting == [2]
    assert sorted(rnd.report.submitted) == ["task-5", "timers-YQ-1", "timers-YQ-2"]
    assert noted == [(2, "ConnectionError: the Prefect server did not answer")]
    assert rnd.report.error == "ConnectionError: the Prefect server did not answer"


def test_rounds_go_on_while_requests_wait_and_only_a_run_being_started_holds_its_case(
        monkeypatch) -> None:  # noqa: ANN001
    """Rounds go on while the Prefect server makes a request wait: an event is marked in the round that
    finds its requests answered; a follow-up asked for holds nothing back, a run being started holds
    the later events of its case (they are decided on the run's state)."""
    import contextlib
    import threading

    outbox = [_event(1, "decision.made", 1, decision_id=5), _event(4, "case.opened", 3)]
    marked: list[int] = []
    answer = threading.Event()
    runs = {3: dispatch.RunState.NONE}

    def submit(t: Any, **kw: Any) -> str:
        if kw.get("decision_id") == 5:
            assert answer.wait(10)
        return f"{t.name}-{kw.get('decision_id') or kw.get('case_number')}"

    def start_case_run(p: Any, replacing: str | None = None) -> str:
        assert answer.wait(10)
        runs[p.case_id] = dispatch.RunState.PAUSED
        return f"run-{p.case_number}"

    _round_of(monkeypatch, submit)
    monkeypatch.setattr(dispatch, "_run_of", lambda client, p: dispatch.CaseRun(
        runs.get(p.case_id, dispatch.RunState.PAUSED), 1))
    monkeypatch.setattr(dispatch, "start_case_run", start_case_run)
    monkeypatch.setattr(dispatch.process, "pending_events", lambda limit, holding: [ev for ev in outbox if ev.id not in marked])
    monkeypatch.setattr(dispatch.process, "mark_dispatched", lambda event_ids, now=None: marked.extend(event_ids))
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: contextlib.nullcontext())
    inflight = dispatch.InFlight(ThreadPoolExecutor(4))

    def answered(*event_ids: int) -> None:
        for ev, _, f in inflight.requests:
            if ev.id in event_ids:
                f.result(10)

    first = dispatch.dispatch_once(inflight=inflight)
    assert first.dispatched == [] and inflight.events == {1, 4}  # not answered yet
    outbox += [_event(2, "notice.answered", 1, notice_id=11), _event(3, "decision.made", 2, decision_id=6),
               _event(5, "notice.served", 3, notice_id=31)]
    second = dispatch.dispatch_once(inflight=inflight)
    assert second.waiting == [5] and inflight.events == {1, 2, 3, 4}  # case 3's run is being started
    answered(2, 3)
    third = dispatch.dispatch_once(inflight=inflight)
    assert sorted(third.dispatched) == [2, 3] and third.waiting == [5]
    answer.set()
    answered(1, 4)
    fourth = dispatch.dispatch_once(inflight=inflight)
    assert sorted(fourth.dispatched) == [1, 4] and fourth.started == ["run-YQ-3"]
    assert "follow-up-decision-5" in fourth.submitted and inflight.events == {5}  # case 3 free: its timers asked
    answered(5)
    assert dispatch.dispatch_once(inflight=inflight).dispatched == [5]
    assert sorted(marked) == [1, 2, 3, 4, 5]  # each once


def test_a_case_asks_for_its_timers_once_its_follow_up_is_answered(monkeypatch) -> None:  # noqa: ANN001
    """Two requests of one case at the same moment make SQLite refuse one (and Prefect's client then
    waits 2 s): what a person waits on is asked first, the case's timers once it is answered."""
    import threading

    asked: list[str] = []
    timers_started = threading.Event()
    overlapped: list[bool] = []

    def submit(t: Any, **kw: Any) -> str:
        asked.append(t.name)
        if t.name == "keep-case-timers":
            timers_started.set()
        else:  # the follow-up: would the timers' request start while this one is asked?
            overlapped.append(timers_started.wait(0.5))
        return t.name

    rnd = _round_of(monkeypatch, submit)
    rnd.handle(_event(1, "notice.answered", 1, notice_id=11))  # the timers' task is asked for first...
    rnd.handle(_event(2, "decision.made", 1, decision_id=5))  # ...and the follow-up after, in the outbox's order
    rnd.settle()
    assert asked == ["follow-up-decision", "keep-case-timers"] and overlapped == [False]
    assert sorted(rnd.report.dispatched) == [1, 2]


def test_the_follow_ups_of_a_case_are_asked_at_once_and_its_timers_after_them(monkeypatch) -> None:  # noqa: ANN001
    import threading

    both = threading.Barrier(2, timeout=10)  # fails if the two follow-ups are asked one after the other
    asked: list[str] = []

    def submit(t: Any, **kw: Any) -> str:
        if t.name == "follow-up-decision":
            both.wait()
        asked.append(t.name)
        return t.name

    rnd = _round_of(monkeypatch, submit)
    rnd.handle(_event(1, "decision.made", 1, decision_id=5))
    rnd.handle(_event(2, "decision.made", 1, decision_id=6))
    rnd.settle()
    assert asked == ["follow-up-decision", "follow-up-decision", "keep-case-timers"]
    assert sorted(rnd.report.dispatched) == [1, 2] and rnd.report.error is None


def test_a_round_reads_its_cases_runs_in_one_query_and_a_run_it_missed_on_its_own(monkeypatch) -> None:  # noqa: ANN001
    from types import SimpleNamespace
    from uuid import UUID

    from services.process import CaseProgress

    run_ids = {case: str(UUID(int=case)) for case in (1, 2, 3)}
    states = {run_ids[1]: "PAUSED", run_ids[2]: "RUNNING"}  # the server does not know case 3's run

    class Server:
        filters: list[int] = []
        reads: list[str] = []

        def read_flow_runs(self, *, flow_run_filter, limit: int):  # noqa: ANN001, ANN201
            self.filters.append(limit)
            return [SimpleNamespace(id=i, state=SimpleNamespace(type=SimpleNamespace(value=states[str(i)]),
                                                               name=states[str(i)].title()))
                    for i in flow_run_filter.id.any_ if str(i) in states]

        def read_flow_run(self, run_id):  # noqa: ANN001, ANN201
            self.reads.append(str(run_id))
            raise ConnectionError("no such run")

    monkeypatch.setattr(dispatch.process, "case_progress", lambda case_number: CaseProgress.model_construct(
        case_number=case_number, case_id=int(case_number[3:]), flow_run_id=run_ids[int(case_number[3:])],
        runs_started=1, last_event_id=0, notices=[], decisions=[]))
    monkeypatch.setattr(dispatch.process, "note_dispatch_failure", lambda event_id, error: None)
    server = Server()
    rnd = dispatch._Round(client=server, report=dispatch.DispatchReport(),
                          inflight=dispatch.InFlight(ThreadPoolExecutor(1)))
    events = [_event(1, "evidence.added", 1), _event(2, "evidence.added", 2), _event(3, "evidence.added", 1),
              _event(4, "evidence.added", 3)]
    rnd.read_cases(events)
    assert server.filters == [3]  # one query for the three cases' runs
    assert rnd.runs == {1: dispatch.CaseRun(dispatch.RunState.PAUSED, 1, seen="Paused"),
                        2: dispatch.CaseRun(dispatch.RunState.BUSY, 1, seen="Running")}
    for ev in events[:3]:
        rnd.handle(ev)
    assert server.reads == [] and sorted(rnd.report.dispatched) == [1, 2, 3]
    with pytest.raises(ConnectionError):  # the run it missed is read on its own, and its event fails there
        rnd.handle(events[3])
    assert server.reads == [run_ids[3]]
