"""Double submits on SQLite and PostgreSQL: the same click sent twice at once, or two people doing the
same thing at the same moment. Exactly one takes effect, the other is told in plain words
(``ConcurrentUpdate``), and the timeline shows the effect once.

``test_concurrency.py`` covers two *different* answers to one notice and two officers completing one
task on PostgreSQL; here the same answer is sent twice (with and without an idempotency key, from the
portal and from the viewing room), tasks are claimed and completed twice, a viewing is decided twice and
a bond posted twice, on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select

from models.rules.errors import ConcurrentUpdate
from models.tables import TimelineEntry
from services.answers import record_answer
from services.bonds import record_bond_receipt
from services.audit import verify_timeline
from services.cases import get_case, open_case
from services.tasks import claim_task, complete_task, inbox
from services.viewing import answer_from_room, decide_viewing, open_room, request_viewing

from tests.support import open_confirmed, race, session_scope, shipment

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
LATER = FOUND + timedelta(minutes=9)
ROUNDS = 3  # the outcome must not depend on which thread the scheduler runs first






def one_wins(results: list[tuple[str, Any]], *words: str) -> tuple[Any, ConcurrentUpdate]:
    oks = [v for kind, v in results if kind == "ok"]
    errors = [v for kind, v in results if kind == "error"]
    assert len(oks) == 1 and len(errors) == 1, results
    loser = errors[0]
    assert isinstance(loser, ConcurrentUpdate), repr(loser)
    message = str(loser)
    assert "\n" not in message and all(w in message for w in words), message
    return oks[0], loser


def timeline(action: str, subject: str) -> int:
    with session_scope(readonly=True) as s:
        return s.exec(select(func.count()).select_from(TimelineEntry)
                      .where(TimelineEntry.action == action, TimelineEntry.subject == subject)).one()


def line_moves(case_number: str) -> int:
    with session_scope(readonly=True) as s:
        return s.exec(select(func.count()).select_from(TimelineEntry)
                      .where(col(TimelineEntry.subject).startswith(f"line:{case_number}/"),
                             col(TimelineEntry.action).in_(["line.released", "line.detained"]))).one()


def _case(n: int, *brands: str, confirmed: bool = True) -> Any:
    """A case of these brands, its lines confirmed by an IPR officer (the notices sent) unless asked otherwise."""
    if not confirmed:
        return open_case(shipment=_shipment(f"0606202611240{n:05d}", *brands), actor="site.wang", now=FOUND)
    return open_confirmed(_shipment(f"0606202611240{n:05d}", *brands), now=FOUND)


def test_the_same_answer_sent_twice_at_once_is_recorded_once(db: str) -> None:
    for attempt in range(ROUNDS):
        case = _case(attempt, "CHANEL", "CHANEL")
        notice = case.notices[0].id
        same = {"verdicts": {1: "not-infringing", 2: "not-infringing"}, "comment": "genuine stock"}
        results = race(*[lambda: record_answer(notice_id=notice, actor="chanel.agent", answer=same, now=LATER)] * 2)
        winner, loser = one_wins(results, "already answered", "nothing was changed")
        assert winner.state == "answered"
        assert timeline("notice.answered", f"notice:{notice}") == 1
        assert line_moves(case.number) == 2  # each line released once
        assert [ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines] == ["released"] * 2
    assert verify_timeline().intact


def test_the_same_answer_sent_twice_with_its_idempotency_key_returns_the_one_answer(db: str) -> None:
    """A retried request (same key) is not an error: both callers get the answer that was recorded once."""
    for attempt in range(ROUNDS):
        case = _case(10 + attempt, "NIKE")
        notice = case.notices[0].id
        send = lambda: record_answer(notice_id=notice, actor="nike.agent", now=LATER,  # noqa: E731
                                     answer={"verdicts": {1: "infringing"}, "detain": True, "bond": "general"},
                                     idempotency_key=f"portal-{notice}-a1")
        results = race(send, send)
        assert [kind for kind, _ in results] == ["ok", "ok"], results
        assert results[0][1].answer == results[1][1].answer and results[0][1].state == "answered"
        assert timeline("notice.answered", f"notice:{notice}") == 1
        assert line_moves(case.number) == 1


def test_the_same_answer_from_the_viewing_room_twice_is_recorded_once(db: str) -> None:
    case = _case(20, "CHANEL")
    notice = case.notices[0].id
    v = request_viewing(actor="chanel.agent", notice_id=notice, now=FOUND + timedelta(minutes=1))
    decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=FOUND + timedelta(minutes=2))
    open_room(viewing_id=v.id, actor="site.wang", now=FOUND + timedelta(minutes=3))
    answer = {"verdicts": {1: "infringing"}, "detain": True, "bond": "general"}
    results = race(*[lambda: answer_from_room(viewing_id=v.id, actor="chanel.agent", answer=answer, now=LATER)] * 2)
    winner, _ = one_wins(results, "already answered", "nothing was changed")
    assert winner.state == "answered"
    assert timeline("notice.answered", f"notice:{notice}") == 1
    assert line_moves(case.number) == 1
    assert get_case(case_number=case.number, actor="ipr.li").lines[0].state == "detained"


def test_two_officers_completing_one_task_at_once_complete_it_once(db: str) -> None:
    for attempt in range(ROUNDS):
        case = _case(30 + attempt, "ROLEX", confirmed=False)  # its confirm_seizure task
        (task,) = [t for t in inbox(actor="ipr.li") if t.case_number == case.number]
        results = race(lambda: complete_task(task_id=task.id, actor="ipr.li", outcome="confirmed", now=LATER),
                       lambda: complete_task(task_id=task.id, actor="ipr.chen", outcome="confirmed", now=LATER))
        winner, _ = one_wins(results, "already completed")
        assert timeline("task.completed", f"task:{task.id}") == 1
        done = [t for t in inbox(actor="mgr.zhao", include_done=True) if t.id == task.id]
        assert [(t.state, t.assignee) for t in done] == [("completed", winner.assignee)]


def test_two_officers_claiming_one_task_at_once_one_gets_it(db: str) -> None:
    case = _case(40, "GUCCI", confirmed=False)
    (task,) = [t for t in inbox(actor="ipr.li") if t.case_number == case.number]
    results = race(lambda: claim_task(task_id=task.id, actor="ipr.li", expected_version=task.version, now=LATER),
                   lambda: claim_task(task_id=task.id, actor="ipr.chen", expected_version=task.version, now=LATER))
    winner, _ = one_wins(results, "changed by someone else", "reload")
    assert timeline("task.claimed", f"task:{task.id}") == 1
    assert [t.assignee for t in inbox(actor="mgr.zhao") if t.id == task.id] == [winner.assignee]


def test_a_viewing_decided_twice_at_once_is_decided_once(db: str) -> None:
    case = _case(50, "PRADA")
    v = request_viewing(actor="prada.agent", notice_id=case.notices[0].id, now=FOUND + timedelta(minutes=1))
    results = race(lambda: decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=LATER),
                   lambda: decide_viewing(viewing_id=v.id, actor="ipr.chen", approve=False, reason="no staff on site",
                                          now=LATER))
    winner, _ = one_wins(results, "already decided")
    assert timeline("viewing.decided", f"viewing:{v.id}") == 1
    attend = [t for t in inbox(actor="site.wang") if t.viewing_id == v.id]
    assert len(attend) == (1 if winner.state == "approved" else 0)


def test_a_bond_recorded_twice_at_once_detains_once(db: str) -> None:
    case = _case(60, "HERMES")  # no general bond: the claim waits for its bond
    notice = case.notices[0].id
    record_answer(notice_id=notice, actor="hermes.agent", now=LATER,
                  answer={"verdicts": {1: "infringing"}, "detain": True, "bond": "24000"})
    post = lambda: record_bond_receipt(notice_id=notice, actor="ipr.li", now=LATER + timedelta(minutes=5),  # noqa: E731
                                       receipt={"form": "deposit", "amount": "24000"})
    results = race(post, post)
    one_wins(results, "no detention claim awaits a bond")
    assert timeline("bond.received", f"notice:{notice}") == 1
    assert line_moves(case.number) == 1
    investigate = [t for t in inbox(actor="ipr.li") if t.case_number == case.number and t.kind == "investigate"]
    assert len(investigate) == 1


def _shipment(declaration_no: str, *brands: str) -> dict[str, Any]:
    return shipment(declaration_no, FOUND, *brands)
