"""The whole system on one machine, on loopback: ``yunque stack up | down | status``.

``up`` applies the migrations, loads the demo data (once), starts each part as a child process in its
own process group (Prefect server on SQLite under ``var/prefect``, the deployments of
``prefect.yaml``, the workers of the pool, the task worker for background tasks, the outbox
dispatcher, the S3 server, the SMTP sink, the Streamlit app), waits until each is healthy, prints
the URLs and the demo logins, restarts a part that dies, and stops everything on Ctrl-C (SIGINT) or
SIGTERM. Each part dies with the supervisor even when the supervisor is killed with SIGKILL (Linux
``PR_SET_PDEATHSIG``: the kernel kills it when the supervisor's main thread, which starts every part,
is gone). Pid files under ``var/run`` let ``down`` stop a stack left running; ``status`` reports a
part alive without its supervisor, or processes a part left behind in its process group (a worker's
flow-run processes), as orphaned, and ``down`` or the next ``up`` stops them.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from yunque.settings import ROOT, Settings, get_settings

STOP_GRACE_SECONDS = 10.0
#: flow runs' heartbeat; a run Running without one for ZOMBIE_AFTER_SECONDS lost its process
HEARTBEAT_SECONDS = 30
ZOMBIE_AFTER_SECONDS = 90
ZOMBIE_AUTOMATION = "yunque-zombie-runs"
#: a run a worker took (Pending) and no process started in this long lost its worker mid-submission
LOST_PENDING_AFTER_SECONDS = 300
#: the flow whose lost or unacknowledged runs matter: such a case run leaves a case with no process
#: (or a manager's Cancel unanswered); a timer's deadline is kept by the dispatcher's clock and the
#: reconciliation whatever its run does. Each event a trigger covers costs the Prefect server a write
#: transaction (Prefect opens one per covered event, bucket or not), and after an outage a thousand
#: overdue timers each turn Late and then Cancelled (bench/deadlines.py)
CASE_FLOW = "case-process"
LOST_PENDING_AUTOMATION = "yunque-lost-pending-runs"
#: a case run a person cancelled that nothing marked Cancelled in this long has no process that will
CANCEL_ACK_AFTER_SECONDS = 90
CANCEL_ACK_AUTOMATION = "yunque-unacknowledged-cancellations"


@dataclass
class Part:
    """One process of the stack."""

    name: str
    argv: list[str]
    url: str | None = None
    health: Callable[[], bool] | None = None  # None: alive is healthy
    startup_timeout: float = 120.0
    #: when it may start: 0 needs nothing, 1 the database migrated, 2 also the Prefect server answering
    #: with the deployments applied (``Supervisor.start``)
    stage: int = 0
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    last_exit: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- helpers ---------------------------------------------------------------------------------------


def run_dir(settings: Settings) -> Path:
    return settings.var_dir / "run"


def log_dir(settings: Settings) -> Path:
    return settings.var_dir / "log"


def prefect_home(settings: Settings) -> Path:
    return settings.var_dir / "prefect"


def prefect_port(settings: Settings) -> int:
    return urlparse(settings.prefect_api_url).port or 4200


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback URLs we built
            return 200 <= r.status < 300
    except Exception:  # noqa: BLE001 - not up (yet)
        return False


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as dead
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _cmdline(pid: int) -> list[str]:
    try:
        return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0") if a]
    except OSError:
        return []


def _start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks since boot): with the pid, names one process for good."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(") ", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _group_members(info: dict[str, Any]) -> list[int]:
    """Processes still in the process group of a part (its leader's pid) that started after it: what a
    part left behind (a worker's flow-run processes) when it died with its supervisor."""
    pgid, ticks = info.get("pid"), info.get("ticks")
    if not isinstance(pgid, int) or not isinstance(ticks, int):
        return []
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid and int(fields[19]) >= ticks:
            out.append(int(d.name))
    return out


def _ours(info: dict[str, Any]) -> bool:
    """The process of this pid file is the one we started (pids are reused after a crash)."""
    pid = info.get("pid")
    return isinstance(pid, int) and _alive(pid) and _start_ticks(pid) == info.get("ticks")


def stack_env(settings: Settings) -> dict[str, str]:
    """The environment every part gets: Yunque's settings and Prefect's, all under ``var/``."""
    env = dict(os.environ)
    env.update({
        "YUNQUE_ROOT": str(ROOT),
        "YUNQUE_VAR_DIR": str(settings.var_dir),
        "YUNQUE_DATABASE_URL": settings.db_url,
        "YUNQUE_PREFECT_API_URL": settings.prefect_api_url,
        "YUNQUE_PREFECT_UI_URL": settings.prefect_ui_url,
        "YUNQUE_APP_PORT": str(settings.app_port),
        "YUNQUE_S3_PORT": str(settings.s3_port),
        "YUNQUE_SMTP_PORT": str(settings.smtp_port),
        "YUNQUE_WORK_POOL": settings.work_pool,
        "PREFECT_HOME": str(prefect_home(settings)),
        "PREFECT_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_UI_API_URL": settings.prefect_api_url,
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(prefect_port(settings)),
        # offline and private: no analytics, no telemetry
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_TELEMETRY_ENABLE_RESOURCE_METRICS": "false",
        "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH", "")] if p),
        # the flow-run processes are started as `setsid python -m prefect.engine` (prefect.yaml): this Python
        "PATH": os.pathsep.join(p for p in [str(Path(sys.executable).parent), os.environ.get("PATH", "")] if p),
        "PYTHONUNBUFFERED": "1",
    })
    # a person waits on these: poll for work often (the defaults are 10 s)
    env.setdefault("PREFECT_WORKER_QUERY_SECONDS", "2")
    env.setdefault("PREFECT_WORKER_PREFETCH_SECONDS", "5")
    env.setdefault("PREFECT_RUNNER_POLL_FREQUENCY", "2")
    # flow runs send heartbeats; the ``yunque-zombie-runs`` automation crashes a run whose stop
    env.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", str(HEARTBEAT_SECONDS))
    # background tasks log to the task worker's own log (they have no flow run to log to)
    env.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    if late_runs_refuse_each_other(env):
        env.setdefault("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "false")
    return env


def late_runs_refuse_each_other(env: dict[str, str]) -> bool:
    """Whether the Prefect server keeps its runs in SQLite (its default), where its late-runs service
    harms more than it shows. The service marks each overdue run Late in a task of its own, ten at
    once; on SQLite those writes refuse each other ("database is locked"). After an outage through a
    thousand deadlines (``bench/deadlines.py``) the server refused 763 of them in one restart and 5,505
    in three minutes in another, and the deployments waited 140 s behind them: the overdue goods were
    released 186.6 s after the restart instead of 32.1 s. A Late run is a Scheduled run with another
    name: the process worker takes it all the same, and the warm clock keeps the deadlines whatever
    the timer runs do. So on SQLite an overdue run keeps the name Scheduled, its time in the past; on
    PostgreSQL the service runs, and Late marks them."""
    return not env.get("PREFECT_SERVER_DATABASE_CONNECTION_URL", "").startswith("postgresql")


def prefect_cli(settings: Settings, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "prefect", "--no-prompt", *args], cwd=ROOT, env=stack_env(settings),
                          capture_output=True, text=True, timeout=timeout, check=check)


