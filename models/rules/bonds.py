"""Bonds (担保), in decimal RMB rounded to the fen; never float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from models.rules.errors import Words

FEN = Decimal("0.01")
TIER_LOW = Decimal("20000")
TIER_HIGH = Decimal("200000")
CAP = Decimal("100000")
GENERAL_BOND_MINIMUM = Decimal("200000")  # Meas 24
#: The largest amount accepted: RMB 1 trillion less a fen, far above any goods or bond, and small enough
#: that a case's sum of values stays exact and fits the fen column.
MONEY_MAX = Decimal("999999999999.99")


class Route(StrEnum):
    EX_OFFICIO = "ex-officio"  # customs found the goods (Reg 16, Meas 23)
    APPLICATION = "application"  # rights holder applied first (Reg 14, Meas 15)


#: How an amount of RMB is written: ASCII digits, optionally a dot and one or two decimals (fen). Nothing else:
#: no sign, no exponent, no grouping (``1,000``, ``1_000``), no full-width or Arabic-Indic digits, no ``.5``.
MONEY_TEXT = re.compile(r"[0-9]+(\.[0-9]{1,2})?")


class NotAnAmount(ValueError):
    """Text that is not an amount of RMB: the reason as words (``problem``, a template with named values), and
    the message ``"field: reason"`` (the reason alone without a field, for a form's validator)."""

    def __init__(self, field: str, template: str, **values: object):
        self.field = field
        self.problem = Words(template, values)
        super().__init__(f"{field}: {self.problem}" if field else str(self.problem))


def money(value: object, field: str = "value") -> Decimal:
    """The one money parser: RMB as ASCII digits with at most two decimals, not negative, never a float.

    Accepts text (surrounding spaces are ignored), ``int`` and ``Decimal`` (judged by how they are written,
    so a JSON ``1E+2`` read as a Decimal is refused as the text ``1E+2`` is)."""
    if isinstance(value, bool) or value is None:
        raise NotAnAmount(field, "an amount is required (digits, e.g. 36000.00)")
    if isinstance(value, float):
        raise NotAnAmount(field, "money must be given as a decimal string, not a float")
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise NotAnAmount(field, "{value} is not a finite amount", value=str(value))
        text = str(value)
    elif isinstance(value, str):
        text = value.strip(" \t")
    else:
        raise NotAnAmount(field, "an amount must be written as digits, not {kind}", kind=type(value).__name__)
    if len(text) > 40:
        raise NotAnAmount(field, "too long for an amount")
    if not MONEY_TEXT.fullmatch(text):
        raise NotAnAmount(field, "{text!r} is not an amount: write ASCII digits with at most two decimals after a dot "
                                 "(e.g. 36000 or 36000.50), with no sign, exponent or separators", text=text)
    d = Decimal(text)
    if d > MONEY_MAX:
        raise NotAnAmount(field, "{text} is too large (at most {most})", text=text, most=str(MONEY_MAX))
    return d.quantize(FEN)


def ex_officio_bond(value: Decimal) -> Decimal:
    """Meas 23: under 20,000 the value; 20,000-200,000 half, at least 20,000; over 200,000, 100,000."""
    if value < 0:
        raise ValueError("value: negative")
    if value < TIER_LOW:
        bond = value
    elif value <= TIER_HIGH:
        bond = max(value / 2, TIER_LOW)
    else:
        bond = CAP
    return bond.quantize(FEN, rounding=ROUND_HALF_UP)


def application_bond(value: Decimal) -> Decimal:
    """Reg 14, Meas 15: on application the bond equals the value."""
    if value < 0:
        raise ValueError("value: negative")
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def required_bond(value: Decimal, route: Route = Route.EX_OFFICIO) -> Decimal:
    return ex_officio_bond(value) if route == Route.EX_OFFICIO else application_bond(value)


@dataclass(frozen=True)
class GeneralBondTerms:
    """A general bond (总担保, Meas 24): trademarks only, at least RMB 200,000, to 31 December."""

    amount: Decimal
    valid_from: date
    valid_until: date


def general_bond_covers(bond: GeneralBondTerms | None, on: date, right_type: str) -> bool:
    """Whether a general bond covers a detention on ``on`` for a right of ``right_type``."""
    if bond is None:
        return False
    if right_type != "trademark":
        return False
    if bond.amount < GENERAL_BOND_MINIMUM:
        return False
    return bond.valid_from <= on <= bond.valid_until


def general_bond_remaining(amount: Decimal, held: list[Decimal], charged: list[Decimal]) -> Decimal:
    """What a general bond still covers: its amount less the bonds it stands for in open detentions and
    the costs already deducted from it (Meas 24, 35). Never below zero."""
    left = amount - sum(held, Decimal("0")) - sum(charged, Decimal("0"))
    return max(left, Decimal("0")).quantize(FEN)


@dataclass(frozen=True)
class Settlement:
    """A bond settled at the end of a case: costs deducted from it, the rest refunded (Reg 25, Meas 35)."""

    bond: Decimal
    costs: Decimal
    charged: Decimal  # deducted from the bond
    refund: Decimal  # returned to the rights holder (an individual bond)
    unpaid: Decimal  # costs beyond the bond, still owed by the rights holder


def settle_bond(bond: Decimal, costs: list[Decimal]) -> Settlement:
    """Charge ``costs`` against ``bond``: bond = charged + refund, costs = charged + unpaid."""
    if bond < 0 or any(c < 0 for c in costs):
        raise ValueError("bond and costs must not be negative")
    total = sum(costs, Decimal("0")).quantize(FEN)
    bond = bond.quantize(FEN)
    charged = min(bond, total)
    return Settlement(bond=bond, costs=total, charged=charged, refund=bond - charged, unpaid=total - charged)


def disposal_order_ok(method: str, why_not_earlier: str) -> bool:
    """Reg 27: public welfare first, then sale to the rights holder, then auction after removing the
    infringing features, then destruction. A later method needs the reason the earlier ones were not used."""
    return method == "public-welfare" or bool(why_not_earlier.strip())


def counter_bond_shortfall(amount: Decimal, value: Decimal) -> Decimal:
    """Reg 19, Meas 20: a patent counter-bond equals the value of the goods; what is missing (0 when enough)."""
    return max(value.quantize(FEN) - amount.quantize(FEN), Decimal("0.00"))
