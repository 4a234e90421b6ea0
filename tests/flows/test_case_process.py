"""Every path of the case process on a real Prefect server (the test harness) and a real worker.

The cases of the six paths run at the same time (the warm task worker carries their runs side by
side), each driven in its own thread; the test functions then read what happened. The case whose deadline
must pass is opened in the past (its answers recorded before the dispatcher starts), so its deadline
timers are due at once and fire for real:

- in time: NIKE clears, CHANEL claims with its general bond, HERMES claims with an individual bond that an
  IPR officer records as received;
- at the deadline: NIKE clears, CHANEL claims with a bond, ADIDAS stays silent, HERMES claims with a
  bond too small;
- confirmed later: the case is registered, its run waits, and the confirmation resumes it (warm again)
  to serve the notices;
- a viewing: GUCCI asks for a viewing while the case waits, then both holders clear (neither the
  request nor the first verdict touches the run; the follow-up that settles the case completes it
  where it waits, so the case's run ran in one process);
- on application (Reg 12-15, 24(1)): CHANEL applies now and customs accepts while the run waits; another
  application accepted in the past has its 20-working-day court clock due at once and is released by it."""

from __future__ import annotations

import contextvars
import itertools
import json
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from tests.flows.conftest import FlowStack, diagnosis, run_state
from tests.support import wait_for

SH = ZoneInfo("Asia/Shanghai")
PAST = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # a Monday: answers due by the end of Thursday 26 November
APPLIED_LONG_AGO = datetime(2026, 10, 19, 10, 0, tzinfo=SH)  # a Monday: 20 working days end on Monday 16 November
_seq = itertools.count(1)

pytestmark = pytest.mark.slow


def shipment(brands: list[str], found_at: datetime) -> dict[str, Any]:
    from services.demo import DEMO_FILE

    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    lines = [ln for b in brands for ln in demo["seed_lines"] if ln["brand"] == b]
    c = demo["consignors"][0]
    return {"declaration_no": f"0202{os.getpid() % 10**6:06d}{next(_seq):08d}", "direction": "export",
            "customs_office": "Capital Airport Customs", "consignor": {"name": c["name"], "uscc": c["uscc"]},
            "found_at": found_at.isoformat(), "lines": lines}


def _case(number: str) -> Any:
    from services.cases import get_case

    return get_case(case_number=number, actor="system")


def _notice(case: Any, brand: str) -> Any:
    return next(n for n in case.notices if brand in n.brands)


def _line(case: Any, brand: str) -> Any:
    return next(ln for ln in case.lines if ln.brand == brand)


def _answer(case: Any, brand: str, user: str, verdict: str, at: datetime | None = None, **kw: Any) -> None:
    from services.answers import record_answer

    ln = _line(case, brand)
    record_answer(notice_id=ln.notice_id, actor=user, now=at, answer={"verdicts": {ln.number: verdict}, **kw})


def _run_id(number: str) -> str:
    return wait_for(f"a flow run for {number}", lambda: _case(number).flow_run_id)


def _paused(number: str, other_than: str | None = None) -> str:
    def check() -> str | None:
        st, key = run_state(_run_id(number))
        return key if st == "PAUSED" and key != other_than else None

    return wait_for(f"{number} to wait for its rights holders", check)


def _completed(number: str) -> str:
    return wait_for(f"{number} to complete", lambda: run_state(_run_id(number))[0] == "COMPLETED" and "COMPLETED",
                    timeout=240)


# --- the five paths, driven side by side -------------------------------------------------------------


def all_answered_in_time(number: str) -> dict:
    case = _case(number)
    _paused(number)  # served, clocks started, waiting: no process held
    _answer(case, "NIKE", "nike.agent", "not-infringing")
    _answer(case, "CHANEL", "chanel.agent", "infringing", detain=True, bond="general")
    _answer(case, "HERMES", "hermes.agent", "infringing", detain=True, bond="20000.00")  # 50% of 24,000, at least 20,000
    from services.bonds import record_bond_receipt

    # an amount typed is an application; the goods are detained when customs has the bond (Meas 38)
    record_bond_receipt(notice_id=_notice(case, "HERMES").id, actor="ipr.li",
                        receipt={"form": "guarantee", "amount": "20000.00", "bank": "中国银行", "letter_no": "BG-1"})
    return {"completed": _completed(number)}


