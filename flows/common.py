"""What the flows share: deployment names, the retry rule, timers and the Prefect client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from models.rules.errors import YunqueError

#: "flow name/deployment name" of each deployment in prefect.yaml
CASE_PROCESS = "case-process/case-process"
NOTICE_DEADLINE = "notice-deadline/notice-deadline"
DETENTION_CLOCK = "detention-clock/detention-clock"
DECISION_FOLLOW_UP = "decision-follow-up/decision-follow-up"
RECONCILE = "reconcile/reconcile"

#: waits between retries of a step that touches the network (database, S3, mail, Prefect API)
RETRY_DELAYS = [2, 10, 30, 60]


def transient_only(task: Any, task_run: Any, state: Any) -> bool:
    """Retry a failed task only when the failure is transient: a broken rule (``YunqueError``) or
    malformed input (``ValidationError``) fails the run at once, visibly."""
    try:
        state.result(raise_on_failure=True)
    except (YunqueError, ValidationError):
        return False
    except Exception:  # noqa: BLE001 - everything else (timeouts, refused connections, 5xx) is worth a retry
        return True
    return False


def schedule_runs(deployment: str, runs: list[dict[str, Any]]) -> list[str]:
    """Several timers of one deployment in one client session; each ``runs`` item holds
    ``parameters``, ``key``, ``at`` and ``name``. Creating one whose key exists returns it."""
    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    if not runs:
        return []
    ids = []
    with get_client(sync_client=True) as client:
        dep = client.read_deployment_by_name(deployment)
        for r in runs:
            fr = client.create_flow_run_from_deployment(
                dep.id, parameters=r["parameters"], name=r.get("name"), idempotency_key=r["key"],
                state=Scheduled(scheduled_time=r["at"]), tags=r.get("tags"))
            ids.append(str(fr.id))
    return ids


def schedule_run(deployment: str, *, parameters: dict[str, Any], key: str, at: datetime | None = None,
                 name: str | None = None, tags: list[str] | None = None) -> str:
    """Create (once per ``key``) a run of ``deployment`` due at ``at``: a durable timer kept by the
    Prefect server, which survives restarts of every component. Returns the flow run id."""
    from prefect.deployments import run_deployment

    run = run_deployment(deployment, parameters=parameters, scheduled_time=at, timeout=0, idempotency_key=key,
                         flow_run_name=name, tags=tags, as_subflow=False)
    return str(run.id)
