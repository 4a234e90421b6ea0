"""The real stack for end-to-end tests: ``yunque stack up`` as a user runs it, on free ports, over a
fresh ``var/`` directory (SQLite for the cases; SQLite under var/prefect for the Prefect server, or
PostgreSQL when the tests require it).

``live_stack`` (session scope) yields a ``LiveStack``: its URLs, the demo passwords, the environment
the parts run with, and ``cli(...)`` to run the ``yunque`` command against it. One stack is shared by
every test that asks for it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, test_only_year, years_without_schedule
from yunque.settings import ROOT


@dataclass
class LiveStack:
    var_dir: Path
    env: dict[str, str]
    app_url: str
    prefect_url: str
    api_url: str
    passwords: dict[str, str]
    proc: subprocess.Popen
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)
    #: seconds from the run command to READY (what the start-up benchmark measures; the calendar
    #: years this fixture loads after READY are not part of the product's start)
    ready_after_s: float | None = None

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "-m", "yunque", *args], cwd=ROOT, env=self.env, capture_output=True,
                             text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"yunque {' '.join(args)} exited {out.returncode}: {out.stderr.strip()}")
        return out

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def pid(self, part: str) -> int:
        return json.loads((self.var_dir / "run" / f"{part}.pid").read_text())["pid"]

    def use(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point this test process's services at the stack (the Prefect client: ``on_stack``)."""
        from adapters.calendar import reset_calendar
        from adapters.db import dispose_engines
        from yunque.settings import reset_settings

        for k in ("YUNQUE_VAR_DIR", "YUNQUE_DATABASE_URL", "YUNQUE_PREFECT_API_URL", "YUNQUE_PREFECT_UI_URL",
                  "YUNQUE_APP_PORT", "YUNQUE_S3_PORT", "YUNQUE_SMTP_PORT", "PREFECT_API_URL"):
            monkeypatch.setenv(k, self.env[k])
        dispose_engines()
        reset_settings()
        reset_calendar()


def start_stack(var_dir: Path, *, workers: int = 1, extra_env: dict[str, str] | None = None,
                timeout: float = 300) -> LiveStack:
    prefect_port, app_port = free_port(), free_port()
    env = dict(os.environ)
    env.pop("YUNQUE_SERVICE_RULE", None)  # the stack serves as the product does by default (actual service)
    env.update({
        "YUNQUE_VAR_DIR": str(var_dir),
        "YUNQUE_DATABASE_URL": f"sqlite:///{var_dir / 'yunque.db'}",
        "YUNQUE_PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "YUNQUE_PREFECT_UI_URL": f"http://127.0.0.1:{prefect_port}",
        "YUNQUE_APP_PORT": str(app_port),
        "YUNQUE_PUBLIC_URL": f"http://127.0.0.1:{app_port}",
        "YUNQUE_S3_PORT": str(free_port()),
        "YUNQUE_SMTP_PORT": str(free_port()),
        "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
    })
    env.update(extra_env or {})
    var_dir.mkdir(parents=True, exist_ok=True)
    log = var_dir / "stack.out"
    out = open(log, "w")  # noqa: SIM115 - the supervisor's own output, read by the fixture
    proc = subprocess.Popen([sys.executable, "-m", "yunque", "stack", "up", "--workers", str(workers)], cwd=ROOT,
                            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    out.close()
    started = time.monotonic()
    end = started + timeout
    while True:
        text = log.read_text()
        if "READY" in text:
            break
        if proc.poll() is not None or time.monotonic() > end:
            stop_stack(proc)
            raise RuntimeError(f"yunque stack up did not get ready:\n{text[-4000:]}")
        time.sleep(0.1)
    ready_after_s = time.monotonic() - started
    passwords = json.loads((var_dir / "demo-passwords.json").read_text())
    stack = LiveStack(var_dir=var_dir, env=env, app_url=f"http://127.0.0.1:{app_port}",
                      prefect_url=env["YUNQUE_PREFECT_UI_URL"], api_url=env["PREFECT_API_URL"], passwords=passwords,
                      proc=proc, log=log, ready_after_s=ready_after_s)
    # the stories run at the machine's date: TEST-ONLY schedules for this year and next where the
    # official data has none yet, loaded as an administrator would
    known = stack.cli_json("calendar", "years")["years"]
    for year in [y for y in years_without_schedule(datetime.now(UTC)) if y not in known]:
        path = var_dir / f"test-only-{year}.json"
        path.write_text(json.dumps(test_only_year(year)), encoding="utf-8")
        stack.cli("calendar", "load", str(path), "--as", "admin")
    return stack


def stop_stack(proc: subprocess.Popen, timeout: float = 90) -> None:
    """Ctrl-C, as a person stops it; the supervisor stops every part."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@contextmanager
def prefect_database() -> Iterator[dict[str, str]]:
    """The Prefect server's database for a test stack: its own PostgreSQL database when the tests
    require PostgreSQL (``YUNQUE_REQUIRE_POSTGRES``: a loaded machine made SQLite fail with "database
    is locked"), else the stack's default (SQLite under ``var/prefect``)."""
    if not os.environ.get("YUNQUE_REQUIRE_POSTGRES"):
        yield {}
        return
    import psycopg

    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    name = f"yq_prefect_e2e_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {name}")
    try:
        yield {"PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"}
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with prefect_database() as prefect_db:
        stack = start_stack(tmp_path_factory.mktemp("stack") / "var",
                            extra_env={"PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "2",
                                       **prefect_db})
        try:
            yield stack
        finally:
            stop_stack(stack.proc)


@pytest.fixture
def on_stack(live_stack: LiveStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveStack]:
    """The shared stack, with this test's services and Prefect client pointed at it."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    live_stack.use(monkeypatch)
    with temporary_settings(updates={PREFECT_API_URL: live_stack.api_url}):
        yield live_stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A browser test that failed says, in its failure's report, what each person's page showed then
    (a test names its pages in a ``people`` fixture) and what the app logged of a fault."""
    outcome = yield
    report = outcome.get_result()
    pages = getattr(item, "funcargs", {}).get("people") if report.when == "call" and report.failed else None
    if pages:
        from tests.e2e.browser_support import what_pages_show

        app = item.funcargs.get("stack")
        log = Path(app["root"]) / "streamlit.log" if isinstance(app, dict) and "root" in app else None
        report.sections.append(("what each page showed", what_pages_show(pages, log)))
