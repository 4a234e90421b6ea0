"""Scaling out: the same code with the cases on PostgreSQL, the Prefect server on PostgreSQL and two
workers for the pool (as on two machines), against the server at 127.0.0.1:5432. The case runs,
which the warm task worker usually runs itself, are left to the workers here (the task worker is
held while the cases start): the work pool is what carries them when the task worker cannot."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tests.conftest import _pg_exec, require_pg
from tests.e2e.conftest import LiveStack, start_stack, stop_stack
from tests.e2e.test_stack import answer, confirm_and_wait, wait_state

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture(scope="module")
def pg_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    require_pg()
    cases, prefect = f"yq_scale_cases_{os.getpid()}", f"yq_scale_prefect_{os.getpid()}"
    for name in (cases, prefect):
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        _pg_exec(f"CREATE DATABASE {name}")
    stack = None
    try:
        stack = start_stack(tmp_path_factory.mktemp("pg-stack") / "var", workers=2, extra_env={
            "YUNQUE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{cases}",
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{prefect}",
            "PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "2",
        })
        yield stack
    finally:
        if stack is not None:
            stop_stack(stack.proc)
        for name in (cases, prefect):
            _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _shipment(stack: LiveStack, n: int) -> str:
    import json

    from services.demo import DEMO_FILE

    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    c = demo["consignors"][0]
    path = stack.var_dir / f"pg-{n}.json"
    path.write_text(json.dumps({
        "declaration_no": f"0303{os.getpid() % 10**6:06d}{n:08d}", "direction": "export",
        "customs_office": "Capital Airport Customs", "consignor": {"name": c["name"], "uscc": c["uscc"]},
        "found_at": "2026-11-27T10:00:00+08:00",
        "lines": [ln for ln in demo["seed_lines"] if ln["brand"] in ("NIKE", "GUCCI")]}))
    return str(path)


def test_cases_on_postgresql_run_on_two_workers_against_a_prefect_server_on_postgresql(
        pg_stack: LiveStack, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    pg_stack.use(monkeypatch)
    with temporary_settings(updates={PREFECT_API_URL: pg_stack.api_url}):
        _scale(pg_stack)


def _scale(pg_stack: LiveStack) -> None:
    assert pg_stack.env["YUNQUE_DATABASE_URL"].startswith("postgresql")
    held = pg_stack.pid("tasks")
    os.kill(held, signal.SIGSTOP)  # the warm task worker takes no case run: they stay in the work pool
    try:
        opened = [pg_stack.cli_json("case", "open", _shipment(pg_stack, n), "--as", "site.wang") for n in range(1, 5)]
        cases = [confirm_and_wait(pg_stack, case["number"]) for case in opened]
        for case in cases:
            wait_state(pg_stack, case["number"], "PAUSED", timeout=240)
    finally:
        os.kill(held, signal.SIGCONT)  # the follow-ups of the answers below are its
    for case in cases:
        answer(pg_stack, case, "NIKE", "nike.agent", "not-infringing")
        answer(pg_stack, case, "GUCCI", "gucci.agent", "not-infringing")
    for case in cases:
        wait_state(pg_stack, case["number"], "COMPLETED", timeout=300)
        shown = pg_stack.cli_json("case", "show", case["number"], "--as", "ipr.li")
        assert shown["status"] == "closed" and {ln["state"] for ln in shown["lines"]} == {"released"}
    time.sleep(1)
    logs = {w: (pg_stack.var_dir / "log" / f"{w}.log").read_text() for w in ("worker-1", "worker-2")}
    for w, text in logs.items():
        assert "submitting flow run" in text, f"{w} ran nothing"
