"""The reconciliation reads the case runs in queries the Prefect server answers (at most 200 runs each),
however many cases are open: with 224 open cases a single query was refused (422) and the
reconciliation failed every time."""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

import pytest

from flows import reconcile
from flows.common import READ_BATCH
from services.process import CaseRef


class Client:
    """Answers like the Prefect server: a limit above 200 is refused."""

    def __init__(self, states: dict[str, str]) -> None:
        self.states, self.asked = states, []

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def read_flow_runs(self, *, flow_run_filter, limit: int):  # noqa: ANN001, ANN201
        if limit > 200:
            raise RuntimeError("422 Invalid limit: must be less than or equal to 200.")
        ids = [str(i) for i in flow_run_filter.id.any_]
        self.asked.append(len(ids))
        return [SimpleNamespace(id=i, state=SimpleNamespace(type=SimpleNamespace(value=self.states[i]))) for i in ids]


@pytest.mark.parametrize("cases", [1, 200, 201, 450])
def test_every_settled_case_s_waiting_run_is_found_and_completed(monkeypatch: pytest.MonkeyPatch, cases: int) -> None:
    refs = [CaseRef(case_number=f"YQ-2026-{i:06d}", status="open", flow_run_id=str(uuid4()), waiting=False,
                    pending_decisions=[], settled=True) for i in range(cases)]
    client = Client({r.flow_run_id: "PAUSED" for r in refs})  # type: ignore[misc]
    completed: list[str] = []
    monkeypatch.setattr(reconcile.process, "cases_to_reconcile", lambda: refs)
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: client)
    monkeypatch.setattr(reconcile, "_complete", lambda number: completed.append(number) or number)
    assert reconcile.ensure_case_runs() == [r.case_number for r in refs]
    assert completed == [r.case_number for r in refs]
    assert max(client.asked) <= READ_BATCH == 200 and sum(client.asked) == cases


class Timers(Client):
    """The Prefect server holding runs of some of the timers' names."""

    def __init__(self, names: set[str]) -> None:
        super().__init__({})
        self.names = names

    def read_flow_runs(self, *, flow_run_filter, limit: int):  # noqa: ANN001, ANN201
        if limit > 200:
            raise RuntimeError("422 Invalid limit: must be less than or equal to 200.")
        asked = flow_run_filter.name.any_
        self.asked.append(len(asked))
        return [SimpleNamespace(name=n, state=None) for n in asked if n in self.names]


def test_only_the_timers_the_server_has_no_run_for_are_created(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.common import unscheduled

    specs = [SimpleNamespace(name=f"YQ-2026-{i:06d}-notice-{i}-deadline") for i in range(450)]
    client = Timers({s.name for s in specs[::3]})  # a third exist (or existed and were cancelled)
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: client)
    missing = unscheduled(specs)
    assert missing == [s for i, s in enumerate(specs) if i % 3]
    assert client.asked == [200, 200, 50]
    assert unscheduled([]) == []


class Bulk(Timers):
    """Answers bulk creation as the Prefect server does on a busy SQLite: the first ``locked`` requests
    refuse every timer ("database is locked"), and a timer named in ``bad`` is always refused."""

    def __init__(self, *, locked: int, bad: frozenset[str] = frozenset()) -> None:
        super().__init__(set())
        self.locked, self.bad, self.requests = locked, bad, []
        self.api_url = f"http://prefect-{id(self)}/api"  # a server of its own: deployment ids are kept by server

    def read_deployment_by_name(self, name: str):  # noqa: ANN201
        return SimpleNamespace(id=f"id-of-{name}")

    def request(self, method: str, path: str, *, path_params: dict, json: list):  # noqa: ANN201
        self.requests.append((path_params["id"], [r["name"] for r in json]))
        locked, self.locked = self.locked > 0, self.locked - 1
        results = [{"status": "FAILED", "error": "(sqlite3.OperationalError) database is locked"} if locked else
                   {"status": "FAILED", "error": "Parameter validation failed"} if r["name"] in self.bad else
                   {"status": "CREATED", "flow_run_id": f"run-{r['name']}"} for r in json]
        return SimpleNamespace(json=lambda: {"results": results})


