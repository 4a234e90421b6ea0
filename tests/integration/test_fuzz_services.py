"""Property-based fuzzing of what people type into Yunque, through the real services.

For every generated input a service either does its work or refuses it in one of two ways: a pydantic
``ValidationError`` whose every error names a field, or a domain error (``YunqueError``) said on one
line (``InvalidInput`` naming its field). Anything else (a ``TypeError``, an ``OverflowError``, a
database error) is a crash, and a refusal leaves every table exactly as it was.

Most properties run on SQLite; the seizure and the answer also run on PostgreSQL (``db``).
"""

from __future__ import annotations

import itertools
import re
import string
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel

from models.rules.errors import InvalidInput, YunqueError

SH = ZoneInfo("Asia/Shanghai")
FOUND = datetime(2026, 11, 24, 10, 30, tzinfo=SH)
NOW = FOUND + timedelta(minutes=30)
BRANDS = ["CHANEL", "NIKE", "HERMES", "ROLEX", "GUCCI"]
CONSIGNOR = {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}
FIELD_FIRST = re.compile(r"^(Value error, )?[a-z_][a-z0-9_.]*: ")

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])
FEW = settings(FUZZ, max_examples=12)


# --- what a refusal must look like -------------------------------------------------------------------


def counts() -> dict[str, int]:
    import models.registry  # noqa: F401
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        return {t.name: s.execute(sa_select(func.count()).select_from(t)).scalar_one()
                for t in SQLModel.metadata.sorted_tables}


def assert_clean_refusal(e: BaseException) -> None:
    """A validation error naming each field, or a domain error on one line; nothing else."""
    if isinstance(e, ValidationError):
        for err in e.errors():
            # at the root: either the whole input is not an object (a form or a file of the wrong shape),
            # or a rule across fields that names its field first ("role: ...")
            assert err["loc"] or err["type"] == "model_type" or FIELD_FIRST.match(err["msg"]), f"an error names no field: {err}"
        return
    if isinstance(e, YunqueError):
        assert "\n" not in str(e) and str(e), repr(e)
        if isinstance(e, InvalidInput):
            assert e.field and re.fullmatch(r"[a-z_][a-z0-9_.]*", e.field), e.field
        return
    raise AssertionError(f"crash: {type(e).__name__}: {e}") from e


def attempt(call: Callable[[], Any]) -> Any:
    """Run ``call``; on a refusal check its shape and that nothing was written; return the result or None."""
    before = counts()
    try:
        return call()
    except Exception as e:  # noqa: BLE001  (sorted by assert_clean_refusal)
        assert_clean_refusal(e)
        assert counts() == before, f"refused with {type(e).__name__} ({e}) but wrote"
        return None


# --- strategies --------------------------------------------------------------------------------------

