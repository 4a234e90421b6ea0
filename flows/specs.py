"""The one place that turns a case's legal clocks (``services.process.TimerDue``) into Prefect timers:
which deployment, which parameters, the idempotency key, the run's name and its tags.

The case run, the reconciliation and the cancellation of a timer whose reason is gone all use it,
so a timer is named and keyed the same whoever creates it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.common import DETENTION_CLOCK, NOTICE_DEADLINE
from services.process import CaseProgress, TimerDue, case_timers


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


def gone_timer_names(p: CaseProgress) -> list[str]:
    """The timers of the case whose reason is gone: those of its notices sent and no longer waiting
    (answered, or released at their deadline)."""
    return [notice_timer_name(p.case_number, n.id) for n in p.notices if n.sent and not n.waiting]


@dataclass(frozen=True)
class TimersBehind:
    """What the Prefect server's timers lack for a case as it stands: the timers of its running clocks
    that it has no run for, and the timers whose reason is gone that are still Scheduled."""

    missing: list[TimerSpec]
    stale: list[str]

    def __bool__(self) -> bool:
        return bool(self.missing or self.stale)


def timers_behind(p: CaseProgress, known: Mapping[str, str]) -> TimersBehind:
    """Compare the case (``p``) with the timer runs the server has (``known``: name -> state type, as
    ``flows.common.run_states_named`` reads them for ``timer_names(p)``)."""
    return TimersBehind([t for t in timer_specs(case_timers(p)) if t.name not in known],
                        [n for n in gone_timer_names(p) if known.get(n) == "SCHEDULED"])


def timer_names(p: CaseProgress) -> list[str]:
    """The names of every timer ``timers_behind`` looks at for the case."""
    return [t.name for t in timer_specs(case_timers(p))] + gone_timer_names(p)
