"""What the flows share: deployment names, the retry rule, timers and the Prefect client."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from models.rules.errors import LockContention, YunqueError

T = TypeVar("T")

#: "flow name/deployment name" of each deployment in prefect.yaml
CASE_PROCESS = "case-process/case-process"
NOTICE_DEADLINE = "notice-deadline/notice-deadline"
DETENTION_CLOCK = "detention-clock/detention-clock"
RECONCILE = "reconcile/reconcile"

#: waits between retries of a step that touches the network (database, S3, mail, Prefect API)
RETRY_DELAYS = [2, 10, 30, 60]


def transient(error: BaseException) -> bool:
    """Whether a step that failed with ``error`` is worth trying again: a broken rule (``YunqueError``)
    or malformed input (``ValidationError``) is not, and fails the run at once, visibly. ``LockContention``
    (a deadlock the database broke, a lock timeout) is: the step was rolled back whole. So is everything
    else (timeouts, refused connections, 5xx)."""
    return isinstance(error, LockContention) or not isinstance(error, (YunqueError, ValidationError))


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect's retry condition for a failed task: retried only when the failure is ``transient``."""
    try:
        state.result(raise_on_failure=True)
    except Exception as e:  # noqa: BLE001 - judged by transient()
        return transient(e)
    return False


def retried(step: Callable[[], T], *, delays: Sequence[float] = RETRY_DELAYS) -> T:
    """``step()``, tried again after each of ``delays`` while it fails ``transient``-ly, as a task with
    ``retry_condition_fn=transient_only`` is: for a step in a flow's body not worth a task run of its
    own (each task run is several writes to the Prefect server's database, and on SQLite every write
    waits for the others)."""
    import time

    for wait in delays:
        try:
            return step()
        except Exception as e:
            if not transient(e):
                raise
            time.sleep(wait)
    return step()


#: timers created in one request (the Prefect server takes at most 100)
CREATE_BATCH = 100
#: waits before the timers of a batch that a busy SQLite refused are asked for again (seconds)
LOCKED_WAITS = (0.2, 0.5, 1.0, 2.0, 4.0)
#: how the server names that refusal
LOCKED = "database is locked"


def schedule_timers(specs: list[Any]) -> list[str]:
    """Create the durable timers of ``specs`` (``flows.specs.TimerSpec``) that the Prefect server has no
    run for (``unscheduled``: a read, where creating a timer that exists would be a write returning
    it), those of one deployment in one request (Prefect's bulk creation, ``CREATE_BATCH`` at a time);
    creating one whose key exists meanwhile returns it. Returns the flow run ids created.

    One request for a case's seven timers, not seven: on SQLite, each creation is a transaction that
    reads the deployment before it writes, and one that another write overtakes is refused ("database
    is locked") and asked again by Prefect's client 2 s later (measured: 73 of 91 creations refused
    at least once, 10 cases at once). The bulk request answers such a refusal per timer instead; those
    are asked for again after ``LOCKED_WAITS``. Any other refusal, or one that outlasts the waits,
    fails the call once the rest are created: the task's retry creates what is still missing."""
    import time

    from prefect.client.orchestration import get_client

    specs = unscheduled(specs)
    if not specs:
        return []
    ids: list[str] = []
    failed: list[str] = []
    with get_client(sync_client=True) as client:
        for deployment in dict.fromkeys(t.deployment for t in specs):
            todo = [t for t in specs if t.deployment == deployment]
            for wait in (*LOCKED_WAITS, None):
                created, refused = with_deployment(client, deployment,
                                                   lambda deployment_id: _create_batches(client, deployment_id, todo))
                ids += created
                todo = [t for t, error in refused if LOCKED in error]
                failed += [f"{t.name}: {error}" for t, error in refused if LOCKED not in error]
                if not todo or wait is None:
                    break
                time.sleep(wait)
            failed += [f"{t.name}: the Prefect server's database stayed locked" for t in todo]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(specs)} timers not created, the first {failed[0][:300]}")
    return ids


def _create_batches(client: Any, deployment_id: Any, specs: list[Any]) -> tuple[list[str], list[tuple[Any, str]]]:
    """Ask the server to create ``specs`` (one deployment's), ``CREATE_BATCH`` a request; returns the
    flow run ids created and the specs refused, each with the server's reason."""
    from prefect.client.schemas.actions import DeploymentFlowRunCreate
    from prefect.states import Scheduled, to_state_create

    created: list[str] = []
    refused: list[tuple[Any, str]] = []
    for at in range(0, len(specs), CREATE_BATCH):
        batch = specs[at:at + CREATE_BATCH]
        body = [DeploymentFlowRunCreate(parameters=t.parameters, state=to_state_create(Scheduled(scheduled_time=t.at)),
                                        tags=list(t.tags), name=t.name, idempotency_key=t.key
                                        ).model_dump(mode="json", exclude_unset=True) for t in batch]
        results = client.request("POST", "/deployments/{id}/create_flow_run/bulk",  # type: ignore[arg-type]
                                 path_params={"id": deployment_id}, json=body).json()["results"]
        for t, r in zip(batch, results, strict=True):
            if r["status"] == "CREATED":
                created.append(str(r["flow_run_id"]))
            else:
                refused.append((t, str(r.get("error"))))
    return created, refused