junk = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text(max_size=30)
    | st.decimals(allow_nan=True, allow_infinity=True) | st.floats(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
#: Text that must never be stored: NUL, terminal escapes, other controls, bidi overrides and isolates.
HOSTILE_TEXT = ["a\x00b", "\x1b[31mred\x1b[0m", "bell\x07", "c1\x9b31m", "left\u202eright", "\u2066isolate\u2069",
                "mark\u200e", "arabic\u061cmark", "\u202aembedded"]
#: Amounts that are not ASCII digits with at most two decimals.
HOSTILE_MONEY = ["１００", "١٠٠", "۱۰۰", "1_000", "1E+2", "+5", ".5", "-1", "NaN", "Infinity", "5.", "0x10"]
words = st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60), st.sampled_from(HOSTILE_TEXT))
money = st.one_of(
    st.sampled_from(["36000.00", "0", "-1", "0.01", "1e3", "1.234", "NaN", "Infinity", " 12.50 ", "1,000", "", "１２",
                     *HOSTILE_MONEY]),
    st.decimals(allow_nan=True, allow_infinity=True), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(), words,
)
times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()).map(
        lambda d: d.isoformat()),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)).map(lambda d: d.isoformat()),
    st.just(FOUND.isoformat()), words,
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes junk."""
    return st.one_of(value, value, value, junk)


@st.composite
def doc(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[Any]]) -> dict[str, Any]:
    """A JSON object with the given fields, some left out, some extra."""
    out = {k: draw(v) for k, v in fields.items() if not draw(st.integers(0, 9)) == 0}
    if draw(st.integers(0, 9)) == 0:
        out[draw(st.text(min_size=1, max_size=10))] = draw(junk)
    return out


line_in = doc({
    "description": maybe(words),
    "brand": maybe(st.sampled_from([*BRANDS, " chanel ", "UNRECORDED", ""]) | words),
    "quantity": maybe(st.integers(min_value=-5, max_value=10**12)),
    "unit": maybe(st.sampled_from(["pcs", "pairs", ""]) | words),
    "value": money,
})
shipment_in = doc({
    "declaration_no": maybe(st.integers(min_value=0, max_value=10**18 - 1).map(lambda n: f"{n:018d}") | words),
    "direction": maybe(st.sampled_from(["export", "import", "EXPORT", "transit"])),
    "customs_office": maybe(st.sampled_from(["Capital Airport Customs", "首都机场海关", "CAPAIR", "HUANGG", "Nowhere"])),
    "consignor": maybe(doc({
        "name": maybe(words),
        "uscc": maybe(st.sampled_from([CONSIGNOR["uscc"], "91500000MA5U7X2K3I"])
                      | st.text(alphabet=string.ascii_uppercase + string.digits, min_size=18, max_size=18)),
    })),
    "found_at": maybe(times),
    "lines": maybe(st.lists(line_in, max_size=4)),
})
verdict = st.sampled_from(["infringing", "not-infringing", "INFRINGING", "maybe", ""])
answer_in = doc({
    "verdicts": maybe(st.dictionaries(st.one_of(st.integers(-2, 4), st.sampled_from(["1", "2", "x", " 1"])),
                                      maybe(verdict), max_size=4)),
    "detain": maybe(st.booleans() | st.sampled_from(["yes", "true", 0, 1])),
    "bond": st.one_of(st.none(), st.just("general"), money),
    "comment": maybe(st.text(max_size=2100)),
})
outcome_in = st.dictionaries(st.text(max_size=12), junk, max_size=5)


def _shipment(declaration_no: str, *brands: str) -> dict[str, Any]:
    return {"declaration_no": declaration_no, "direction": "export", "customs_office": "Capital Airport Customs",
            "consignor": CONSIGNOR, "found_at": FOUND.isoformat(),
            "lines": [{"description": f"Goods marked {b}", "brand": b, "quantity": 3, "unit": "pcs", "value": "12000.00"}
                      for b in brands]}


class Bench:
    """New cases on demand (numbered), and what one property keeps between its examples."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.numbers = itertools.count(1)
        self.state: dict[str, Any] = {}

    def new_case(self, *brands: str, confirmed: bool = True) -> Any:
        """A new case of these brands; confirmed by an IPR officer (its notices sent) unless asked otherwise."""
        from services.cases import open_case
        from tests.support import open_confirmed

        shipment = _shipment(f"{self.prefix}{next(self.numbers):05d}", *brands)
        return open_confirmed(shipment, now=FOUND) if confirmed else open_case(shipment=shipment, actor="site.wang",
                                                                                now=FOUND)


@pytest.fixture
def bench(sqlite_db: str) -> Bench:
    return Bench("0303202611240")


@pytest.fixture
def any_bench(db: str) -> Bench:
    return Bench("0505202611240")


# --- the seizure --------------------------------------------------------------------------------------


def _open(data: dict[str, Any]) -> None:
    from services.cases import open_case

    case = attempt(lambda: open_case(shipment=data, actor="site.wang", now=FOUND))
    if case is not None:  # accepted: it is what was asked for
        assert len(case.lines) == len(data["lines"]) and all(ln.state == "suspended" for ln in case.lines)
        assert all(ln.value > 0 for ln in case.lines)


@FUZZ
@given(data=shipment_in)
@example(data=_shipment("010120261124000001", "CHANEL", "NIKE"))
def test_a_seizure_is_registered_or_refused_cleanly(sqlite_db: str, data: dict[str, Any]) -> None:
    _open(data)


@FEW
@given(data=shipment_in)
def test_a_seizure_is_registered_or_refused_cleanly_on_both_databases(db: str, data: dict[str, Any]) -> None:
    _open(data)


@FEW
@given(line=line_in)
def test_one_odd_line_in_a_good_seizure(sqlite_db: str, line: dict[str, Any]) -> None:
    data = _shipment("040420261124000001", "CHANEL")
    data["lines"].append(line)
    data["declaration_no"] = f"04042026112{zlib.crc32(repr(line).encode()) % 10**7:07d}"
    _open(data)


# --- the answer ---------------------------------------------------------------------------------------


