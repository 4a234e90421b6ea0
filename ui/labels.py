"""Codes shown as words: states, reasons, roles, verdicts, timeline actions and their details, and
validation errors, in the reader's language. Pure (no Streamlit), so unit tests can read every label.

A code without a label shows itself (never an empty cell); ``tests/unit/test_labels.py`` keeps every
enumeration value and every action the services record labelled in both languages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from models import enums
from models.rules import errors
from ui.i18n import format_day, format_money, format_time, known, refusal_words, t

#: the i18n prefix of each family of codes
STATE, REASON, NOTICE_STATE, ROLE, VERDICT = "state", "reason", "notice_state", "role", "verdict"


def label(prefix: str, code: object, lang: str) -> str:
    """``code`` (a state, a reason, a role...) in words; the code itself when it has no label."""
    key = f"{prefix}.{code}"
    return t(key, lang) if known(key) else str(code)


def has_label(prefix: str, code: object) -> bool:
    return known(f"{prefix}.{code}")


# --- the timeline ----------------------------------------------------------------------------------------

def action_label(action: str, lang: str) -> str:
    """A timeline action ("line.detained") as words ("扣留货物"); an unknown action shows itself."""
    return label("action", action, lang)


def _domain(action: str, key: str) -> str | None:
    """Which family of codes the value under ``key`` of an ``action``'s details belongs to."""
    family = action.split(".", 1)[0]
    if key == "state":
        return {"notice": NOTICE_STATE, "viewing": "viewing_state", "shot": "shot_state"}.get(family, STATE)
    if key in ("status", "case_status"):
        return "case_status"
    if key == "reason":
        return REASON
    if key in ("role", "actor_role"):
        return ROLE
    if key == "kind":
        return {"task": "kind", "document": "doc", "cost": "cost_kind"}.get(family, STATE)  # a decision's: lines' state
    if key == "outcome":
        return "outcome"
    if key in ("means", "form"):
        return "value"
    if key == "bond_kind":
        return "bond_kind"
    if key == "verdict":
        return VERDICT
    if key == "match_flags":
        return "flag"
    return None


def value_text(action: str, key: str, value: Any, lang: str) -> str:  # noqa: ANN401
    """One value of a timeline entry's details as text: codes in words, lists and objects spelled out."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, list | tuple):
        return ", ".join(value_text(action, key, v, lang) for v in value)
    if isinstance(value, Mapping):
        if key in BY_LINE:  # line number -> verdict
            return ", ".join(f"{k}: {label(VERDICT, v, lang)}" for k, v in value.items())
        return ", ".join(f"{key_label(str(k), lang)}: {value_text(action, str(k), v, lang)}" for k, v in value.items())
    domain = _domain(action, key)
    if domain and isinstance(value, str) and has_label(domain, value):
        return label(domain, value, lang)
    return str(value)


def key_label(key: str, lang: str) -> str:
    return label("key", key, lang)


def change_text(action: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, lang: str) -> str:
    """A timeline entry's details as "key: value" pairs; a value that changed reads "old → new"."""
    before, after = dict(before or {}), dict(after or {})
    parts = []
    for key in [*before, *(k for k in after if k not in before)]:
        name = key_label(key, lang)
        if key not in after:  # what it was, with nothing said of it now
            parts.append(f"{name}: {t('was_value', lang, v=value_text(action, key, before[key], lang))}")
        elif key in before and before[key] != after[key]:
            old, new = value_text(action, key, before[key], lang), value_text(action, key, after[key], lang)
            parts.append(f"{name}: {old} → {new}")
        else:
            parts.append(f"{name}: {value_text(action, key, after[key], lang)}")
    return "; ".join(parts)


# --- validation errors -----------------------------------------------------------------------------------

#: fields that are dicts keyed by line number (``AnswerIn.verdicts``)
BY_LINE = frozenset({"verdicts"})
_DIGITS = re.compile(r"^\^\[0-9\]\{(\d+)\}\$$|^\^\\d\{(\d+)\}\$$")


def field_name(field: str, lang: str) -> str:
    """A field of a form ("declaration_no", "consignor.uscc", "lines.0.quantity") in words."""
    parts = [p for p in field.split(".") if p]
    words = []
    for i, part in enumerate(parts):
        if part.isdigit():  # a line's number in a dict keyed by line, else a position in a list
            keyed = i and parts[i - 1] in BY_LINE
            words.append(f"{t('line_no', lang)} {part}" if keyed else t("item_n", lang, n=int(part) + 1))
            continue
        nested = ".".join(parts[i - 1:i + 1]) if i else part
        for key in (f"field.{nested}", f"field.{part}", part):
            if known(key):
                words.append(t(key, lang))
                break
        else:
            words.append(part)
    return " › ".join(words) or t("form", lang)


# --- a task's form ---------------------------------------------------------------------------------------

def _first_known(keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if known(k)), None)


