"""The app's words in Chinese and English, and its dates and money, per locale.

The words live in two gettext catalogs managed with Babel, one per language:
``ui/locale/zh/LC_MESSAGES/yunque.po`` and ``ui/locale/en/LC_MESSAGES/yunque.po``. Their message ids
are *keys* ("page.signin", "state.detained", "wd_left"), not English sentences: both languages are
translations of the key, so fixing an English sentence never orphans the Chinese one, and the codes the
app shows (states, reasons, timeline actions) are looked up as ``prefix.code``. Each catalog is read
once per process with ``babel.messages.pofile.read_po``: no compile step, a fresh checkout runs as it is.

``t(key, lang, **values)`` gives the text of ``key`` in ``lang`` ("zh" or "en"), with ``{name}``
placeholders filled by ``str.format``; a key in neither catalog shows itself (never an empty label).

A message whose number changes its words has plural forms (``msgid_plural``): Chinese one, English two
(``Plural-Forms`` in each file's header chooses). Its count is the value ``n``, or else the only whole
number among the values (``t("err.too_short", lang, min_length=2)``).

To add a word: add the same msgid to both files, e.g.::

    msgid "apply_withdrawn"
    msgstr "扣留申请已撤回。"            (zh)        msgstr "Application withdrawn."   (en)

and call ``t("apply_withdrawn", lang)`` (``chrome.tr("apply_withdrawn")`` in a page). For a plural::

    msgid "bulk_done"
    msgid_plural "bulk_done"
    msgstr[0] "已处理 {n} 项任务"      (zh)        msgstr[0] "{n} task done"  msgstr[1] "{n} tasks done"  (en)

``tests/unit/test_labels.py`` fails, saying what to add, when a key used in ``ui/`` or one catalog's msgid
is missing from a catalog, or when the two languages' placeholders differ.

Dates, times and money shown to a person go through ``format_day``, ``format_time`` and ``format_money``
(``babel.dates``/``babel.numbers``): times in Asia/Shanghai, money in RMB (``Decimal``).
"""

from __future__ import annotations

import functools
import gettext
import string
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, dates, numbers
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

LANGS = ("zh", "en")
DOMAIN = "yunque"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
#: the locale each language formats dates and numbers in
LOCALES = {"zh": "zh_Hans_CN", "en": "en"}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalog(lang: str) -> Catalog:
    """The catalog of ``lang`` ("zh" or "en"), read once per process (it never changes while running)."""
    with catalog_path(lang).open("rb") as f:
        return read_po(f, locale=LOCALES[lang], domain=DOMAIN, abort_invalid=True)


@functools.cache
def _plural_index(lang: str) -> Callable[[int], int]:
    return gettext.c2py(catalog(lang).plural_expr)


def known(key: str) -> bool:
    """Whether ``key`` has words (the test keeps both catalogs holding the same keys)."""
    return key in catalog("zh")


def _language(lang: str) -> str:
    return lang if lang in LANGS else "en"


def plural_count(values: Mapping[str, Any]) -> int:
    """The number a plural message is counted by: ``n``, or else the only whole number among the values."""
    if "n" in values:
        return int(values["n"])
    whole = [v for v in values.values() if isinstance(v, int) and not isinstance(v, bool)]
    return whole[0] if len(whole) == 1 else 1


def t(key: str, lang: str = "zh", **values: Any) -> str:
    """The words of ``key`` in ``lang``, placeholders filled; a key without words shows itself."""
    lang = _language(lang)
    message = catalog(lang).get(key)
    if message is None or not message.string:
        return key
    text = message.string
    if isinstance(text, tuple):  # plural forms
        text = text[min(_plural_index(lang)(plural_count(values)), len(text) - 1)]
    return text.format(**values) if values else text


# --- refusals: the services' English reasons in Chinese ---------------------------------------------------------

#: the catalog of the services' refusals: msgids are the English templates services raise with
#: (``models/rules/errors.py``), msgstrs their Chinese; English needs no catalog (the template is English)
REFUSALS = "refusals"


@functools.cache
def refusals() -> Catalog:
    with (LOCALE_DIR / "zh" / "LC_MESSAGES" / f"{REFUSALS}.po").open("rb") as f:
        return read_po(f, locale=LOCALES["zh"], domain=REFUSALS, abort_invalid=True)


def refusal_words(template: str, lang: str) -> str | None:
    """A service's English ``template`` (a reason, an action, a thing) in ``lang``; None when the Chinese
    catalog lacks it (the caller then shows the English sentence)."""
    if _language(lang) == "en" or not template:
        return template
    message = refusals().get(template)
    return message.string if message is not None and isinstance(message.string, str) and message.string else None


def placeholders(text: str) -> set[str]:
    """The names of the ``{name}`` placeholders of a message."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# --- dates, times and money --------------------------------------------------------------------------------

def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[_language(lang)])


def format_day(d: date | None, lang: str) -> str:
    """A calendar day: "2026年11月27日" / "Nov 27, 2026"; "—" for none."""
    return "—" if d is None else dates.format_date(d, "medium", locale=_locale(lang))


def format_time(dt: datetime | None, lang: str, *, seconds: bool = False) -> str:
    """A moment in Beijing time: "2026年11月24日 15:05" / "Nov 24, 2026, 3:05 PM"; "—" for none."""
    if dt is None:
        return "—"
    locale, local = _locale(lang), dt.astimezone(SHANGHAI)
    clock = dates.format_time(local, "medium" if seconds else "short", locale=locale, tzinfo=SHANGHAI)
    return locale.datetime_formats["medium"].format(clock, format_day(local.date(), lang))


def format_clock(dt: datetime, lang: str) -> str:
    """The time of day only, in Beijing time, with seconds ("15:05:09" / "3:05:09 PM")."""
    return dates.format_time(dt.astimezone(SHANGHAI), "medium", locale=_locale(lang), tzinfo=SHANGHAI)


def format_money(amount: Decimal | float | int | str | None, lang: str) -> str:
    """An amount of RMB: "¥36,000.50" / "CN¥36,000.50"; "—" for none."""
    if amount is None or amount == "":
        return "—"
    return numbers.format_currency(Decimal(str(amount)), "CNY", locale=_locale(lang))


def format_number(value: int | float | Decimal, lang: str) -> str:
    """A number with the locale's grouping ("36,000")."""
    return numbers.format_decimal(value, locale=_locale(lang))