#: Times ``deploy`` asks a busy Prefect server again: on SQLite, just after an outage, it answers 503
#: for a while ("database is locked") as it marks the runs that were due meanwhile Late.
DEPLOY_ATTEMPTS = 4
#: Seconds before the next attempt, growing with each.
DEPLOY_RETRY_S = 5.0
#: What a failure that another attempt may cure says: the server erred or could not be reached.
TRANSIENT = re.compile(r"Server error '5\d\d|Service Unavailable|database is locked|ConnectError|ConnectTimeout|"
                       r"ReadTimeout|RemoteProtocolError")


def deploy(settings: Settings) -> list[str]:
    """Create the work pool (process type) if missing, then every deployment of ``prefect.yaml``, and
    the automations beside them. Both are idempotent, so a transient server error is met with another
    attempt (``DEPLOY_ATTEMPTS``); any other failure is reported at once."""
    pool = prefect_cli(settings, "work-pool", "inspect", settings.work_pool, check=False)
    if pool.returncode != 0:
        prefect_cli(settings, "work-pool", "create", settings.work_pool, "--type", "process")
    args = ["deploy", "--all"]
    if settings.work_pool != "yunque-pool":
        args += ["--pool", settings.work_pool]
    automation = ensure_automations(settings)  # side by side with the deployments
    out = _again_while_transient(lambda: prefect_cli(settings, *args, check=False))
    if out.returncode != 0:
        automation.kill()
        raise RuntimeError(f"prefect deploy failed ({out.returncode}): {out.stdout[-2000:]} {out.stderr[-2000:]}")
    made = _again_while_transient(lambda: _finished(ensure_automations(settings)), first=automation)
    if made.returncode != 0:
        raise RuntimeError(f"creating the automations {ZOMBIE_AUTOMATION}, {LOST_PENDING_AUTOMATION} and "
                           f"{CANCEL_ACK_AUTOMATION} failed: {made.stderr[-2000:]}")
    return [ln.strip() for ln in out.stdout.splitlines() if "Deployment '" in ln]


