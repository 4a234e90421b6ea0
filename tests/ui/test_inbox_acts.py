"""AppTest: completing a task in the inbox performs its act, exactly once; the form names a bad field."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services import viewing
from services.cases import get_case, open_case
from services.demo import seed_shipment
from services.tasks import inbox
from tests.support import open_confirmed
from tests.ui.test_pages import app_as, texts
from ui.i18n import t


def _submit(at, task_id: int):  # noqa: ANN001, ANN202
    button = next(b for b in at.button if b.label == t("complete", "en") and str(task_id) in b.id)
    return button.click().run()


def test_a_line_refused_at_confirmation_is_released_and_the_rest_is_served(sqlite_db_now: str) -> None:
    now = datetime.now().astimezone()
    case = open_case(shipment=seed_shipment(now - timedelta(minutes=5)), actor="site.wang", now=now)
    (task,) = inbox(actor="ipr.li", kind="confirm_seizure", case_number=case.number)
    nike = next(ln.number for ln in case.lines if ln.brand == "NIKE")
    at = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)})
    key = f"inbox.complete.{task.id}"
    at.radio(key=f"{key}.outcome").set_value("not-matching")
    at.text_input(key=f"{key}.not_matching").input(str(nike))
    _submit(at, task.id)
    assert any("reason" in e.value for e in at.error)  # the reason is required: nothing changed
    assert {ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines} == {"suspended"}
    at.text_area(key=f"{key}.reason").input("备案与货物不符")
    _submit(at, task.id)
    assert not at.exception, [e.value for e in at.exception]
    after = get_case(case_number=case.number, actor="ipr.li")
    states = {ln.brand: (ln.state, ln.state_reason) for ln in after.lines}
    assert states.pop("NIKE") == ("released", "not-matched")
    assert {s for s, _ in states.values()} == {"suspended"}
    notices = {n.brands[0]: n.state for n in after.notices}
    assert notices.pop("NIKE") == "withdrawn" and set(notices.values()) == {"served"}
    assert inbox(actor="ipr.li", kind="confirm_seizure", case_number=case.number) == []


def test_the_chanel_viewing_is_approved_from_the_inbox_once(sqlite_db_now: str) -> None:
    now = datetime.now().astimezone()
    case = open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)
    chanel = next(n.id for n in case.notices if "CHANEL" in n.brands)
    v = viewing.request_viewing(actor="chanel.agent", notice_id=chanel)
    (task,) = [x for x in inbox(actor="ipr.li", kind="approve_viewing") if x.viewing_id == v.id]
    at = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)})
    assert case.number in texts(at)
    key = f"inbox.complete.{task.id}"
    at.radio(key=f"{key}.outcome").set_value("approve")
    at.text_input(key=f"{key}.scheduled_for").input((now + timedelta(hours=1)).isoformat(timespec="minutes"))
    _submit(at, task.id)
    assert not at.exception, [e.value for e in at.exception]
    (seen,) = viewing.list_viewings(actor="ipr.li", case_number=case.number)
    assert seen.state == "approved" and seen.decided_by == "ipr.li" and seen.scheduled_for is not None
    assert [x.kind for x in inbox(actor="site.wang") if x.viewing_id == v.id] == ["attend_viewing"]
    again = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)})  # completed: no form any more
    assert not [b for b in again.button if b.label == t("complete", "en")]
    # the site officer's attend_viewing task leads straight into the room, not to the case
    (attend,) = [x for x in inbox(actor="site.wang") if x.viewing_id == v.id]
    site = app_as("site.wang", "views/inbox.py", {"task": str(attend.id)}, lang="en")
    links = [(e.proto.page, e.proto.query_string) for e in site.get("page_link")
             if e.proto.label in (t("join_room", "en", id=v.id), t("open_case", "en", n=case.number))]
    assert len(links) == 1 and links[0][0].endswith("viewing") and f"viewing={v.id}" in links[0][1], links


@pytest.mark.parametrize("bad", ["tomorrow", "2026-11-24T15:00"])
def test_a_viewing_time_that_is_not_a_moment_is_refused_by_field(sqlite_db_now: str, bad: str) -> None:
    now = datetime.now().astimezone()
    case = open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)
    v = viewing.request_viewing(actor="nike.agent", notice_id=next(n.id for n in case.notices if "NIKE" in n.brands))
    (task,) = [x for x in inbox(actor="ipr.li", kind="approve_viewing") if x.viewing_id == v.id]
    at = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)})
    at.text_input(key=f"inbox.complete.{task.id}.scheduled_for").input(bad)
    _submit(at, task.id)
    assert any(t("field.scheduled_for", "en") in e.value for e in at.error), [e.value for e in at.error]
    assert not any("Input should" in e.value for e in at.error)  # said in words, not pydantic's text
    assert viewing.list_viewings(actor="ipr.li", case_number=case.number)[0].state == "requested"


def test_a_bond_received_is_recorded_from_the_inbox_and_detains_the_line(sqlite_db_now: str) -> None:
    from services.answers import record_answer

    now = datetime.now().astimezone()
    case = open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)
    hermes = next(ln for ln in case.lines if ln.brand == "HERMES")
    record_answer(notice_id=hermes.notice_id, actor="hermes.agent",  # no general bond: the claim waits for one
                  answer={"verdicts": {hermes.number: "infringing"}, "detain": True})
    (task,) = inbox(actor="ipr.li", kind="check_bond", case_number=case.number)
    at = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)})
    key = f"inbox.complete.{task.id}"
    assert at.radio(key=f"{key}.outcome").value == "received"
    at.selectbox(key=f"{key}.form").set_value("deposit")
    at.text_area(key=f"{key}.amount").input("-5")
    _submit(at, task.id)
    assert any("amount" in e.value.lower() or t("field.amount", "en") in e.value for e in at.error), \
        [e.value for e in at.error]
    assert {ln.brand: ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines}["HERMES"] == "suspended"
    at.text_area(key=f"{key}.amount").input("24000")
    _submit(at, task.id)
    assert not at.exception, [e.value for e in at.exception]
    assert {ln.brand: ln.state for ln in get_case(case_number=case.number, actor="ipr.li").lines}["HERMES"] == "detained"
    assert inbox(actor="ipr.li", kind="check_bond", case_number=case.number) == []


def test_a_task_title_is_written_in_the_readers_language_from_its_facts(sqlite_db_now: str) -> None:
    from services.answers import record_answer
    from ui.task_titles import render_title

    now = datetime.now().astimezone()
    case = open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)
    hermes = next(ln for ln in case.lines if ln.brand == "HERMES")
    record_answer(notice_id=hermes.notice_id, actor="hermes.agent",  # no general bond: a check_bond task
                  answer={"verdicts": {hermes.number: "infringing"}, "detain": True})
    (task,) = inbox(actor="ipr.li", kind="check_bond", case_number=case.number)
    assert task.title.startswith("Bond of RMB")  # the stored title is kept as it was written
    assert task.facts["case"] == case.number and task.facts["notice"] == hermes.notice_id and task.facts["amount"]
    zh = f"案件 {case.number}（通知 {hermes.notice_id}）待收担保人民币 {task.facts['amount']} 元：收到后登记"
    assert render_title(task.kind, task.facts, "zh", stored=task.title) == zh
    at = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)}, lang="zh")
    body = texts(at)
    assert zh in body and "Bond of RMB" not in body


def test_the_officer_confirming_a_seizure_sees_the_flags_and_the_photo_match_of_each_line(sqlite_db_now: str) -> None:
    """Issue: a line outside its recordation's classes is flagged to the officer who confirms the seizure, with
    the 以图识图 score the site officer's photo got (Meas 21)."""
    from services.recognition import Identification, record_identifications

    now = datetime.now().astimezone()
    ship = seed_shipment(now - timedelta(minutes=5))
    chanel = next(i for i, ln in enumerate(ship["lines"]) if ln["brand"] == "CHANEL")
    ship["lines"][chanel] = {**ship["lines"][chanel], "description": "Wrist watches", "nice_class": 14}
    case = open_case(shipment=ship, actor="site.wang", now=now)
    line = next(ln for ln in case.lines if ln.brand == "CHANEL")
    record_identifications(case_number=case.number, actor="site.wang", identifications=[
        Identification(line_number=line.number, recordation=line.recordation, score=0.87, inliers=42)])
    (task,) = inbox(actor="ipr.li", kind="confirm_seizure", case_number=case.number)
    at = app_as("ipr.li", "views/inbox.py", {"task": str(task.id)})
    table = next(df.value for df in at.dataframe if t("match_flags", "en") in df.value.columns)
    row = table[table[t("line_no", "en")] == line.number].iloc[0]
    assert row[t("match_flags", "en")] == t("flag.outside-classes", "en")
    assert "0.87" in row[t("photo_match", "en")] and t("photo_match_same", "en") in row[t("photo_match", "en")]
    others = table[table[t("line_no", "en")] != line.number]
    assert set(others[t("photo_match", "en")]) == {""}


