"""The real stack for the benchmarks: ``yunque stack up`` on free ports over a temporary ``var/``
(``start_stack`` is the end-to-end tests' own), with this process's services and Prefect client
pointed at it, and the waits the suites share."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.common import _reset, environment_kept
from tests.e2e.conftest import LiveStack, start_stack, stop_stack

#: the worker polls for work every second (the stack's default is 2 s), as in the end-to-end tests
#: every bench stack: workers that poll often, and notices served on issue (``bench/__init__.py``)
FAST_WORKER = {"PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "2",
               "YUNQUE_SERVICE_RULE": "issue"}
STACK_KEYS = ("YUNQUE_VAR_DIR", "YUNQUE_DATABASE_URL", "YUNQUE_PREFECT_API_URL", "YUNQUE_PREFECT_UI_URL",
              "YUNQUE_APP_PORT", "YUNQUE_S3_PORT", "YUNQUE_SMTP_PORT", "YUNQUE_PUBLIC_URL", "YUNQUE_S3_ENDPOINT_URL",
              "PREFECT_API_URL")


def use(stack: LiveStack) -> None:
    """Point this process's services and Prefect client at ``stack``."""
    for k in STACK_KEYS:
        if k in stack.env:
            os.environ[k] = stack.env[k]
    _reset()


def pointing_back() -> AbstractContextManager[None]:
    """Inside, ``use`` may point this process at a stack; after, its environment's stack keys are as
    they were (an S3 endpoint left by the deadlines suite made the next suites' S3 servers "not healthy")."""
    return environment_kept(*STACK_KEYS)