def _finished(proc: subprocess.Popen) -> subprocess.CompletedProcess:
    _, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err)


def _again_while_transient(attempt: Callable[[], subprocess.CompletedProcess], *,
                           first: subprocess.Popen | None = None) -> subprocess.CompletedProcess:
    """``attempt()`` until it succeeds, fails for a reason that is not transient, or has been made
    ``DEPLOY_ATTEMPTS`` times; the last result. ``first``: an attempt already under way."""
    done = _finished(first) if first is not None else attempt()
    for n in range(1, DEPLOY_ATTEMPTS):
        if done.returncode == 0 or not TRANSIENT.search(f"{done.stdout}\n{done.stderr}"):
            break
        time.sleep(DEPLOY_RETRY_S * n)
        done = attempt()
    return done


def ensure_automations(settings: Settings) -> subprocess.Popen:
    """Prefect's documented zombie detection, in two automations that mark a flow run Crashed (the
    dispatcher and the reconciliation then give the case a fresh run), and a third for cancellations:

    - ``yunque-zombie-runs``: a run whose heartbeats stop without it reaching another state (its
      process was killed). Entering Running arms it as a heartbeat does: a process killed before its
      first heartbeat reached the server (the server itself records the Running state) is caught too.
      A suspended case run sends no heartbeats, so Paused (Suspended) counts as a state reached.
    - ``yunque-lost-pending-runs``: a run a worker took (Pending) that no process ever started (the
      worker, or its machine, died while submitting it): no heartbeat would ever come. A start takes
      seconds, so the window is generous. Only case runs (``CASE_FLOW``): the dispatcher gives
      such a case a fresh run, while a timer's deadline is kept by its clock whatever the timer does.
    - ``yunque-unacknowledged-cancellations``: a case run a person cancelled while it ran (Cancelling)
      that nothing marked Cancelled: a process worker stops only the runs it started and has not, and
      the server refuses any state but Cancelled after Cancelling (the zombie automation's Crashed among
      them), so such a run would stay Cancelling for good. A warm case run is acknowledged by the task
      worker as soon as its step ends (``flows.case.run_warm``); this one marks Cancelled what is left
      (a run in a process of its own, which goes on to the end of its step, or a task worker that died).
      It waits for Cancelled alone (the one state the server accepts next) and watches case runs only
      (``CASE_FLOW``): every timer an answered notice makes pointless is Cancelled, and each such event
      it covered would cost the server a write. A timer run cancelled while it runs (for seconds) stays
      Cancelling in the Prefect UI; nothing waits on it.

    An automation of any of these names from an earlier version is brought up to date."""
    script = f"""
from datetime import timedelta
from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
LATER = {{"prefect.flow-run.Completed", "prefect.flow-run.Failed", "prefect.flow-run.Cancelled",
          "prefect.flow-run.Crashed", "prefect.flow-run.Paused", "prefect.flow-run.Suspended"}}
def trigger(after, expect, seconds, flow=None):
    related = ResourceSpecification({{"prefect.resource.role": "flow", "prefect.resource.name": flow}}) if flow else []
    return EventTrigger(after=after, expect=expect,
                        match=ResourceSpecification({{"prefect.resource.id": ["prefect.flow-run.*"]}}),
                        match_related=related, for_each={{"prefect.resource.id"}}, posture=Posture.Proactive,
                        threshold=1, within=timedelta(seconds=seconds))
def ensure(name, description, trigger, message, state=StateType.CRASHED):
    actions = [ChangeFlowRunState(state=state, message=message)]
    try:
        known = Automation.read(name=name)
    except ValueError:
        Automation(name=name, description=description, trigger=trigger, actions=actions).create()
    else:
        if known.trigger != trigger or known.actions != actions or not known.enabled:
            known.trigger, known.actions, known.description, known.enabled = trigger, actions, description, True
            known.update()
ensure({ZOMBIE_AUTOMATION!r}, "A flow run whose heartbeats stop has lost its process: mark it Crashed.",
       trigger({{"prefect.flow-run.heartbeat", "prefect.flow-run.Running"}}, LATER | {{"prefect.flow-run.heartbeat"}},
               {ZOMBIE_AFTER_SECONDS}),
       "no heartbeat for {ZOMBIE_AFTER_SECONDS} s: its process is gone")
ensure({LOST_PENDING_AUTOMATION!r}, "A case run a worker took that no process started: mark it Crashed.",
       trigger({{"prefect.flow-run.Pending"}}, LATER | {{"prefect.flow-run.Running", "prefect.flow-run.Scheduled",
                                                        "prefect.flow-run.Late", "prefect.flow-run.Cancelling"}},
               {LOST_PENDING_AFTER_SECONDS}, {CASE_FLOW!r}),
       "Pending for {LOST_PENDING_AFTER_SECONDS} s and never started: its worker is gone")
ensure({CANCEL_ACK_AUTOMATION!r}, "A run a person cancelled that nothing marked Cancelled: mark it Cancelled.",
       trigger({{"prefect.flow-run.Cancelling"}}, {{"prefect.flow-run.Cancelled"}}, {CANCEL_ACK_AFTER_SECONDS},
               {CASE_FLOW!r}),
       "Cancelled by a person; no process reported stopping it within {CANCEL_ACK_AFTER_SECONDS} s",
       StateType.CANCELLED)
"""
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=stack_env(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


#: Linux prctl option: the signal a process gets when its parent dies
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A ``preexec_fn`` for a part: start a new session (its own process group, so a Ctrl-C in the
    terminal reaches only the supervisor) and get SIGKILL when the supervisor dies, however it dies.
    The parent's pid is checked after the prctl: had it died in between, the signal would never come."""
    def preexec() -> None:
        os.setsid()
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent_pid:
            os._exit(1)

    return preexec


# --- the parts -------------------------------------------------------------------------------------


#: how much lower the workers (and the flow-run processes they start) run than the other parts
WORKER_NICENESS = 10
#: flow-run processes a worker runs at once. Each start takes seconds of CPU, and what a worker starts is
#: the fallback: case runs go to the warm task worker, deadlines to the warm clock. After an outage a
#: thousand timers are due together, and each the worker starts only finds its notice released by the
#: clock (which cancels the rest once it has released them); with 4 at once those processes took 44-54
#: CPU-seconds of a 2-core machine during the release, with 1 13-17 (three restarts each from one
#: snapshot, 1,008 notices: released 74, 87, 77 s after the restart command with 4; 59, 59, 53 s with 1)
WORKER_RUNS_AT_ONCE = 1
#: seconds between the dispatcher's looks at an empty outbox (a query on one index)
DISPATCH_INTERVAL_S = 0.25


def plan(settings: Settings, *, workers: int = 1, with_server: bool = True) -> list[Part]:
    """The parts of the stack, in start order."""
    from adapters import mail_server, s3_server

    py = sys.executable
    api = settings.prefect_api_url.rstrip("/")
    parts: list[Part] = []
    if with_server:  # Prefect's server; on SQLite its writes take the lock first (adapters/prefect_server.py)
        parts.append(Part("prefect-server", [py, "-m", "adapters.prefect_server", "--host", "127.0.0.1",
                                             "--port", str(prefect_port(settings))],
                          url=settings.prefect_ui_url, health=lambda: http_ok(f"{api}/health"),
                          startup_timeout=300.0))  # its migrations take minutes on a loaded machine
    parts.append(Part("s3", list(s3_server.server_argv(settings)), url=f"http://127.0.0.1:{settings.s3_port}",
                      health=lambda: _s3_healthy(settings)))
    parts.append(Part("smtp", list(mail_server.server_argv(settings)), url=f"smtp://127.0.0.1:{settings.smtp_port}",
                      health=lambda: port_open(settings.smtp_port)))
    # the workers' flow-run processes (the case runs' bookkeeping, the durable timers) start at a
    # lower CPU priority: starting one takes seconds of CPU, and it must not take them from what a
    # person waits on (the task worker's follow-ups, the app, the Prefect server)
    for i in range(1, workers + 1):
        parts.append(Part(f"worker-{i}", ["nice", "-n", str(WORKER_NICENESS), py, "-m", "prefect", "worker", "start",
                                          "--pool", settings.work_pool, "--type", "process",
                                          "--limit", str(WORKER_RUNS_AT_ONCE),
                                          "--name", f"{socket.gethostname()}-yunque-{i}"], stage=2))
    # background tasks in two warm processes: follow-ups and timers; deadline releases and reconciliation
    parts.append(Part("tasks", [py, "-m", "flows.tasks", "--serve", "follow-ups"], stage=2))
    parts.append(Part("clock", [py, "-m", "flows.tasks", "--serve", "clock"], stage=2))
    parts.append(Part("dispatcher", [py, "-m", "flows.dispatch", "--interval", str(DISPATCH_INTERVAL_S)], stage=2))
    parts.append(Part("audit-anchor", [py, "-m", "flows.checkpoint", "--interval", "30"], stage=1))  # signed chain heads
    # ui/server.py adds the HttpOnly session-cookie routes to the app (ui/app.py); run from the
    # repository root so .streamlit/config.toml applies
    parts.append(Part("app", [py, "-m", "streamlit", "run", str(ROOT / "ui" / "server.py"), "--server.address", "127.0.0.1",
                              "--server.port", str(settings.app_port), "--server.headless", "true",
                              "--browser.gatherUsageStats", "false"],
                      url=f"http://127.0.0.1:{settings.app_port}",
                      health=lambda: http_ok(f"http://127.0.0.1:{settings.app_port}/_stcore/health"), stage=1))
    return parts


def _s3_healthy(settings: Settings) -> bool:
    from adapters import s3_server

    try:
        s3_server.wait_healthy(settings, 1.0)
        return True
    except Exception:  # noqa: BLE001 - not up yet
        return False


# --- pid files -------------------------------------------------------------------------------------


def _pidfile(settings: Settings, name: str) -> Path:
    return run_dir(settings) / f"{name}.pid"


def _write_pid(settings: Settings, name: str, pid: int, argv: list[str]) -> None:
    path = _pidfile(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"pid": pid, "argv": argv, "ticks": _start_ticks(pid), "started": time.time()}))
    os.replace(tmp, path)


