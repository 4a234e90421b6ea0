"""A task's title in the reader's language, rendered from its kind and its facts (待办任务标题).

``Task.title`` stays in the database as it was written (an English sentence, or a "中文 / English"
pair): older tasks and other readers keep it. The inbox, the case page and the board show
``render_title(kind, facts, lang, stored=task.title)`` instead: the first title of the kind whose
facts are all known, else the stored title. No database, no clock, no Streamlit.

The titles are in the catalogs (``ui/locale/*/LC_MESSAGES/yunque.po``), most specific first:
``task_title.<kind>.1``, ``task_title.<kind>.2``, ... Both languages of one title name the same facts.
The facts ``services.tasks.task_facts`` gathers for a task (a fact missing is simply absent):

| fact | what it is |
|---|---|
| ``case`` | the case number (YQ-...) |
| ``line``, ``brand`` | the line's number and brand (investigate, dispose, review_statement) |
| ``notice`` | the confirmation notice's id |
| ``amount`` | the bond required, RMB, written out (check_bond, review_application) |
| ``viewing``, ``requester``, ``lines`` | the viewing's id, who asked for it, its line numbers |
| ``document``, ``number`` | the document to serve by other means: its name (中文, English) and number |
| ``year`` | the year whose working-day schedule is missing (load_calendar) |

A fact given as a pair ``(中文, English)`` is shown in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping

from ui.i18n import known, placeholders, t

#: every fact ``services.tasks.task_facts`` can give (the table above); a title names no other
FACTS = frozenset({"case", "line", "brand", "notice", "amount", "viewing", "requester", "lines", "document", "number",
                   "year"})


def title_keys(kind: str) -> list[str]:
    """The msgids of the titles of ``kind``, most specific first (none for a kind without titles)."""
    keys: list[str] = []
    while known(f"task_title.{kind}.{len(keys) + 1}"):
        keys.append(f"task_title.{kind}.{len(keys) + 1}")
    return keys


def _in(value: object, lang: str) -> str:
    if isinstance(value, list | tuple) and len(value) == 2:  # a fact in two languages
        return str(value[0] if lang == "zh" else value[1])
    return str(value)


def render_title(kind: str, facts: Mapping[str, object], lang: str, *, stored: str = "") -> str:
    """The task's title in ``lang`` ("zh" or "en"): the kind's first title whose facts are all known;
    the stored title when none is (an older task, a kind without titles)."""
    given = {k: _in(v, lang) for k, v in facts.items() if v is not None and v != ""}
    for key in title_keys(str(kind)):
        words = t(key, lang)
        if placeholders(words) <= given.keys():
            return words.format(**{k: v for k, v in given.items() if k in placeholders(words)})
    return stored