def test_a_manager_restarts_a_stopped_case_process_from_the_inbox_and_a_reason_is_asked_to_leave_it(
        sqlite_db_now: str) -> None:
    from services import process

    now = datetime.now().astimezone()
    case = open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)
    process.attach_flow_run(case_number=case.number, flow_run_id="run-cancelled", now=now)
    task_id = process.process_stopped(case_number=case.number, flow_run_id="run-cancelled", why="cancelled",
                                      state="Cancelled", now=now)
    at = app_as("mgr.zhao", "views/inbox.py", {"task": str(task_id)})
    assert case.number in texts(at)
    key = f"inbox.complete.{task_id}"
    at.radio(key=f"{key}.outcome").set_value("leave-stopped")
    _submit(at, task_id)
    assert [e.value for e in at.error] == ["Reason: say why the case's process stays stopped"]
    assert [t.id for t in inbox(actor="mgr.zhao", kind="restart_process")] == [task_id]
    at.radio(key=f"{key}.outcome").set_value("restart")
    _submit(at, task_id)
    assert not at.exception, [e.value for e in at.exception]
    assert inbox(actor="mgr.zhao", kind="restart_process") == []
    restart = [e for e in process.pending_events() if e.topic == "case.process_restart"]
    assert [(e.case_number, e.payload["flow_run_id"]) for e in restart] == [(case.number, "run-cancelled")]