def _read_pids(settings: Settings) -> dict[str, dict[str, Any]]:
    out = {}
    d = run_dir(settings)
    if d.exists():
        for p in sorted(d.glob("*.pid")):
            try:
                out[p.stem] = json.loads(p.read_text())
            except (OSError, ValueError):
                p.unlink(missing_ok=True)
    return out


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_pid(pid: int, *, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group, again after a while (a worker wants two), then SIGKILL."""
    _kill_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    second = time.monotonic() + min(3.0, grace / 2)
    while time.monotonic() < deadline:
        if not _alive(pid):
            _kill_group(pid, signal.SIGKILL)  # leftovers of the group
            return
        if second and time.monotonic() >= second:
            _kill_group(pid, signal.SIGTERM)
            second = 0.0
        time.sleep(0.1)
    _kill_group(pid, signal.SIGKILL)


def down(settings: Settings | None = None) -> list[str]:
    """Stop a stack left running (its supervisor first, then any part still alive)."""
    settings = settings or get_settings()
    stopped = []
    pids = _read_pids(settings)
    sup = pids.pop("stack", None)
    if sup and _ours(sup):
        os.kill(sup["pid"], signal.SIGTERM)
        end = time.monotonic() + STOP_GRACE_SECONDS * 3
        while _alive(sup["pid"]) and time.monotonic() < end:
            time.sleep(0.2)
        if _alive(sup["pid"]):
            os.kill(sup["pid"], signal.SIGKILL)
        stopped.append("stack")
    for name, info in _read_pids(settings).items():
        if name == "stack":
            continue
        if _ours(info):
            stop_pid(info["pid"])
            stopped.append(name)
        elif _group_members(info):
            _kill_group(info["pid"], signal.SIGKILL)  # what a part left behind when it died
            stopped.append(f"{name} (left behind)")
    for p in run_dir(settings).glob("*.pid") if run_dir(settings).exists() else []:
        p.unlink(missing_ok=True)
    return stopped


def status(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    pids = _read_pids(settings)
    sup = pids.pop("stack", None)
    running = bool(sup and _ours(sup))
    health = {p.name: p for p in plan(settings, workers=0)}
    parts = {}
    for name, info in pids.items():
        alive = _ours(info)
        left = [] if alive else _group_members(info)
        part = health.get(name)
        healthy = alive and (part.health() if part and part.health else True)
        # alive without a supervisor: nobody restarts or stops it; ``yunque stack down`` or ``up`` does
        parts[name] = {"pid": info["pid"], "alive": alive, "healthy": healthy, "url": part.url if part else None,
                       "orphaned": (alive or bool(left)) and not running, "left_behind": left}
    return {"running": running, "supervisor_pid": sup["pid"] if sup else None, "parts": parts,
            "urls": urls(settings)}


def urls(settings: Settings) -> dict[str, str]:
    return {"prefect": settings.prefect_ui_url, "app": f"http://127.0.0.1:{settings.app_port}",
            "s3": f"http://127.0.0.1:{settings.s3_port}",
            "smtp": f"smtp://127.0.0.1:{settings.smtp_port} (messages in {settings.var_dir / 'mail'})"}


# --- the supervisor --------------------------------------------------------------------------------


class Supervisor:
    """Starts the parts, keeps them running, stops them all on a signal."""

    def __init__(self, settings: Settings, *, workers: int = 1, with_server: bool = True,
                 say: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.parts = plan(settings, workers=workers, with_server=with_server)
        self.say = say
        self.stopping = False
        self.env = stack_env(settings)

    def _start(self, part: Part) -> None:
        log_dir(self.settings).mkdir(parents=True, exist_ok=True)
        log = open(log_dir(self.settings) / f"{part.name}.log", "ab")  # noqa: SIM115 - owned by the child
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(part.argv)}\n".encode())
        log.flush()
        part.proc = subprocess.Popen(part.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=die_with_parent(os.getpid()))
        log.close()
        part.started_at = time.monotonic()
        _write_pid(self.settings, part.name, part.proc.pid, part.argv)

    def _wait_healthy(self, part: Part) -> None:
        end = time.monotonic() + part.startup_timeout
        while time.monotonic() < end:
            if part.proc is not None and part.proc.poll() is not None:
                raise RuntimeError(f"{part.name} exited with {part.proc.returncode}; see "
                                   f"{log_dir(self.settings) / (part.name + '.log')}")
            if part.health is None or part.health():
                return
            time.sleep(0.25)
        raise RuntimeError(f"{part.name} not healthy after {part.startup_timeout:.0f} s; see "
                           f"{log_dir(self.settings) / (part.name + '.log')}")

    def prepare(self) -> dict[str, Any]:
        """Migrations and the demo data (created once; a second run only reads them back)."""
        from adapters.migrations import upgrade
        from services.demo import load_demo_data

        head = upgrade(get_settings().db_url)
        demo = load_demo_data()
        return {"revision": head, "demo": demo}

    def start(self, prepare: Callable[[], Any] = lambda: None) -> Any:
        """Start the parts, overlapping their start-ups: those that need nothing (the Prefect server, S3,
        mail) at once, then ``prepare()`` (the migrations and the demo data) while they boot, then those
        that need the database (the app, the audit anchor); once the Prefect server answers and the
        deployments are applied, those that talk to it (workers, task worker, dispatcher). Returns what
        ``prepare`` returned."""
        stage = {n: [p for p in self.parts if p.stage == n] for n in (0, 1, 2)}
        self._launch(stage[0])
        prepared = prepare()
        self._launch(stage[1])
        self._wait(stage[0])
        self._launch(stage[2])
        self._wait(stage[1] + stage[2])
        return prepared

    def _launch(self, parts: list[Part]) -> None:
        for part in parts:
            self._start(part)

    def _wait(self, parts: list[Part]) -> None:
        for part in parts:
            self._wait_healthy(part)
            self.say(f"  {part.name:15} up (pid {part.proc.pid})")  # type: ignore[union-attr]
            self._after_healthy(part)

    def _after_healthy(self, part: Part) -> None:
        if part.name == "s3":
            from adapters import s3_server

            s3_server.ensure_bucket(self.settings)
            from services.recognition import load_demo_marks  # 以图识图: the demo marks, stored once

            self.say(f"  {'demo marks':15} {len(load_demo_marks())} recordation images")
        if part.name == "prefect-server":
            names = deploy(self.settings)
            self.say(f"  {'deployments':15} {len(names)} from prefect.yaml on pool {self.settings.work_pool}")

    def watch_once(self) -> None:
        """Restart a part that died (a crash, a kill -9); its pid file follows."""
        for part in self.parts:
            if self.stopping or part.proc is None or part.proc.poll() is None:
                continue
            part.last_exit = part.proc.returncode
            part.restarts += 1
            self.say(f"  {part.name} exited ({part.last_exit}); restarting")
            _kill_group(part.proc.pid, signal.SIGKILL)  # what is left of its group
            time.sleep(min(5.0, 0.5 * part.restarts))
            self._start(part)

    def stop(self) -> None:
        self.stopping = True
        for part in reversed(self.parts):
            if part.proc is not None:
                stop_pid(part.proc.pid)
                part.proc.wait(timeout=5)
            _pidfile(self.settings, part.name).unlink(missing_ok=True)
        _pidfile(self.settings, "stack").unlink(missing_ok=True)


def up(*, settings: Settings | None = None, workers: int = 1, with_server: bool = True,
       say: Callable[[str], None] = print) -> int:
    """Run the stack in the foreground until Ctrl-C or SIGTERM. Returns the exit status."""
    settings = settings or get_settings()
    pids = _read_pids(settings)
    sup = pids.get("stack")
    if sup and _ours(sup):
        say(f"a Yunque stack is already running (pid {sup['pid']}): `yunque stack status`, `yunque stack down`")
        for name, url in urls(settings).items():
            say(f"  {name:8} {url}")
        return 0
    leftovers = down(settings)  # a crashed stack's parts, and its stale pid files
    if leftovers:
        say(f"stopped what a previous stack left running: {', '.join(leftovers)}")
    _write_pid(settings, "stack", os.getpid(), _cmdline(os.getpid()) or [sys.executable])

    stop_requested = {"signal": 0}

    def _on_signal(signum: int, _frame: Any) -> None:
        stop_requested["signal"] = signum
        raise KeyboardInterrupt

    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    sv = Supervisor(settings, workers=workers, with_server=with_server, say=say)
    try:
        say("Yunque: starting (and preparing the database meanwhile)")

        def prepare() -> dict[str, Any]:
            ready = sv.prepare()
            say(f"  database at revision {ready['revision']} ({settings.db_url})")
            return ready

        ready = sv.start(prepare)
        say("\nYunque is running:")
        for name, url in urls(settings).items():
            say(f"  {name:8} {url}")
        say("\nDemo logins (user, role, password):")
        for u in ready["demo"]["users"]:
            say(f"  {u['username']:16} {u['role']:14} {u['password']}")
        say("\nStop with Ctrl-C (or `yunque stack down`).")
        say("READY")
        while True:
            sv.watch_once()
            time.sleep(1.0)
    except KeyboardInterrupt:
        say("\nYunque: stopping")
        return 0
    except Exception as e:  # noqa: BLE001 - a part failed to start: say why, stop the rest
        say(f"Yunque: {e}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        sv.stop()
        for s, h in old.items():
            signal.signal(s, h)
        say("Yunque: stopped")