def _answer(bench: Bench, data: dict[str, Any]) -> None:
    from services.answers import record_answer

    state = bench.state
    if state.get("notice") is None:
        case = bench.new_case("CHANEL", "CHANEL", "NIKE")
        state["notice"] = next(n.id for n in case.notices if "CHANEL" in n.brands)
    out = attempt(lambda: record_answer(notice_id=state["notice"], actor="chanel.agent", answer=data, now=NOW))
    if out is not None:
        assert out.state in ("answered", "claim-pending") and set(out.answer.verdicts) == {1, 2}
        state["notice"] = None  # used up: the next example gets a new one


@FUZZ
@given(data=answer_in)
@example(data={"verdicts": {1: "infringing", 2: "not-infringing"}, "detain": True, "bond": "general"})
def test_an_answer_is_recorded_or_refused_cleanly(bench: Bench, data: dict[str, Any]) -> None:
    _answer(bench, data)


@FEW
@given(data=answer_in)
def test_an_answer_is_recorded_or_refused_cleanly_on_both_databases(any_bench: Bench, data: dict[str, Any]) -> None:
    _answer(any_bench, data)


@FUZZ
@given(bond=money | st.just("general"))
def test_a_bond_is_posted_or_refused_cleanly(bench: Bench, bond: Any) -> None:
    from services.answers import post_bond, record_answer

    state = bench.state
    if state.get("notice") is None:
        case = bench.new_case("HERMES")  # no general bond: a claim waits for its bond
        notice = case.notices[0].id
        record_answer(notice_id=notice, actor="hermes.agent", now=NOW, answer={"verdicts": {1: "infringing"}, "detain": True})
        state["notice"] = notice
    if attempt(lambda: post_bond(notice_id=state["notice"], actor="hermes.agent", bond=bond, now=NOW)) is not None:
        state["notice"] = None


# --- viewings and shots -------------------------------------------------------------------------------


@FUZZ
@given(lines=maybe(st.lists(st.integers(-2, 5), max_size=4) | st.none()), invite=st.booleans(), note=st.text(max_size=2100),
       by_consignor=st.booleans(), case_number=st.none() | words)
def test_a_viewing_request_is_accepted_or_refused_cleanly(bench: Bench, lines: Any, invite: bool,
                                                          note: str, by_consignor: bool, case_number: str | None) -> None:
    from services.viewing import request_viewing

    state = bench.state
    if "case" not in state:
        state["case"] = bench.new_case("CHANEL", "NIKE", "CHANEL")
    case = state["case"]
    notice = next(n.id for n in case.notices if "CHANEL" in n.brands)
    if by_consignor:
        call = lambda: request_viewing(actor="cq.trading", case_number=case_number or case.number,  # noqa: E731
                                       line_numbers=lines, note=note, now=NOW)
    else:
        call = lambda: request_viewing(actor="chanel.agent", notice_id=notice, line_numbers=lines,  # noqa: E731
                                       invite_consignor=invite, note=note, now=NOW)
    v = attempt(call)
    if v is not None:
        assert v.state == "requested" and v.line_numbers and set(v.line_numbers) <= {1, 2, 3}


@FUZZ
@given(approve=st.booleans(), reason=st.text(max_size=2100))
def test_a_viewing_decision_is_taken_or_refused_cleanly(bench: Bench, approve: bool, reason: str) -> None:
    from services.viewing import decide_viewing, request_viewing

    state = bench.state
    if "case" not in state:
        state["case"] = bench.new_case("CHANEL")
    if state.get("viewing") is None:
        state["viewing"] = request_viewing(actor="chanel.agent", notice_id=state["case"].notices[0].id, now=NOW).id
    v = attempt(lambda: decide_viewing(viewing_id=state["viewing"], actor="ipr.li", approve=approve, reason=reason, now=NOW))
    if v is not None:
        assert v.state == ("approved" if approve else "refused")
        state["viewing"] = None


@FUZZ
@given(text=maybe(st.text(max_size=1100)), guide_item=st.none() | st.integers(-3, 60), line=st.none() | st.integers(-2, 4),
       who=st.sampled_from(["chanel.agent", "site.wang", "cq.trading"]))
