"""Two people at once, on PostgreSQL with separate connections: exactly one wins, the other is told
plainly, and the timeline's hash chain stays intact under concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import make_url

from models.enums import TaskKind
from models.rules.errors import ConcurrentUpdate
from services.answers import record_answer
from services.bonds import record_bond_receipt
from services.audit import verify_timeline
from services.cases import get_case, open_case
from adapters.db import WRITE_LOCK as _TIMELINE_LOCK
from services.tasks import claim_task, complete_task, inbox

pytestmark = pytest.mark.postgres

from tests.support import open_confirmed, race, shipment

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)






def _one_wins(results: list[tuple[str, Any]]) -> tuple[Any, Exception]:
    oks = [v for kind, v in results if kind == "ok"]
    errors = [v for kind, v in results if kind == "error"]
    assert len(oks) == 1, results
    assert len(errors) == 1 and isinstance(errors[0], ConcurrentUpdate), results
    return oks[0], errors[0]


def test_two_answers_to_one_notice_at_once_exactly_one_wins(pg_db: str) -> None:
    for attempt in range(3):  # several rounds: the outcome must not depend on timing
        case = open_confirmed(_shipment(f"01012026112400000{attempt}", "NIKE"), now=FOUND)
        notice_id = case.notices[0].id
        results = race(
            lambda: record_answer(notice_id=notice_id, actor="nike.agent", now=FOUND + timedelta(minutes=5),
                                  answer={"verdicts": {1: "not-infringing"}}),
            lambda: record_answer(notice_id=notice_id, actor="nike.agent", now=FOUND + timedelta(minutes=5),
                                  answer={"verdicts": {1: "infringing"}, "detain": True, "bond": "general"}),
        )
        winner, loser = _one_wins(results)
        assert "nothing was changed" in str(loser)
        line = get_case(case_number=case.number, actor="ipr.li").lines[0]
        assert line.state == ("released" if winner.answer.verdicts[1] == "not-infringing" else "detained")
    assert verify_timeline().intact


def test_two_officers_completing_one_task_at_once_exactly_one_wins(pg_db: str) -> None:
    open_case(shipment=_shipment("010120261124000001", "NIKE"), actor="site.wang", now=FOUND)
    (task,) = inbox(actor="ipr.li")
    results = race(
        lambda: complete_task(task_id=task.id, actor="ipr.li", outcome="confirmed"),
        lambda: complete_task(task_id=task.id, actor="ipr.chen", outcome="confirmed"),
    )
    winner, _ = _one_wins(results)
    done = inbox(actor="mgr.zhao", include_done=True)[0]
    assert done.state == "completed" and done.assignee == winner.assignee


def test_claiming_a_bond_task_while_the_bond_is_recorded_does_not_deadlock(pg_db: str) -> None:
    """A task row locked by one officer and the timeline locked by another action that then touches the
    same task must not deadlock: write transactions take the timeline lock first."""
    for attempt in range(3):
        case = open_confirmed(_shipment(f"01012026112400001{attempt}", "HERMES"), now=FOUND)
        notice_id = case.notices[0].id
        record_answer(notice_id=notice_id, actor="hermes.agent", now=FOUND + timedelta(minutes=5),
                      answer={"verdicts": {1: "infringing"}, "detain": True})
        (task,) = inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value)
        url = make_url(pg_db)
        with psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (_TIMELINE_LOCK,))  # both calls queue behind this
            outcome: list[tuple[str, Any]] = []
            threads = [
                threading.Thread(target=lambda: outcome.append(_try(lambda: claim_task(task_id=task.id, actor="ipr.li",
                                                                                     now=FOUND + timedelta(hours=1))))),
                threading.Thread(target=lambda: outcome.append(_try(lambda: record_bond_receipt(
                    notice_id=notice_id, actor="ipr.li", receipt={"form": "deposit", "amount": "20000"},
                    now=FOUND + timedelta(hours=1))))),
            ]
            for t in threads[::-1] if attempt % 2 else threads:  # either may queue first
                t.start()
                threading.Event().wait(0.3)  # let it reach its locks
            holder.execute("SELECT pg_advisory_unlock(%s)", (_TIMELINE_LOCK,))
            for t in threads:
                t.join(60)
        kinds = [type(v).__name__ for _, v in outcome]
        assert all(k in ("TaskOut", "dict", "ConcurrentUpdate") for k in kinds), outcome
        assert "dict" in kinds, outcome  # the bond was recorded either way
    assert verify_timeline().intact


def _try(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as e:  # noqa: BLE001
        return "error", e


def test_the_hash_chain_stays_intact_under_concurrent_writers(pg_db: str) -> None:
    cases = [open_confirmed(_shipment(f"0101202611240001{i:02d}", "NIKE", "HERMES", "ROLEX"), now=FOUND)
             for i in range(4)]
    calls = []
    for c in cases:
        for n in c.notices:
            calls.append(lambda n=n: record_answer(
                notice_id=n.id, actor=f"{n.brands[0].lower()}.agent", now=FOUND + timedelta(minutes=7),
                answer={"verdicts": {num: "not-infringing" for num in n.lines}}))
    calls += [lambda i=i: open_case(shipment=_shipment(f"0101202611240002{i:02d}", "GUCCI"), actor="site.liu", now=FOUND)
              for i in range(4)]
    results = race(*calls)
    assert [kind for kind, _ in results] == ["ok"] * len(calls), [v for k, v in results if k == "error"]
    result = verify_timeline()
    assert result.intact, result
    assert result.entries > 4 * 3 * 4


def test_the_same_seizure_registered_twice_at_once_makes_one_case(pg_db: str) -> None:
    ship = _shipment("010120261124000077", "NIKE", "ROLEX")
    same_key = race(*[lambda: open_case(shipment=ship, actor="site.wang", now=FOUND, idempotency_key="scan-77")] * 2)
    assert [kind for kind, _ in same_key] == ["ok", "ok"], same_key
    assert same_key[0][1].number == same_key[1][1].number
    # without a key, the second registration of the declaration is refused in plain words, not a database error
    other = _shipment("010120261124000078", "NIKE")
    results = race(*[lambda: open_case(shipment=other, actor="site.wang", now=FOUND)] * 2)
    kinds = sorted(type(v).__name__ for _, v in results)
    assert kinds == ["CaseOut", "InvalidInput"], results
    assert len({c.number for c in (v for _, v in results) if type(c).__name__ == "CaseOut"}) == 1
    assert verify_timeline().intact


def _shipment(declaration_no: str, *brands: str) -> dict[str, Any]:
    return shipment(declaration_no, FOUND, *brands)
