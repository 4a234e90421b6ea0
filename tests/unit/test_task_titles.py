"""Task titles follow the reader's language: every task kind has a title in 中文 and in English in the catalogs,
written from the task's facts; where the facts fall short the stored title is shown as it was written."""

from __future__ import annotations

import re

import pytest

from models.enums import TaskKind
from ui.i18n import placeholders, t
from ui.task_titles import FACTS, render_title, title_keys

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"\b[A-Za-z]{3,}\b")

#: the facts of one task of each kind, as ``services.tasks.task_facts`` gathers them
FULL = {"case": "YQ-2026-000042", "line": 3, "brand": "NIKE", "notice": 7, "amount": "20,000.00", "viewing": 5,
        "requester": "Nike agent", "lines": "1, 3", "document": ("确权通知书", "Notice to Confirm IP Rights"),
        "number": "BJ-CN-2026-1", "year": 2027}

HOW_TO_ADD = (
    "Task kind {kind!r} has no title. Add to ui/locale/zh/LC_MESSAGES/yunque.po and ../en/..., most specific "
    "first:\n"
    "    msgid \"task_title.{kind}.1\"\n"
    "    msgstr \"<中文 (English in en), naming facts as {{case}}>\"\n"
    "using only these facts: {facts}. A fact not gathered yet goes into services.tasks.task_facts and FACTS.")


@pytest.mark.parametrize("kind", list(TaskKind), ids=str)
def test_every_task_kind_has_a_title_in_chinese_and_in_english(kind: TaskKind) -> None:
    assert title_keys(kind.value), HOW_TO_ADD.format(kind=kind.value, facts=sorted(FACTS))
    for key in title_keys(kind.value):
        zh, en = t(key, "zh"), t(key, "en")
        assert CJK.search(zh), f"{key}: the Chinese title is not Chinese: {zh!r}"
        assert not CJK.search(en) and en.strip() and en != key, f"{key}: the English title is not English: {en!r}"
        assert placeholders(zh) == placeholders(en), f"{key}: both languages name the same facts: {zh!r} / {en!r}"
        assert placeholders(zh) <= FACTS, f"{key}: {sorted(placeholders(zh) - FACTS)} is not a fact task_facts gives"


@pytest.mark.parametrize("kind", list(TaskKind), ids=str)
def test_a_task_with_its_facts_reads_in_the_readers_language(kind: TaskKind) -> None:
    zh = render_title(kind.value, FULL, "zh", stored="STORED")
    en = render_title(kind.value, FULL, "en", stored="STORED")
    assert "STORED" not in (zh, en)
    assert CJK.search(zh) and not CJK.search(en)
    assert "{" not in zh + en


def test_the_facts_fill_the_title() -> None:
    facts = {"case": "YQ-2026-000042", "line": 3, "brand": "NIKE"}
    assert render_title("investigate", facts, "zh") == "调查扣留货物 YQ-2026-000042/3（NIKE）"
    assert render_title("investigate", facts, "en") == "Investigate detained line YQ-2026-000042/3 (NIKE)"


def test_a_chinese_title_has_no_english_sentence_in_it() -> None:
    title = render_title("check_bond", {"case": "YQ-2026-000042", "notice": 7, "amount": "20,000.00"}, "zh")
    assert "20,000.00" in title and "YQ-2026-000042" in title
    assert not LATIN_WORD.search(title.replace("YQ-2026-000042", "")), title


def test_a_fact_in_two_languages_is_shown_in_the_readers() -> None:
    facts = {"case": "YQ-1", "document": ("扣留凭单", "Detention Receipt"), "number": "D-1"}
    assert "扣留凭单" in render_title("serve_manually", facts, "zh")
    assert "Detention Receipt" in render_title("serve_manually", facts, "en")


def test_a_less_specific_title_is_used_when_a_fact_is_missing() -> None:
    assert render_title("approve_viewing", {"case": "YQ-1"}, "en") == "Decide on a viewing request of YQ-1"
    assert render_title("load_calendar", {"year": 2027}, "zh") == "导入 2027 年工作日安排（国务院办公厅节假日安排），须在 1 月 1 日前"
    assert "YQ-1" in render_title("load_calendar", {"year": 2027, "case": "YQ-1"}, "zh")


@pytest.mark.parametrize("facts", [{}, {"case": ""}, {"case": None}, {"line": 3}])
def test_without_the_facts_the_stored_title_is_shown(facts: dict) -> None:
    stored = "Investigate detained line YQ-2026-000042/3 (NIKE)"
    assert render_title("investigate", facts, "zh", stored=stored) == stored


def test_an_unknown_kind_shows_its_stored_title() -> None:
    assert render_title("a_kind_from_the_future", {"case": "YQ-1"}, "zh", stored="Review it") == "Review it"
