"""Domain errors: a broken rule, carried with its data and said in plain words.

Services raise these; the CLI prints ``str(error)`` on one line and exits non-zero, the UI shows it
to the user in the user's language. Malformed input is a pydantic ``ValidationError`` instead, shown per
field (``ui.chrome.field_errors``, ``yunque.cli._common.describe_validation``).

A reason is an English *template* with named values, never an f-string::

    raise InvalidInput("amount", "RMB {offered} is below the RMB {required} required", offered=x, required=y)

``str(error)`` (the command line's words) is the template filled with the values as ``plain`` writes them
(days and times in ISO 8601, lists comma-separated); ``error.template`` and ``error.values`` let the UI
look the template up in its Chinese catalog (``ui/locale/zh/LC_MESSAGES/refusals.po``, whose msgids are
these English templates) and fill it with the values formatted for the reader's locale.

A value that is itself a sentence (an adapter's reason a service passes on, a list of accepted types) is a
``Words``: a template with its values, said in the reader's language like the reason that carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class Words:
    """A sentence given as a value of a reason: an English template and its named values, written as the
    template filled (``str``); the UI looks the template up in the refusals catalog like any reason's."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return sentence(self.template, self.values)


def words(template: str, **values: Any) -> Words:
    """``Words(template, values)``, the values named like a reason's."""
    return Words(template, values)


def plain(value: object) -> object:
    """A value as an English reason shows it: days and times in ISO 8601, an enumeration by its value,
    several values comma-separated (several sentences semicolon-separated), words as their sentence; anything
    else as it is (so ``{amount:.2f}`` still works)."""
    if isinstance(value, Words):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return ("; " if items and all(isinstance(v, Words) for v in items) else ", ").join(str(plain(v)) for v in items)
    return value


def one_line(value: object) -> str:
    """A value someone typed, as a refusal names it: itself, or escaped if it holds a line break or
    another character that does not print (a refusal is one line, and shows text as text)."""
    text = str(value)
    return text if text.isprintable() else repr(text)


def sentence(template: str, values: Mapping[str, Any]) -> str:
    """``template`` filled with ``values`` written ``plain``; a template without values is the sentence."""
    return template.format(**{k: plain(v) for k, v in values.items()}) if values else template


class YunqueError(Exception):
    """Base of every rule Yunque refuses to break."""

    code = "rule"
    #: the English template of the reason, and its named values (empty for a fixed sentence)
    template: str = ""
    values: Mapping[str, Any] = {}


class InvalidInput(YunqueError):
    """Input that is well-formed but names something impossible: a field, and the reason as a template
    filled with ``values`` (``InvalidInput("amount", "must be at least RMB {minimum}", minimum=...)``)."""

    code = "invalid-input"

    def __init__(self, field: str, reason: str, *, error: Mapping[str, Any] | None = None, **values: Any):
        self.field = field
        self.template, self.values = reason, values
        self.reason = sentence(reason, values)
        #: the validator's own report (``type`` and ``ctx``), when there is one: the UI says it in words
        self.error = dict(error) if error is not None else None
        super().__init__(f"{field}: {self.reason}")


class NotFound(YunqueError):
    code = "not-found"

    def __init__(self, what: str, key: object):
        self.what = what
        self.key = one_line(key)
        super().__init__(f"{what} {self.key} does not exist")


class PermissionDenied(YunqueError):
    code = "permission-denied"

    def __init__(self, actor: str, action: str, reason: str = "", **values: Any):
        """``action`` and ``reason`` are templates filled with ``values``."""
        self.actor = actor
        self.action_template, self.action = action, sentence(action, values)
        self.template, self.values = reason, values
        self.reason = reason = sentence(reason, values)
        tail = f": {reason}" if reason else ""
        super().__init__(f"{actor} may not {self.action}{tail}")


class IllegalTransition(YunqueError):
    code = "illegal-transition"

    def __init__(self, line: str, current: str | None, target: str, reason: str | None = None, **values: Any):
        self.line = line
        self.current = current
        self.target = target
        self.template, self.values = reason or "", values
        self.reason = reason = sentence(reason, values) if reason else reason
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"line {line} cannot go from {current or '(new)'} to {target}{why}"
        )


