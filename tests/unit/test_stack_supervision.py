"""A part of the stack dies with its supervisor, however the supervisor dies (issue: SIGKILL of
``yunque stack up`` left the Prefect server, S3 and SMTP running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from yunque.settings import ROOT

SUPERVISOR = """
import subprocess, sys, time
from yunque.stack import die_with_parent
import os
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], preexec_fn=die_with_parent(os.getpid()))
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    from yunque.stack import _alive as alive

    return alive(pid)


def test_a_part_dies_when_its_supervisor_is_killed_with_sigkill() -> None:
    sup = subprocess.Popen([sys.executable, "-c", SUPERVISOR], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, PYTHONPATH=str(ROOT)))
    child = int(sup.stdout.readline())  # type: ignore[union-attr]
    assert _alive(child)
    assert os.getpgid(child) == child  # its own process group: a Ctrl-C reaches the supervisor only
    os.kill(sup.pid, signal.SIGKILL)
    sup.wait(10)
    end = time.monotonic() + 10
    while _alive(child) and time.monotonic() < end:
        time.sleep(0.05)
    assert not _alive(child)
