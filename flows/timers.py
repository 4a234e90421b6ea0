"""Legal deadlines as durable timers: flow runs scheduled by the Prefect server at the deadline.

Each timer is created once per deadline (``flows/specs.py`` names and keys it) and calls the same
service the sweep uses, which changes nothing when the notice was answered in time. Normally the
dispatcher's warm clock has released the goods within seconds of the deadline and cancelled the
timer (as it cancels the timer of a notice answered in time); a timer runs when that clock was
down. The reconciliation covers a timer that never fired (everything down at the deadline)."""

from __future__ import annotations

import time
from datetime import datetime

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed

from flows.common import RETRY_DELAYS, transient_only
from models.types import utcnow
from services.sweep import advance_detention_clocks, release_notice_if_expired

#: a worker may start a run a little before its scheduled time (it fetches runs ahead); wait for the
#: deadline itself rather than act early. Longer than this means the timer was created wrongly.
MAX_EARLY_SECONDS = 300


def _wait_until(due: datetime) -> bool:
    """Sleep until ``due`` if it is close; False if it is still far away."""
    early = (due - utcnow()).total_seconds()
    if early > MAX_EARLY_SECONDS:
        return False
    if early > 0:
        time.sleep(early + 0.05)
    return True


@task(name="release-if-unanswered", task_run_name="release-notice-{notice_id}", retries=4,
      retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def release_if_unanswered(notice_id: int) -> list[dict]:
    return release_notice_if_expired(notice_id=notice_id, now=utcnow())


@flow(name="notice-deadline", log_prints=True)
def notice_deadline(notice_id: int, deadline_at: datetime):  # noqa: ANN201
    """At the end of the third working day after service: release the lines of a notice still
    unanswered, or claimed without a sufficient bond (Reg 16, Meas 25)."""
    if not _wait_until(deadline_at):
        return Completed(name="NotDue", message=f"notice {notice_id}: deadline {deadline_at.isoformat()} not reached")
    released = release_if_unanswered(notice_id)
    if not released:
        return Completed(name="NothingToRelease", message=f"notice {notice_id} was decided before its deadline")
    get_run_logger().info("notice %s: released %s", notice_id, ", ".join(f"line {r['line']} ({r['brand']})" for r in released))
    return Completed(message=f"notice {notice_id}: {len(released)} line(s) released at the deadline")


@task(name="advance-line-clock", task_run_name="clock-line-{line_id}", retries=4, retry_delay_seconds=RETRY_DELAYS,
      retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def advance_clock(line_id: int) -> list[dict]:
    return advance_detention_clocks(now=utcnow(), line_ids=[line_id])


@flow(name="detention-clock", log_prints=True)
def detention_clock(line_id: int, clock: str, due_at: datetime):  # noqa: ANN201
    """30 working days after detention is customs' own deadline to investigate (Reg 20, Meas 28): the
    system decides nothing, the overdue investigation is escalated to the top of the inbox and the
    managers' board; 50 working days with no court notice: an undetermined line is released (Reg 24(2)),
    a line held for a court is not; on a rights holder's application the court clock is 20 working days and
    releases the detained line (Reg 24(1)) (``services.sweep.advance_detention_clocks``)."""
    if clock not in ("investigation", "court"):
        raise ValueError(f"clock: must be investigation or court, not {clock!r}")
    if not _wait_until(due_at):
        return Completed(name="NotDue", message=f"line {line_id}: {clock} clock ends {due_at.isoformat()}")
    moved = advance_clock(line_id)
    if not moved:
        return Completed(name="NothingToDo", message=f"line {line_id}: already decided before its {clock} clock ended")
    return Completed(message=f"{clock} clock: {len(moved)} line step(s): "
                             + ", ".join(f"{m['case']}/{m['line']} {m['state']}" for m in moved))