@contextmanager
def running_stack(*, workers: int = 1, extra_env: dict[str, str] | None = None, keep: bool = False,
                  prefix: str = "yq-bench-stack-") -> Iterator[LiveStack]:
    """A fresh stack for the duration, this process pointed at it; stopped (Ctrl-C) and removed after."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    env = dict(FAST_WORKER)
    env.update(extra_env or {})
    with pointing_back():
        stack = start_stack(tmp / "var", workers=workers, extra_env=env, timeout=900)  # a loaded machine is slow
        try:
            use(stack)
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: stack.api_url}):
                yield stack
        finally:
            _drain_prefect_services()
            stop_stack(stack.proc)
            if not keep:
                shutil.rmtree(tmp, ignore_errors=True)


def _drain_prefect_services() -> None:
    """Send what this process's Prefect client still holds (events, logs) to the stack while it runs,
    and stop its senders: left running, they retry the stopped server every few seconds for the rest of
    the bench, logging an error each time and taking CPU from the suites that follow."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=10)
    APILogWorker.drain_all(timeout=10)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 300.0, every: float = 0.2) -> Any:
    """``check()`` until it is truthy; a part restarting (an exception) counts as not yet."""
    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        try:
            last = check()
        except Exception as e:  # noqa: BLE001
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def cpu_by_part(root_pid: int) -> dict[str, float]:
    """CPU seconds (user and system) each part of the stack under ``root_pid`` (the ``yunque stack
    up`` process) has used since it started, with the processes it started and waited for (a worker's
    flow-run processes), read from ``/proc``. A part is named after its command
    (``adapters.prefect_server --host 127.0.0.1``, ``flows.tasks --serve clock``, ``rclone serve``...)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float, str]] = {}  # pid -> (parent, CPU seconds incl. reaped children, name)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after the command's name, which may hold spaces
        cpu = sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
        words = [Path(a.decode(errors="replace")).name if a.startswith(b"/") else a.decode(errors="replace")
                 for a in argv if a]
        name = " ".join(words[words.index("-m") + 1:][:3]) if "-m" in words else " ".join(words[:2])
        procs[int(entry.name)] = (int(fields[1]), cpu, name)
    out: dict[str, float] = {}

    def add(pid: int, part: str) -> None:
        out[part] = out.get(part, 0.0) + procs[pid][1]
        for child, (parent, _, _) in procs.items():
            if parent == pid:
                add(child, part)

    for pid, (parent, _, name) in procs.items():
        if parent == root_pid:  # a part (``nice`` replaces itself with the command it runs)
            add(pid, name)
    return {k: round(v, 1) for k, v in sorted(out.items(), key=lambda kv: -kv[1])}


def run_state(run_id: str) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as c:
        return c.read_flow_run(UUID(run_id)).state.type.value


def run_states(run_ids: list[str]) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    out: dict[str, str] = {}
    with get_client(sync_client=True) as c:
        for i in range(0, len(run_ids), 200):
            chunk = [UUID(r) for r in run_ids[i:i + 200]]
            for fr in c.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=chunk)), limit=len(chunk)):
                out[str(fr.id)] = fr.state.type.value if fr.state else "NONE"
    return out


def quiet(timeout: float = 120.0) -> None:
    """Wait until the stack has nothing left to do: the outbox handed on and no background task run
    waiting or running (so that one sample's aftermath is not measured in the next)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterState, TaskRunFilterStateType
    from prefect.client.schemas.objects import StateType

    from services.process import pending_events

    busy = TaskRunFilter(state=TaskRunFilterState(type=TaskRunFilterStateType(
        any_=[StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING])))

    def idle() -> bool:
        if pending_events(limit=1):
            return False
        with get_client(sync_client=True) as c:
            return not c.read_task_runs(task_run_filter=busy, limit=1)

    wait_for("the stack to finish what it was doing", idle, timeout=timeout, every=0.1)


def case_runs(numbers: list[str]) -> dict[str, str | None]:
    """The flow run carrying each case (None until the dispatcher started one)."""
    from sqlmodel import col, select

    from models.tables import Case
    from yunque.bootstrap import bootstrap

    with bootstrap().transaction(readonly=True) as s:
        return {c.number: c.flow_run_id for c in s.exec(select(Case).where(col(Case.number).in_(numbers)))}


def effects(case_number: str) -> Counter:
    """How many times each effect a person could see is in the case's timeline."""
    from sqlmodel import select

    from models.tables import Case, TimelineEntry
    from yunque.bootstrap import bootstrap

    with bootstrap().transaction(readonly=True) as s:
        case = s.exec(select(Case).where(Case.number == case_number)).one()
        return Counter((e.action, e.subject) for e in s.exec(select(TimelineEntry).where(TimelineEntry.case_id == case.id))
                       if e.action.startswith("line.") or e.action in ("notice.sent", "notice.expired", "decision.made",
                                                                         "decision.followed_up", "document.issued",
                                                                         "evidence.added"))


AGENTS = {"CHANEL": "chanel.agent", "NIKE": "nike.agent", "HERMES": "hermes.agent", "ADIDAS": "adidas.agent",
          "LOUIS VUITTON": "lv.agent", "GUCCI": "gucci.agent", "PRADA": "prada.agent",
          "BURBERRY": "burberry.agent", "ROLEX": "rolex.agent"}


def open_cases(n: int, *, tag: str, now: Any = None, brands: tuple[str, ...] | None = None) -> list[Any]:
    """``n`` cases of the seed shipment (each with its own declaration number), through the service
    the site officer's page calls."""
    from bench.common import open_confirmed
    from models.types import utcnow
    from services.demo import seed_shipment

    now = now or utcnow()
    out = []
    for i in range(n):
        shipment = seed_shipment(now)
        shipment["declaration_no"] = f"{tag}{i:0{18 - len(tag)}d}"
        if brands:
            shipment["lines"] = [ln for ln in shipment["lines"] if ln["brand"] in brands]
        out.append(open_confirmed(shipment, now=now))
    return out


def answer_all(case: Any, verdict_of: Callable[[str], str], now: Any = None) -> None:
    """Every notice of ``case`` answered by its rights holder (``verdict_of(brand)``: not-infringing,
    or infringing with the goods detained on a general bond)."""
    from services.answers import record_answer

    for notice in case.notices:
        verdict = verdict_of(notice.brands[0])
        body: dict[str, Any] = {"verdicts": {ln: verdict for ln in notice.lines}}
        if verdict == "infringing":
            body.update({"detain": True, "bond": "general"})
        record_answer(notice_id=notice.id, actor=AGENTS[notice.brands[0]], answer=body, now=now)


def ample_general_bonds() -> None:
    """The demo holders' general bonds (总担保) cover RMB 200,000 each: enough for a few detentions, not for
    every case of a bench. Raised for the bench's own database so that every case detains alike."""
    from decimal import Decimal

    from sqlmodel import select

    from models.tables import GeneralBond
    from yunque.bootstrap import bootstrap

    with bootstrap().transaction() as s:
        for bond in s.exec(select(GeneralBond)):
            bond.amount = Decimal("100000000.00")
            s.add(bond)