def task_field_key(kind: str, name: str) -> str | None:
    """The msgid of the label of field ``name`` of the form of task ``kind``: the kind's own wording
    (``field.<kind>.<name>``), else the field's (``field.<name>``); None when neither is in the catalogs."""
    return _first_known((f"field.{kind}.{name}", f"field.{name}"))


def task_field_help_key(kind: str, name: str) -> str | None:
    """The msgid of the help of a task form's field: ``help.<kind>.<name>``, else ``help.<name>``; or None."""
    return _first_known((f"help.{kind}.{name}", f"help.{name}"))


def task_field_label(kind: str, name: str, lang: str) -> str:
    """A task form's field in words (the field's name itself only when the catalogs lack it)."""
    key = task_field_key(kind, name)
    return t(key, lang) if key else name


def task_field_help(kind: str, name: str, lang: str) -> str | None:
    """What to write in a task form's field, in words; None when it needs no help."""
    key = task_field_help_key(kind, name)
    return t(key, lang) if key else None


def task_form_text(kind: str, lang: str) -> str:
    """What completing a task of ``kind`` does, in words (``task_form.<kind>``); empty when there is none."""
    return t(f"task_form.{kind}", lang) if known(f"task_form.{kind}") else ""


def choice_label(value: str, lang: str) -> str:
    """A choice offered by a form (``value.<choice>``), the choice itself when the catalogs lack it."""
    return t(f"value.{value}", lang) if known(f"value.{value}") else value


def error_sentence(err: Mapping[str, Any], lang: str, field: str = "") -> str:
    """What is wrong with one field, as pydantic reports it (``ValidationError.errors()``), in words:
    "must be 18 digits", never the regular expression."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        own = f"err.pattern.{field.rsplit('.', 1)[-1]}"  # the field's own format in words (a USCC)
        if known(own):
            return t(own, lang)
        digits = _DIGITS.match(str(ctx.get("pattern", "")))
        if digits:
            return t("err.digits", lang, n=digits.group(1) or digits.group(2))
        return t("err.pattern", lang)
    problem = getattr(ctx.get("error"), "problem", None) or ctx.get("problem")
    if isinstance(problem, errors.Words):  # a validator's reason given as words (an amount of RMB)
        return refusal_value("problem", problem, lang)
    key = f"err.{kind}"
    if known(key):
        values = {k: v for k, v in ctx.items() if isinstance(v, str | int | float)}
        try:
            return t(key, lang, **values)
        except (KeyError, IndexError):
            return t("err.invalid", lang)
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return msg or t("err.invalid", lang)


def validation_messages(errors: list[Mapping[str, Any]], lang: str) -> dict[str, str]:
    """``ValidationError.errors()`` as {field in words: what is wrong}, the first error of each field."""
    out: dict[str, str] = {}
    for err in errors:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
        sentence = error_sentence(err, lang, loc)
        # a model-level check names its field in its message ("uscc: contains ...")
        if not loc and ": " in sentence and sentence.split(": ", 1)[0].replace(".", "").isidentifier():
            loc, sentence = sentence.split(": ", 1)
        out.setdefault(field_name(loc, lang) if loc else t("form", lang), sentence)
    return out


# --- a service's refusal ---------------------------------------------------------------------------------

#: the family of labels of each enumeration a refusal may carry
ENUM_FAMILY: dict[type[Enum], str] = {enums.LineState: STATE, enums.Reason: REASON, enums.NoticeState: NOTICE_STATE,
                                      enums.Role: ROLE, enums.Verdict: VERDICT, enums.ViewingState: "viewing_state",
                                      enums.CaseStatus: "case_status", enums.TaskKind: "kind",
                                      enums.DocumentKind: "doc", enums.BondKind: "bond_kind",
                                      enums.RightType: "right_type"}
#: the family of a value named so in a refusal's template, when the value is a plain string
VALUE_FAMILY = {"state": STATE, "current": STATE, "target": STATE, "role": ROLE, "roles": ROLE, "group": ROLE,
                "notice_state": NOTICE_STATE, "viewing_state": "viewing_state", "shot_state": "shot_state",
                "verdict": VERDICT, "kind": "kind", "bond_kind": "bond_kind", "outcome": "outcome",
                "form_says": "outcome", "decision": "application", "outcomes": "outcome", "method": "outcome",
                "right_type": "right_type", "media_kind": "media_kind", "image_kinds": "image_kind", "cause": REASON}
#: values named so in a refusal's template are a form's field names (a claim of single sign-on)
FIELD_VALUES = frozenset({"claim"})


def refusal_value(name: str, value: Any, lang: str) -> str:  # noqa: ANN401
    """One value of a refusal for the reader: days and times per locale (Beijing time), money in RMB per locale,
    states, roles and other codes in words, several values listed."""
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    if isinstance(value, errors.Words):
        said = refusal_words(value.template, lang)
        try:
            return said.format(**{k: refusal_value(k, v, lang) for k, v in value.values.items()}) if said else str(value)
        except (KeyError, IndexError, ValueError):  # a translation naming a value the words do not give
            return str(value)
    if isinstance(value, datetime):
        return format_time(value, lang)
    if isinstance(value, date):
        return format_day(value, lang)
    if isinstance(value, Decimal):
        return format_money(value, lang)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        sentences = bool(items) and all(isinstance(v, errors.Words) for v in items)
        joint = ("；" if sentences else "、") if lang == "zh" else ("; " if sentences else ", ")
        return joint.join(refusal_value(name, v, lang) for v in items)
    if name in FIELD_VALUES and isinstance(value, str):
        return field_name(value, lang)
    family = next((f for kind, f in ENUM_FAMILY.items() if isinstance(value, kind)), VALUE_FAMILY.get(name))
    if family and has_label(family, value):
        return label(family, value, lang)
    return str(errors.plain(value))


def reason_text(e: errors.YunqueError, english: str | None, lang: str) -> str:
    """A refusal's reason (its template filled with its values) in ``lang``; ``english`` when the catalog lacks it."""
    template = e.template
    words = refusal_words(template, lang) if template else None
    if lang == "en" or words is None:
        return english or ""
    values = {k: refusal_value(k, v, lang) for k, v in e.values.items()}
    try:
        return words.format(**values) if values else words
    except (KeyError, IndexError, ValueError):  # a translation naming a value the raise does not give
        return english or ""


