"""AppTest for each page and role: what each role sees and cannot see; forms refuse bad input per field."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from services import sessions
from services.cases import open_case
from services.demo import load_demo_data, seed_shipment
from tests.support import open_confirmed
from ui.i18n import t

APP = str(Path(__file__).resolve().parents[2] / "ui" / "app.py")


def _password(user: str) -> str:
    return next(u["password"] for u in load_demo_data()["users"] if u["username"] == user)


def app_as(user: str | None, page: str | None = None, query: dict[str, str] | None = None, lang: str = "en") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["ui.lang"] = lang
    if user is not None:
        at.session_state["auth.token"] = sessions.sign_in(username=user, password=_password(user)).token
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "header", "subheader", "caption", "text", "markdown", "info", "warning",
                                  "error", "success") for e in getattr(at, kind)]
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def unconfirmed_case(sqlite_db_now: str):  # noqa: ANN201
    now = datetime.now().astimezone()
    return open_case(shipment=seed_shipment(now - timedelta(minutes=5)), actor="site.wang", now=now)


@pytest.fixture
def seed_case(sqlite_db_now: str):  # noqa: ANN201
    now = datetime.now().astimezone()
    return open_confirmed(seed_shipment(now - timedelta(minutes=5)), now=now)


def test_signed_out_visitors_see_the_sign_in_form_and_the_verification_page_only(sqlite_db_now: str) -> None:
    at = app_as(None)
    assert at.title[0].value == t("page.signin", "en")
    at.text_input(key="signin.username").input("")
    at.button[0].click().run()
    assert any(t("field.username", "en") in e.value for e in at.error), [e.value for e in at.error]
    at.text_input(key="signin.username").input("ipr.li")
    at.text_input(key="signin.password").input("wrong password!")
    at.button[0].click().run()
    assert any(t("signin_refused", "en") == e.value for e in at.error)  # the user's words, not a class name
    at.switch_page("views/inbox.py")  # the address /inbox, through the app's navigation as a browser opens it
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [x.value for x in at.title] == [t("page.signin", "en")]
    assert any(t("sign_in_first", "en") in i.value for i in at.info)
    assert at.session_state["auth.actor"] is None and t("page.inbox", "en") not in texts(at)


@pytest.mark.parametrize(("user", "page", "query", "title"), [
    ("ipr.li", "inbox", {"task": "7"}, "page.inbox"),
    ("ipr.li", "case", {"case": "YQ-2026-000001"}, "page.case"),
    ("nike.agent", "portal", {"notice": "3"}, "page.portal"),
    ("nike.agent", "viewing", {"viewing": "4"}, "page.viewing"),
    ("cq.trading", "shipments", {}, "page.shipments"),
])
def test_a_bookmark_opened_signed_out_shows_the_sign_in_form_then_the_page_with_its_query(
        sqlite_db_now: str, user: str, page: str, query: dict[str, str], title: str) -> None:
    at = app_as(None, query=query)
    at.switch_page(f"views/{page}.py")  # the browser at /<page>?<query>, as a link in an e-mail opens it
    at.run()
    assert [x.value for x in at.title] == [t("page.signin", "en")]
    assert at.session_state["auth.next"] == {"page": page, "query": query}
    at.text_input(key="signin.username").input(user)
    at.text_input(key="signin.password").input(_password(user))
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [x.value for x in at.title] == [t(title, at.session_state["ui.lang"])]  # the account's language
    assert {k: at.query_params[k] for k in query} == query
    assert "auth.next" not in at.session_state


def test_signing_in_opens_a_session_that_a_new_run_resumes(sqlite_db_now: str) -> None:
    at = app_as(None)
    at.text_input(key="signin.username").input("ipr.li")
    at.text_input(key="signin.password").input(_password("ipr.li"))
    at.button[0].click().run()
    token = at.session_state["auth.token"]
    assert sessions.resume(token=token).username == "ipr.li"
    again = AppTest.from_file(APP, default_timeout=60)  # a reload: a new script run with the same session
    again.session_state["auth.token"] = token
    again.run()
    assert t("page.inbox", "zh") in [x.value for x in again.title]  # ipr.li reads Chinese
    # the language shown before signing in (English here) is not taken for ipr.li's own choice
    assert sessions.resume(token=token).locale == "zh"


@pytest.mark.parametrize(("user", "page", "allowed"), [
    ("site.wang", "board.py", False),
    ("site.wang", "admin.py", False),
    ("ipr.li", "portal.py", False),
    ("ipr.li", "shipments.py", False),
    ("mgr.zhao", "board.py", True),
    ("mgr.zhao", "register.py", False),
    ("admin", "admin.py", True),
    ("nike.agent", "case.py", False),
    ("nike.agent", "inbox.py", False),
    ("nike.agent", "board.py", False),
    ("cq.trading", "portal.py", False),
    ("cq.trading", "shipments.py", True),
    ("chanel.agent", "apply.py", True),
    ("ipr.li", "apply.py", False),
    ("cq.trading", "apply.py", False),
])
def test_each_page_checks_the_role_itself(sqlite_db_now: str, user: str, page: str, allowed: bool) -> None:
    # The navigation does not offer the page to the role ...
    at = app_as(user)
    if not allowed:
        with pytest.raises(ValueError):
            at.switch_page(f"views/{page}")
    # ... and the page, reached anyway (a link, a crafted request), refuses by itself.
    token = at.session_state["auth.token"]
    direct = AppTest.from_file(str(Path(APP).parent / "views" / page), default_timeout=60)
    direct.session_state["ui.lang"] = "en"
    direct.session_state["auth.actor"] = sessions.resume(token=token)
    direct.run()
    assert not direct.exception, [e.value for e in direct.exception]
    refused = any(t("not_for_your_role", "en") in e.value for e in direct.error)
    assert refused is (not allowed)


def test_an_officer_sees_the_inbox_with_the_new_seizure_task(unconfirmed_case) -> None:  # noqa: ANN001
    at = app_as("ipr.li", "views/inbox.py")
    body = texts(at)
    assert unconfirmed_case.number in body and t("kind.confirm_seizure", "en") in body
    zh = texts(app_as("ipr.li", "views/inbox.py", lang="zh"))
    assert f"核对案件 {unconfirmed_case.number} 的货物与知识产权备案是否相符" in zh  # the title in the reader's language
    assert "Confirm the lines of" not in zh
    other = app_as("site.huang", "views/inbox.py")  # another office
    assert unconfirmed_case.number not in texts(other)


def test_the_case_workspace_shows_lines_notices_and_timeline_to_its_office_only(seed_case) -> None:  # noqa: ANN001
    at = app_as("ipr.li", "views/case.py", {"case": seed_case.number})
    body = texts(at)
    assert "CHANEL SARL" in body and "T2019-" in body and t("action.case.opened", "en") in body
    assert "case.opened" not in body and "{'" not in body  # the timeline in words, never codes or a dict
    zh = texts(app_as("ipr.li", "views/case.py", {"case": seed_case.number}, lang="zh"))
    assert t("action.case.opened", "zh") in zh and t("action.notice.issued", "zh") in zh
    other = app_as("site.huang", "views/case.py", {"case": seed_case.number})
    assert any(t("case_not_found", "en") in e.value for e in other.error)
    assert "CHANEL SARL" not in texts(other)


def test_a_rights_holder_sees_its_own_notice_only(seed_case) -> None:  # noqa: ANN001
    at = app_as("nike.agent", "views/portal.py")
    body = texts(at)
    assert "NIKE" in body and "CHANEL" not in body and "HERMES" not in body
    assert t("bond_required", "en").split(":")[0] not in body  # no detention chosen yet


def test_a_rights_holder_typing_another_notice_or_case_sees_nothing(seed_case) -> None:  # noqa: ANN001
    chanel = next(n.id for n in seed_case.notices if "CHANEL" in n.brands)
    at = app_as("nike.agent", "views/portal.py", {"notice": str(chanel)})
    assert any(t("notice_not_found", "en") in e.value for e in at.error)
    assert "CHANEL" not in texts(at) and "女式手提包" not in texts(at)


def test_the_answer_form_needs_a_verdict_per_line_and_shows_the_required_bond(seed_case) -> None:  # noqa: ANN001
    at = app_as("hermes.agent", "views/portal.py")
    submit = next(b for b in at.button if b.label == t("submit_answer", "en"))
    submit.click().run()
    assert any(t("field.verdicts", "en") in e.value for e in at.error), [e.value for e in at.error]
    verdict = next(r for r in at.radio if "infringing" in r.options)  # the line's verdict, not the marks' form
    verdict.set_value("infringing").run()
    at.checkbox[0].check().run()
    # HERMES line: RMB 24,000 -> bond 50 %, at least 20,000 (Meas 23) = 20,000; no general bond
    assert any("CN¥20,000.00" in i.value for i in at.info)
    at.text_input[0].set_value("100.5.5").run()
    next(b for b in at.button if b.label == t("submit_answer", "en")).click().run()
    assert any(t("field.bond", "en") in e.value for e in at.error), [e.value for e in at.error]
    at.text_input[0].set_value("20000.00").run()
    next(b for b in at.button if b.label == t("submit_answer", "en")).click().run()
    assert not at.error, [e.value for e in at.error]
    assert any(t("answer_recorded", "en") in s.value for s in at.success)
    # a typed amount is an application, not a bond (Meas 38): the goods wait for customs to receive it
    body = texts(at)
    assert t("notice_state.claim-pending", "en") in body


def test_a_consignor_sees_its_shipment_and_not_the_rights_holders(seed_case) -> None:  # noqa: ANN001
    at = app_as("cq.trading", "views/shipments.py")
    body = texts(at)
    assert seed_case.number in body and "CHANEL SARL" in body  # the line's holder is shown with its state
    assert "T2019-" in body


def test_registering_a_seizure_refuses_bad_fields_and_matches_recordations(sqlite_db_now: str) -> None:
    at = app_as("site.wang", "views/register.py")
    at.text_input(key="register.declaration_no").input("12345")
    at.text_input(key="register.consignor_name").input("Test Co")
    at.text_input(key="register.uscc").input("BAD")
    at.button[0].click().run()
    errors = " ".join(e.value for e in at.error)
    assert f'{t("field.declaration_no", "en")}: {t("err.digits", "en", n=18)}' in errors, errors
    assert "Consignor › Unified social credit code" in errors and t("field.lines", "en") in errors, errors
    assert "pattern" not in errors and "[0-9]" not in errors, errors  # never pydantic's regular expression


def test_the_managers_board_shows_open_work(seed_case) -> None:  # noqa: ANN001
    at = app_as("mgr.zhao", "views/board.py")
    assert [m.value for m in at.metric][:2] == ["1", "0"]  # one open case; its confirmation task is done
    assert "CHANEL SARL" in texts(at)


def test_the_administrator_form_reports_each_bad_field(sqlite_db_now: str) -> None:
    at = app_as("admin", "views/admin.py")
    assert "site.wang" in texts(at)
    create = next(b for b in at.button if b.label == t("create_user", "en"))
    create.click().run()
    errors = " ".join(e.value for e in at.error)
    assert all(t(f"field.{f}", "en") in errors for f in ("username", "display_name", "password")), errors


def test_language_follows_the_user(sqlite_db_now: str) -> None:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["auth.token"] = sessions.sign_in(username="site.wang", password=_password("site.wang")).token
    at.run()
    assert at.title[0].value == t("page.inbox", "zh")  # site.wang's account says zh
    at.segmented_control(key="ui.lang_choice").set_value("en").run()
    assert at.title[0].value == t("page.inbox", "en")
    assert sessions.resume(token=at.session_state["auth.token"]).locale == "en"  # kept for the next sign-in


def test_the_verification_page_is_public_and_says_nothing_of_unknown_numbers(sqlite_db_now: str) -> None:
    at = app_as(None, query={"doc": "CAPAIR-2026-X-000999"})
    at.switch_page("views/verify.py")
    at.run()
    assert not at.exception
    assert any("CAPAIR-2026-X-000999" in e.value for e in at.error)


def test_a_viewing_room_is_shown_to_its_participants_only(seed_case) -> None:  # noqa: ANN001
    from services import viewing

    chanel = next(n.id for n in seed_case.notices if "CHANEL" in n.brands)
    v = viewing.request_viewing(actor="chanel.agent", notice_id=chanel)
    viewing.decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True)
    viewing.open_room(viewing_id=v.id, actor="site.wang")
    viewing.request_shot(viewing_id=v.id, actor="chanel.agent", text="<img src=x onerror=alert(1)> inner card")
    at = app_as("site.wang", "views/viewing.py", {"viewing": str(v.id)})
    body = texts(at)
    assert "<img src=x onerror=alert(1)> inner card" in body  # the request shown as text, verbatim
    assert at.get("file_uploader"), "the site officer can capture in an open room"
    linked = app_as("site.wang", "views/viewing.py", {"id": str(v.id)})  # the address a link may give
    assert "<img src=x onerror=alert(1)> inner card" in texts(linked)
    assert linked.query_params.get("viewing") == str(v.id) and "id" not in linked.query_params
    other = app_as("nike.agent", "views/viewing.py", {"viewing": str(v.id)})
    assert any(t("viewing_not_found", "en") in e.value for e in other.error)
    assert "inner card" not in texts(other)


def test_after_sign_in_a_deep_link_goes_where_asked_if_the_role_may_see_it_else_home() -> None:
    from models.enums import Role
    from ui import chrome

    wanted = {"page": "case", "query": {"number": "CN-1"}}
    assert chrome.target_after_sign_in(Role.IPR_OFFICER, wanted) == "/case?number=CN-1"
    assert chrome.target_after_sign_in(Role.RIGHTS_HOLDER, wanted) == "/"
    assert chrome.target_after_sign_in(Role.RIGHTS_HOLDER, None) == "/"
    assert chrome.target_after_sign_in(Role.RIGHTS_HOLDER, {"page": "portal", "query": {"notice": "4"}}) == "/portal?notice=4"
    assert chrome.target_after_sign_in(Role.CONSIGNOR, {"page": "admin", "query": {}}) == "/"
    assert chrome.safe_next("/portal?notice=3") == "/portal?notice=3"
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "portal", "", None, "/a\r\nSet-Cookie: x"):
        assert chrome.safe_next(bad) == "/"


def test_signing_in_after_a_deep_link_keeps_its_query_and_forgets_the_target(sqlite_db_now: str) -> None:
    at = app_as(None, query={"number": "YQ-2026-000001"})
    at.session_state["auth.next"] = {"page": "case", "query": {"number": "YQ-2026-000001"}}  # what app.py keeps
    at.text_input(key="signin.username").input("ipr.li")
    at.text_input(key="signin.password").input(_password("ipr.li"))
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "auth.next" not in at.session_state
    assert at.query_params["number"] == "YQ-2026-000001"


def test_requesting_a_viewing_confirms_it_and_the_status_refreshes_itself(seed_case) -> None:  # noqa: ANN001
    from services import viewing

    nike = next(n.id for n in seed_case.notices if "NIKE" in n.brands)
    at = app_as("nike.agent", "views/portal.py", {"notice": str(nike)})
    submit = next(b for b in at.button if b.label == t("request_viewing", "en"))
    submit.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert t("viewing_requested", "en") in [s.value for s in at.success]
    at.run()
    assert t("viewing_requested", "en") not in [s.value for s in at.success]  # shown once
    v = next(x for x in viewing.list_viewings(case_number=seed_case.number, actor="ipr.li") if x.notice_id == nike)
    viewing.decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True)
    at.run()
    links = [e for e in at.get("page_link") if str(v.id) in e.proto.label]
    assert links, "an approved viewing offers the room"


def test_the_portal_status_and_notice_list_rerun_on_a_timer() -> None:
    import ast

    root = Path(APP).parent
    for path, name in ((root / "parts.py", "portal_viewing_status"), (root / "views" / "portal.py", "notice_list")):
        fn = next(n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef) and n.name == name)
        deco = [ast.unparse(d) for d in fn.decorator_list]
        assert "chrome.fragment(run_every=10)" in deco, (path, deco)  # st.fragment, guarded like the page
        assert "st.form" not in ast.unparse(fn), "a form inside a timed fragment would rerun while being filled in"


def test_the_case_page_draws_the_process_map_from_the_case_state(unconfirmed_case) -> None:  # noqa: ANN001
    at = app_as("ipr.li", "views/case.py", {"case": unconfirmed_case.number})
    (chart,) = at.get("graphviz_chart")
    dot = chart.proto.spec
    assert "digraph" in dot and t("step.confirm", "en") in dot
    # the confirmation is under way and waits on the IPR officers; the notices come after it
    assert t("step_waiting", "en", who=t("role.ipr_officer", "en")) in dot
    assert dot.count(f'label="{t("step.notice", "en")}') == len(unconfirmed_case.notices)  # one step each
    assert dot.count(f'tooltip="{t("step.notice", "en")}') == len(unconfirmed_case.notices)  # hovered: its words
    assert t("role.ipr_officer", "en") in texts(at)  # the table of what the case waits on


def _fragment_decorators(path: Path, name: str) -> tuple[list[str], str]:
    import ast

    fn = next(n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.FunctionDef) and n.name == name)
    return [ast.unparse(d) for d in fn.decorator_list], ast.unparse(fn)


@pytest.mark.parametrize(("page", "name"), [("case.py", "case_state"), ("shipments.py", "shipment_list"),
                                            ("shipments.py", "shipment_state")])
def test_the_case_page_and_the_consignor_view_refresh_their_state_every_3_seconds(page: str, name: str) -> None:
    deco, body = _fragment_decorators(Path(APP).parent / "views" / page, name)
    # a release shows within 5 s, without a reload: every 5 s, plus the query and the drawing, was 4.7 s in a
    # browser and could be more
    assert "chrome.fragment(run_every=3)" in deco, (page, deco)
    assert "st.form" not in body and "decide_detained" not in body, "a form would rerun while being filled in"
    assert "evidence_gallery" not in body and "show_evidence" not in body, "images are not fetched again every 3 s"


def _chanel_detained(case) -> int:  # noqa: ANN001
    from services.answers import record_answer

    chanel = next(n for n in case.notices if "CHANEL" in n.brands)
    record_answer(notice_id=chanel.id, actor="chanel.agent",
                  answer={"verdicts": {k: "infringing" for k in chanel.lines}, "detain": True, "bond": "general"})
    return chanel.lines[0]


def test_the_decision_on_a_detained_line_has_no_outcome_chosen_in_advance(seed_case) -> None:  # noqa: ANN001
    line = _chanel_detained(seed_case)
    at = app_as("ipr.li", "views/case.py", {"case": seed_case.number})
    outcome = at.selectbox(key="case.decide.outcome")
    assert outcome.value is None
    lang = at.session_state["ui.lang"]
    next(b for b in at.button if b.label == t("decide", lang)).click().run()
    assert t("outcome_missing", lang) in [e.value for e in at.error]
    assert t("state.detained", lang) in texts(at)  # nothing decided
    at.selectbox(key="case.decide.outcome").set_value("withdrawn")
    next(b for b in at.button if b.label == t("decide", lang)).click().run()
    assert not at.error, [e.value for e in at.error]
    from services.cases import get_case

    assert next(ln for ln in get_case(case_number=seed_case.number, actor="ipr.li").lines if ln.number == line).state == "released"


def test_the_case_page_shows_the_declaration_number_and_status_in_full(seed_case) -> None:  # noqa: ANN001
    at = app_as("ipr.li", "views/case.py", {"case": seed_case.number})
    assert not at.metric  # st.metric cuts a long value short
    shown = [x.value for x in at.text]
    assert seed_case.declaration_no in shown
    assert t(f"case_status.{seed_case.status}", "en") in shown


def test_the_confirmation_time_histogram_is_ordered_by_the_lower_bound_of_its_buckets() -> None:
    from ui.parts import confirmation_histogram

    hist = confirmation_histogram([5, 12, 2000, 20, 45, 10, 300])
    assert list(hist["bucket"]) == ["0–10", "10–15", "15–30", "30–60", "60–240", "240–1440", "1440–∞"]  # no English unit
    assert list(hist["count"]) == [1, 2, 1, 1, 0, 1, 1]  # 10 opens its bucket; an empty bucket stays, at 0


def test_the_board_is_computed_once_per_office_every_30_seconds(seed_case) -> None:  # noqa: ANN001
    from ui import parts

    assert [m.value for m in app_as("mgr.zhao", "views/board.py").metric][0] == "1"
    now = datetime.now().astimezone()
    open_case(shipment=seed_shipment(now - timedelta(minutes=1)), actor="site.wang", now=now)
    again = app_as("mgr.zhao", "views/board.py")  # another browser of the office within 30 s: the same board
    assert [m.value for m in again.metric][0] == "1"
    assert [m.value for m in app_as("admin", "views/board.py").metric][0] == "2"  # every office: its own entry
    parts.office_board.clear()  # what 30 s do
    assert [m.value for m in app_as("mgr.zhao", "views/board.py").metric][0] == "2"


def test_the_board_draws_the_confirmation_times_in_the_order_of_their_buckets(seed_case) -> None:  # noqa: ANN001
    import json

    _chanel_detained(seed_case)  # one answer: one confirmation time
    at = app_as("mgr.zhao", "views/board.py")
    spec = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if '"bucket"' in c.proto.spec)
    assert spec["encoding"]["x"]["sort"] is None  # the data's order (by lower bound), not the labels'


def test_a_rights_holder_applies_for_a_detention_and_the_officer_finds_it_in_the_inbox(sqlite_db_now: str) -> None:
    """The application route from the app (Reg 12-15): a bad declaration number is refused naming the field,
    nothing filed; a good application lists itself as under review and becomes the IPR officer's task."""
    from services.applications import list_applications

    at = app_as("chanel.agent", "views/apply.py")
    at.session_state["apply.lines"] = {"edited_rows": {0: {"description": "Handbags", "quantity": 40,
                                                           "value": "36000.00"}}, "added_rows": [], "deleted_rows": []}
    at.text_input(key="apply.declaration_no").set_value("12345")
    at.text_input(key="apply.consignor_name").set_value("重庆云通商贸有限公司")
    at.text_input(key="apply.uscc").set_value("91500000MA5U7X2K3B")
    at.text_area(key="apply.grounds").set_value("Test purchase: counterfeit.")
    next(b for b in at.button if "File" in b.label).click().run()
    assert not at.exception
    assert any("Declaration" in e.value for e in at.error), [e.value for e in at.error]
    assert list_applications(actor="chanel.agent") == []
    at.text_input(key="apply.declaration_no").set_value("010120261124000901")
    next(b for b in at.button if "File" in b.label).click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("CN¥36,000.00" in s.value for s in at.success)
    assert [a["state"] for a in list_applications(actor="chanel.agent")] == ["filed"]
    assert "under review" in texts(at)
    from services.tasks import inbox

    assert [t.kind for t in inbox(actor="ipr.li") if t.kind == "review_application"] == ["review_application"]


def test_the_inbox_filters_fold_away_until_one_is_used(sqlite_db_now: str) -> None:
    """On a phone the filters filled the first screen: they start folded, and stay open while one is in use."""
    at = app_as("ipr.li", "views/inbox.py")
    filters = next(e for e in at.expander if e.label == t("filters", "en"))
    assert filters.proto.expanded is False
    at.text_input(key="inbox.case").set_value("YQ-2026").run()
    filters = next(e for e in at.expander if e.label == t("filters", "en"))
    assert filters.proto.expanded is True
