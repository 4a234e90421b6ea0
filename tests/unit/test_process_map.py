"""The process map of a case is drawn from its state: done, under way (waiting on whom, until when), to come."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from models.rules.workdays import end_of_day
from models.schemas import AnswerOut, CaseOut, LineOut, NoticeOut, TaskOut
from services.process_map import build_map

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 10, 30, tzinfo=SH)


def line(n: int, brand: str, state: str = "suspended", notice: int = 1, **kw) -> LineOut:  # noqa: ANN003
    return LineOut(id=n, number=n, description="bag", brand=brand, quantity=1, unit="pcs", value=Decimal("100"),
                   state=state, recordation=f"T-{brand}", rights_holder=f"{brand} SA", notice_id=notice, **kw)


def notice(i: int, holder: str, state: str, **kw) -> NoticeOut:  # noqa: ANN003
    return NoticeOut(id=i, case_number="YQ-2026-000001", rights_holder=holder, rights_holder_id=i, state=state,
                     brands=[holder], lines=[i], issued_at=T0, **kw)


def task(i: int, kind: str, **kw) -> TaskOut:  # noqa: ANN003
    base = {"title": kind, "case_number": "YQ-2026-000001", "candidate_group": "ipr_officer", "priority": 5,
            "state": "open", "created_at": T0, "version": 1}
    return TaskOut(id=i, kind=kind, **{**base, **kw})


def case(lines: list[LineOut], notices: list[NoticeOut], **kw) -> CaseOut:  # noqa: ANN003
    base = {"number": "YQ-2026-000001", "status": "open", "declaration_no": "0101", "direction": "export",
            "customs_office": "Beijing", "found_at": T0, "opened_at": T0, "opened_by": "site.wang"}
    return CaseOut(lines=lines, notices=notices, **{**base, **kw})


def states(m) -> dict[str, str]:  # noqa: ANN001
    return {s.key: s.state for s in m.steps}


def test_before_the_confirmation_the_officers_are_waited_on_and_no_notice_is_out() -> None:
    due = T0 + timedelta(hours=6)
    m = build_map(case([line(1, "NIKE")], [notice(1, "NIKE", "issued")]),
                  [task(7, "confirm_seizure", due_at=due), task(8, "confirm_seizure", case_number="YQ-2026-000002")])
    assert states(m) == {"seized": "done", "confirm": "current", "notice-1": "todo", "detention": "todo",
                         "disposal": "todo", "closed": "todo"}
    assert (m.step("confirm").waiting_on, m.step("confirm").until) == ("group:ipr_officer", due)
    assert ("seized", "confirm") in m.edges and ("confirm", "notice-1") in m.edges


def test_served_notices_wait_on_their_rights_holder_and_a_viewing_hangs_on_its_notice() -> None:
    deadline = T0 + timedelta(days=3)
    answered = AnswerOut(answered_at=T0 + timedelta(minutes=9), answered_by="nike.agent", verdicts={1: "not-infringing"},
                         detain=False)
    c = case([line(1, "NIKE", "released", notice=1), line(2, "CHANEL", notice=2)],
             [notice(1, "NIKE", "answered", answer=answered), notice(2, "CHANEL", "served", deadline_at=deadline)],
             confirmed_at=T0 + timedelta(minutes=2))
    m = build_map(c, [task(9, "approve_viewing", notice_id=2, viewing_id=4, assignee="ipr.li", due_at=deadline)])
    assert m.step("confirm").state == "done" and m.step("notice-1").at == answered.answered_at
    assert (m.step("notice-2").state, m.step("notice-2").waiting_on, m.step("notice-2").until) == \
        ("current", "CHANEL", deadline)
    viewing = m.step("viewing-4-approve_viewing")
    assert (viewing.state, viewing.waiting_on) == ("current", "ipr.li") and ("notice-2", viewing.key) in m.edges
    assert m.step("detention").state == "todo"  # an answer may still ask for detention


def test_a_detained_line_waits_on_the_investigation_until_its_last_working_day() -> None:
    due = date(2027, 1, 8)
    c = case([line(1, "HERMES", "detained", detained_at=T0, investigation_due=due), line(2, "NIKE", "released", notice=2)],
             [notice(1, "HERMES", "answered"), notice(2, "NIKE", "expired", deadline_at=T0 + timedelta(days=3))],
             confirmed_at=T0)
    m = build_map(c, [task(3, "investigate", line_id=1, assignee="ipr.chen")])
    d = m.step("detention")
    assert (d.state, d.waiting_on, d.until, d.detail) == ("current", "ipr.chen", end_of_day(due), "HERMES")
    assert m.step("notice-2").state == "done" and m.step("disposal").state == "todo"


def test_a_case_closed_without_detention_skips_the_steps_it_never_took() -> None:
    c = case([line(1, "NIKE", "released")], [notice(1, "NIKE", "expired")], confirmed_at=T0, status="closed")
    assert states(build_map(c, [])) == {"seized": "done", "confirm": "done", "notice-1": "done",
                                        "detention": "skipped", "disposal": "skipped", "closed": "done"}


def test_confiscated_goods_wait_on_their_disposal_then_the_case_closes() -> None:
    lines = [line(1, "CHANEL", "confiscated", detained_at=T0)]
    open_ = build_map(case(lines, [notice(1, "CHANEL", "answered")], confirmed_at=T0), [task(5, "dispose", line_id=1)])
    assert states(open_)["detention"] == "done" and states(open_)["disposal"] == "current"
    done = build_map(case(lines, [notice(1, "CHANEL", "answered")], confirmed_at=T0, status="closed"), [])
    assert states(done)["disposal"] == "done" and states(done)["closed"] == "done"


def test_the_drawing_keeps_user_text_inside_its_labels() -> None:
    from ui.parts import map_dot

    evil = 'Evil "Corp" \\ x\n"] ; a -> b [label="'
    m = build_map(case([line(1, "NIKE")], [notice(1, evil, "served")], confirmed_at=T0), [])
    dot = map_dot(m)
    first = dot.splitlines()[0]
    assert first.startswith('digraph "') and first.endswith(f'{m.case_number}" {{') and dot.rstrip().endswith("}")
    body = [ln for ln in dot.splitlines() if ln.startswith('  "notice-1" [')]
    assert len(body) == 1 and '\\"Corp\\"' in body[0] and "\\\\ x" in body[0]
    assert "a -> b" not in dot.replace('\\"] ; a -> b [label=\\"', "")  # only inside the escaped label


def test_the_drawing_names_people_and_hovers_with_the_steps_words_not_their_keys() -> None:
    from ui.parts import map_dot

    m = build_map(case([line(1, "NIKE")], [notice(1, "Nike Innovate C.V.", "served")], confirmed_at=T0), [])
    seized = m.step("seized")
    dot = map_dot(m, {seized.detail: "王伟"})
    node = next(ln for ln in dot.splitlines() if ln.startswith('  "seized" ['))
    assert "王伟" in node and f"{seized.detail}" not in node.replace('"seized"', "")
    assert 'tooltip="' in node and "tooltip=\"seized" not in node  # hover text: the step's words
    assert all('[tooltip=" "]' in ln for ln in dot.splitlines() if " -> " in ln)  # an arrow says nothing
