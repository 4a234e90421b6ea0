"""Bonds (Meas 23, Reg 14, Meas 15, Meas 24): every tier edge, exact to the fen, never float."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models.rules.bonds import (
    GeneralBondTerms,
    Route,
    application_bond,
    ex_officio_bond,
    general_bond_covers,
    money,
    required_bond,
)

D = Decimal


@pytest.mark.parametrize(
    ("value", "bond"),
    [
        ("0.00", "0.00"),
        ("0.01", "0.01"),
        ("9000.00", "9000.00"),
        ("19999.99", "19999.99"),  # under 20,000: equal to the value
        ("20000.00", "20000.00"),  # 20,000: half would be 10,000, but at least 20,000
        ("20000.01", "20000.00"),
        ("36000.00", "20000.00"),
        ("39999.99", "20000.00"),  # half is 19,999.995: still the 20,000 floor
        ("40000.00", "20000.00"),  # half is exactly 20,000
        ("40000.01", "20000.01"),  # half is 20,000.005: rounded half up to the fen
        ("40000.02", "20000.01"),
        ("150000.00", "75000.00"),
        ("199999.99", "100000.00"),  # 99,999.995 rounds up to 100,000.00
        ("200000.00", "100000.00"),  # 200,000 is still the middle tier: half
        ("200000.01", "100000.00"),  # over 200,000: 100,000
        ("5000000.00", "100000.00"),
    ],
)
def test_ex_officio_tiers(value: str, bond: str) -> None:
    got = ex_officio_bond(D(value))
    assert got == D(bond)
    assert got.as_tuple().exponent == -2  # always to the fen
    assert required_bond(D(value)) == D(bond)
    assert required_bond(D(value), Route.EX_OFFICIO) == D(bond)


@pytest.mark.parametrize("value", ["0.00", "19999.99", "20000.00", "200000.01", "1234567.89"])
def test_on_application_the_bond_equals_the_value(value: str) -> None:
    assert application_bond(D(value)) == D(value)
    assert required_bond(D(value), Route.APPLICATION) == D(value)


def test_negative_values_are_refused() -> None:
    with pytest.raises(ValueError):
        ex_officio_bond(D("-0.01"))
    with pytest.raises(ValueError):
        application_bond(D("-1"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("36000", "36000.00"), ("36000.5", "36000.50"), (" 1.23 ", "1.23"), (0, "0.00"), (D("7.1"), "7.10"), ("007", "7.00"),
     (D("36000.00"), "36000.00"), ("999999999999.99", "999999999999.99")],
)
def test_money_parses_decimal_text(raw: object, expected: str) -> None:
    assert money(raw) == D(expected)
    assert str(money(raw)) == expected


@pytest.mark.parametrize(
    ("raw", "problem"),
    [(36000.0, "float"), ("abc", "not an amount"), ("", "not an amount"), ("-5", "not an amount"), ("1.234", "two decimals"),
     ("NaN", "not an amount"), ("Infinity", "not an amount"), (None, "required"), (D("NaN"), "finite"),
     (D("Infinity"), "finite"), ("1000000000000", "too large"), (True, "required")],
)
def test_money_refuses_what_is_not_an_amount(raw: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        money(raw, "value")
    assert str(caught.value).startswith("value: ")


GB = GeneralBondTerms(D("200000.00"), date(2026, 1, 1), date(2026, 12, 31))


def test_a_valid_general_bond_covers_a_trademark_detention_within_its_year() -> None:
    assert general_bond_covers(GB, date(2026, 1, 1), "trademark")
    assert general_bond_covers(GB, date(2026, 11, 29), "trademark")
    assert general_bond_covers(GB, date(2026, 12, 31), "trademark")


def test_an_expired_or_not_yet_valid_general_bond_covers_nothing() -> None:
    assert not general_bond_covers(GB, date(2027, 1, 1), "trademark")
    assert not general_bond_covers(GB, date(2025, 12, 31), "trademark")


def test_a_general_bond_below_200000_covers_nothing() -> None:
    low = GeneralBondTerms(D("199999.99"), date(2026, 1, 1), date(2026, 12, 31))
    assert not general_bond_covers(low, date(2026, 6, 1), "trademark")


@pytest.mark.parametrize("right", ["patent", "copyright"])
def test_a_general_bond_covers_trademarks_only(right: str) -> None:
    assert not general_bond_covers(GB, date(2026, 6, 1), right)


def test_no_general_bond_covers_nothing() -> None:
    assert not general_bond_covers(None, date(2026, 6, 1), "trademark")


@pytest.mark.parametrize("raw", ["１００", "١٠٠", "۱۰۰", "1_000", "1,000", "1 000", "1E+2", "1e3", "+5", ".5", "5.", "-1", "-0",
                                 "NaN", "nan", "Infinity", "-Infinity", "sNaN", "0x10", "1.2.3", "1.234", "12\u00a0", "\u200e5",
                                 D("1E+2"), D("-1"), D("1.000"), -1, "9" * 41])
def test_the_money_parser_takes_ascii_digits_with_at_most_two_decimals_only(raw: object) -> None:
    with pytest.raises(ValueError) as caught:
        money(raw, "bond")
    assert str(caught.value).startswith("bond: ")
