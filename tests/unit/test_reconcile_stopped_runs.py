"""The reconciliation finds a case whose run a person cancelled, or whose runs keep failing, even when no event
of the case comes to the dispatcher: the office's managers get their task about it; a run that failed fewer
times is replaced, as before."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

import pytest

from flows import reconcile
from flows.decide import MAX_RUNS_PER_CASE
from services.process import CaseRef


class Client:
    """The Prefect server's answer to the reconciliation's query: each run in its state."""

    def __init__(self, states: dict[str, str]) -> None:
        self.states = states

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read_flow_runs(self, *, flow_run_filter, limit: int):  # noqa: ANN001, ANN201
        return [SimpleNamespace(id=i, state=SimpleNamespace(type=SimpleNamespace(value=self.states[str(i)]),
                                                            name=self.states[str(i)].title()))
                for i in flow_run_filter.id.any_]


def test_cancelled_and_failing_runs_are_left_to_the_managers_and_the_others_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    states = {"YQ-1": ("CANCELLED", 1), "YQ-2": ("CRASHED", MAX_RUNS_PER_CASE), "YQ-3": ("FAILED", 2),
              "YQ-4": ("CANCELLING", 1), "YQ-5": ("PAUSED", 1)}
    refs = [CaseRef(case_number=n, status="open", flow_run_id=str(uuid4()), waiting=True, pending_decisions=[])
            for n in states]
    run_of = {r.case_number: r.flow_run_id for r in refs}
    monkeypatch.setattr(reconcile.process, "cases_to_reconcile", lambda: refs)
    monkeypatch.setattr("prefect.client.orchestration.get_client",
                        lambda sync_client: Client({run_of[n]: st for n, (st, _) in states.items()}))
    monkeypatch.setattr(reconcile.process, "case_progress", lambda case_number: SimpleNamespace(
        case_number=case_number, runs_started=states[case_number][1]))
    replaced: list[str] = []
    monkeypatch.setattr(reconcile, "start_case_run", lambda p, replacing: replaced.append(p.case_number) or "new")
    told: list[tuple[str, str, str, str]] = []

    def stopped(*, case_number: str, flow_run_id: str, why: str, state: str) -> int | None:
        told.append((case_number, flow_run_id, why, state))
        return len(told) if case_number != "YQ-4" else None  # YQ-4's task was opened by the dispatcher already

    monkeypatch.setattr(reconcile.process, "process_stopped", stopped)
    actions = reconcile.ensure_case_runs()
    assert told == [("YQ-1", run_of["YQ-1"], "cancelled", "Cancelled"),
                    ("YQ-2", run_of["YQ-2"], "failing", "Crashed"),
                    ("YQ-4", run_of["YQ-4"], "cancelled", "Cancelling")]
    assert replaced == ["YQ-3"]
    assert actions == [f"YQ-1: run {run_of['YQ-1']} Cancelled; task 1 for its managers",
                       f"YQ-2: run {run_of['YQ-2']} Crashed; task 2 for its managers",
                       f"YQ-3: run {run_of['YQ-3']} replaced by new"]


def test_a_case_the_dispatcher_is_handing_on_gets_no_run_from_the_reconciliation_but_a_broken_run_is_replaced(
        monkeypatch: pytest.MonkeyPatch) -> None:
    refs = [CaseRef(case_number="YQ-1", status="open", flow_run_id=None, waiting=True, pending_decisions=[]),
            CaseRef(case_number="YQ-2", status="open", flow_run_id=str(uuid4()), waiting=True, pending_decisions=[]),
            CaseRef(case_number="YQ-3", status="open", flow_run_id=None, waiting=True, pending_decisions=[])]
    monkeypatch.setattr(reconcile.process, "cases_to_reconcile", lambda: refs)
    monkeypatch.setattr("prefect.client.orchestration.get_client",
                        lambda sync_client: Client({refs[1].flow_run_id: "CRASHED"}))
    monkeypatch.setattr(reconcile.process, "case_progress", lambda case_number: SimpleNamespace(
        case_number=case_number, runs_started=1))
    started: list[tuple[str, str | None]] = []
    monkeypatch.setattr(reconcile, "start_case_run",
                        lambda p, replacing=None: started.append((p.case_number, replacing)) or "new")
    actions = reconcile.ensure_case_runs(leave=frozenset({"YQ-1", "YQ-2"}))
    assert started == [("YQ-2", refs[1].flow_run_id), ("YQ-3", None)]
    assert actions == [f"YQ-2: run {refs[1].flow_run_id} replaced by new", "YQ-3: started run new"]
