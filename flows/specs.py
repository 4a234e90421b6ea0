"""The one place that turns a case's legal clocks (``services.process.TimerDue``) into Prefect timers:
which deployment, which parameters, the idempotency key, the run's name and its tags.

The case run, the reconciliation and the cancellation of a timer whose reason is gone all use it,
so a timer is named and keyed the same whoever creates it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.common import DETENTION_CLOCK, NOTICE_DEADLINE
from services.process import TimerDue


@dataclass(frozen=True)
class TimerSpec:
    deployment: str
    parameters: dict[str, Any]
    key: str  # idempotency key: creating the timer again returns the same run
    at: datetime
    name: str
    tags: tuple[str, ...]


def notice_timer_name(case_number: str, notice_id: int) -> str:
    return f"{case_number}-notice-{notice_id}-deadline"


def timer_spec(t: TimerDue) -> TimerSpec:
    if t.kind == "notice":
        return TimerSpec(NOTICE_DEADLINE, {"notice_id": t.subject_id, "deadline_at": t.due_at.isoformat()},
                         key=f"deadline-notice-{t.subject_id}", at=t.due_at,
                         name=notice_timer_name(t.case_number, t.subject_id), tags=("timer", *t.tags))
    if t.kind in ("investigation", "court"):
        return TimerSpec(DETENTION_CLOCK, {"line_id": t.subject_id, "clock": t.kind, "due_at": t.due_at.isoformat()},
                         key=f"clock-{t.kind}-line-{t.subject_id}", at=t.due_at,
                         name=f"{t.case_number}-line-{t.line_number}-{t.kind}", tags=("timer", *t.tags))
    raise ValueError(f"timer kind: must be notice, investigation or court, not {t.kind!r}")


def timer_specs(timers: list[TimerDue]) -> list[TimerSpec]:
    return [timer_spec(t) for t in timers]