def confirmed_while_waiting(number: str) -> dict:
    from tests.support import confirm

    first = _paused(number)  # registered, not yet confirmed: nothing to serve, it waits
    confirm(number, now=datetime.now(SH), actor="ipr.li")
    _paused(number, other_than=first)  # resumed by the confirmation: served the notices, waits again
    case = _case(number)
    _answer(case, "NIKE", "nike.agent", "not-infringing")
    _answer(case, "GUCCI", "gucci.agent", "not-infringing")
    return {"completed": _completed(number)}


def viewing_before_verdict(number: str) -> dict:
    from services.viewing import request_viewing

    case = _case(number)
    first = _paused(number)
    request_viewing(actor="gucci.agent", notice_id=_notice(case, "GUCCI").id, note="inner card and serial numbers")
    wait_for("the viewing request to be handed on", lambda: _dispatched(number, "viewing.requested"))
    after_request = run_state(_run_id(number))  # a request changes nothing the run does: not woken
    _answer(case, "NIKE", "nike.agent", "not-infringing")
    wait_for("NIKE's decision to be followed up", lambda: _dispatched(number, "decision.followed_up"))
    after_first_verdict = run_state(_run_id(number))  # GUCCI still waits: the case is not settled
    _answer(case, "GUCCI", "gucci.agent", "not-infringing")
    return {"first_wait": first, "after_request": after_request, "after_first_verdict": after_first_verdict,
            "completed": _completed(number)}


def _dispatched(number: str, topic: str) -> bool:
    from models.tables import Case, OutboxEvent
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        case_id = s.exec(select(Case.id).where(Case.number == number)).one()
        at = [e.dispatched_at for e in s.exec(select(OutboxEvent).where(OutboxEvent.case_id == case_id,
                                                                        OutboxEvent.topic == topic))]
    return bool(at) and all(a is not None for a in at)


def settles_by_itself(number: str) -> dict:
    return {"completed": _completed(number)}


def application(declaration_no: str, at: datetime | None = None) -> str:
    from models.tables import Recordation
    from services.applications import file_application
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        rec = s.exec(select(Recordation.number).where(Recordation.brand == "CHANEL")).one()
    c = json.loads(__import__("services.demo", fromlist=["DEMO_FILE"]).DEMO_FILE.read_text(encoding="utf-8"))["consignors"][0]
    return file_application(actor="chanel.agent", now=at, application={
        "customs_office": "CAPAIR", "declaration_no": declaration_no, "direction": "export",
        "consignor": {"name": c["name"], "uscc": c["uscc"]}, "recordation": rec,
        "lines": [{"description": "Handbags", "quantity": 12, "unit": "pcs", "value": "36000.00"}],
        "grounds": "A test purchase from this consignor was counterfeit."})["case_number"]


def accept(number: str, at: datetime | None = None) -> None:
    from services.applications import review_application

    review_application(case_number=number, actor="ipr.li", now=at, review={
        "decision": "accepted", "form": "guarantee", "amount": "36000.00", "bank": "中国银行", "letter_no": "BG-7"})


def accepted_while_waiting(number: str) -> dict:
    first = _paused(number)  # waits for customs' review: nothing to serve
    accept(number)
    # once the detention is followed up the case is settled and its run completed where it waits; the
    # court clock is kept by its timer
    return {"first_wait": first, "completed": _completed(number)}


def _where(thread: Any) -> str:
    """Where the dispatcher's thread is (a hang shows as the same frames every time)."""
    import sys
    import traceback

    frame = sys._current_frames().get(thread.ident)
    if not thread.is_alive() or frame is None:
        return "dispatcher: stopped"
    return "dispatcher at: " + " < ".join(f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})"
                                          for f in reversed(traceback.extract_stack(frame)[-4:]))


