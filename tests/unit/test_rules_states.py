"""The line state machine: every (from, to, reason) of DOMAIN.md's table, and nothing else."""

from __future__ import annotations

import itertools

import pytest

from models.rules.errors import IllegalTransition
from models.rules.states import TERMINAL, TRANSITIONS, LineState, Reason, can_transition, transition

S, R = LineState, Reason

#: DOMAIN.md's table, written out again by hand so a change to TRANSITIONS has to be deliberate.
ALLOWED = {
    (None, S.SUSPENDED, R.SUSPECTED),
    (S.SUSPENDED, S.SUSPENDED, R.VIEWING),
    (S.SUSPENDED, S.RELEASED, R.CLEARED),
    (S.SUSPENDED, S.RELEASED, R.NO_DETENTION),
    (S.SUSPENDED, S.RELEASED, R.EXPIRED),
    (S.SUSPENDED, S.RELEASED, R.NO_BOND),
    (S.SUSPENDED, S.DETAINED, R.DETENTION),
    (S.DETAINED, S.CONFISCATED, R.INFRINGEMENT_DETERMINED),
    (S.DETAINED, S.UNDETERMINED, R.CANNOT_DETERMINE),
    (S.UNDETERMINED, S.RELEASED, R.NO_COURT_NOTICE),
    (S.UNDETERMINED, S.COURT_HOLD, R.COURT_NOTICE),
    (S.DETAINED, S.RELEASED, R.COUNTER_BOND),
    (S.DETAINED, S.RELEASED, R.WITHDRAWN),
    (S.SUSPENDED, S.RELEASED, R.NOT_MATCHED),  # the IPR officer: outside the recordation's classes, a licensee
    (S.DETAINED, S.RELEASED, R.NOT_INFRINGING),  # the IPR officer's investigation (Reg 20)
    (S.DETAINED, S.COURT_HOLD, R.COURT_NOTICE),  # a court notice any time after detention (Reg 23)
    (S.DETAINED, S.RELEASED, R.STATEMENT_ACCEPTED),  # the consignor's statement accepted (Reg 18, 24(4))
    (S.UNDETERMINED, S.RELEASED, R.STATEMENT_ACCEPTED),
    (S.DETAINED, S.TRANSFERRED, R.SUSPECTED_CRIME),  # transferred to the police (Reg 26)
    # the application route (Reg 12-15, 24(1))
    (None, S.APPLIED, R.APPLICATION),
    (S.APPLIED, S.DETAINED, R.APPLICATION_ACCEPTED),
    (S.APPLIED, S.RELEASED, R.APPLICATION_REJECTED),
    (S.APPLIED, S.RELEASED, R.WITHDRAWN),  # withdrawn before customs decides (Reg 24(5))
    (S.DETAINED, S.RELEASED, R.NO_COURT_ORDER),  # 20 WD without a court notice after a detention on application
}
EVERY = list(itertools.product([None, *S], list(S), list(R)))


def test_the_table_in_code_is_the_table_of_the_domain() -> None:
    in_code = {(cur, tgt, why) for (cur, tgt), whys in TRANSITIONS.items() for why in whys}
    assert in_code == ALLOWED


def test_the_matrix_covers_every_combination() -> None:
    assert len(EVERY) == 9 * 8 * 21
    assert ALLOWED < set(EVERY)


@pytest.mark.parametrize(("current", "target", "reason"), sorted(ALLOWED, key=str))
def test_an_allowed_step_returns_its_target(current, target, reason) -> None:  # noqa: ANN001
    assert transition("YQ-2026-000001/3", current, target, reason) is target
    assert can_transition(current, target)


@pytest.mark.parametrize(("current", "target", "reason"), [t for t in EVERY if t not in ALLOWED], ids=str)
def test_any_other_step_is_refused_naming_line_current_and_target(current, target, reason) -> None:  # noqa: ANN001
    with pytest.raises(IllegalTransition) as caught:
        transition("YQ-2026-000001/3", current, target, reason)
    e = caught.value
    assert (e.line, e.current, e.target) == ("YQ-2026-000001/3", current, target)
    message = str(e)
    assert "YQ-2026-000001/3" in message
    assert (current.value if current else "(new)") in message
    assert target.value in message


def test_a_wrong_reason_for_an_existing_step_says_which_reason() -> None:
    with pytest.raises(IllegalTransition, match="not for reason detention"):
        transition("L1", S.SUSPENDED, S.RELEASED, R.DETENTION)


def test_terminal_states_have_no_way_out() -> None:
    for state in TERMINAL:
        assert not any(cur == state for cur, _ in TRANSITIONS)
        for target in S:
            assert not can_transition(state, target)


def test_state_names_are_the_lower_case_words_of_the_domain() -> None:
    assert [s.value for s in S] == ["suspended", "released", "detained", "confiscated", "undetermined", "court-hold",
                                    "transferred", "applied"]
