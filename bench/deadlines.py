"""6. Many answer deadlines passing at once, on the real stack, and the same through an outage.

A notice's deadline is 24:00 Asia/Shanghai of the third working day after service, so the stack runs
on a shifted clock (libfaketime, ``FAKETIME=+<seconds>`` for every part, Debian ``libfaketime``):
the cases are opened with their notices served late on a working day X (batch A) and just after
midnight of X+1 (batch B, one working day later), the case runs serve them and set their durable
timers, then the stack is stopped and the clock moved on:

* ``deadline_all_released_s``: the stack started with the clock a little before batch A's deadline;
  from the deadline until every line of batch A is released (the timers, and the reconciliation for
  any they missed);
* ``deadline_after_outage_s``: everything stopped through batch B's deadline, started again with the
  clock past it; from the run command until every line of batch B is released.

Nobody answers any notice: every line must end released by the deadline rule (Reg 16, Meas 25)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.stack import FAST_WORKER, cpu_by_part, open_cases, pointing_back, use, wait_for
from tests.e2e.conftest import LiveStack, free_port, start_stack, stop_stack
from yunque.stack import port_open

FAKETIME_LIB = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
#: a ``sitecustomize`` for the shifted processes (see its docstring)
SHIM = Path(__file__).resolve().parent / "shifted_clock"


def _service_days(after: date) -> tuple[date, date]:
    """A working day X after ``after`` whose next day is one too (so batch B's deadline is a day later).
    Asked before any stack (or database) exists: the years the package knows are enough for days soon."""
    from adapters.calendar import build_calendar
    from models.rules.workdays import answer_deadline, end_of_day

    cal = build_calendar()
    x = after
    for _ in range(60):
        x += timedelta(days=1)
        a = answer_deadline(datetime(x.year, x.month, x.day, 15, 50, tzinfo=UTC), cal)  # 23:50 of X, Shanghai
        b = answer_deadline(datetime(x.year, x.month, x.day, 16, 10, tzinfo=UTC), cal)  # 00:10 of X+1, Shanghai
        if end_of_day(b) > end_of_day(a):
            return x, x + timedelta(days=1)
    raise RuntimeError("no two working days in a row in the next 60 days of the calendar")


class ShiftedStack:
    """The stack over one ``var/``, started and stopped with the clock ``offset`` seconds ahead.

    The embedded S3 server (rclone, a Go program) reads the clock without the C library, so it cannot
    be shifted, and it refuses requests signed more than 15 minutes away from its own time: on the
    shifted clock the evidence and documents go to an S3 server in Python (moto's) started beside the
    stack on the same shifted clock (``YUNQUE_S3_ENDPOINT_URL``), and stopped with it."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.offset = 0.0
        self.stack: LiveStack | None = None
        self.s3: subprocess.Popen | None = None
        self.s3_port = free_port()

    def _start_s3(self, env: dict[str, str]) -> None:
        full = dict(os.environ)
        full.update(env)
        log = open(self.var_dir.parent / "moto.log", "ab")  # noqa: SIM115 - owned by the child
        self.s3 = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.s3_port)],
                                   env=full, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
        log.close()
        wait_for("the S3 server", lambda: port_open(self.s3_port), timeout=60, every=0.2)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset)

    def start(self, fake_now: datetime) -> float:
        """Start with the stack's clock reading ``fake_now`` at this moment; the seconds it took."""
        self.offset = round((fake_now - datetime.now(UTC)).total_seconds())
        env = dict(FAST_WORKER)
        env.update({"LD_PRELOAD": str(FAKETIME_LIB), "FAKETIME": f"{self.offset:+d}", "FAKETIME_DONT_RESET": "1",
                    "PYTHONPATH": str(SHIM)})
        t0 = time.perf_counter()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self._start_s3(env)
        env["YUNQUE_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{self.s3_port}"
        if self.stack is None:
            self.stack = start_stack(self.var_dir, extra_env=env, timeout=600)
        else:  # the same ports and var/: a restart of the same installation
            self.stack = _restart(self.stack, env)
        use(self.stack)
        return time.perf_counter() - t0

    def stop(self) -> None:
        if self.stack is not None:
            stop_stack(self.stack.proc)
        if self.s3 is not None and self.s3.poll() is None:
            os.killpg(self.s3.pid, signal.SIGTERM)
            self.s3.wait(30)


def _restart(old: LiveStack, env: dict[str, str]) -> LiveStack:
    from yunque.settings import ROOT

    full = dict(old.env)
    full.update(env)
    log = old.var_dir / "stack.out"
    out = open(log, "w")  # noqa: SIM115 - the supervisor's output, read below
    proc = subprocess.Popen([sys.executable, "-m", "yunque", "stack", "up"], cwd=ROOT, env=full, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    out.close()
    wait_for("the restarted stack", lambda: "READY" in log.read_text() or proc.poll() is not None, timeout=600,
             every=0.2)
    if proc.poll() is not None:
        raise RuntimeError(f"yunque stack up exited {proc.returncode}: {log.read_text()[-3000:]}")
    return LiveStack(var_dir=old.var_dir, env=full, app_url=old.app_url, prefect_url=old.prefect_url,
                     api_url=old.api_url, passwords=old.passwords, proc=proc, log=log)


def _prefect(api_url: str):  # noqa: ANN202 - a context manager
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings(updates={PREFECT_API_URL: api_url})


def _unreleased(numbers: list[str]) -> int:
    from sqlmodel import col, func, select

    from models.tables import Case, Line
    from yunque.bootstrap import bootstrap

    with bootstrap().transaction(readonly=True) as s:
        return s.exec(select(func.count()).select_from(Line).join(Case, Case.id == Line.case_id)
                      .where(col(Case.number).in_(numbers), Line.state != "released")).one()


def _timers_set(numbers: list[str]) -> bool:
    """Every case's run has served its notices (and so set their deadline timers)."""
    from services.process import case_progress

    return all(p.notices and all(n.sent for n in p.notices) for p in (case_progress(case_number=c) for c in numbers))


def measure(notices: int) -> dict[str, Any]:
    n_cases = -(-notices // 9)  # the seed shipment has 9 notices
    tmp = Path(tempfile.mkdtemp(prefix="yq-bench-deadlines-"))
    shifted = ShiftedStack(tmp / "var")
    try:
        x, _ = _service_days(datetime.now(UTC).date())
        served_a = datetime(x.year, x.month, x.day, 15, 50, tzinfo=UTC)  # 23:50 Shanghai of X
        served_b = served_a + timedelta(minutes=20)  # 00:10 Shanghai of X+1
        shifted.start(served_b + timedelta(minutes=1))
        with _prefect(shifted.stack.api_url):  # type: ignore[union-attr]
            a = open_cases(n_cases, tag="61", now=served_a)
            b = open_cases(n_cases, tag="62", now=served_b)
        deadline_a = max(n.deadline_at for c in a for n in c.notices)
        deadline_b = max(n.deadline_at for c in b for n in c.notices)
        assert deadline_a < deadline_b, (deadline_a, deadline_b)
        numbers_a, numbers_b = [c.number for c in a], [c.number for c in b]
        wait_for(f"{2 * n_cases} case runs to serve their notices", lambda: _timers_set(numbers_a + numbers_b),
                 timeout=7200, every=2.0)
        shifted.stop()
        print(f"   {sum(len(c.notices) for c in a + b)} notices served and timed; deadlines {deadline_a} and "
              f"{deadline_b}", flush=True)

        # A: the stack up a little before the deadline; from the deadline to every line released
        started = shifted.start(deadline_a - timedelta(seconds=90))
        with _prefect(shifted.stack.api_url):  # type: ignore[union-attr]
            wait_for("batch A's deadline", lambda: shifted.now() >= deadline_a, timeout=600, every=0.2)
            wait_for(f"the lines of {n_cases} cases to be released at their deadline",
                     lambda: _unreleased(numbers_a) == 0, timeout=3600, every=0.5)
            released_a = (shifted.now() - deadline_a).total_seconds()
            cpu_a = cpu_by_part(shifted.stack.proc.pid)  # type: ignore[union-attr]
            if not _unreleased(numbers_b):  # batch B's deadline is a working day later: its lines must wait
                raise AssertionError("batch B released before its deadline")
        shifted.stop()
        print(f"   batch A released {released_a:.1f} s after its deadline (stack start {started:.0f} s); CPU seconds "
              f"by part since the start: {cpu_a}", flush=True)

        # B: everything stopped through the deadline; from the run command to every line released
        t0 = time.perf_counter()
        up = shifted.start(deadline_b + timedelta(minutes=2))
        with _prefect(shifted.stack.api_url):  # type: ignore[union-attr]
            wait_for(f"the lines of {n_cases} cases to be released after the outage",
                     lambda: _unreleased(numbers_b) == 0, timeout=3600, every=0.5)
        released_b = time.perf_counter() - t0
        cpu_b = cpu_by_part(shifted.stack.proc.pid)  # type: ignore[union-attr]
        print(f"   batch B released {released_b:.1f} s after the restart command (every part up after {up:.0f} s); "
              f"CPU seconds by part since the restart: {cpu_b}", flush=True)
        return {"deadline_notices": sum(len(c.notices) for c in a), "deadline_all_released_s": round(released_a, 1),
                "deadline_after_outage_s": round(released_b, 1),
                "deadline_cpu_s": {"all_released": cpu_a, "after_outage": cpu_b, "outage_parts_up_s": round(up, 1)}}
    finally:
        shifted.stop()
        if os.environ.get("YUNQUE_BENCH_KEEP"):  # the stack's logs, to read where the time went
            print(f"   kept {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(results: dict, quick: bool = False) -> None:
    if not FAKETIME_LIB.exists():
        raise RuntimeError(f"{FAKETIME_LIB} is missing: install Debian's libfaketime (scripts/setup.sh)")
    with pointing_back():  # ``ShiftedStack.start`` points this process at the stack it starts
        results.update(measure(100 if quick else 1000))


if __name__ == "__main__":
    import json

    out: dict = {}
    run(out, quick=True)
    print(json.dumps(out, indent=2))
