"""A service's refusal reads in the user's language: every reason the services, the rules and the adapters
raise with is an English template with named values (``models/rules/errors.py``), and the Chinese catalog of
refusals (``ui/locale/zh/LC_MESSAGES/refusals.po``, msgid = the English template) has its words. The command
line keeps the English sentence (``str(error)``) unchanged."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from models.enums import LineState, Role
from models.rules import errors
from ui import i18n, labels

ROOT = Path(__file__).resolve().parents[2]
#: (constructor, position, keyword) of the template arguments of each error (a reason, an action, a thing)
TEMPLATES = {"InvalidInput": [(1, "reason")], "PermissionDenied": [(1, "action"), (2, "reason")],
             "IllegalTransition": [(3, "reason")], "CalendarDataInvalid": [(1, "reason")],
             "ConcurrentUpdate": [(1, "detail")], "LockContention": [(1, "detail")], "NotFound": [(0, "what")],
             "require_role": [(1, "action")], "_require_officer": [(2, "action")], "_require_customs": [(1, "action")],
             # words a reason carries as a value, and the adapters' and rules' reasons a service passes on
             "Words": [(0, "template")], "words": [(0, "template")], "NotAPicture": [(0, "template")],
             "NotAnAmount": [(1, "template")]}
#: the names of a helper's own template parameter, passed on: its callers are scanned
PARAMETERS = ("action", "reason", "what", "template")

#: raise sites whose reason is still built in code (an f-string or an expression), not a template: each shows
#: its English sentence in the Chinese UI. Convert one (a template with named values, and its Chinese in
#: refusals.po), then take it off this list; the test fails when the list names a site that is gone.
UNCONVERTED: set[str] = {
    # pydantic's own message for a task form's field: the UI never shows it, it says the error in words from its
    # type and context (``ui.labels.error_sentence``, the catalogs' ``err.*``); the command line prints it
    'services/task_acts.py:parse_form: err["msg"]',
}


def _sources() -> list[Path]:
    return sorted([*ROOT.glob("services/**/*.py"), *ROOT.glob("models/rules/*.py"), *ROOT.glob("adapters/*.py")])


def _argument(call: ast.Call, position: int, keyword: str) -> ast.expr | None:
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == keyword), None)


def scan(files: list[Path]) -> tuple[dict[str, str], dict[str, str]]:
    """(every template the sources give an error -> where, every reason built in code -> where); a site is named
    by its file, its function and the code of the reason (line numbers move)."""
    templates: dict[str, str] = {}
    built: dict[str, str] = {}
    for path in files:
        src = path.read_text(encoding="utf-8")
        tree = ast.parse(src)
        owner = {id(n): f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                 for n in ast.walk(f)}
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
            for position, keyword in TEMPLATES.get(name, ()):
                node = _argument(call, position, keyword)
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                for branch in (node.body, node.orelse) if isinstance(node, ast.IfExp) else (node,):
                    if branch is None or isinstance(branch, ast.Name) and branch.id in PARAMETERS:
                        continue  # a helper's own parameter: its callers are scanned
                    if isinstance(branch, ast.Constant) and isinstance(branch.value, str):
                        if branch.value:
                            templates.setdefault(branch.value, where)
                    else:
                        site = f"{path.relative_to(ROOT)}:{owner.get(id(call), '')}: {ast.get_source_segment(src, branch)}"
                        built[" ".join(site.split())] = where
    return templates, built


def test_the_scan_finds_templates_and_reasons_built_in_code(tmp_path: Path) -> None:
    global ROOT
    src = tmp_path / "svc.py"
    src.write_text('def f(n):\n    raise InvalidInput("x", "must be {n}", n=n)\n'
                   'def g(n):\n    raise InvalidInput("x", f"must be {n}")\n'
                   'def h(who):\n    require_role(who, "act", Role.ADMIN)\n    raise NotFound("case", 1)\n')
    saved, ROOT = ROOT, tmp_path
    try:
        templates, built = scan([src])
    finally:
        ROOT = saved
    assert templates.keys() == {"must be {n}", "act", "case"}
    assert list(built) == ['svc.py:g: f"must be {n}"']


def test_every_template_the_services_raise_with_has_chinese_words() -> None:
    templates, _ = scan(_sources())
    missing = {t: where for t, where in templates.items() if not i18n.refusal_words(t, "zh")}
    assert not missing, "refusals without Chinese words; add to ui/locale/zh/LC_MESSAGES/refusals.po:\n" + "\n".join(
        f'#: {where}\nmsgid "{t}"\nmsgstr "中文"\n' for t, where in sorted(missing.items(), key=lambda kv: kv[1]))


def test_the_chinese_words_name_only_values_the_template_gives() -> None:
    templates, _ = scan(_sources())
    wrong = {t: i18n.refusal_words(t, "zh") for t in templates
             if i18n.refusal_words(t, "zh") and not i18n.placeholders(i18n.refusal_words(t, "zh")) <= i18n.placeholders(t)}
    assert not wrong, f"Chinese naming values the English template does not give: {wrong}"


def test_no_reason_is_built_in_code_except_the_named_remaining_ones() -> None:
    _, built = scan(_sources())
    new = sorted(f"{site}  ({where})" for site, where in built.items() if site not in UNCONVERTED)
    assert not new, ("reasons built in code: write a template with named values instead "
                     "(InvalidInput(field, \"... {name} ...\", name=value)) and its Chinese in refusals.po:\n"
                     + "\n".join(new))
    gone = sorted(UNCONVERTED - built.keys())
    assert not gone, f"converted or removed: take these off UNCONVERTED: {gone}"


# --- the sentence the user reads ------------------------------------------------------------------------------

def test_the_english_sentence_is_the_template_filled_as_before() -> None:
    e = errors.InvalidInput("bond", "the general bond {reference} covers RMB {left} more; RMB {required} is required",
                            reference="GB-1", left=Decimal("100.00"), required=Decimal("36000.00"))
    assert str(e) == "bond: the general bond GB-1 covers RMB 100.00 more; RMB 36000.00 is required"
    on = errors.InvalidInput("bond", "no general bond (总担保) of this rights holder is valid on {on}", on=date(2026, 11, 24))
    assert str(on) == "bond: no general bond (总担保) of this rights holder is valid on 2026-11-24"
    lines = errors.InvalidInput("verdicts", "no verdict for line(s) {lines}", lines=[2, 3])
    assert str(lines) == "verdicts: no verdict for line(s) 2, 3"
    who = errors.PermissionDenied("site.wang", "work task {task}", "only {roles} may", task=4, roles=[Role.MANAGER])
    assert str(who) == "site.wang may not work task 4: only manager may"


def test_a_refusal_reads_in_chinese_with_its_values_in_chinese() -> None:
    e = errors.InvalidInput("bond", "the general bond {reference} covers RMB {left} more; RMB {required} is required",
                            reference="GB-1", left=Decimal("100"), required=Decimal("36000"))
    text = labels.refusal_sentence(e, "zh")
    assert text.startswith("担保：") and "GB-1" in text and "¥100.00" in text and "¥36,000.00" in text, text
    assert labels.refusal_sentence(e, "en") == "Bond: " + e.reason


@pytest.mark.parametrize(("error", "zh"), [
    (errors.NotFound("case", "YQ-2026-000009"), "案件 YQ-2026-000009 不存在"),
    (errors.PermissionDenied("nike.agent", "register a seizure", "only {roles} may", roles=[Role.SITE_OFFICER]),
     "nike.agent 无权登记查扣：仅查验现场关员可以办理"),
    (errors.IllegalTransition("YQ-2026-000001/2", LineState.RELEASED, LineState.DETAINED), "货物 YQ-2026-000001/2 不能由「放行」转为「扣留」"),
    (errors.DeadlinePassed("3", datetime(2026, 11, 27, 16, 0, tzinfo=UTC)), "通知 3 的答复期限（2026年11月28日 00:00）已届满"),
    (errors.CalendarUnknown(2031), "缺少 2031 年工作日安排"),
])
def test_whole_sentence_refusals_read_in_chinese(error: errors.YunqueError, zh: str) -> None:
    text = labels.refusal_sentence(error, "zh")
    assert text.startswith(zh), text
    assert not any(word in text for word in ("does not exist", "may not", "cannot go", "has passed", "missing")), text
    english = labels.refusal_sentence(error, "en")
    assert english.split(" ")[:2] == str(error).split(" ")[:2] and not any("\u4e00" <= c <= "\u9fff" for c in english)


def test_words_carried_as_a_value_read_in_the_readers_language() -> None:
    lines = [errors.words("line {line} ({brand}): no recordation valid on {on}", line=n, brand="NIKE",
                          on=date(2026, 11, 24)) for n in (1, 2)]
    e = errors.InvalidInput("lines.brand", "{problems} (ex officio protection covers recorded rights only, Reg 16)",
                            problems=lines)
    assert str(e) == ("lines.brand: line 1 (NIKE): no recordation valid on 2026-11-24; line 2 (NIKE): no recordation "
                      "valid on 2026-11-24 (ex officio protection covers recorded rights only, Reg 16)")
    zh = labels.refusal_sentence(e, "zh")
    assert "2026年11月24日" in zh and "；" in zh and "recordation" not in zh, zh


def test_the_accepted_types_and_a_damaged_picture_read_in_chinese() -> None:
    from adapters import media

    e = errors.InvalidInput("file", "its content is not an accepted type: {accepted} (judged from the content, not "
                                    "the name)", accepted=media.accepted_types())
    assert "photos JPEG, PNG, HEIC; videos MP4" in str(e)
    assert "照片 JPEG、PNG、HEIC；视频 MP4" in labels.refusal_sentence(e, "zh")
    bad = media.NotAPicture("it does not decode as a {format} picture ({detail})", format="PNG", detail="truncated")
    assert str(bad) == "it does not decode as a PNG picture (truncated)"
    seal = errors.InvalidInput("seal", "{problem}", problem=bad.problem)
    assert str(seal) == "seal: it does not decode as a PNG picture (truncated)"
    assert "无法按 PNG 图片解码" in labels.refusal_sentence(seal, "zh")


def test_an_amount_that_is_not_one_is_refused_in_words_in_a_form_and_by_a_service() -> None:
    from pydantic import ValidationError

    from models.rules.bonds import NotAnAmount, money
    from models.schemas import AnswerIn

    with pytest.raises(NotAnAmount) as caught:
        money("1,000", "value")
    assert str(caught.value).startswith("value: '1,000' is not an amount: write ASCII digits")
    with pytest.raises(ValidationError) as invalid:
        AnswerIn(verdicts={1: "infringing"}, bond="1,000")
    (said,) = labels.validation_messages(invalid.value.errors(), "zh").values()
    assert said.startswith("「1,000」不是金额"), said


def test_every_field_a_refusal_names_has_words() -> None:
    import re

    named = {}
    for path in _sources():
        for call in (n for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if isinstance(n, ast.Call)):
            name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)
            if name == "InvalidInput" and call.args and isinstance(call.args[0], ast.Constant):
                named.setdefault(call.args[0].value, f"{path.relative_to(ROOT)}:{call.lineno}")
    cjk = re.compile(r"[\u4e00-\u9fff]")
    missing = {f: where for f, where in named.items() if not cjk.search(labels.field_name(f, "zh"))}
    assert not missing, ("fields without words: add msgid \"field.<name>\" to ui/locale/zh/LC_MESSAGES/yunque.po "
                         f"and ../en/...: {missing}")


def test_a_thing_not_found_is_named_on_one_line_whatever_was_typed() -> None:
    assert str(errors.NotFound("case", "YQ-2026-000001")) == "case YQ-2026-000001 does not exist"
    assert str(errors.NotFound("case", "\n")) == "case '\\n' does not exist"
    assert str(errors.NotFound("rights holder", "香奈儿")) == "rights holder 香奈儿 does not exist"
    assert "\n" not in labels.refusal_sentence(errors.NotFound("case", "a\nb"), "zh")
