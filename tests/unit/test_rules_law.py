"""The pure rules after the verdict: general bond cover, costs charged against a bond (Reg 25, Meas 24,
35), the order of disposal (Reg 27), and matching a line against its recordation (Meas 21)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.rules.bonds import disposal_order_ok, general_bond_remaining, settle_bond
from models.rules.matching import LICENSEE, NO_CLASS, OUTSIDE_CLASSES, match_flags, recorded_classes

D = Decimal


def test_a_general_bond_covers_its_amount_less_open_detentions_and_costs_already_deducted() -> None:
    assert general_bond_remaining(D("200000"), [], []) == D("200000.00")
    assert general_bond_remaining(D("200000"), [D("20000"), D("100000")], [D("1234.56")]) == D("78765.44")


def test_a_general_bond_never_covers_less_than_nothing() -> None:
    assert general_bond_remaining(D("200000"), [D("100000"), D("100000")], [D("0.01")]) == D("0.00")


@pytest.mark.parametrize(
    ("bond", "costs", "charged", "refund", "unpaid"),
    [
        ("20000.00", [], "0.00", "20000.00", "0.00"),  # nothing to charge: all refunded
        ("20000.00", ["1200.50", "800.00"], "2000.50", "17999.50", "0.00"),
        ("20000.00", ["20000.00"], "20000.00", "0.00", "0.00"),  # exactly used up
        ("20000.00", ["15000.00", "5000.01"], "20000.00", "0.00", "0.01"),  # a fen beyond the bond is still owed
        ("0.00", ["10.00"], "0.00", "0.00", "10.00"),
    ],
)
def test_costs_are_deducted_from_the_bond_and_the_rest_refunded(bond, costs, charged, refund, unpaid) -> None:  # noqa: ANN001
    st = settle_bond(D(bond), [D(c) for c in costs])
    assert (st.charged, st.refund, st.unpaid) == (D(charged), D(refund), D(unpaid))
    assert st.charged + st.refund == st.bond  # the bond balance adds up
    assert st.charged + st.unpaid == st.costs  # and so do the costs


def test_negative_costs_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        settle_bond(D("100"), [D("-1")])


def test_public_welfare_comes_first_and_a_later_method_needs_the_reason() -> None:
    assert disposal_order_ok("public-welfare", "")
    for later in ("sale-to-rights-holder", "auction", "destruction"):
        assert not disposal_order_ok(later, "  ")
        assert disposal_order_ok(later, "no public welfare body can use counterfeit watches")


def test_recorded_classes_are_read_from_the_recordation_text() -> None:
    assert recorded_classes("18,25") == {18, 25}
    assert recorded_classes(" 14， 9 x") == {14, 9}
    assert recorded_classes("") == frozenset()


def test_a_chanel_watch_against_classes_18_and_25_is_flagged() -> None:
    common = {"right_type": "trademark", "classes": "18,25", "licensees": [], "consignor_name": "重庆云通商贸有限公司"}
    assert match_flags(nice_class=14, **common) == [OUTSIDE_CLASSES]  # watches are class 14
    assert match_flags(nice_class=None, **common) == [NO_CLASS]  # the officer must state it
    assert match_flags(nice_class=18, **common) == []  # a bag is within the recordation


def test_goods_of_a_licensee_are_flagged_whatever_the_spelling() -> None:
    flags = match_flags(right_type="trademark", classes="25", nice_class=25, licensees=["Guangzhou Sport Co., Ltd."],
                        consignor_name="GUANGZHOU SPORT CO LTD")
    assert flags == [LICENSEE]


def test_patents_have_no_nice_class() -> None:
    assert match_flags(right_type="patent", classes="", nice_class=None, licensees=[], consignor_name="x") == []
