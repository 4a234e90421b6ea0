"""Each flow run is one process: the deployments name the flow-run command, so that Prefect's process
worker starts ``python -m prefect.engine`` itself rather than a workspace supervisor that starts it
(a second process importing Prefect, for every case run and every timer), in a session of its own as
Prefect starts the supervisor (a worker killed with its process group leaves the runs it submitted)."""

from __future__ import annotations

import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import yaml
from prefect.client.schemas.objects import FlowRun
from prefect.workers.process import ProcessJobConfiguration

from yunque.settings import ROOT

COMMAND = "setsid python -m prefect.engine"


def _deployments() -> list[dict]:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text())["deployments"]


def test_every_deployment_names_the_flow_run_command() -> None:
    deployments = _deployments()
    assert deployments
    for d in deployments:
        assert d["work_pool"]["job_variables"].get("command") == COMMAND, d["name"]


def _prepared(command: str | None) -> ProcessJobConfiguration:
    config = ProcessJobConfiguration(command=command, env={})
    config.prepare_for_flow_run(FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4(), name="YQ-2026-000001"))
    return config


def test_with_the_command_the_worker_starts_the_engine_directly() -> None:
    # the worker's choice between the engine and a workspace supervisor (prefect/workers/process.py)
    assert _prepared(COMMAND)._command_configured is True
    assert _prepared(None)._command_configured is False


def test_the_stack_puts_its_own_python_first_on_the_path(tmp_path: Path) -> None:
    from yunque.settings import Settings
    from yunque.stack import stack_env

    env = stack_env(Settings(var_dir=tmp_path))
    first = Path(env["PATH"].split(":")[0])
    assert first == Path(sys.executable).parent
    assert (first / "python").exists()


def test_the_command_runs_in_a_session_of_its_own_in_the_process_the_worker_started() -> None:
    # the worker signals that pid to cancel a run: setsid must not fork a child to run Python in
    argv = shlex.split(COMMAND)
    assert argv[:2] == ["setsid", "python"]
    probe = subprocess.Popen(["setsid", sys.executable, "-c",
                              "import os; print(os.getpid(), os.getsid(0), os.getpgrp())"],
                             stdout=subprocess.PIPE, text=True)
    out, _ = probe.communicate(timeout=30)
    pid, session, group = (int(x) for x in out.split())
    assert pid == probe.pid
    assert session == pid and group == pid