def _timer_specs() -> list:
    from datetime import UTC, datetime

    from flows.specs import timer_spec
    from services.process import TimerDue

    due = datetime(2027, 1, 8, 16, 0, tzinfo=UTC)
    return [timer_spec(TimerDue(kind="notice", subject_id=i, case_number="YQ-1", due_at=due)) for i in (1, 2, 3)] + [
        timer_spec(TimerDue(kind="investigation", subject_id=9, line_number=1, case_number="YQ-1", due_at=due))]


def test_a_case_s_timers_are_created_in_one_request_a_deployment_and_asked_again_while_sqlite_is_locked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import common

    client = Bulk(locked=2)
    sleeps: list[float] = []
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: client)
    monkeypatch.setattr("time.sleep", sleeps.append)
    ids = common.schedule_timers(_timer_specs())
    assert ids == ["run-YQ-1-notice-1-deadline", "run-YQ-1-notice-2-deadline", "run-YQ-1-notice-3-deadline",
                   "run-YQ-1-line-1-investigation"]
    assert [(d, len(names)) for d, names in client.requests] == [
        ("id-of-notice-deadline/notice-deadline", 3)] * 3 + [("id-of-detention-clock/detention-clock", 1)]
    assert sleeps == [0.2, 0.5]


def test_a_timer_the_server_refuses_for_another_reason_fails_the_call_once_the_others_are_created(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import common

    client = Bulk(locked=0, bad=frozenset({"YQ-1-notice-2-deadline"}))
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: client)
    with pytest.raises(RuntimeError, match=r"1 of 4 timers not created, the first YQ-1-notice-2-deadline: Parameter"):
        common.schedule_timers(_timer_specs())
    assert len(client.requests) == 2  # not asked again: only a locked database is


def test_timers_still_refused_after_every_wait_fail_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows import common

    client = Bulk(locked=100)
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: client)
    monkeypatch.setattr("time.sleep", lambda s: None)
    with pytest.raises(RuntimeError, match="4 of 4 timers not created.*stayed locked"):
        common.schedule_timers(_timer_specs())
    assert len(client.requests) == len(common.LOCKED_WAITS) + 1 + len(common.LOCKED_WAITS) + 1


def test_a_deployment_s_id_is_read_once_a_process_and_again_when_the_server_no_longer_knows_it() -> None:
    from prefect.exceptions import ObjectNotFound

    from flows.common import with_deployment

    class Server:
        api_url = "http://prefect-deployments/api"
        ids = {"case-process/case-process": "first"}
        reads: list[str] = []

        def read_deployment_by_name(self, name: str):  # noqa: ANN201
            self.reads.append(name)
            return SimpleNamespace(id=self.ids[name])

        def create(self, deployment_id: str) -> str:
            if deployment_id != self.ids["case-process/case-process"]:
                raise ObjectNotFound(http_exc=Exception("404 Deployment not found"))
            return f"run of {deployment_id}"

    server = Server()
    assert with_deployment(server, "case-process/case-process", server.create) == "run of first"
    assert with_deployment(server, "case-process/case-process", server.create) == "run of first"
    assert server.reads == ["case-process/case-process"]
    server.ids["case-process/case-process"] = "second"  # deleted and deployed anew
    assert with_deployment(server, "case-process/case-process", server.create) == "run of second"
    assert server.reads == ["case-process/case-process"] * 2
    with pytest.raises(RuntimeError, match="refused"):
        with_deployment(server, "case-process/case-process", lambda deployment_id: (_ for _ in ()).throw(
            RuntimeError("refused")))
    assert len(server.reads) == 2  # another failure reads nothing again
