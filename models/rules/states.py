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
    CANNOT_DETERMINE = "cannot-determine"  # within 30 WD, or the clock ran out (Meas 28)
    NO_COURT_NOTICE = "no-court-notice"  # 50 WD passed without a court notice (Reg 24)
    COURT_NOTICE = "court-notice"  # a court's assistance notice arrived (Reg 24)
    COUNTER_BOND = "counter-bond"  # patent: consignor posts a counter-bond (Reg 19)
    WITHDRAWN = "withdrawn"  # rights holder withdraws its application
    NOT_MATCHING = "not-matching"  # IPR officer: the goods do not match the recordation (class, licensee, mark)


S = LineState
R = Reason

#: (current, target) -> the reasons that allow it. ``None`` is a line not yet registered.
TRANSITIONS: dict[tuple[LineState | None, LineState], frozenset[Reason]] = {
    (None, S.SUSPENDED): frozenset({R.SUSPECTED}),
    (S.SUSPENDED, S.SUSPENDED): frozenset({R.VIEWING}),
    (S.SUSPENDED, S.RELEASED): frozenset({R.CLEARED, R.NO_DETENTION, R.EXPIRED, R.NO_BOND, R.NOT_MATCHING}),
    (S.SUSPENDED, S.DETAINED): frozenset({R.DETENTION}),
    (S.DETAINED, S.CONFISCATED): frozenset({R.INFRINGEMENT_DETERMINED}),
    (S.DETAINED, S.UNDETERMINED): frozenset({R.CANNOT_DETERMINE}),
    (S.UNDETERMINED, S.RELEASED): frozenset({R.NO_COURT_NOTICE}),
    (S.UNDETERMINED, S.COURT_HOLD): frozenset({R.COURT_NOTICE}),
    (S.DETAINED, S.RELEASED): frozenset({R.COUNTER_BOND, R.WITHDRAWN}),
}

TERMINAL = frozenset({S.RELEASED, S.CONFISCATED, S.COURT_HOLD})


def transition(
    line: str, current: LineState | None, target: LineState, reason: Reason
) -> LineState:
    """Return ``target`` if the law allows the step, else raise ``IllegalTransition``."""
    allowed = TRANSITIONS.get((current, target))
    if allowed is None:
        raise IllegalTransition(line, current, target)
    if reason not in allowed:
        raise IllegalTransition(line, current, target, f"not for reason {reason}")
    return target


def can_transition(current: LineState | None, target: LineState) -> bool:
    return (current, target) in TRANSITIONS