@pytest.fixture(scope="module")
def outcomes(flow_stack: FlowStack) -> dict[str, Any]:
    """Open the five cases, start the dispatcher, drive each case in its own thread."""
    import threading

    from _pytest.monkeypatch import MonkeyPatch

    from flows.dispatch import run_forever
    from tests.flows.conftest import _point
    from services.cases import open_case
    from tests.support import open_confirmed

    mp = MonkeyPatch()
    for k, v in flow_stack.env.items():
        mp.setenv(k, v)
    _point({})
    try:
        now = datetime.now(SH)
        numbers = {
            "in_time": open_confirmed(shipment(["NIKE", "CHANEL", "HERMES"], now), now=now).number,
            "viewing": open_confirmed(shipment(["NIKE", "GUCCI"], now), now=now).number,
            "confirmed_later": open_case(shipment=shipment(["NIKE", "GUCCI"], now), actor="site.wang", now=now).number,
            "deadline": open_confirmed(shipment(["NIKE", "CHANEL", "ADIDAS", "HERMES"], PAST), now=PAST).number,
            "applied": application(f"0303{os.getpid() % 10**6:06d}{next(_seq):08d}"),
            "applied_long_ago": application(f"0303{os.getpid() % 10**6:06d}{next(_seq):08d}", at=APPLIED_LONG_AGO),
        }
        accept(numbers["applied_long_ago"], at=APPLIED_LONG_AGO + timedelta(hours=2))  # 20 WD ended on 16 November
        late = _case(numbers["deadline"])
        _answer(late, "NIKE", "nike.agent", "not-infringing", at=PAST + timedelta(minutes=9))
        _answer(late, "CHANEL", "chanel.agent", "infringing", at=PAST + timedelta(minutes=12), detain=True, bond="general")
        _answer(late, "HERMES", "hermes.agent", "infringing", at=PAST + timedelta(minutes=15), detain=True, bond="5000.00")

        # each thread runs in a copy of this context: it carries the Prefect settings (the API URL)
        stop = threading.Event()
        t = threading.Thread(target=contextvars.copy_context().run, args=(run_forever,),
                             kwargs={"interval": 0.5, "stop": stop}, daemon=True)
        t.start()
        drivers = {"in_time": all_answered_in_time, "viewing": viewing_before_verdict, "deadline": settles_by_itself,
                   "confirmed_later": confirmed_while_waiting,
                   "applied": accepted_while_waiting, "applied_long_ago": settles_by_itself}
        results: dict[str, Any] = {}
        with ThreadPoolExecutor(len(drivers)) as pool:
            futures = {k: pool.submit(contextvars.copy_context().run, fn, numbers[k]) for k, fn in drivers.items()}
            for k, f in futures.items():
                try:
                    results[k] = f.result()
                except BaseException as e:  # noqa: BLE001 - reported by the test of that path
                    results[k] = e
        if any(isinstance(r, AssertionError) for r in results.values()):  # a wait timed out: say what the stack was doing
            seen = f"{_where(t)}; {diagnosis(flow_stack)}"
            results = {k: AssertionError(f"{r}; {seen}") if isinstance(r, AssertionError) else r for k, r in results.items()}
        stop.set()
        t.join(10)
        return {"numbers": numbers, "results": results}
    finally:
        mp.undo()
        _point({})


@pytest.fixture
def case_of(outcomes: dict[str, Any], flow_env: FlowStack):  # noqa: ANN201
    def get(path: str) -> Any:
        result = outcomes["results"][path]
        if isinstance(result, BaseException):
            raise result
        return _case(outcomes["numbers"][path])

    return get


# --- what each path must show --------------------------------------------------------------------------


def _timeline(case_number: str) -> list[Any]:
    from types import SimpleNamespace

    from models.tables import Case, TimelineEntry
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        case = s.exec(select(Case).where(Case.number == case_number)).one()
        return [SimpleNamespace(action=e.action, subject=e.subject, actor=e.actor, after=e.after)
                for e in s.exec(select(TimelineEntry).where(TimelineEntry.case_id == case.id).order_by(TimelineEntry.id))]


