"""Two people at once, on PostgreSQL with separate connections: exactly one wins, the other is told
plainly, and the timeline's hash chain stays intact under concurrent writers. Writes to different cases
do not wait for each other; writes to one case take its chain lock before its rows (``adapters.db``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from sqlalchemy import make_url
from sqlmodel import col, select

import services.tasks
from adapters.db import CHAIN_LOCK_NS, advisory_key, case_route
from models.enums import TaskKind
from models.rules.chain import chain_of
from models.rules.errors import ConcurrentUpdate, LockContention
from models.tables import Answer, Case, Line, ShotRequest, TimelineEntry
from services.answers import record_answer
from services.audit import verify_timeline
from services.bonds import record_bond_receipt
from services.cases import get_case, open_case
from services.context import record, system_actor
from services.tasks import claim_task, complete_task, inbox

pytestmark = pytest.mark.postgres

from tests.support import open_confirmed, race, session_scope, shipment

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
    """A task row locked by one officer and the case's timeline locked by another action that then touches
    the same task must not deadlock: both queue on the case's chain lock, taken before any row of the case."""
    for attempt in range(3):
        case = open_confirmed(_shipment(f"01012026112400001{attempt}", "HERMES"), now=FOUND)
        notice_id = case.notices[0].id
        record_answer(notice_id=notice_id, actor="hermes.agent", now=FOUND + timedelta(minutes=5),
                      answer={"verdicts": {1: "infringing"}, "detain": True})
        (task,) = inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value)
        with _holder(pg_db) as holder:
            holder.execute("SELECT pg_advisory_lock(%s, %s)", _chain_lock(_case_id(case.number)))  # both calls queue behind it
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
            assert not outcome, outcome  # both wait for the case's chain lock
            holder.execute("SELECT pg_advisory_unlock(%s, %s)", _chain_lock(_case_id(case.number)))
            for t in threads:
                t.join(60)
        kinds = [type(v).__name__ for _, v in outcome]
        assert all(k in ("TaskOut", "dict", "ConcurrentUpdate") for k in kinds), outcome
        assert "dict" in kinds, outcome  # the bond was recorded either way
    assert verify_timeline().intact