def test_a_shot_request_is_made_or_refused_cleanly(bench: Bench, text: Any, guide_item: int | None,
                                                   line: int | None, who: str) -> None:
    from services.viewing import decide_viewing, open_room, request_shot, request_viewing

    state = bench.state
    if "viewing" not in state:
        case = bench.new_case("CHANEL", "NIKE", "CHANEL")
        notice = next(n.id for n in case.notices if "CHANEL" in n.brands)
        v = request_viewing(actor="chanel.agent", notice_id=notice, invite_consignor=True, now=NOW)
        decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=NOW)
        state["viewing"] = open_room(viewing_id=v.id, actor="site.wang", now=NOW).id
    shot = attempt(lambda: request_shot(viewing_id=state["viewing"], actor=who, text=text, guide_item_id=guide_item,
                                        line_number=line, now=NOW))
    if shot is not None:
        assert shot.state == "open" and shot.text and len(shot.text) <= 1000


@FEW
@given(url=st.none() | words | st.sampled_from(["https://meet.example.org/r/1", "javascript:alert(1)", "http://x", "ftp://a"]))
def test_a_call_link_is_set_or_refused_cleanly(bench: Bench, url: str | None) -> None:
    from services.viewing import set_call_link

    state = bench.state
    if "viewing" not in state:
        from services.viewing import request_viewing

        case = bench.new_case("CHANEL")
        state["viewing"] = request_viewing(actor="chanel.agent", notice_id=case.notices[0].id, now=NOW).id
    v = attempt(lambda: set_call_link(viewing_id=state["viewing"], actor="chanel.agent", url=url, now=NOW))
    if v is not None and v.call_link is not None:  # a link to a video call, never a script or a file
        from urllib.parse import urlsplit

        assert urlsplit(v.call_link).scheme in ("http", "https") and " " not in v.call_link


# --- tasks --------------------------------------------------------------------------------------------


@FUZZ
@given(outcome=st.sampled_from(["confirmed", "not-matching", "approve", ""]) | st.text(max_size=12),
       fields=st.none() | outcome_in, version=st.none() | st.integers(-1, 3),
       who=st.sampled_from(["ipr.li", "ipr.chen", "mgr.zhao"]))
def test_a_task_is_completed_with_any_outcome_or_refused_cleanly(bench: Bench, outcome: Any, fields: Any,
                                                                 version: int | None, who: str) -> None:
    from services.tasks import complete_task, inbox

    state = bench.state
    if state.get("task") is None:
        case = bench.new_case("ROLEX", confirmed=False)  # its confirm_seizure task
        state["task"] = next(t.id for t in inbox(actor="ipr.li") if t.case_number == case.number)
    done = attempt(lambda: complete_task(task_id=state["task"], actor=who, outcome=outcome, fields=fields,
                                       expected_version=version, now=NOW))
    if done is not None:
        assert done.state == "completed"
        state["task"] = None


# --- administration -----------------------------------------------------------------------------------

user_in = doc({
    "username": maybe(st.from_regex(r"\A[a-z0-9][a-z0-9._-]{2,12}\Z") | words),
    "display_name": maybe(words),
    "email": st.none() | maybe(st.emails() | words),
    "locale": maybe(st.sampled_from(["zh", "en", "fr"])),
    "password": maybe(st.text(min_size=8, max_size=14)),
    "role": maybe(st.sampled_from(["site_officer", "ipr_officer", "manager", "admin", "rights_holder", "consignor", "system"])),
    "customs_office": st.none() | maybe(st.sampled_from(["CAPAIR", "HUANGG", "NOWHERE"])),
    "rights_holder_id": st.none() | maybe(st.integers(-1, 12)),
    "consignor_id": st.none() | maybe(st.integers(-1, 3)),
})


@FEW
@given(data=user_in)
def test_a_user_is_created_or_refused_cleanly(sqlite_db: str, data: dict[str, Any]) -> None:
    from services.users import create_user

    out = attempt(lambda: create_user(actor="admin", user=data, now=NOW))
    if out is not None:
        assert out.username == data["username"].strip().lower() and out.active


@FUZZ
@given(membership=doc({"role": maybe(st.sampled_from(["site_officer", "manager", "consignor", "rights_holder", "system"])),
                       "customs_office": st.none() | maybe(st.sampled_from(["CAPAIR", "HUANGG", "NOWHERE"])),
                       "rights_holder_id": st.none() | st.integers(-1, 12),
                       "consignor_id": st.none() | st.integers(-1, 3)}),
       display_name=st.none() | st.text(max_size=300),
       username=st.sampled_from(["site.liu", "admin", "system", "ghost", "cq.trading"]))
def test_a_user_is_changed_or_refused_cleanly(sqlite_db: str, membership: dict[str, Any], display_name: str | None,
                                              username: str) -> None:
    from services.users import update_user

    attempt(lambda: update_user(actor="admin", username=username, membership=membership, display_name=display_name, now=NOW))