def _each_effect_once(case_number: str) -> None:
    effects = Counter((e.action, e.subject) for e in _timeline(case_number)
                      if e.action.startswith("line.") or e.action in ("notice.sent", "decision.followed_up",
                                                                        "notice.expired", "document.issued"))
    assert effects and all(n == 1 for n in effects.values()), [k for k, n in effects.items() if n > 1]


def _decisions(case_number: str) -> list[Any]:
    from services.process import case_progress

    return case_progress(case_number=case_number).decisions


def _flow_runs_named(*names: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as c:
        runs = c.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=list(names))))
    return {r.name: r for r in runs}


def _run_states(flow_run_id: str) -> list[Any]:
    """A flow run's states, oldest first."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as c:
        return sorted(c.read_flow_run_states(UUID(flow_run_id)), key=lambda st: st.timestamp)


def _summary(number: str) -> Any:
    """The case's summary artifact (the notices at the end of its process)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as c:
        found = c.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"case-{number.lower()}"])))
    assert found, f"no summary artifact for {number}"
    return found[0]


def _artifact(decision_id: int) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as c:
        found = c.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"decision-{decision_id}"])))
    return found[0] if found else None


def _task_runs_named(*names: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as c:
        runs = [r for name in names
                for r in c.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=name)))
                if r.name == name]
    return {r.name: r for r in runs}


def _task_runs_like(prefix: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as c:
        return c.read_task_runs(task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_=prefix)), limit=200)


def _releases(run_name: str, notice_id: int) -> bool:
    """The task run named ``release-notice-<id>`` or ``release-<n>-notices-<first>-to-<last>`` (the
    warm clock's batch, ``flows.tasks.release_due_notices``) may have released the notice."""
    one = re.fullmatch(r"release-notice-(\d+)", run_name)
    many = re.fullmatch(r"release-\d+-notices-(\d+)-to-(\d+)", run_name)
    return bool(one and int(one[1]) == notice_id or many and int(many[1]) <= notice_id <= int(many[2]))


def test_all_answered_in_time_releases_cleared_lines_detains_claimed_and_completes(case_of) -> None:  # noqa: ANN001
    case = case_of("in_time")
    states = {ln.brand: (ln.state, ln.state_reason) for ln in case.lines}
    assert states == {"NIKE": ("released", "cleared"), "CHANEL": ("detained", "detention"),
                      "HERMES": ("detained", "detention")}
    assert {n.state for n in case.notices} == {"answered"}
    decisions = _decisions(case.number)
    assert len(decisions) == 3 and all(d.followed_up_at is not None for d in decisions)
    for d in decisions:
        art = _artifact(d.id)
        assert art is not None and case.number in art.data and d.kind in art.data
        assert str(art.flow_run_id) == case.flow_run_id  # on the case's run page
    # each follow-up ran warm, as a background task named after its decision
    follow_ups = _task_runs_named(*[f"follow-up-decision-{d.id}" for d in decisions])
    assert {r.state.type.value for r in follow_ups.values()} == {"COMPLETED"} and len(follow_ups) == 3
    # each deadline had a timer, cancelled once its notice was answered: its reason is gone
    timers = _flow_runs_named(*[f"{case.number}-notice-{n.id}-deadline" for n in case.notices])
    assert len(timers) == 3
    assert {r.state.type.value for r in timers.values()} == {"CANCELLED"}, {k: r.state for k, r in timers.items()}
    _each_effect_once(case.number)
    kinds = Counter(d.kind for d in case.documents)
    assert kinds["confirmation_notice"] == 3 and kinds["detention_receipt"] >= 1 and kinds["release_notice"] >= 1


def test_the_case_run_ran_in_the_warm_task_worker_not_in_a_process_of_its_own(case_of) -> None:  # noqa: ANN001
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    case = case_of("in_time")
    with get_client(sync_client=True) as c:
        run = c.read_flow_run(UUID(case.flow_run_id))
        logs = [log.message for log in c.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))]
    assert run.infrastructure_pid is None, logs  # a process worker records the process it starts for a run
    assert any(m.startswith("Taken by the warm task worker") for m in logs), logs
    warm = _task_runs_named(f"run-case-{case.number}")
    assert [r.state.type.value for r in warm.values()] == ["COMPLETED"]
    assert [st.type.value for st in _run_states(case.flow_run_id)][:3] == ["SCHEDULED", "PENDING", "RUNNING"]