def test_a_row_locked_before_the_timeline_append_does_not_deadlock_against_the_timeline_then_the_row(
        pg_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deadlock the global write lock was added for, without it: an officer claims the bond check (its
    task row locked, the timeline appended after) while the bond is recorded (the timeline appended, then
    the same task completed). The claim is held between its row lock and its append until the bond's
    recording is under way; both writes are done, one after the other."""
    case = open_confirmed(_shipment("010120261124000020", "HERMES"), now=FOUND)
    notice_id = case.notices[0].id
    record_answer(notice_id=notice_id, actor="hermes.agent", now=FOUND + timedelta(minutes=5),
                  answer={"verdicts": {1: "infringing"}, "detain": True})
    (task,) = inbox(actor="ipr.li", kind=TaskKind.CHECK_BOND.value)
    row_locked, go = threading.Event(), threading.Event()
    real_record = services.tasks.record

    def held_claim(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "claim" and not go.is_set():
            row_locked.set()  # the claim holds the task's row here, before its timeline append
            go.wait(20)
        return real_record(*args, **kwargs)

    monkeypatch.setattr(services.tasks, "record", held_claim)
    outcome: dict[str, tuple[str, Any]] = {}
    claim = threading.Thread(name="claim", target=lambda: outcome.__setitem__("claim", _try(
        lambda: claim_task(task_id=task.id, actor="ipr.li", now=FOUND + timedelta(hours=1)))))
    bond = threading.Thread(name="bond", target=lambda: outcome.__setitem__("bond", _try(lambda: record_bond_receipt(
        notice_id=notice_id, actor="ipr.chen", receipt={"form": "deposit", "amount": "20000"},
        now=FOUND + timedelta(hours=1)))))
    claim.start()
    assert row_locked.wait(20)
    bond.start()
    threading.Event().wait(1.5)  # the bond's recording reaches its locks (PostgreSQL looks for deadlocks after 1 s)
    go.set()
    for t in (claim, bond):
        t.join(60)
        assert not t.is_alive(), "a write hung"
    assert outcome["claim"][0] == "ok" and outcome["claim"][1].assignee == "ipr.li", outcome
    assert outcome["bond"][0] == "ok", outcome
    done = [t for t in inbox(actor="mgr.zhao", include_done=True) if t.id == task.id]
    assert done[0].state == "completed", done  # the bond's recording completed the claimed check
    assert verify_timeline().intact


@pytest.mark.parametrize("held", ["its chain lock", "a row lock of its notice"])
def test_a_write_to_one_case_does_not_wait_for_a_write_to_another(pg_db: str, held: str) -> None:
    """Case A is held (its timeline's chain lock, or its notice locked FOR UPDATE by another transaction): a
    write to A waits for it, a write to case B meanwhile completes."""
    a = open_confirmed(_shipment("010120261124000030", "NIKE"), now=FOUND)
    b = open_confirmed(_shipment("010120261124000031", "NIKE"), now=FOUND)

    def answer(case: Any) -> Any:
        return record_answer(notice_id=case.notices[0].id, actor="nike.agent", now=FOUND + timedelta(minutes=5),
                             answer={"verdicts": {1: "not-infringing"}})

    outcome: dict[str, tuple[str, Any]] = {}
    with _holder(pg_db) as holder:
        if held == "its chain lock":
            holder.execute("SELECT pg_advisory_lock(%s, %s)", _chain_lock(_case_id(a.number)))
        else:
            holder.execute("BEGIN")
            holder.execute("SELECT id FROM notice WHERE id = %s FOR UPDATE", (a.notices[0].id,))
        to_a = threading.Thread(target=lambda: outcome.__setitem__("a", _try(lambda: answer(a))))
        to_a.start()
        threading.Event().wait(0.5)  # the write to A reaches its locks
        to_b = threading.Thread(target=lambda: outcome.__setitem__("b", _try(lambda: answer(b))))
        to_b.start()
        to_b.join(10)
        b_done_while_a_held = not to_b.is_alive()
        a_waited = to_a.is_alive()
        holder.execute("SELECT pg_advisory_unlock_all()" if held == "its chain lock" else "ROLLBACK")
        for t in (to_a, to_b):
            t.join(60)
    assert b_done_while_a_held, "the write to case B waited for case A"
    assert a_waited, "the write to case A did not wait for case A's lock"
    assert outcome["a"][0] == outcome["b"][0] == "ok", outcome
    for case in (a, b):
        assert get_case(case_number=case.number, actor="ipr.li").lines[0].state == "released"
    assert verify_timeline().intact


def test_two_writes_locking_two_cases_in_opposite_orders_one_is_rolled_back_and_told_to_retry(pg_db: str) -> None:
    """The deadlock the lock order cannot rule out (one transaction appends to A then B, the other to B then
    A): PostgreSQL breaks it, and the loser is a ``LockContention`` naming the timeline it waited for, with
    nothing of it written; the other write is whole."""
    a = _case_id(open_confirmed(_shipment("010120261124000040", "NIKE"), now=FOUND).number)
    b = _case_id(open_confirmed(_shipment("010120261124000041", "NIKE"), now=FOUND).number)
    both_first = threading.Barrier(2, timeout=10)

    def append(first: int, second: int) -> int:
        with session_scope() as s:
            who = system_actor(s)
            record(s, actor=who, action="test.first", subject=f"case:{first}", at=FOUND + timedelta(hours=2), case_id=first)
            both_first.wait()
            record(s, actor=who, action="test.second", subject=f"case:{second}", at=FOUND + timedelta(hours=2),
                   case_id=second)
        return first

    results = race(lambda: append(a, b), lambda: append(b, a))
    oks = [v for kind, v in results if kind == "ok"]
    errors = [v for kind, v in results if kind == "error"]
    assert len(oks) == 1 and len(errors) == 1 and isinstance(errors[0], LockContention), results
    winner = oks[0]
    assert errors[0].what == f"the timeline of case {winner}", errors  # the loser waited for the winner's first case
    assert "nothing of it was written" in str(errors[0])
    with session_scope(readonly=True) as s:
        entries = {(e.action, e.case_id) for e in s.exec(select(TimelineEntry).where(
            col(TimelineEntry.action).in_(["test.first", "test.second"])))}
    assert entries == {("test.first", winner), ("test.second", b if winner == a else a)}, entries
    assert verify_timeline().intact


def test_every_row_of_a_case_names_its_case() -> None:
    """The chain lock taken before a row lock finds the row's case: directly, or through a required foreign key."""
    assert case_route(Line.__table__)[1] is Line.__table__.c.case_id  # type: ignore[index, attr-defined]
    hops, column = case_route(ShotRequest.__table__)  # type: ignore[misc, attr-defined]
    assert [h[0].name for h in hops] == ["viewing_id"] and column.table.name == "viewing"
    hops, column = case_route(Answer.__table__)  # type: ignore[misc, attr-defined]
    assert [h[0].name for h in hops] == ["notice_id"] and column.table.name == "notice"


def _holder(pg_db: str) -> psycopg.Connection[Any]:
    """Another session of the database, outside Yunque, holding a lock for the test."""
    url = make_url(pg_db)
    return psycopg.connect(host=url.host, port=url.port, user=url.username, dbname=url.database, autocommit=True)


def _chain_lock(case_id: int | None) -> tuple[int, int]:
    return CHAIN_LOCK_NS, advisory_key(chain_of(case_id))


def _case_id(number: str) -> int:
    with session_scope(readonly=True) as s:
        return s.exec(select(Case.id).where(Case.number == number)).one()  # type: ignore[return-value]


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


def test_one_user_name_created_twice_at_once_makes_one_account(pg_db: str) -> None:
    """Two administrators creating the same user name at once: one account, the other refused in plain words
    (it was a database error once writes no longer all queued on one lock)."""
    from services.users import create_user

    user = {"username": "ipr.twice", "display_name": "IPR officer", "role": "ipr_officer",
            "customs_office": "CAPAIR", "password": "correct horse battery staple 7"}
    results = race(*[lambda: create_user(actor="admin", user=dict(user), now=FOUND)] * 2)
    kinds = sorted(type(v).__name__ for _, v in results)
    assert kinds == ["InvalidInput", "UserOut"], results
    assert next(v for _, v in results if type(v).__name__ == "InvalidInput").field == "username"
