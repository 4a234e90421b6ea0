"""The reconciliation leaves to the dispatcher the cases it is still handing on (``flows.reconcile``): in a
burst both created the same runs and timers at once, and a reconciliation took 17 minutes. Which cases
those are is read from the outbox (``services.process.cases_in_event_path``), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from services import process
from services.demo import seed_shipment
from tests.support import open_confirmed

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)


def fresh(now: datetime) -> set[str]:
    return process.cases_in_event_path(now=now, undispatched_for=timedelta(minutes=10),
                                       dispatched_within=timedelta(minutes=2))


def case_events(number: str) -> list[int]:
    return [e.id for e in process.pending_events(limit=1000) if e.case_number == number]


def test_a_case_is_left_while_its_events_wait_briefly_or_were_just_handed_on(db: str) -> None:
    waiting = open_confirmed(seed_shipment(FOUND), now=FOUND).number
    handed = open_confirmed(seed_shipment(FOUND), now=FOUND).number
    now = FOUND + timedelta(minutes=1)  # the events are written at the time of the action
    assert {waiting, handed} <= fresh(now)  # their events were written a minute ago and wait
    assert not {waiting, handed} & fresh(now + timedelta(minutes=11))  # still waiting: the dispatcher may be down

    assert process.mark_dispatched(event_ids=case_events(handed), now=now + timedelta(minutes=11)) > 0
    assert handed in fresh(now + timedelta(minutes=12))  # handed on a minute ago: its tasks may still run
    later = fresh(now + timedelta(minutes=14))
    assert handed not in later and waiting not in later
    assert not case_events(handed) and case_events(waiting)