class DeadlinePassed(YunqueError):
    code = "deadline-passed"

    def __init__(self, notice: str, deadline: datetime | date):
        self.notice = notice
        self.deadline = deadline
        super().__init__(f"notice {notice}: the deadline {deadline.isoformat()} has passed")


class CalendarUnknown(YunqueError):
    """A date in a year whose official working-day schedule Yunque does not have."""

    code = "calendar-unknown"

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"the working-day schedule for {year} is missing: load the State Council's "
            f"published holiday arrangement for {year} with `yunque calendar load FILE`"
        )


class CalendarDataInvalid(YunqueError):
    code = "calendar-invalid"

    def __init__(self, source: str, reason: str, **values: Any):
        self.source = source
        self.template, self.values = reason, values
        self.reason = reason = sentence(reason, values)
        super().__init__(f"calendar data {source}: {reason}")


class CalendarYearKnown(YunqueError):
    """A schedule loaded for a year the official data already covers, without asking to replace it."""

    code = "calendar-year-known"

    def __init__(self, year: int, source: str):
        self.year = year
        self.source = source
        super().__init__(
            f"the {year} working-day schedule is already known (from {source}); loading another would change "
            f"deadlines: give --replace to replace it, and check the changed days it lists"
        )


class BondInsufficient(YunqueError):
    code = "bond-insufficient"

    def __init__(self, required: object, offered: object):
        self.required = required
        self.offered = offered
        super().__init__(f"the bond offered (RMB {offered}) is below the bond required (RMB {required})")


class ConcurrentUpdate(YunqueError):
    """Someone else changed the same thing first: exactly one action wins."""

    code = "conflict"

    def __init__(self, what: str, detail: str, **values: Any):
        self.what = what
        self.template, self.values = detail, values
        self.detail = detail = sentence(detail, values)
        super().__init__(f"{what}: {detail}")


class LockContention(ConcurrentUpdate):
    """Two actions waited for each other (a deadlock the database broke) or one waited for a lock longer than
    the lock timeout: this action was rolled back whole, nothing of it was written, and the same call may
    simply be tried again (flows retry it; a person is told to)."""


class SignInLocked(PermissionDenied):
    """Too many failed sign-ins: password checks for ``username`` from this client refused until ``until``.

    ``scope`` says who is locked out, never the account as a whole: ``client_account`` (this client,
    this account), ``client`` (this network address, any account), ``account`` (this account from
    browsers it was never signed in from)."""

    code = "sign-in-locked"

    def __init__(self, username: str, scope: str, until: datetime):
        self.username = username
        self.scope = scope
        self.until = until
        who = {"client_account": "from this client", "client": "from this network address (any account)",
               "account": "from browsers not used with this account before"}[scope]
        super().__init__(username, "sign in", f"the account is locked for sign-in {who} until {until.isoformat()} "
                                              "after too many wrong passwords")


class HandoffRefused(YunqueError):
    """A one-time sign-in code presented by a browser other than the one that signed in (login CSRF)."""

    code = "handoff-refused"

    def __init__(self) -> None:
        super().__init__("this sign-in was not started in this browser: sign in here with your own account")


class UnlockLinksLimited(YunqueError):
    """Too many unlock links asked for this account (as typed) or from this client: the next at ``until``.

    ``scope`` is ``account`` or ``client``; the same words whether or not the account exists."""

    code = "unlock-links-limited"

    def __init__(self, scope: str, until: datetime):
        self.scope = scope
        self.until = until
        super().__init__(f"too many unlock links asked for {'this account' if scope == 'account' else 'from here'}: "
                         f"ask again after {until.isoformat()}")


class UnlockLinkRefused(YunqueError):
    """An unlock link that cannot be used: ``reason`` is ``used``, ``expired`` or ``unknown``."""

    code = "unlock-link-refused"

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__({"used": "this unlock link was already used",
                          "expired": "this unlock link has expired"}.get(reason, "this is not a valid unlock link"))