def unscheduled(specs: list[Any]) -> list[Any]:
    """The timers of ``specs`` that the Prefect server has no run for, looked up by name in queries of
    ``READ_BATCH``: the reconciliation checks every running clock each time, and creating thousands
    of timers that exist (idempotent, but a write each) kept the server busy for minutes; a case's
    run and the task worker both set a new notice's timer, and the second finds it."""
    known = run_states_named([t.name for t in specs])
    return [t for t in specs if t.name not in known]


def run_states_named(names: list[str]) -> dict[str, str]:
    """The state type (``StateType.value``) of each flow run named in ``names`` that the Prefect server
    has, read in queries of ``READ_BATCH`` names (none for no name)."""
    if not names:
        return {}
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        return {r.name: r.state.type.value if r.state else "NONE"
                for r in read_runs(client, names, lambda batch: FlowRunFilter(name=FlowRunFilterName(any_=batch)))}


#: flow runs read in one query: the most the Prefect server answers at once
READ_BATCH = 200


def read_runs(client: Any, values: list[Any], flow_run_filter: Any) -> list[Any]:
    """The flow runs that ``flow_run_filter(batch)`` matches, for ``values`` taken ``READ_BATCH`` at a
    time (each value, an id or a name, matches at most one run)."""
    runs: list[Any] = []
    for at in range(0, len(values), READ_BATCH):
        batch = values[at:at + READ_BATCH]
        runs += client.read_flow_runs(limit=len(batch), flow_run_filter=flow_run_filter(batch))
    return runs


def cancel_scheduled(names: list[str], reason: str) -> list[str]:
    """Cancel the runs named ``names`` that are still Scheduled (a timer whose reason is gone).
    Returns the names cancelled."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Cancelled

    done = []
    with get_client(sync_client=True) as client:
        for r in read_runs(client, names, lambda batch: FlowRunFilter(
                name=FlowRunFilterName(any_=batch),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])))):
            client.set_flow_run_state(r.id, Cancelled(message=reason))
            done.append(r.name)
    return done


#: markdown punctuation, and what makes a bare address or e-mail a link (``:``, ``/``, ``@``)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:/@=\"'$%^])")


def md_text(text: object) -> str:
    """User text (a line's description, a rights holder's name) for a markdown artifact: shown as
    the text it is, never as a link, an image, HTML or table structure."""
    s = " ".join(str(text).split())  # one line: a newline would end a table row
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


@contextmanager
def held_clients() -> Iterator[None]:
    """One Prefect client for the rest of a long-lived process (the dispatcher, a task worker), shared by
    the threads it starts inside (they copy this thread's context) and by Prefect's own engines: a sync
    client in Prefect's ``SyncClientContext`` (as Prefect's engines share one between the threads of a
    flow run's task runner), and an async one in its ``AsyncClientContext`` on the loop where Prefect runs
    its coroutines for sync code (where ``.delay()`` creates a background task's run). Without them,
    every request, round and background task made a client of its own, and a client costs 25 ms of
    CPU to load the CA bundle for its TLS context: measured, a third of the dispatcher's CPU, and a
    tenth of the follow-ups' task worker's."""
    from contextlib import ExitStack

    from prefect.context import AsyncClientContext, SyncClientContext
    from prefect.settings import PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED, temporary_settings
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def opened() -> AsyncClientContext:
        ctx = AsyncClientContext()
        await ctx.client.__aenter__()  # bound to this loop, which ``get_client`` then checks
        return ctx

    on_loop = run_coro_as_sync(opened())
    try:
        with ExitStack() as held:
            # no request at the start: the process starts whether or not the Prefect server is up
            with temporary_settings(updates={PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED: False}):
                held.enter_context(SyncClientContext())
            held.enter_context(on_loop)
            yield
    finally:
        run_coro_as_sync(on_loop.client.__aexit__(None, None, None))


def schedule_run(deployment: str, *, parameters: dict[str, Any], key: str, at: datetime | None = None,
                 name: str | None = None, tags: list[str] | None = None) -> str:
    """Create (once per ``key``) a run of ``deployment`` due at ``at`` (now if None): a durable timer
    kept by the Prefect server, which survives restarts of every component. Returns the flow run id."""
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    from models.types import utcnow

    with get_client(sync_client=True) as client:
        run = with_deployment(client, deployment, lambda deployment_id: client.create_flow_run_from_deployment(
            deployment_id, parameters=parameters, state=Scheduled(scheduled_time=at or utcnow()), name=name,
            tags=tags, idempotency_key=key))
    return str(run.id)


#: deployment ids, by Prefect API and deployment name (``flow/deployment``)
_DEPLOYMENT_IDS: dict[tuple[str, str], Any] = {}


def with_deployment(client: Any, name: str, call: Callable[[Any], T]) -> T:
    """``call(deployment_id)`` for the deployment ``name``, its id read once per process (a
    deployment deployed again keeps its id; reading it for each case run and each timers' creation
    was a request to the Prefect server each), and read again if the server answers that it does not
    know it (the deployment was deleted and deployed anew)."""
    key = (str(client.api_url), name)
    if key not in _DEPLOYMENT_IDS:
        _DEPLOYMENT_IDS[key] = client.read_deployment_by_name(name).id
    try:
        return call(_DEPLOYMENT_IDS[key])
    except Exception as e:
        if not _not_found(e):
            raise
        _DEPLOYMENT_IDS[key] = client.read_deployment_by_name(name).id
        return call(_DEPLOYMENT_IDS[key])


def _not_found(error: Exception) -> bool:
    from prefect.exceptions import ObjectNotFound

    response = getattr(error, "response", None)
    return isinstance(error, ObjectNotFound) or getattr(response, "status_code", None) == 404