@FEW
@given(password=st.text(max_size=30), username=st.sampled_from(["site.liu", "admin", "system", "ghost"]), active=st.booleans())
def test_passwords_and_accounts_are_set_or_refused_cleanly(sqlite_db: str, password: str, username: str, active: bool) -> None:
    from services.users import reset_password, set_user_active

    attempt(lambda: reset_password(actor="admin", username=username, new_password=password, now=NOW))
    attempt(lambda: set_user_active(actor="admin", username=username, active=active, now=NOW))


@FUZZ
@given(data=doc({"name": maybe(words), "country": maybe(st.text(max_size=100)),
                 "contact_emails": maybe(st.lists(st.emails() | words, max_size=12)), "agent": st.none() | maybe(words)}),
       locale=words | st.sampled_from(["zh", "en"]))
def test_organisations_and_preferences_are_set_or_refused_cleanly(sqlite_db: str, data: dict[str, Any], locale: str) -> None:
    from services.users import create_rights_holder, set_locale

    attempt(lambda: create_rights_holder(actor="admin", holder=data, now=NOW))
    attempt(lambda: set_locale(actor="chanel.agent", locale=locale, now=NOW))


@FUZZ
@given(name=st.text(max_size=100), filters=maybe(doc({"kinds": maybe(st.lists(words, max_size=3)), "mine_only": maybe(st.booleans()),
                                                       "urgency": maybe(st.sampled_from(["all", "overdue", "near", "soon"])),
                                                       "case_number": maybe(words)})))
def test_an_inbox_view_is_saved_or_refused_cleanly(sqlite_db: str, name: str, filters: Any) -> None:
    from services.board import save_view, saved_views

    attempt(lambda: save_view(actor="ipr.li", name=name, filters=filters, now=NOW))
    assert all(v["name"] for v in saved_views(actor="ipr.li"))


@FUZZ
@given(text=maybe(st.text(max_size=600)), position=st.none() | maybe(st.integers(-5, 10**6)))
def test_a_guide_item_is_added_or_refused_cleanly(sqlite_db: str, text: Any, position: Any) -> None:
    from services.guide import add_guide_item, my_recordations

    rec = my_recordations(actor="chanel.agent")[0]["number"]
    attempt(lambda: add_guide_item(recordation=rec, actor="chanel.agent", text=text, position=position, now=NOW))


# --- hostile input is always refused, naming its field ------------------------------------------------


def refused_naming(call: Callable[[], Any], field: str) -> None:
    """``call`` must be refused (cleanly), with ``field`` among the fields named, and write nothing."""
    before = counts()
    with pytest.raises(Exception) as caught:  # noqa: PT011 - sorted by assert_clean_refusal
        call()
    e = caught.value
    assert_clean_refusal(e)
    if isinstance(e, ValidationError):
        named = {".".join(str(p) for p in err["loc"]) for err in e.errors()}
    else:
        named = {getattr(e, "field", "")}
    assert field in named, (field, named, str(e))
    assert counts() == before, f"refused with {type(e).__name__} ({e}) but wrote"


