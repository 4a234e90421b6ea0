"""Domain errors: a broken rule, carried with its data and said in plain words.

Services raise these; the CLI prints ``str(error)`` on one line and exits non-zero, the UI shows it
to the user. Malformed input is a pydantic ``ValidationError`` instead, shown per field
(``ui.chrome.field_errors``, ``yunque.cli._common.describe_validation``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


class YunqueError(Exception):
    """Base of every rule Yunque refuses to break."""

    code = "rule"


class InvalidInput(YunqueError):
    """Input that is well-formed but names something impossible (a field and the reason)."""

    code = "invalid-input"

    def __init__(self, field: str, reason: str, *, error: Mapping[str, Any] | None = None):
        self.field = field
        self.reason = reason
        #: the validator's own report (``type`` and ``ctx``), when there is one: the UI says it in words
        self.error = dict(error) if error is not None else None
        super().__init__(f"{field}: {reason}")


class NotFound(YunqueError):
    code = "not-found"

    def __init__(self, what: str, key: object):
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!s} does not exist")


class PermissionDenied(YunqueError):
    code = "permission-denied"

    def __init__(self, actor: str, action: str, reason: str = ""):
        self.actor = actor
        self.action = action
        self.reason = reason
        tail = f": {reason}" if reason else ""
        super().__init__(f"{actor} may not {action}{tail}")


class IllegalTransition(YunqueError):
    code = "illegal-transition"

    def __init__(self, line: str, current: str | None, target: str, reason: str | None = None):
        self.line = line
        self.current = current
        self.target = target
        self.reason = reason
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

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
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

    def __init__(self, what: str, detail: str):
        self.what = what
        self.detail = detail
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
