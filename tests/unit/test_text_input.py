"""The one text check: NUL, controls and bidi overrides are refused with a reason naming the field;
ordinary text in any script (Chinese, Arabic, emoji) is accepted unchanged; a seizure is never in the future."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from models.evidence_schemas import EvidenceIn, GuideItemIn, ShotRequestIn
from models.rules.errors import InvalidInput
from models.rules.moments import CLOCK_SKEW, not_in_future
from models.schemas import AnswerIn, LineIn
from models.text import check_text, plain

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=SH)

BAD_ANYWHERE = {
    "a\x00b": "NUL", "\x1b[31mred": "U+001B", "a\x07": "U+0007", "x\x7f": "U+007F", "c1\x9b31m": "U+009B",
    "abc\u202edcba": "U+202E", "\u202aembed": "U+202A", "\u2066iso\u2069": "U+2066", "mark\u200e": "U+200E",
    "rtl\u200f": "U+200F", "arabic\u061c": "U+061C", "\ud800lone": "surrogate",
}
ONE_LINE_ONLY = {"two\nlines": "line break", "tab\there": "U+0009", "cr\rhere": "line break", "ls\u2028x": "U+2028"}
GOOD = ["Handbags 手袋", "Sports shoes (men's) — 42", "حقائب", "👜 x2", "O'Brien & Co. [draft] *bold*", "  padded  "]


@pytest.mark.parametrize(("value", "named"), list(BAD_ANYWHERE.items()))
def test_control_bidi_and_nul_characters_are_refused_in_any_text(value: str, named: str) -> None:
    for multiline in (False, True):
        with pytest.raises(ValueError, match=re.escape(named)):
            check_text(value, multiline=multiline)


@pytest.mark.parametrize(("value", "named"), list(ONE_LINE_ONLY.items()))
def test_a_one_line_field_refuses_line_breaks_and_tabs(value: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(named)):
        check_text(value)


def test_a_multi_line_field_keeps_newlines_and_tabs_and_normalises_windows_line_ends() -> None:
    assert check_text("a\nb\tc", multiline=True) == "a\nb\tc"
    assert AnswerIn.model_validate({"verdicts": {1: "infringing"}, "comment": "one\r\ntwo"}).comment == "one\ntwo"
    with pytest.raises(ValidationError):
        AnswerIn.model_validate({"verdicts": {1: "infringing"}, "comment": "lone\rreturn"})


@pytest.mark.parametrize("value", GOOD)
def test_ordinary_text_in_any_script_is_accepted_unchanged(value: str) -> None:
    assert check_text(value) == value
    assert check_text(value, multiline=True) == value


def test_service_arguments_are_refused_as_invalid_input_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        plain("reason", "ok\u202e")
    assert caught.value.field == "reason" and "U+202E" in caught.value.reason


@pytest.mark.parametrize(("model", "data", "field"), [
    (LineIn, {"description": "Bags\x00", "brand": "CHANEL", "quantity": 1, "unit": "pcs", "value": "1"}, "description"),
    (LineIn, {"description": "Bags", "brand": "CHA\u202eNEL", "quantity": 1, "unit": "pcs", "value": "1"}, "brand"),
    (LineIn, {"description": "Bags", "brand": "CHANEL", "quantity": 1, "unit": "pcs\x1b[2J", "value": "1"}, "unit"),
    (LineIn, {"description": "Bags", "brand": "CHANEL", "quantity": 1, "unit": "pcs", "value": "１００"}, "value"),
    (AnswerIn, {"verdicts": {1: "infringing"}, "comment": "\u2067hidden"}, "comment"),
    (AnswerIn, {"verdicts": {1: "infringing"}, "detain": True, "bond": "1E+2"}, "bond"),
    (EvidenceIn, {"filename": "a\u202egpj.exe"}, "filename"),
    (EvidenceIn, {"filename": "a.jpg", "note": "x\x00"}, "note"),
    (ShotRequestIn, {"text": "show the \x1b]8;;https://evil.example\x07label"}, "text"),
    (GuideItemIn, {"text": "serial\nnumber"}, "text"),
])
def test_every_input_model_names_the_field_it_refuses(model: type, data: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert [e["loc"][0] for e in caught.value.errors()] == [field]


def test_a_seizure_time_may_be_a_few_minutes_ahead_for_clock_skew_but_not_more() -> None:
    assert not_in_future(NOW, now=NOW, field="found_at") == NOW
    assert not_in_future(NOW - timedelta(days=3), now=NOW, field="found_at")
    assert not_in_future(NOW + CLOCK_SKEW, now=NOW, field="found_at")
    with pytest.raises(InvalidInput) as caught:
        not_in_future(NOW + CLOCK_SKEW + timedelta(seconds=1), now=NOW, field="found_at")
    assert caught.value.field == "found_at" and "future" in caught.value.reason
    assert CLOCK_SKEW == timedelta(minutes=5)
