"""Every task kind: completing the task performs its act exactly once, from the service and from the command
line; completing it twice has one effect; the act done elsewhere completes the task."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import select
from typer.testing import CliRunner

from models.rules.errors import CalendarUnknown, ConcurrentUpdate, InvalidInput, PermissionDenied
from models.tables import Decision, Task, TimelineEntry
from services import viewing
from services.answers import record_answer
from services.cases import get_case, open_case
from services.demo import seed_shipment
from services.task_acts import TASK_ACTS, describe
from services.tasks import complete_task, inbox, list_tasks, task_detail
from tests.support import open_confirmed, session_scope

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)  # a Tuesday
LATER = FOUND + timedelta(minutes=20)


def count(action: str, subject: str | None = None) -> int:
    with session_scope(readonly=True) as s:
        q = select(func.count()).select_from(TimelineEntry).where(TimelineEntry.action == action)
        if subject is not None:
            q = q.where(TimelineEntry.subject == subject)
        return int(s.exec(q).one())


def decisions() -> int:
    with session_scope(readonly=True) as s:
        return int(s.exec(select(func.count()).select_from(Decision)).one())


def cli(*args: str) -> tuple[int, dict | list | str]:
    from yunque.cli import app

    r = CliRunner().invoke(app, list(args))
    return r.exit_code, (json.loads(r.stdout) if r.exit_code == 0 and "--json" in args else r.output)


def the_task(actor: str, kind: str, **match: object) -> Task:
    found = [t for t in inbox(actor=actor, kind=kind) if all(getattr(t, k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def _notice(case, brand: str) -> int:  # noqa: ANN001
    return next(n.id for n in case.notices if n.brands == [brand])


def _line(case, brand: str) -> int:  # noqa: ANN001
    return next(ln.number for ln in case.lines if ln.brand == brand)


# --- confirm_seizure --------------------------------------------------------------------------------------


def test_confirming_the_seizure_releases_a_line_that_does_not_match_once_and_serves_the_rest(db: str) -> None:
    case = open_case(shipment=seed_shipment(FOUND), actor="site.wang", now=FOUND)
    assert {n.state for n in case.notices} == {"issued"}  # no notice before the confirmation
    task = the_task("ipr.li", "confirm_seizure", case_number=case.number)
    assert task.due_at == datetime(2026, 11, 25, 0, 0, tzinfo=SH)  # the same working day
    with pytest.raises(InvalidInput, match="reason"):
        complete_task(task_id=task.id, actor="ipr.li", outcome="not-matching", fields={"not_matching": "6"}, now=LATER)
    with pytest.raises(InvalidInput, match="not_matching"):
        complete_task(task_id=task.id, actor="ipr.li", outcome="not-matching", fields={"not_matching": "x"}, now=LATER)
    with pytest.raises(InvalidInput, match="outcome"):
        complete_task(task_id=task.id, actor="ipr.li", outcome="approved", now=LATER)
    with pytest.raises(PermissionDenied):
        complete_task(task_id=task.id, actor="mgr.zhao", outcome="confirmed", now=LATER)  # not the IPR officer's act
    assert count("case.confirmed") == 0 and decisions() == 0  # refusals change nothing

    done = complete_task(task_id=task.id, actor="ipr.li", outcome="not-matching",
                         fields={"not_matching": "6", "reason": "备案与货物不符"}, now=LATER)
    assert done.state == "completed"
    with pytest.raises(ConcurrentUpdate, match="completed"):
        complete_task(task_id=task.id, actor="ipr.chen", outcome="not-matching",
                      fields={"not_matching": "6", "reason": "备案与货物不符"}, now=LATER)
    after = get_case(case_number=case.number, actor="ipr.li")
    gucci = next(ln for ln in after.lines if ln.brand == "GUCCI")
    assert (gucci.state, gucci.state_reason, gucci.released_at) == ("released", "not-matched", LATER)
    notices = {n.brands[0]: n for n in after.notices}
    assert notices.pop("GUCCI").state == "withdrawn"
    assert {n.state for n in notices.values()} == {"served"} and {n.served_at for n in notices.values()} == {LATER}
    assert count("case.confirmed") == 1 and decisions() == 1 and count("task.completed", f"task:{task.id}") == 1


def test_the_confirmation_from_the_command_line_completes_the_task(sqlite_db: str) -> None:
    case = open_case(shipment=seed_shipment(FOUND), actor="site.wang", now=FOUND)
    task = the_task("ipr.li", "confirm_seizure", case_number=case.number)
    code, shown = cli("task", "show", str(task.id), "--as", "ipr.li", "--json")
    assert code == 0 and shown["form"]["outcomes"] == ["confirmed", "not-matching"]  # type: ignore[index]
    assert set(shown["form"]["fields"]) == {"not_matching", "reason"} and shown["may_complete"] is True  # type: ignore[index]
    code, err = cli("task", "complete", str(task.id), "--as", "ipr.li", "--outcome", "confirmed", "--field", "colour=red")
    assert code == 2 and "colour" in str(err)
    code, err = cli("task", "complete", str(task.id), "--as", "site.wang", "--outcome", "confirmed")
    assert code == 1 and "ipr_officer" in str(err)
    code, out = cli("task", "complete", str(task.id), "--as", "ipr.li", "--outcome", "confirmed",
                    "--now", LATER.isoformat(), "--json")
    assert code == 0 and out["state"] == "completed"  # type: ignore[index]
    code, err = cli("task", "complete", str(task.id), "--as", "ipr.li", "--outcome", "confirmed", "--now", LATER.isoformat())
    assert code == 1 and "completed" in str(err)
    assert {n.state for n in get_case(case_number=case.number, actor="ipr.li").notices} == {"served"}
    assert count("case.confirmed") == 1


def test_the_confirmation_done_from_the_case_completes_its_task(sqlite_db: str) -> None:
    from services.task_acts import confirm_seizure

    case = open_case(shipment=seed_shipment(FOUND), actor="site.wang", now=FOUND)
    task = the_task("ipr.li", "confirm_seizure", case_number=case.number)
    confirm_seizure(case_number=case.number, actor="ipr.li", now=LATER)
    with pytest.raises(ConcurrentUpdate):
        confirm_seizure(case_number=case.number, actor="ipr.li", now=LATER)
    assert inbox(actor="ipr.li", kind="confirm_seizure") == []
    (done,) = list_tasks(actor="ipr.li", view="done").items
    assert done.id == task.id and count("task.completed", f"task:{task.id}") == 1


# --- approve_viewing / attend_viewing ---------------------------------------------------------------------


def test_approving_a_viewing_from_the_inbox_approves_it_once_and_the_room_ends_the_attend_task(db: str) -> None:
    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    v = viewing.request_viewing(actor="chanel.agent", notice_id=_notice(case, "CHANEL"), now=FOUND + timedelta(minutes=2))
    task = the_task("ipr.li", "approve_viewing", viewing_id=v.id)
    with pytest.raises(InvalidInput, match="reason"):
        complete_task(task_id=task.id, actor="ipr.li", outcome="refuse", now=LATER)
    with pytest.raises(InvalidInput, match="scheduled_for"):
        complete_task(task_id=task.id, actor="ipr.li", outcome="approve", fields={"scheduled_for": "2026-11-24T15:00"},
                      now=LATER)
    at = FOUND + timedelta(hours=2)
    complete_task(task_id=task.id, actor="ipr.li", outcome="approve", fields={"scheduled_for": at.isoformat()}, now=LATER)
    with pytest.raises(ConcurrentUpdate):
        complete_task(task_id=task.id, actor="ipr.li", outcome="approve", now=LATER)
    (seen,) = viewing.list_viewings(actor="chanel.agent", case_number=case.number)  # the rights holder sees it
    assert (seen.state, seen.decided_by, seen.scheduled_for) == ("approved", "ipr.li", at)
    assert count("viewing.decided", f"viewing:{v.id}") == 1

    attend = the_task("site.wang", "attend_viewing", viewing_id=v.id)
    assert attend.due_at is not None and attend.due_at >= at
    opened = complete_task(task_id=attend.id, actor="site.wang", outcome="open", now=at)
    assert opened.state == "claimed" and opened.assignee == "site.wang"  # the task ends when the room closes
    assert viewing.list_viewings(actor="ipr.li", case_number=case.number)[0].state == "open"
    with pytest.raises(ConcurrentUpdate):
        complete_task(task_id=attend.id, actor="site.wang", outcome="open", now=at)
    assert count("viewing.opened", f"viewing:{v.id}") == 1
    closed = complete_task(task_id=attend.id, actor="site.wang", outcome="close", now=at + timedelta(minutes=9))
    assert closed.state == "completed" and count("viewing.closed", f"viewing:{v.id}") == 1
    assert viewing.list_viewings(actor="ipr.li", case_number=case.number)[0].state == "closed"


def test_a_viewing_decided_in_the_room_completes_its_task_and_refusing_from_the_cli_refuses(sqlite_db: str) -> None:
    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    v1 = viewing.request_viewing(actor="nike.agent", notice_id=_notice(case, "NIKE"), now=FOUND + timedelta(minutes=2))
    v2 = viewing.request_viewing(actor="hermes.agent", notice_id=_notice(case, "HERMES"), now=FOUND + timedelta(minutes=3))
    t1 = the_task("ipr.li", "approve_viewing", viewing_id=v1.id)
    viewing.decide_viewing(viewing_id=v1.id, actor="ipr.li", approve=True, now=LATER)
    detail = task_detail(task_id=t1.id, actor="ipr.li")
    assert detail.task.state == "completed" and not detail.may_complete
    assert [h.action for h in detail.history] == ["task.opened", "task.completed"]

    t2 = the_task("ipr.li", "approve_viewing", viewing_id=v2.id)
    code, err = cli("task", "complete", str(t2.id), "--as", "ipr.li", "--outcome", "refuse", "--now", LATER.isoformat())
    assert code == 2 and "reason" in str(err)
    code, out = cli("task", "complete", str(t2.id), "--as", "ipr.li", "--outcome", "refuse", "--field",
                    "reason=no staff on site", "--now", LATER.isoformat(), "--json")
    assert code == 0
    seen = {v.id: v for v in viewing.list_viewings(actor="ipr.li", case_number=case.number)}
    assert seen[v2.id].state == "refused" and seen[v2.id].decision_reason == "no staff on site"
    assert count("viewing.decided", f"viewing:{v2.id}") == 1

    attend = the_task("site.wang", "attend_viewing", viewing_id=v1.id)
    code, out = cli("task", "complete", str(attend.id), "--as", "site.wang", "--outcome", "open", "--now",
                    LATER.isoformat(), "--json")
    assert code == 0 and out["state"] == "claimed"  # type: ignore[index]
    viewing.close_room(viewing_id=v1.id, actor="site.wang", now=LATER + timedelta(minutes=5))
    assert task_detail(task_id=attend.id, actor="ipr.li").task.state == "completed"


def test_several_viewings_are_approved_at_once(sqlite_db: str) -> None:
    from services.tasks import bulk

    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    asked = [viewing.request_viewing(actor=f"{b.lower()}.agent", notice_id=_notice(case, b), now=FOUND + timedelta(minutes=2))
             for b in ("NIKE", "CHANEL")]
    ids = [the_task("ipr.li", "approve_viewing", viewing_id=v.id).id for v in asked]
    results = bulk(action="complete", task_ids=ids, actor="ipr.li", outcome="approve", now=LATER)
    assert [r.ok for r in results] == [True, True]
    assert {v.state for v in viewing.list_viewings(actor="ipr.li", case_number=case.number)} == {"approved"}
    attend = [t.id for t in inbox(actor="site.wang", kind="attend_viewing")]
    assert len(attend) == 2
    with pytest.raises(InvalidInput, match="one at a time"):
        bulk(action="complete", task_ids=attend, actor="site.wang", outcome="open", now=LATER)


# --- check_bond / investigate -----------------------------------------------------------------------------


def test_a_bond_received_in_the_inbox_detains_once_and_the_investigation_decides(db: str) -> None:
    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    hermes = _notice(case, "HERMES")
    record_answer(notice_id=hermes, actor="hermes.agent", now=LATER,
                  answer={"verdicts": {_line(case, "HERMES"): "infringing"}, "detain": True})
    bond = the_task("ipr.li", "check_bond", notice_id=hermes)
    with pytest.raises(InvalidInput, match="form"):  # what customs received is not optional
        complete_task(task_id=bond.id, actor="ipr.li", outcome="received", now=LATER)
    with pytest.raises(InvalidInput, match="amount"):
        complete_task(task_id=bond.id, actor="ipr.li", outcome="received", fields={"form": "deposit", "amount": "-5"},
                      now=LATER)
    received = {"form": "deposit", "amount": "24000"}
    complete_task(task_id=bond.id, actor="ipr.li", outcome="received", fields=received,
                  now=LATER + timedelta(minutes=5))
    with pytest.raises(ConcurrentUpdate):
        complete_task(task_id=bond.id, actor="ipr.li", outcome="received", fields=received,
                      now=LATER + timedelta(minutes=6))
    line = next(ln for ln in get_case(case_number=case.number, actor="ipr.li").lines if ln.brand == "HERMES")
    assert line.state == "detained" and count("bond.received", f"notice:{hermes}") == 1
    assert count("task.completed", f"task:{bond.id}") == 1

    investigate = the_task("ipr.li", "investigate", line_id=line.id)
    code, err = cli("task", "complete", str(investigate.id), "--as", "ipr.li", "--outcome", "guilty")
    assert code == 2 and "outcome" in str(err)
    code, out = cli("task", "complete", str(investigate.id), "--as", "ipr.li", "--outcome", "infringing",
                    "--field", "note=counterfeit", "--now", (LATER + timedelta(days=1)).isoformat(), "--json")
    assert code == 0 and out["state"] == "completed"  # type: ignore[index]
    assert count("task.completed", f"task:{investigate.id}") == 1  # the act closes no second time
    code, _ = cli("task", "complete", str(investigate.id), "--as", "ipr.li", "--outcome", "infringing")
    assert code == 1
    line = next(ln for ln in get_case(case_number=case.number, actor="ipr.li").lines if ln.brand == "HERMES")
    assert line.state == "confiscated" and count("line.confiscated") == 1


# --- serve_manually / load_calendar / a kind without an act -------------------------------------------------


def _raise_task(kind: str, case_number: str) -> int:
    """A serve_manually task as the mail path raises it, or a load_calendar task for a missing year."""
    from models.docs import Delivery
    from models.tables import Case
    from services.clocks import ensure_calendar_task
    from services.context import record, system_actor
    from services.delivery import _escalate
    from services.documents import issue_for_notice
    from tests.unit.test_documents import MemoryStore

    with session_scope() as s:
        case_id = s.exec(select(Case.id).where(Case.number == case_number)).one()
    if kind == "serve_manually":
        notice = get_case(case_number=case_number, actor="ipr.li").notices[0]
        doc = issue_for_notice(notice_id=notice.id, now=FOUND, store=MemoryStore())
        with session_scope() as s:
            from models.tables import Document

            row = Delivery(document_id=doc.id, case_id=case_id, means="mail", attempt=1, state="failed", started_at=FOUND)
            s.add(row)
            s.flush()
            return _escalate(s, doc=s.get(Document, doc.id), row=row, who=system_actor(s), at=FOUND,
                             reason="mail refused").id  # type: ignore[return-value]
    with session_scope() as s:
        record(s, actor=system_actor(s), action="clock.pending", subject="line:x", at=FOUND, case_id=case_id,
               after={"clock": "test", "missing_year": 2031, "reason": "unknown"})
        ensure_calendar_task(s, case_id=case_id, year=2031, at=FOUND)
        return s.exec(select(Task.id).where(Task.kind == "load_calendar", Task.case_id == case_id)).one()


def test_serving_by_hand_from_the_inbox_serves_the_document_once(sqlite_db: str) -> None:
    case = open_case(shipment=seed_shipment(FOUND), actor="site.wang", now=FOUND)
    task_id = _raise_task("serve_manually", case.number)
    served_at = FOUND + timedelta(hours=1)
    code, err = cli("task", "complete", str(task_id), "--as", "ipr.li", "--outcome", "served", "--field", "means=fax")
    assert code == 2 and "means" in str(err)
    done = complete_task(task_id=task_id, actor="ipr.li", outcome="served",
                         fields={"means": "hand", "served_at": served_at.isoformat()}, now=served_at + timedelta(minutes=5))
    assert done.state == "completed" and count("document.served_manually") == 1
    with pytest.raises(ConcurrentUpdate):
        complete_task(task_id=task_id, actor="ipr.li", outcome="served", now=served_at + timedelta(minutes=6))
    notice = get_case(case_number=case.number, actor="ipr.li").notices[0]
    assert notice.state == "served" and notice.served_at == served_at


def test_a_calendar_task_completes_only_once_the_year_is_loaded(sqlite_db: str) -> None:
    case = open_case(shipment=seed_shipment(FOUND), actor="site.wang", now=FOUND)
    task_id = _raise_task("load_calendar", case.number)
    with pytest.raises(CalendarUnknown):
        complete_task(task_id=task_id, actor="admin", outcome="loaded", now=LATER)
    code, err = cli("task", "complete", str(task_id), "--as", "admin", "--outcome", "loaded")
    assert code == 1 and "2031" in str(err)
    assert task_detail(task_id=task_id, actor="admin").task.state == "open"


def test_a_kind_without_an_act_cannot_be_completed(sqlite_db: str) -> None:
    from services.context import open_task
    from models.enums import Role

    case = open_confirmed(seed_shipment(FOUND), now=FOUND)
    with session_scope() as s:
        from models.tables import Case

        c = s.exec(select(Case).where(Case.number == case.number)).one()
        tid = open_task(s, kind="sign_detention", case_id=c.id, customs_office_id=c.customs_office_id,  # type: ignore[arg-type]
                        candidate_group=Role.IPR_OFFICER, title="sign", due_at=None, now=FOUND).id
    assert "sign_detention" not in TASK_ACTS and describe("sign_detention")["outcomes"] == []
    with pytest.raises(InvalidInput, match="no act"):
        complete_task(task_id=tid, actor="ipr.li", outcome="signed", now=LATER)  # type: ignore[arg-type]
    assert task_detail(task_id=tid, actor="ipr.li").why_not is not None  # type: ignore[arg-type]


# --- the inbox's views ------------------------------------------------------------------------------------


def test_the_views_show_mine_my_group_unclaimed_the_office_with_assignees_and_done_by_me(db: str) -> None:
    from services.tasks import claim_task, escalate_overdue

    cases = [open_case(shipment={**seed_shipment(FOUND), "declaration_no": f"01012026112400000{i}"}, actor="site.wang",
                       now=FOUND) for i in range(3)]
    ids = [the_task("ipr.li", "confirm_seizure", case_number=c.number).id for c in cases]
    claim_task(task_id=ids[0], actor="ipr.chen", now=LATER)
    assert [t.id for t in list_tasks(actor="ipr.chen", view="mine").items] == [ids[0]]
    assert [t.id for t in list_tasks(actor="ipr.li", view="group").items] == ids[1:]
    office = list_tasks(actor="ipr.li", view="office").items
    assert [(t.id, t.assignee) for t in office] == [(ids[0], "ipr.chen"), (ids[1], None), (ids[2], None)]
    assert [t.id for t in list_tasks(actor="ipr.li", view="office", assignee="ipr.chen").items] == [ids[0]]
    assert [t.id for t in list_tasks(actor="ipr.li", view="office", case_number=cases[2].number).items] == [ids[2]]
    first = list_tasks(actor="ipr.li", view="office", limit=2)
    assert first.next_offset == 2 and [t.id for t in list_tasks(actor="ipr.li", view="office", offset=2).items] == [ids[2]]
    assert list_tasks(actor="site.huang", view="office").items == []  # another office
    with pytest.raises(PermissionDenied):
        list_tasks(actor="nike.agent")
    late = FOUND + timedelta(days=2)
    assert len(list_tasks(actor="ipr.li", view="office", due="overdue", now=late).items) == 3
    assert escalate_overdue(now=late) == ids and escalate_overdue(now=late) == []
    assert len(list_tasks(actor="mgr.zhao", view="office", escalated=True).items) == 3
    complete_task(task_id=ids[1], actor="ipr.li", outcome="confirmed", now=late)
    assert [t.id for t in list_tasks(actor="ipr.li", view="done").items] == [ids[1]]
