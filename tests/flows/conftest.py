"""One Prefect server for all flow tests, with the deployments of ``prefect.yaml``, a real process
worker, the task worker for background tasks, the embedded S3 server and the SMTP sink.

The Prefect server is the test harness's (SQLite), or, when the tests require PostgreSQL
(``YUNQUE_REQUIRE_POSTGRES``, as CI does), a Prefect server on its own PostgreSQL database: a loaded
machine made the SQLite one fail with "database is locked". The flows run in the worker's
subprocesses against one SQLite database built by the migrations and loaded with the demo data;
each test opens its own cases in it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from tests.support import free_port, wait_for
from yunque.settings import ROOT


@dataclass
class FlowStack:
    api_url: str
    db_url: str
    var_dir: Path
    env: dict[str, str]
    prefect_db: str  # "sqlite" (the test harness) or the PostgreSQL URL of the Prefect server
    parts: dict[str, subprocess.Popen] = field(default_factory=dict)  # the processes the tests rely on, by name


def _point(env: dict[str, str]) -> None:
    from adapters.calendar import reset_calendar
    from adapters.db import dispose_engines
    from yunque.settings import reset_settings

    os.environ.update(env)
    dispose_engines()
    reset_settings()
    reset_calendar()


@contextmanager
def prefect_server() -> Iterator[str]:
    """A Prefect server for the flow tests; yields the database it runs on (a URL)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    if not os.environ.get("YUNQUE_REQUIRE_POSTGRES"):
        with prefect_test_harness(server_startup_timeout=120):
            yield "sqlite"
        return
    import psycopg

    from yunque.stack import http_ok, stop_pid

    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    name = f"yq_prefect_flows_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    port = free_port()
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"yq-prefect-flows-{os.getpid()}"
    env = dict(os.environ, PREFECT_SERVER_DATABASE_CONNECTION_URL=url, PREFECT_HOME=str(home),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"yq-prefect-flows-{os.getpid()}.log", "ab")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        # migrations on a fresh PostgreSQL database take a minute or more on a loaded machine
        wait_for("the Prefect server on PostgreSQL", lambda: http_ok(f"{api}/health"), timeout=300, every=1.0)
        with temporary_settings(updates={PREFECT_API_URL: api}):
            yield url
    finally:
        stop_pid(server.pid, grace=10)
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def flow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlowStack]:
    from prefect.settings import PREFECT_API_URL

    root = tmp_path_factory.mktemp("flows")
    var_dir = root / "var"
    db_url = f"sqlite:///{var_dir / 'yunque.db'}"
    saved = dict(os.environ)
    procs: list[subprocess.Popen] = []
    with prefect_server() as prefect_db:
        api = PREFECT_API_URL.value()
        env = {"YUNQUE_VAR_DIR": str(var_dir), "YUNQUE_DATABASE_URL": db_url, "YUNQUE_PREFECT_API_URL": api,
               "PREFECT_API_URL": api,
               "YUNQUE_S3_PORT": str(free_port()), "YUNQUE_SMTP_PORT": str(free_port())}
        try:
            _point(env)
            from adapters.migrations import upgrade
            from services.demo import load_demo_data
            from tests.support import load_test_only_years
            from yunque.settings import get_settings
            from yunque.stack import deploy, stack_env

            upgrade(get_settings().db_url)
            now = datetime.now(UTC)
            load_demo_data(now=now)
            # cases are opened at the machine's date and their 30/50-working-day clocks reach the next
            # year: TEST-ONLY schedules for this year and next where the official data has none yet
            load_test_only_years(now)
            settings = get_settings()
            full_env = stack_env(settings) | {"PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "1"}
            log = open(var_dir / "flows.log", "ab")  # noqa: SIM115
            from adapters import mail_server, s3_server
            from yunque.stack import port_open

            procs.append(s3_server.start(settings, log=var_dir / "s3.log"))
            procs.append(subprocess.Popen(mail_server.server_argv(settings), cwd=ROOT, env=full_env, stdout=log,
                                          stderr=subprocess.STDOUT, start_new_session=True))
            wait_for("the SMTP sink", lambda: port_open(settings.smtp_port), timeout=30)
            deploy(settings)
            procs.append(subprocess.Popen([sys.executable, "-m", "prefect", "worker", "start", "--pool", settings.work_pool,
                                           "--type", "process", "--name", "flow-tests", "--limit", "4"], cwd=ROOT, env=full_env,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            procs.append(subprocess.Popen([sys.executable, "-m", "flows.tasks"], cwd=ROOT, env=full_env,
                                          stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            parts = dict(zip(("S3", "SMTP sink", "worker", "task worker"), procs, strict=True))
            os.environ.clear()
            os.environ.update(saved)  # other tests keep their own settings; flow tests use ``flow_env``
            _point({})
            yield FlowStack(api_url=api, db_url=db_url, var_dir=var_dir, env=env, prefect_db=prefect_db, parts=parts)
        finally:
            from yunque.stack import stop_pid

            for p in reversed(procs):
                stop_pid(p.pid, grace=5)
            os.environ.clear()
            os.environ.update(saved)


def diagnosis(stack: FlowStack) -> str:
    """One line on the stack's health, for a wait that timed out: the parts that exited, the flow runs
    not completed, the task runs not completed (by task and state), the events still in the outbox, the
    last errors the parts logged."""
    import re

    from prefect.client.orchestration import get_client
    from sqlmodel import select

    said = ["parts: " + (", ".join(f"{name} exited ({p.returncode})" for name, p in stack.parts.items()
                                   if p.poll() is not None) or "all running")]
    try:
        with get_client(sync_client=True) as c:
            runs = c.read_task_runs(limit=200)
            flows = c.read_flow_runs(limit=200)
        said.append("flow runs not completed: " + (", ".join(sorted(f"{r.name} {r.state.type.value}" for r in flows
                                                                  if r.state is not None and r.state.type.value
                                                                  not in ("COMPLETED", "CANCELLED"))) or "none"))
        waiting = Counter(f"{re.sub(r'-[0-9].*$', '', r.name)} {r.state.type.value}" for r in runs
                          if r.state is not None and r.state.type.value != "COMPLETED")
        said.append("task runs not completed: " + (", ".join(f"{n} {k}" for k, n in sorted(waiting.items())) or "none"))
    except Exception as e:  # noqa: BLE001 - the server itself may be what failed
        said.append(f"runs: not read ({type(e).__name__}: {e})")
    try:
        from models.tables import OutboxEvent
        from tests.support import session_scope

        with session_scope(readonly=True) as s:
            topics = Counter(e.topic for e in s.exec(select(OutboxEvent).where(OutboxEvent.dispatched_at.is_(None))))
        said.append("outbox: " + (", ".join(f"{n} {t}" for t, n in sorted(topics.items())) or "empty"))
    except Exception as e:  # noqa: BLE001
        said.append(f"outbox: not read ({type(e).__name__}: {e})")
    log = stack.var_dir / "flows.log"
    errors = [ln.strip()[:200] for ln in log.read_text(errors="replace").splitlines()
              if re.search(r"Traceback|Error|ERROR|exited|ended", ln)] if log.exists() else []
    said.append("last errors logged: " + (" | ".join(errors[-3:]) or "none"))
    said.append("task worker's threads: " + task_worker_stacks(stack))
    return "; ".join(said)


def task_worker_stacks(stack: FlowStack) -> str:
    """Where each thread of the task worker is (``kill -USR1`` makes it write them to the log): the
    innermost frames of each, the worker's own machinery left out."""
    import signal
    import time

    worker = stack.parts.get("task worker")
    log = stack.var_dir / "flows.log"
    if worker is None or worker.poll() is not None or not log.exists():
        return "not running"
    start = log.stat().st_size
    os.kill(worker.pid, signal.SIGUSR1)
    time.sleep(1.0)
    with open(log, errors="replace") as f:
        f.seek(start)
        dump = f.read()
    threads = []
    for block in dump.split("\n\n"):
        frames = [ln.strip() for ln in block.splitlines() if ln.strip().startswith("File ")]
        ours = [f.split("/")[-1] for f in frames if "site-packages" not in f and "/lib/python3" not in f]
        ours = ours or [f.split("/")[-1] for f in frames]  # most recent first
        if ours:
            threads.append(" < ".join(ours[:3]))
    return " | ".join(threads) or "no stack written"


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