def test_a_run_resumed_by_the_confirmation_runs_warm_again_and_serves_the_notices(case_of) -> None:  # noqa: ANN001
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    from flows.case import WARM_CLAIM

    case = case_of("confirmed_later")
    assert {ln.state for ln in case.lines} == {"released"} and {n.state for n in case.notices} == {"answered"}
    with get_client(sync_client=True) as c:
        run = c.read_flow_run(UUID(case.flow_run_id))
        logs = [log.message for log in c.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id])))]
    assert run.infrastructure_pid is None, logs  # a process worker records the process it starts for a run
    assert sum(m.startswith("Taken by the warm task worker") for m in logs) == 2, logs
    history = _run_states(case.flow_run_id)
    states = [(st.type.value, st.name) for st in history]
    paused = states.index(("PAUSED", "Suspended"))
    # resumed a little ahead (never due now, when a process worker would take it first), and taken
    assert states[paused + 1:paused + 4] == [("SCHEDULED", "Resuming"), ("PENDING", "Pending"),
                                             ("RUNNING", "Running")], states
    resuming = history[paused + 1]
    assert resuming.state_details.scheduled_time - resuming.timestamp >= WARM_CLAIM - timedelta(seconds=1)
    assert [t for t, _ in states].count("RUNNING") == 2 and states[-1][0] == "COMPLETED"


def test_one_clears_another_claims_with_a_bond_partial_release_and_detention_clocks(case_of) -> None:  # noqa: ANN001
    case = case_of("in_time")
    assert {ln.brand: ln.state for ln in case.lines}["NIKE"] == "released"
    hermes = _line(case, "HERMES")
    assert hermes.state == "detained" and _notice(case, "HERMES").answer.bond_amount == Decimal("20000.00")
    assert hermes.investigation_due is not None and hermes.court_due is not None
    names = [f"{case.number}-line-{hermes.number}-investigation", f"{case.number}-line-{hermes.number}-court"]
    clocks = _flow_runs_named(*names)
    assert sorted(clocks) == sorted(names) and {r.state.type.value for r in clocks.values()} == {"SCHEDULED"}
    assert clocks[names[0]].expected_start_time.astimezone(SH).date() == hermes.investigation_due + timedelta(days=1)


def test_a_silent_rights_holder_is_released_by_the_deadline_timer(case_of) -> None:  # noqa: ANN001
    case = case_of("deadline")
    states = {ln.brand: (ln.state, ln.state_reason) for ln in case.lines}
    assert states["NIKE"] == ("released", "cleared") and states["CHANEL"] == ("detained", "detention")
    assert states["ADIDAS"] == ("released", "expired")
    adidas = _notice(case, "ADIDAS")
    assert adidas.state == "expired"
    expired = [d for d in _decisions(case.number) if d.reason == "expired"]
    assert len(expired) == 1 and expired[0].followed_up_at is not None and expired[0].lines == [_line(case, "ADIDAS").number]
    # released warm, by the dispatcher's clock submitting a background task (no new process)
    releases = [r for r in _task_runs_like("release-") if _releases(r.name, adidas.id)]
    assert releases and {r.state.type.value for r in releases} == {"COMPLETED"}
    # a notice already expired when the case run set its timers gets none; one set before is cancelled
    timers = _flow_runs_named(f"{case.number}-notice-{adidas.id}-deadline")
    assert {r.state.type.value for r in timers.values()} <= {"CANCELLED", "COMPLETED"}
    released = [e for e in _timeline(case.number)
                if e.action == "line.released" and e.subject.endswith(f"/{_line(case, 'ADIDAS').number}")]
    assert [(e.actor, e.after["reason"]) for e in released] == [("system", "expired")]
    _each_effect_once(case.number)