def _with(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    import copy

    out = copy.deepcopy(data)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


SHIPMENT_TEXT = [("customs_office",), ("consignor", "name"), ("lines", 0, "description"), ("lines", 0, "brand"),
                 ("lines", 0, "unit")]


@pytest.mark.parametrize("hostile", HOSTILE_TEXT)
def test_hostile_text_is_refused_in_every_text_field_of_a_seizure(sqlite_db: str, hostile: str) -> None:
    from services.cases import open_case

    good = _shipment("060620261124000001", "CHANEL")
    for path in SHIPMENT_TEXT:
        data = _with(good, path, "Capital Airport Customs" + hostile if path == ("customs_office",) else "CHANEL" + hostile)
        refused_naming(lambda data=data: open_case(shipment=data, actor="site.wang", now=FOUND),
                       ".".join(map(str, path)))


@pytest.mark.parametrize("amount", HOSTILE_MONEY)
def test_hostile_money_is_refused_wherever_money_enters(bench: Bench, amount: str) -> None:
    from services.answers import post_bond, record_answer
    from services.cases import open_case

    good = _shipment("060620261124000002", "CHANEL")
    refused_naming(lambda: open_case(shipment=_with(good, ("lines", 0, "value"), amount), actor="site.wang", now=FOUND),
                   "lines.0.value")
    case = bench.new_case("HERMES")
    notice = case.notices[0].id
    refused_naming(lambda: record_answer(notice_id=notice, actor="hermes.agent", now=NOW,
                                         answer={"verdicts": {1: "infringing"}, "detain": True, "bond": amount}), "bond")
    record_answer(notice_id=notice, actor="hermes.agent", now=NOW, answer={"verdicts": {1: "infringing"}, "detain": True})
    refused_naming(lambda: post_bond(notice_id=notice, actor="hermes.agent", bond=amount, now=NOW), "bond")


def test_hostile_text_is_refused_in_answers_viewings_shots_guides_tasks_and_administration(bench: Bench) -> None:
    from services.answers import record_answer
    from services.board import save_view
    from services.guide import add_guide_item, my_recordations
    from services.tasks import complete_task, inbox
    from services.users import create_rights_holder, create_user, update_user
    from services.viewing import decide_viewing, open_room, request_shot, request_viewing

    case = bench.new_case("CHANEL", "NIKE")
    chanel = next(n.id for n in case.notices if "CHANEL" in n.brands)
    rec = my_recordations(actor="chanel.agent")[0]["number"]
    v = request_viewing(actor="chanel.agent", notice_id=chanel, now=NOW)
    task = next(t.id for t in inbox(actor="ipr.li") if t.case_number == case.number and t.viewing_id == v.id)
    for bad in HOSTILE_TEXT:
        refused_naming(lambda: record_answer(notice_id=chanel, actor="chanel.agent", now=NOW,
                                             answer={"verdicts": {1: "infringing"}, "comment": f"ok {bad}"}), "comment")
        refused_naming(lambda: request_viewing(actor="chanel.agent", notice_id=chanel, note=bad, now=NOW), "note")
        refused_naming(lambda: decide_viewing(viewing_id=v.id, actor="ipr.li", approve=False, reason=f"no {bad}",
                                              now=NOW), "reason")
        refused_naming(lambda: add_guide_item(recordation=rec, actor="chanel.agent", text=f"stitching {bad}", now=NOW),
                       "text")
        refused_naming(lambda: complete_task(task_id=task, actor="ipr.li", outcome="refuse",
                                             fields={"reason": f"no {bad}"}, now=NOW), "reason")
        refused_naming(lambda: save_view(actor="ipr.li", name=f"mine {bad}", filters={}, now=NOW), "name")
        refused_naming(lambda: create_user(actor="admin", now=NOW, user={
            "username": "new.user", "display_name": f"New {bad}", "password": "a long password 1", "role": "site_officer",
            "customs_office": "CAPAIR"}), "display_name")
        refused_naming(lambda: update_user(actor="admin", username="site.liu", membership={"role": "site_officer",
                                           "customs_office": "CAPAIR"}, display_name=f"Liu {bad}", now=NOW), "display_name")
        refused_naming(lambda: create_rights_holder(actor="admin", now=NOW, holder={
            "name": f"Maison {bad}", "country": "FR", "contact_emails": ["ip@maison.example"]}), "name")
    decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=NOW)
    open_room(viewing_id=v.id, actor="site.wang", now=NOW)
    for bad in HOSTILE_TEXT:
        refused_naming(lambda: request_shot(viewing_id=v.id, actor="chanel.agent", text=f"the label {bad}", now=NOW),
                       "text")


def test_a_seizure_found_in_the_future_is_refused_beyond_five_minutes_of_clock_skew(sqlite_db: str) -> None:
    from services.cases import open_case

    ahead = _shipment("060620261124000003", "CHANEL")
    ahead["found_at"] = (FOUND + timedelta(minutes=5, seconds=1)).isoformat()
    refused_naming(lambda: open_case(shipment=ahead, actor="site.wang", now=FOUND), "found_at")
    ahead["found_at"] = (FOUND + timedelta(minutes=5)).isoformat()  # within the allowed skew
    assert open_case(shipment=ahead, actor="site.wang", now=FOUND).lines[0].state == "suspended"


def test_the_plausible_inputs_of_the_fuzzers_are_accepted(bench: Bench) -> None:
    """The properties above would pass vacuously if every input were refused: the good ones are not."""
    case = bench.new_case("CHANEL", "CHANEL", "NIKE")
    assert [ln.state for ln in case.lines] == ["suspended"] * 3
    bench.state["notice"] = None
    _answer(bench, {"verdicts": {1: "infringing", 2: "not-infringing"}, "detain": True, "bond": "general"})
    assert bench.state["notice"] is None  # the answer was taken
