"""The life of one line of suspect goods, exactly as DOMAIN.md's table of states.

Each allowed step is (current, target, reason). Anything else is an ``IllegalTransition``.
"""

from __future__ import annotations

from enum import StrEnum

from models.rules.errors import IllegalTransition


class LineState(StrEnum):
    SUSPENDED = "suspended"  # 中止放行
    RELEASED = "released"  # 放行
    DETAINED = "detained"  # 扣留
    CONFISCATED = "confiscated"  # 没收
    UNDETERMINED = "undetermined"  # 不能认定
    COURT_HOLD = "court-hold"  # 协助执行
    TRANSFERRED = "transferred"  # 移送公安机关 (Reg 26)
    APPLIED = "applied"  # 申请扣留: a rights holder applied for detention; customs reviews (Reg 12-15)


class Reason(StrEnum):
    """Why a line moves; each reason is tied to a row of the table."""

    SUSPECTED = "suspected"  # officer suspects infringement of a recorded right
    VIEWING = "viewing"  # viewing requested, approved, held
    CLEARED = "cleared"  # rights holder: not infringing
    NO_DETENTION = "no-detention"  # rights holder: infringing, but no detention wanted
    EXPIRED = "expired"  # no answer by the deadline (Reg 16, Meas 25)
    NO_BOND = "no-bond"  # claimed, but no valid bond by the deadline
    DETENTION = "detention"  # application + bond within 3 working days
    INFRINGEMENT_DETERMINED = "infringement-determined"  # within 30 WD (Reg 20)
    CANNOT_DETERMINE = "cannot-determine"  # decided by an IPR officer within 30 WD (Reg 20, Meas 28)
    NO_COURT_NOTICE = "no-court-notice"  # 50 WD passed without a court notice (Reg 24)
    COURT_NOTICE = "court-notice"  # a court's assistance notice arrived (Reg 24)
    COUNTER_BOND = "counter-bond"  # patent: consignor posts a counter-bond (Reg 19)
    WITHDRAWN = "withdrawn"  # rights holder withdraws its application
    NOT_MATCHED = "not-matched"  # the IPR officer finds the goods outside the recordation (class, licensee)
    NOT_INFRINGING = "not-infringing"  # the IPR officer's investigation finds no infringement (Reg 20)
    STATEMENT_ACCEPTED = "statement-accepted"  # the consignor's statement and evidence accepted (Reg 18, 24(4))
    SUSPECTED_CRIME = "suspected-crime"  # the case is transferred to the police (Reg 26)
    APPLICATION = "application"  # a rights holder's application for detention of a named shipment (Reg 12, 13)
    APPLICATION_ACCEPTED = "application-accepted"  # customs accepts it, the bond equal to the value received (Reg 14, 15)
    APPLICATION_REJECTED = "application-rejected"  # customs rejects it: not as the law requires, or no bond (Reg 15)
    NO_COURT_ORDER = "no-court-order"  # 20 WD after a detention on application, no court notice (Reg 24(1))


S = LineState
R = Reason

#: (current, target) -> the reasons that allow it. ``None`` is a line not yet registered.
TRANSITIONS: dict[tuple[LineState | None, LineState], frozenset[Reason]] = {
    (None, S.SUSPENDED): frozenset({R.SUSPECTED}),
    # the application route (Reg 12-15, 24(1)): the goods are held only once customs accepts the application
    (None, S.APPLIED): frozenset({R.APPLICATION}),
    (S.APPLIED, S.DETAINED): frozenset({R.APPLICATION_ACCEPTED}),
    (S.APPLIED, S.RELEASED): frozenset({R.APPLICATION_REJECTED, R.WITHDRAWN}),
    (S.SUSPENDED, S.SUSPENDED): frozenset({R.VIEWING}),
    (S.SUSPENDED, S.RELEASED): frozenset({R.CLEARED, R.NO_DETENTION, R.EXPIRED, R.NO_BOND, R.NOT_MATCHED}),
    (S.SUSPENDED, S.DETAINED): frozenset({R.DETENTION}),
    (S.DETAINED, S.CONFISCATED): frozenset({R.INFRINGEMENT_DETERMINED}),
    (S.DETAINED, S.UNDETERMINED): frozenset({R.CANNOT_DETERMINE}),
    (S.UNDETERMINED, S.RELEASED): frozenset({R.NO_COURT_NOTICE, R.STATEMENT_ACCEPTED}),
    (S.UNDETERMINED, S.COURT_HOLD): frozenset({R.COURT_NOTICE}),
    (S.DETAINED, S.RELEASED): frozenset({R.COUNTER_BOND, R.WITHDRAWN, R.NOT_INFRINGING, R.STATEMENT_ACCEPTED,
                                         R.NO_COURT_ORDER}),
    # a court's assistance notice may arrive any time after detention (Reg 23)
    (S.DETAINED, S.COURT_HOLD): frozenset({R.COURT_NOTICE}),
    (S.DETAINED, S.TRANSFERRED): frozenset({R.SUSPECTED_CRIME}),
}

TERMINAL = frozenset({S.RELEASED, S.CONFISCATED, S.COURT_HOLD, S.TRANSFERRED})


def transition(
    line: str, current: LineState | None, target: LineState, reason: Reason
) -> LineState:
    """Return ``target`` if the law allows the step, else raise ``IllegalTransition``."""
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        raise IllegalTransition(line, current, target)
    if reason not in allowed:
        raise IllegalTransition(line, current, target, "not for reason {cause}", cause=reason)
    return target


def can_transition(current: LineState | None, target: LineState) -> bool:
    return (current, target) in TRANSITIONS
