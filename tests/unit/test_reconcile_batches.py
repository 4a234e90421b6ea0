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
        return [SimpleNamespace(name=n) for n in asked if n in self.names]


def test_only_the_timers_the_server_has_no_run_for_are_created(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.common import unscheduled

    specs = [SimpleNamespace(name=f"YQ-2026-{i:06d}-notice-{i}-deadline") for i in range(450)]
    client = Timers({s.name for s in specs[::3]})  # a third exist (or existed and were cancelled)
    monkeypatch.setattr("prefect.client.orchestration.get_client", lambda sync_client: client)
    missing = unscheduled(specs)
    assert missing == [s for i, s in enumerate(specs) if i % 3]
    assert client.asked == [200, 200, 50]
    assert unscheduled([]) == []
