"""Properties that hold for every input: deadlines land on working days after service; bonds are
exact to the fen, never negative and never above the value."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.calendar import build_calendar
from models.rules.bonds import FEN, TIER_LOW, application_bond, ex_officio_bond
from models.rules.errors import CalendarUnknown
from models.rules.workdays import SHANGHAI, add_working_days, answer_deadline, end_of_day, working_days_left

CAL = build_calendar()  # the package's years only
FIRST, LAST = date(min(CAL.years), 1, 1), date(max(CAL.years), 12, 31)

days = st.dates(min_value=FIRST, max_value=LAST - timedelta(days=120))
fen_amounts = st.integers(min_value=0, max_value=10**12).map(lambda n: (Decimal(n) / 100).quantize(FEN))


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=50))
def test_a_deadline_is_a_working_day_after_the_start(start: date, n: int) -> None:
    last = add_working_days(start, n, CAL)
    assert last > start
    assert CAL.is_working_day(last)
    assert working_days_left(start + timedelta(days=1), last, CAL) == n  # exactly n working days


@settings(max_examples=200, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2026, 8, 1), timezones=st.just(SHANGHAI)))
def test_the_answer_period_ends_after_service(moment: datetime) -> None:
    last = answer_deadline(moment, CAL)
    assert CAL.is_working_day(last)
    assert end_of_day(last) > moment + timedelta(days=1)


@settings(max_examples=50, deadline=None)
@given(start=st.dates(min_value=date(2026, 12, 24), max_value=date(2026, 12, 31)), n=st.integers(6, 60))
def test_periods_reaching_an_unknown_year_raise_instead_of_guessing(start: date, n: int) -> None:
    with pytest.raises(CalendarUnknown):
        add_working_days(start, n, CAL)


@settings(max_examples=500, deadline=None)
@given(value=fen_amounts)
def test_an_ex_officio_bond_is_exact_non_negative_and_never_above_the_value_below_the_floor(value: Decimal) -> None:
    bond = ex_officio_bond(value)
    assert bond >= 0
    assert bond == bond.quantize(FEN)
    assert bond <= max(value, TIER_LOW)  # the 20,000 floor applies from 20,000 up, so never above the value
    assert bond <= value
    assert bond <= Decimal("100000")
    assert isinstance(bond, Decimal)


@settings(max_examples=200, deadline=None)
@given(value=fen_amounts)
def test_an_application_bond_is_the_value_to_the_fen(value: Decimal) -> None:
    assert application_bond(value) == value


@settings(max_examples=200, deadline=None)
@given(a=fen_amounts, b=fen_amounts)
def test_the_ex_officio_bond_never_falls_as_the_value_rises_up_to_200000(a: Decimal, b: Decimal) -> None:
    lo, hi = sorted((a, b))
    if hi <= Decimal("200000"):
        assert ex_officio_bond(lo) <= ex_officio_bond(hi)