def test_a_claim_without_a_sufficient_bond_is_released_at_the_deadline(case_of) -> None:  # noqa: ANN001
    case = case_of("deadline")
    assert _line(case, "HERMES").state == "released" and _line(case, "HERMES").state_reason == "no-bond"
    assert _notice(case, "HERMES").state == "expired"
    assert all(d.followed_up_at for d in _decisions(case.number))


def test_a_waiting_case_is_woken_by_neither_a_viewing_request_nor_a_verdict_that_leaves_it_unsettled(case_of, outcomes) -> None:  # noqa: ANN001
    case = case_of("viewing")
    r = outcomes["results"]["viewing"]
    # the same pause throughout: no flow-run process started for the request or for NIKE's verdict
    assert tuple(r["after_request"]) == ("PAUSED", r["first_wait"])
    assert tuple(r["after_first_verdict"]) == ("PAUSED", r["first_wait"])
    assert r["completed"] == "COMPLETED"  # completed where it waited, by the follow-up that settled the case
    states = _run_states(_case(case.number).flow_run_id)
    assert [st.type.value for st in states].count("RUNNING") == 1  # one process: started, never resumed
    assert states[-1].message == f"{case.number}: every notice decided, 2 decision(s) followed up (2 line(s) released)"
    assert [row["state"] for row in json.loads(_summary(case.number).data)] == ["answered", "answered"]
    assert {ln.state for ln in case.lines} == {"released"}
    from models.tables import OutboxEvent
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        ev = [e.dispatched_at for e in s.exec(select(OutboxEvent).where(OutboxEvent.topic == "viewing.requested"))]
    assert ev and all(at is not None for at in ev)
    _each_effect_once(case.number)


def test_an_application_accepted_while_its_run_waits_is_followed_up_and_the_run_completed(case_of, outcomes) -> None:  # noqa: ANN001
    case = case_of("applied")
    r = outcomes["results"]["applied"]
    assert r["first_wait"] and r["completed"] == "COMPLETED"  # suspended for the review, completed once followed up
    assert all(d.followed_up_at for d in _decisions(case.number))
    assert case.route == "application" and {ln.state for ln in case.lines} == {"detained"}
    assert {ln.investigation_due for ln in case.lines} == {None}  # no investigation on application
    kinds = Counter(d.kind for d in case.documents)
    assert kinds == {"detention_notice": 1, "detention_receipt": 1}  # and never a confirmation notice
    line = case.lines[0]
    name = f"{case.number}-line-{line.number}-court"
    clock = _flow_runs_named(name)[name]
    assert clock.state.type.value == "SCHEDULED"
    assert clock.expected_start_time.astimezone(SH).date() == line.court_due + timedelta(days=1)
    _each_effect_once(case.number)


def test_an_application_without_a_court_notice_in_20_working_days_is_released_by_its_clock(case_of) -> None:  # noqa: ANN001
    case = case_of("applied_long_ago")
    assert [(ln.state, ln.state_reason) for ln in case.lines] == [("released", "no-court-order")]
    released = [e for e in _timeline(case.number) if e.action == "line.released"]
    assert [(e.actor, e.after["reason"]) for e in released] == [("system", "no-court-order")]
    assert all(d.followed_up_at for d in _decisions(case.number))
    assert Counter(d.kind for d in case.documents)["release_notice"] == 2  # to the holder and the consignor
    _each_effect_once(case.number)


def test_the_reconciliation_creates_only_the_timers_the_server_has_no_run_for(case_of) -> None:  # noqa: ANN001
    from dataclasses import replace

    from flows.common import unscheduled
    from flows.specs import timer_specs
    from services import process

    case = case_of("applied")  # its court clock runs, and its timer is scheduled
    specs = timer_specs([t for t in process.timers_due() if t.case_number == case.number and t.kind == "court"])
    assert len(specs) == 1 and unscheduled(specs) == []
    lost = replace(specs[0], name=f"{specs[0].name}-lost", key=f"{specs[0].key}-lost")  # never created
    assert unscheduled([*specs, lost]) == [lost]