def _thing(what: str, lang: str) -> str:
    """What a refusal is about ("case", "customs office") in words; an unknown thing shows itself."""
    return refusal_words(what, lang) or what


def refusal_field(e: errors.YunqueError, lang: str) -> tuple[str, str] | None:
    """(the field in words, what is wrong with it) of a refusal that names a field, else None."""
    if not isinstance(e, errors.InvalidInput):
        return None
    reason = error_sentence(e.error, lang, e.field) if e.error else reason_text(e, e.reason, lang)
    return field_name(e.field, lang), reason


def refusal_sentence(e: errors.YunqueError, lang: str) -> str:
    """A service's refusal as a whole sentence in ``lang``: the field named in words, the thing, the state,
    the deadline and the reason in the reader's language (``str(e)``, the command line's English, when a
    part has no words yet)."""
    named = refusal_field(e, lang)
    if named is not None:
        return t("field_error", lang, field=named[0], msg=named[1])
    if isinstance(e, errors.SignInLocked):
        return t(f"signin_locked.{e.scope}", lang, until=format_time(e.until, lang))
    if isinstance(e, errors.PermissionDenied):
        action = refusal_words(e.action, lang) or e.action
        reason = reason_text(e, e.reason, lang)
        if not reason:
            return t("refusal.permission_denied", lang, actor=e.actor, action=action)
        return t("refusal.permission_denied_why", lang, actor=e.actor, action=action, reason=reason)
    if isinstance(e, errors.NotFound):
        return t("refusal.not_found", lang, what=_thing(e.what, lang), ident=e.key)
    if isinstance(e, errors.IllegalTransition):
        current = label(STATE, e.current, lang) if e.current else t("refusal.new_line", lang)
        values = {"line": e.line, "current": current, "target": label(STATE, e.target, lang)}
        if not e.reason:
            return t("refusal.illegal_transition", lang, **values)
        return t("refusal.illegal_transition_why", lang, **values, reason=reason_text(e, e.reason, lang))
    if isinstance(e, errors.DeadlinePassed):
        deadline = format_time(e.deadline, lang) if isinstance(e.deadline, datetime) else format_day(e.deadline, lang)
        return t("refusal.deadline_passed", lang, notice=e.notice, deadline=deadline)
    if isinstance(e, errors.CalendarUnknown):
        return t("refusal.calendar_unknown", lang, year=e.year)
    if isinstance(e, errors.CalendarYearKnown):
        return t("refusal.calendar_year_known", lang, year=e.year, source=e.source)
    if isinstance(e, errors.CalendarDataInvalid):
        return t("refusal.calendar_invalid", lang, source=e.source, reason=reason_text(e, e.reason, lang))
    if isinstance(e, errors.BondInsufficient):
        return t("refusal.bond_insufficient", lang, required=refusal_value("required", e.required, lang),
                 offered=refusal_value("offered", e.offered, lang))
    if isinstance(e, errors.LockContention):
        return t("refusal.lock_contention", lang)
    if isinstance(e, errors.ConcurrentUpdate):
        thing, _, key = e.what.partition(" ")
        what = f"{_thing(thing, lang)} {key}".strip() if refusal_words(thing, lang) else e.what
        return t("refusal.conflict", lang, what=what, detail=reason_text(e, e.detail, lang))
    if isinstance(e, errors.HandoffRefused):
        return t("handoff_refused", lang)
    if isinstance(e, errors.UnlockLinksLimited):
        return t("unlock.limited", lang, until=format_time(e.until, lang))
    if isinstance(e, errors.UnlockLinkRefused):
        return t(f"unlock.refused.{e.reason}", lang)
    return str(e)
