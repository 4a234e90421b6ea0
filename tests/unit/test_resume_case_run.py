"""The dispatcher resumes a waiting case run in two writes, the input first and then the transition to
Scheduled ``WARM_CLAIM`` ahead, so that the run is never in the work pool due now (where a process worker
would take it from the warm task worker); of two dispatchers resuming one pause, the one whose input the
server refused goes on only if the run still waits."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace
from uuid import uuid4

import httpx
import pytest
from prefect.states import Pending, Scheduled, Suspended

from flows import dispatch
from flows.case import WARM_CLAIM
from models.types import utcnow


class Server:
    """A case run as the Prefect server keeps it: its state, its inputs (one per key), the writes in order."""

    def __init__(self, state, *, refuse: bool = False) -> None:  # noqa: ANN001
        self.state, self.refuse = state, refuse
        self.inputs: dict[str, str] = {}
        self.writes: list[str] = []

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read_flow_run(self, run_id):  # noqa: ANN001, ANN201
        return SimpleNamespace(id=run_id, state=self.state)

    def create_flow_run_input(self, run_id, *, key: str, value: str) -> None:  # noqa: ANN001
        if key in self.inputs:
            request = httpx.Request("POST", f"http://prefect/api/flow_runs/{run_id}/input")
            raise httpx.HTTPStatusError("409", request=request, response=httpx.Response(409, request=request))
        self.inputs[key] = value
        self.writes.append(f"input {key}")

    def set_flow_run_state(self, run_id, state):  # noqa: ANN001, ANN201
        if self.refuse:
            return SimpleNamespace(status=SimpleNamespace(value="REJECT"), details="the pause timed out")
        self.writes.append(f"{state.type.value} {state.name}")
        self.state = state
        return SimpleNamespace(status=SimpleNamespace(value="ACCEPT"), details=None)


@pytest.fixture
def offers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    offered: list[tuple[str, str]] = []
    monkeypatch.setattr(dispatch, "offer_warm", lambda number, run_id: offered.append((number, run_id)) or "task")
    return offered


def _resume(monkeypatch: pytest.MonkeyPatch, server: Server) -> tuple[str | None, str]:
    run_id = str(uuid4())
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: server)
    p = SimpleNamespace(case_number="YQ-2026-000001", flow_run_id=run_id)
    return dispatch.resume_case_run(p, SimpleNamespace(id=41, topic="case.confirmed")), run_id


def test_the_input_goes_first_under_the_pause_key_then_the_run_is_due_warm_claim_ahead(
        monkeypatch: pytest.MonkeyPatch, offers: list) -> None:
    server = Server(Suspended(timeout_seconds=3600, pause_key="wait-40-0"))
    before = utcnow()
    resumed, run_id = _resume(monkeypatch, server)
    assert resumed == run_id and offers == [("YQ-2026-000001", run_id)]
    assert server.writes == ["input suspended-wait-40-0-response", "SCHEDULED Resuming"]
    assert json.loads(server.inputs["suspended-wait-40-0-response"]) == {"event_id": 41, "topic": "case.confirmed"}
    due = server.state.state_details.scheduled_time
    assert before + WARM_CLAIM <= due <= utcnow() + WARM_CLAIM  # never due now, so no process worker takes it first


def test_an_input_given_already_for_a_run_still_waiting_is_an_earlier_attempt_and_the_run_is_resumed(
        monkeypatch: pytest.MonkeyPatch, offers: list) -> None:
    server = Server(Suspended(timeout_seconds=3600, pause_key="wait-40-0"))
    server.inputs["suspended-wait-40-0-response"] = json.dumps({"event_id": 41, "topic": "case.confirmed"})
    resumed, run_id = _resume(monkeypatch, server)
    assert resumed == run_id and server.writes == ["SCHEDULED Resuming"] and len(offers) == 1


def test_an_input_given_already_for_a_run_resumed_meanwhile_leaves_it_to_the_dispatcher_that_resumed_it(
        monkeypatch: pytest.MonkeyPatch, offers: list) -> None:
    server = Server(Suspended(timeout_seconds=3600, pause_key="wait-40-0"))
    server.inputs["suspended-wait-40-0-response"] = "{}"
    resumed_by_the_other = Scheduled(scheduled_time=utcnow() + timedelta(seconds=45), name="Resuming")
    reads = iter([server.state, resumed_by_the_other])
    monkeypatch.setattr(Server, "read_flow_run", lambda self, run_id: SimpleNamespace(id=run_id, state=next(reads)))
    resumed, _ = _resume(monkeypatch, server)
    assert resumed is None and server.writes == [] and offers == []


@pytest.mark.parametrize("state", [Pending(), Scheduled(name="Resuming"), None])
def test_a_run_that_no_longer_waits_is_not_resumed_and_the_event_is_decided_again(
        monkeypatch: pytest.MonkeyPatch, offers: list, state) -> None:  # noqa: ANN001
    server = Server(state)
    with pytest.raises(RuntimeError, match="no longer waits"):
        _resume(monkeypatch, server)
    assert server.writes == [] and offers == []


def test_a_refused_transition_is_an_error_and_the_run_is_not_offered(
        monkeypatch: pytest.MonkeyPatch, offers: list) -> None:
    server = Server(Suspended(timeout_seconds=3600, pause_key="wait-40-0"), refuse=True)
    with pytest.raises(RuntimeError, match="refused: the pause timed out"):
        _resume(monkeypatch, server)
    assert offers == []
