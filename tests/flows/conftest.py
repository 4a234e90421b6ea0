"""One Prefect test harness for all flow tests, with the deployments of ``prefect.yaml``, a real
process worker and (when the documents service is in the tree) the embedded S3 server.

The flows run in the worker's subprocesses against one SQLite database built by the migrations
and loaded with the demo data; each test opens its own cases in it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from yunque.settings import ROOT


@dataclass
class FlowStack:
    api_url: str
    db_url: str
    var_dir: Path
    env: dict[str, str]


def _point(env: dict[str, str]) -> None:
    from adapters.calendar import reset_calendar
    from adapters.db import dispose_engines
    from yunque.settings import reset_settings

    os.environ.update(env)
    dispose_engines()
    reset_settings()
    reset_calendar()


@pytest.fixture(scope="session")
def flow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowStack]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    root = tmp_path_factory.mktemp("flows")
    var_dir = root / "var"
    db_url = f"sqlite:///{var_dir / 'yunque.db'}"
    saved = dict(os.environ)
    procs: list[subprocess.Popen] = []
    with prefect_test_harness(server_startup_timeout=120):
        api = PREFECT_API_URL.value()
        env = {"YUNQUE_VAR_DIR": str(var_dir), "YUNQUE_DATABASE_URL": db_url, "YUNQUE_PREFECT_API_URL": api,
               "PREFECT_API_URL": api,
               "YUNQUE_S3_PORT": str(_free_port()), "YUNQUE_SMTP_PORT": str(_free_port())}
        try:
            _point(env)
            from adapters.migrations import upgrade
            from services.demo import load_demo_data
            from tests.support import load_test_only_years
            from yunque.settings import get_settings
            from yunque.stack import deploy, stack_env

            upgrade()
            now = datetime.now(UTC)
            load_demo_data(now=now)
            # cases are opened at the machine's date and their 30/50-working-day clocks reach the next
            # year: TEST-ONLY schedules for this year and next where the official data has none yet
            load_test_only_years(now)
            settings = get_settings()
            full_env = stack_env(settings) | {"PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "1"}
            log = open(var_dir / "flows.log", "ab")  # noqa: SIM115
            if (ROOT / "adapters" / "s3_server.py").exists():
                from adapters import s3_server

                procs.append(s3_server.start(settings, log=var_dir / "s3.log"))
            if (ROOT / "adapters" / "mail_server.py").exists():
                from adapters import mail_server
                from yunque.stack import port_open

                procs.append(subprocess.Popen(mail_server.server_argv(settings), cwd=ROOT, env=full_env, stdout=log,
                                              stderr=subprocess.STDOUT, start_new_session=True))
                wait_for("the SMTP sink", lambda: port_open(settings.smtp_port), timeout=30)
            deploy(settings)
            procs.append(subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", settings.work_pool,
                                           "--type", "process", "--name", "flow-tests", "--limit", "4"], cwd=ROOT, env=full_env,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            os.environ.clear()
            os.environ.update(saved)  # other tests keep their own settings; flow tests use ``flow_env``
            _point({})
            yield FlowStack(api_url=api, db_url=db_url, var_dir=var_dir, env=env)
        finally:
            from yunque.stack import stop_pid

            for p in reversed(procs):
                stop_pid(p.pid, grace=5)
            os.environ.clear()
            os.environ.update(saved)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def flow_env(flow_stack: FlowStack, monkeypatch: pytest.MonkeyPatch) -> FlowStack:
    """Point this test's services at the flow stack's database (after the autouse isolation)."""
    for k, v in flow_stack.env.items():
        monkeypatch.setenv(k, v)
    _point({})
    return flow_stack


def run_state(flow_run_id: str) -> tuple[str, str | None]:
    """(state type, pause key) of a flow run."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as c:
        st = c.read_flow_run(UUID(flow_run_id)).state
    return st.type.value, getattr(st.state_details, "pause_key", None)


def wait_for(what: str, check, timeout: float = 150.0, every: float = 0.5):  # noqa: ANN001, ANN201
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")
