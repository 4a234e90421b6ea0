"""The floor the process figures are compared with: a flow that does nothing, deployed on the same
work pool and run by the same workers as Yunque's own flows."""

from __future__ import annotations

from prefect import flow


@flow(name="bench-empty")
def empty() -> None:
    """Nothing: its latency is Prefect's own (schedule, worker poll, process start, state changes)."""


DEPLOYMENT = "bench-empty/bench-empty"


def deploy(work_pool: str) -> str:
    """Deploy ``empty`` from this checkout onto ``work_pool`` (as ``prefect.yaml`` deploys the others)."""
    from yunque.settings import ROOT

    return str(empty.from_source(source=str(ROOT), entrypoint="bench/empty_flow.py:empty")
               .deploy(name="bench-empty", work_pool_name=work_pool, build=False, push=False, print_next_steps=False,
                       job_variables={"command": "setsid python -m prefect.engine"}))
