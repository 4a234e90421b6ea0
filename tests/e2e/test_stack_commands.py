"""``yunque stack status | up | down``: health of each part, a second ``up``, stale pid files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LiveStack
from yunque.settings import ROOT


@pytest.mark.slow
def test_status_shows_every_part_running_and_healthy(live_stack: LiveStack) -> None:
    st = live_stack.cli_json("stack", "status")
    assert st["running"] is True
    assert set(st["parts"]) == {"prefect-server", "s3", "smtp", "worker-1", "tasks", "clock", "dispatcher", "audit-anchor", "app"}
    assert all(p["alive"] and p["healthy"] and not p["orphaned"] for p in st["parts"].values()), st["parts"]
    assert st["urls"]["prefect"] == live_stack.prefect_url


@pytest.mark.slow
def test_a_second_up_finds_the_running_stack_and_leaves_it_alone(live_stack: LiveStack) -> None:
    before = live_stack.cli_json("stack", "status")["parts"]
    out = subprocess.run([sys.executable, "-m", "yunque", "stack", "up"], cwd=ROOT, env=live_stack.env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "already running" in out.stdout
    after = live_stack.cli_json("stack", "status")["parts"]
    assert {k: v["pid"] for k, v in after.items()} == {k: v["pid"] for k, v in before.items()}


def test_stale_pid_files_after_a_crash_are_cleaned_and_strangers_are_not_touched(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from yunque.settings import get_settings, reset_settings
    from yunque.stack import _start_ticks, down, status

    monkeypatch.setenv("YUNQUE_VAR_DIR", str(tmp_path / "var"))
    reset_settings()
    run = tmp_path / "var" / "run"
    run.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (run / "stack.pid").write_text(json.dumps({"pid": dead.pid, "argv": ["x"], "ticks": 1}))
    # a live process that is not ours (the pid of a part that died was reused): the ticks differ
    (run / "worker-1.pid").write_text(json.dumps({"pid": os.getpid(), "argv": ["x"], "ticks": (_start_ticks(os.getpid()) or 0) + 1}))
    (run / "dispatcher.pid").write_text("not json")
    assert status(get_settings())["running"] is False
    assert down(get_settings()) == []
    assert not list(run.glob("*.pid"))  # cleaned, and this test process is still alive to say so
