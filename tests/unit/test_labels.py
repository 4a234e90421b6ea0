"""Codes are shown as words in both languages: every state, reason, role and verdict; every action the
services record on the timeline (found by reading their sources); a timeline entry's details as
"key: value" pairs; and a validation error as a sentence naming the field, never a regular expression."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.enums import (BondKind, CaseStatus, CostKind, DocumentKind, LineState, NoticeState, Reason, Role,
                          TaskKind, Verdict, ViewingState)
from models.schemas import AnswerIn, ShipmentIn
from ui import labels
from ui import i18n

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")

ENUMS = [(LineState, "state"), (Reason, "reason"), (NoticeState, "notice_state"), (Role, "role"),
         (Verdict, "verdict"), (ViewingState, "viewing_state"), (CaseStatus, "case_status"), (TaskKind, "kind"),
         (DocumentKind, "doc"), (BondKind, "bond_kind"), (CostKind, "cost_kind")]


def _both(key: str) -> None:
    assert i18n.known(key), f'no label: add msgid "{key}" to ui/locale/zh/LC_MESSAGES/yunque.po and ../en/...'
    zh, en = i18n.t(key, "zh"), i18n.t(key, "en")
    assert CJK.search(zh), f"{key}: the Chinese label is not Chinese: {zh!r}"
    assert en.strip() and not CJK.search(en), f"{key}: the English label is missing or not English: {en!r}"


@pytest.mark.parametrize(("code", "prefix"), [(v, p) for enum, p in ENUMS for v in enum], ids=str)
def test_every_state_reason_role_and_verdict_has_a_label_in_both_languages(code: str, prefix: str) -> None:
    _both(f"{prefix}.{code}")


# --- every action the services record ------------------------------------------------------------------

#: an action written as an f-string, and the values its placeholder takes
EXPANSIONS = {"line.{}": [s.value for s in LineState]}


def _pattern(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def recorded_actions(files: list[Path]) -> dict[str, str]:
    """Every action literal passed as ``action=`` in ``files`` -> where it is (argparse's ``action=`` aside).
    An f-string is expanded with ``EXPANSIONS``; one that is not there is returned as its pattern."""
    found: dict[str, str] = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            if isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument":
                continue
            for kw in (k for k in call.keywords if k.arg == "action"):
                where = f"{path.relative_to(ROOT)}:{kw.value.lineno}"
                for node in ast.walk(kw.value):  # a literal, or each branch of ``"a" if ok else "b"``
                    if isinstance(node, ast.JoinedStr):
                        pattern = _pattern(node)
                        for value in EXPANSIONS.get(pattern, [None]):
                            found[pattern.replace("{}", value) if value else pattern] = where
                    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and not any(
                            node in ast.walk(j) for j in ast.walk(kw.value) if isinstance(j, ast.JoinedStr)):
                        found[node.value] = where
    return found


def _sources() -> list[Path]:
    return sorted([*ROOT.glob("services/*.py"), *ROOT.glob("flows/*.py")])


def test_the_scan_finds_literals_conditional_actions_and_f_strings() -> None:
    found = recorded_actions(_sources())
    assert {"case.opened", "notice.answered", "task.completed"} <= found.keys()
    assert {"bond.posted", "bond.offered"} <= found.keys()  # "bond.posted" if sufficient else "bond.offered"
    assert {"line.suspended", "line.released", "line.detained", "line.court-hold"} <= found.keys()  # f"line.{target}"
    assert "notice.sent" in found  # recorded through process.mark_step_done by the case flow
    assert "store_true" not in found


def test_the_scan_reports_an_f_string_it_cannot_expand(tmp_path: Path) -> None:
    src = tmp_path / "svc.py"
    src.write_text('record(s, action=f"viewing.{what}", subject="x")\nrecord(s, action="case.reopened")\n')
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert recorded_actions([src]).keys() == {"viewing.{}", "case.reopened"}
    finally:
        ROOT = saved


def test_every_action_the_services_record_has_a_label_in_both_languages() -> None:
    missing = {a: where for a, where in recorded_actions(_sources()).items() if not i18n.known(f"action.{a}")}
    assert not missing, ("timeline actions without a label; add to both catalogs (ui/locale/*/LC_MESSAGES/yunque.po) "
                         + ", ".join(f'msgid "action.{a}" (recorded at {w})' for a, w in missing.items())
                         + ("; an f-string action also needs its values in EXPANSIONS of this test"
                            if any("{}" in a for a in missing) else ""))
    for action in recorded_actions(_sources()):
        _both(f"action.{action}")


# --- a timeline entry's details ------------------------------------------------------------------------

def test_a_line_detained_reads_as_a_sentence_with_its_state_and_reason_in_words() -> None:
    before, after = {"state": "suspended"}, {"state": "detained", "reason": "detention", "investigation_due": "2026-12-30"}
    assert labels.action_label("line.detained", "zh") == "扣留货物"
    text = labels.change_text("line.detained", before, after, "zh")
    assert text == "状态: 中止放行 → 扣留; 原因: 申请扣留并提供担保; 调查期限: 2026-12-30"
    en = labels.change_text("line.detained", before, after, "en")
    assert en.startswith("state: suspended → detained; reason: detention applied for, bond given")


@pytest.mark.parametrize(("action", "before", "after"), [
    ("notice.answered", None, {"verdicts": {"1": "infringing", "2": "not-infringing"}, "detain": True}),
    ("task.assigned", {"assignee_id": 3}, {"assignee": "ipr.li"}),
    ("decision.made", None, {"kind": "released", "reason": "cleared", "lines": [1, 2], "notice_id": 4,
                             "deadline_met": None}),
    ("viewing.decided", {"state": "requested"}, {"state": "approved", "reason": "", "scheduled_for": "2026-11-24T15:00"}),
    ("clock.pending", None, {"clock": "investigation (30 WD, Reg 20)", "missing_year": 2027}),
])
def test_details_are_key_value_pairs_never_a_python_dict(action: str, before: dict | None, after: dict) -> None:
    text = labels.change_text(action, before, after, "zh")
    assert text and not re.search(r"[{}\[\]]|'|True|False|None", text), text
    assert ": " in text


def test_codes_in_the_details_follow_the_family_of_the_action() -> None:
    assert labels.change_text("viewing.decided", {"state": "requested"}, {"state": "approved"}, "zh") == "状态: 已申请 → 已批准"
    assert labels.change_text("notice.answered", None, {"state": "claim-pending"}, "en") == \
        "state: detention applied for, bond awaited"
    assert labels.change_text("decision.made", None, {"kind": "released", "deadline_met": True}, "zh") == "类型: 放行; 在期限内: 是"
    assert labels.change_text("task.completed", None, {"kind": "check_bond"}, "zh") == "类型: 审核担保"
    assert labels.change_text("task.assigned", {"assignee_id": 3}, {"assignee": "ipr.li"}, "en") == \
        "previous assignee: was 3; assignee: ipr.li"


def test_a_code_without_a_label_shows_itself() -> None:
    assert labels.label("state", "frozen", "zh") == "frozen"
    assert labels.action_label("case.reopened", "zh") == "case.reopened"


# --- validation errors ---------------------------------------------------------------------------------

def _errors(model: type, data: dict) -> list[dict]:
    with pytest.raises(ValidationError) as e:
        model.model_validate(data)
    return e.value.errors()


SHIPMENT = {"declaration_no": "12345", "direction": "export", "customs_office": "Beijing", "found_at": "2026-11-24T10:00+08:00",
            "consignor": {"name": "Test Co", "uscc": "BAD"},
            "lines": [{"description": "bags", "brand": "HERMES", "quantity": 0, "unit": "pcs", "value": "100"}]}


@pytest.mark.parametrize(("lang", "field", "sentence"), [
    ("zh", "报关单号", "应为 18 位数字"), ("en", "Declaration no.", "must be 18 digits")])
def test_a_declaration_number_of_the_wrong_length_is_said_in_words(lang: str, field: str, sentence: str) -> None:
    messages = labels.validation_messages(_errors(ShipmentIn, SHIPMENT), lang)
    assert messages[field] == sentence
    shown = " ".join(f"{k}: {v}" for k, v in messages.items())
    assert "^" not in shown and "[0-9]" not in shown and "pattern" not in shown, shown


def test_a_nested_field_is_named_in_words() -> None:
    messages = labels.validation_messages(_errors(ShipmentIn, SHIPMENT), "en")
    assert "Consignor › Unified social credit code" in messages
    assert messages["Lines › item 1 › Quantity"] == "must be greater than 0"
    zh = labels.validation_messages(_errors(ShipmentIn, SHIPMENT), "zh")
    assert zh["货物 › 第 1 项 › 数量"] == "必须大于 0"


def test_a_missing_field_and_a_wrong_choice_are_said_in_words() -> None:
    messages = labels.validation_messages(_errors(AnswerIn, {"verdicts": {1: "maybe"}, "detain": False}), "zh")
    assert messages == {"判断 › 序号 1": "须为以下之一：'infringing' or 'not-infringing'"}
    missing = labels.validation_messages(_errors(ShipmentIn, {k: v for k, v in SHIPMENT.items() if k != "direction"}), "en")
    assert missing["Direction"] == "is required"


def test_a_field_without_a_label_keeps_its_name_and_an_unknown_error_its_message() -> None:
    err = {"type": "value_error", "loc": ("colour",), "msg": "Value error, contains a NUL character (U+0000)"}
    assert labels.validation_messages([err], "zh") == {"colour": "contains a NUL character (U+0000)"}
    assert labels.error_sentence({"type": "string_pattern_mismatch", "ctx": {"pattern": "^[A-Z]+$"}}, "en") == \
        "is not in the expected format"


# --- the catalogs (ui/locale/*/LC_MESSAGES/yunque.po) --------------------------------------------------------

def _messages(lang: str) -> dict[str, tuple[str, ...]]:
    """msgid -> its forms (one for a plain message; the plural forms of a plural one)."""
    return {m.id if isinstance(m.id, str) else m.id[0]: (m.string,) if isinstance(m.string, str) else tuple(m.string)
            for m in i18n.catalog(lang) if m.id}


def _plural_ids(lang: str) -> set[str]:
    return {m.id[0] for m in i18n.catalog(lang) if m.id and not isinstance(m.id, str)}


def test_both_catalogs_hold_the_same_messages() -> None:
    zh, en = _messages("zh"), _messages("en")
    assert not zh.keys() - en.keys(), f"in the Chinese catalog only; add to ui/locale/en/...: {sorted(zh.keys() - en.keys())}"
    assert not en.keys() - zh.keys(), f"in the English catalog only; add to ui/locale/zh/...: {sorted(en.keys() - zh.keys())}"
    assert _plural_ids("zh") == _plural_ids("en"), "a message is plural in one catalog only"


def test_every_message_has_words_and_english_has_no_chinese() -> None:
    for lang in i18n.LANGS:
        empty = sorted(k for k, forms in _messages(lang).items() if not all(f.strip() for f in forms))
        assert not empty, f"messages without words in {lang}: {empty}"
    chinese = sorted(k for k, forms in _messages("en").items() if any(CJK.search(f) for f in forms))
    assert not chinese, f"Chinese in the English catalog: {chinese}"


def test_placeholders_are_the_same_in_both_languages() -> None:
    zh, en = _messages("zh"), _messages("en")
    differ = {k: (sorted(set().union(*map(i18n.placeholders, zh[k]))), sorted(i18n.placeholders(f)))
              for k in zh.keys() & en.keys() for f in en[k]
              if i18n.placeholders(f) != set().union(*map(i18n.placeholders, zh[k]))}
    assert not differ, f"placeholders differ (zh, en): {differ}"


def test_plural_forms_follow_each_language() -> None:
    assert i18n.catalog("zh").num_plurals == 1 and i18n.catalog("en").num_plurals == 2
    assert all(len(f) == 1 for k, f in _messages("zh").items() if k in _plural_ids("zh"))
    assert all(len(f) == 2 for k, f in _messages("en").items() if k in _plural_ids("en"))
    assert i18n.t("bulk_done", "en", n=1) == "1 task done"
    assert i18n.t("bulk_done", "en", n=3) == "3 tasks done"
    assert i18n.t("bulk_done", "zh", n=3) == "已处理 3 项任务"
    assert i18n.t("err.too_short", "en", min_length=1) == "must have at least 1 item"  # counted by its only number
    no_s = sorted(k for k, forms in _messages("en").items() if any("(s)" in f for f in forms))
    assert not no_s, f"'(s)' in English: make these plural messages (msgid_plural): {no_s}"


def _keys_used(path: Path) -> list[tuple[str, bool, int]]:
    """The keys ``t(...)``/``tr(...)`` are called with in ``path``: (key or f-string prefix, is a prefix, line)."""
    found = []
    for call in (n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Call)):
        name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
        if name not in ("t", "tr") or not call.args:
            continue
        first = call.args[0]
        for node in (first.body, first.orelse) if isinstance(first, ast.IfExp) else (first,):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append((node.value, False, call.lineno))
            elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
                found.append((node.values[0].value, True, call.lineno))
    return found


def test_every_key_the_pages_use_has_words() -> None:
    keys = _messages("zh").keys()
    missing = []
    for path in sorted(ROOT.glob("ui/**/*.py")):
        for key, prefix, line in _keys_used(path):
            if not (any(k.startswith(key) for k in keys) if prefix else key in keys):
                missing.append(f"{path.relative_to(ROOT)}:{line}: {key}{'…' if prefix else ''}")
    assert not missing, "keys used without words; add each msgid to both catalogs: " + ", ".join(missing)


def test_the_scan_finds_keys_in_calls_conditionals_and_f_strings(tmp_path: Path) -> None:
    src = tmp_path / "page.py"
    src.write_text('tr("page.inbox")\nt("yes" if ok else "no", lang)\nchrome.tr(f"state.{s}")\nprint("x")\n')
    assert [(k, p) for k, p, _ in _keys_used(src)] == [("page.inbox", False), ("yes", False), ("no", False),
                                                          ("state.", True)]


# --- dates, times and money per locale ------------------------------------------------------------------------

def test_dates_times_and_money_follow_the_locale_in_beijing_time() -> None:
    from datetime import UTC, date, datetime
    from decimal import Decimal

    at = datetime(2026, 11, 24, 7, 5, tzinfo=UTC)  # 15:05 in Beijing
    assert i18n.format_time(at, "zh") == "2026年11月24日 15:05"
    assert i18n.format_time(at, "en") == "Nov 24, 2026, 3:05\u202fPM"  # CLDR's narrow space before PM
    assert i18n.format_day(date(2026, 11, 27), "zh") == "2026年11月27日"
    assert i18n.format_day(date(2026, 11, 27), "en") == "Nov 27, 2026"
    assert i18n.format_money(Decimal("36000.5"), "zh") == "¥36,000.50"
    assert i18n.format_money(Decimal("36000"), "en") == "CN¥36,000.00"
    assert i18n.format_money(None, "zh") == i18n.format_day(None, "en") == i18n.format_time(None, "zh") == "—"


def test_the_live_components_own_words_come_from_both_catalogs() -> None:
    """streamlit-webrtc draws its device picker and permission messages itself: each is given ours."""
    from ui.live_room import DEVICE_WORDS

    assert "select_device" in DEVICE_WORDS
    for key in DEVICE_WORDS:
        _both(f"live_device.{key}")
