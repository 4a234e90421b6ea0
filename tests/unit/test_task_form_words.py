"""A task's form reads in the user's language: what completing the task does, every field's label, the help of
every field the form explains, every choice and every outcome come from the catalogs (never the form's English
titles and descriptions, which are the command line's and the schema's)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.task_acts import TASK_ACTS, describe
from ui import i18n, labels

CJK = re.compile(r"[\u4e00-\u9fff]")


def _choices(prop: dict[str, Any]) -> list[str]:
    return prop.get("enum") or next((p["enum"] for p in prop.get("anyOf", []) if p.get("enum")), [])


def missing_words(kind: str) -> list[str]:
    """The msgids (or the alternatives, one of which is needed) the form of ``kind`` lacks in a catalog."""
    form = describe(kind)
    missing = [] if i18n.known(f"task_form.{kind}") else [f"task_form.{kind}"]
    missing += [f"outcome.{o}" for o in form["outcomes"] if not i18n.known(f"outcome.{o}")]
    for name, prop in form["fields"].items():
        if labels.task_field_key(kind, name) is None:
            missing.append(f"field.{kind}.{name} or field.{name}")
        if prop.get("description") and labels.task_field_help_key(kind, name) is None:
            missing.append(f"help.{kind}.{name} or help.{name}")
        missing += [f"value.{v}" for v in _choices(prop) if not i18n.known(f"value.{v}")]
    return missing


@pytest.mark.parametrize("kind", sorted(TASK_ACTS))
def test_every_task_form_has_its_words_in_both_catalogs(kind: str) -> None:
    missing = missing_words(kind)
    assert not missing, (f"the form of {kind} lacks words: add to ui/locale/zh/LC_MESSAGES/yunque.po and "
                         f"../en/...: {', '.join(missing)}")


@pytest.mark.parametrize("kind", sorted(TASK_ACTS))
def test_a_task_form_reads_in_chinese_and_in_english(kind: str) -> None:
    form = describe(kind)
    said = {"form": lambda lang: labels.task_form_text(kind, lang)}
    for name in form["fields"]:
        said[name] = lambda lang, name=name: labels.task_field_label(kind, name, lang)
        said[f"{name} (help)"] = lambda lang, name=name: labels.task_field_help(kind, name, lang) or "—"
    for what, words in said.items():
        zh, en = words("zh"), words("en")
        assert zh == "—" or CJK.search(zh), f"{kind} {what}: not Chinese: {zh!r}"
        assert not CJK.search(en), f"{kind} {what}: not English: {en!r}"


def test_the_check_names_what_is_missing() -> None:
    kind = "confirm_seizure"
    saved = dict(i18n.catalog("zh")._messages), dict(i18n.catalog("en")._messages)
    try:
        for lang in ("zh", "en"):
            i18n.catalog(lang).delete(f"task_form.{kind}")
            i18n.catalog(lang).delete("field.not_matching")
        assert {f"task_form.{kind}", f"field.{kind}.not_matching or field.not_matching"} <= set(missing_words(kind))
    finally:
        for lang, messages in zip(("zh", "en"), saved, strict=True):
            i18n.catalog(lang)._messages.clear()
            i18n.catalog(lang)._messages.update(messages)
