"""Column types that keep the conventions: money in exact fen, times aware and stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

from models.rules.bonds import FEN


class Money(TypeDecorator):
    """Decimal RMB stored as a whole number of fen, so SQLite and PostgreSQL agree exactly."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
        d = Decimal(value)
        if d != d.quantize(FEN):
            raise ValueError(f"{d} has more than two decimal places")
        return int(d * 100)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(FEN)


class UTCDateTime(TypeDecorator):
    """Aware datetimes only; stored in UTC; read back aware on every engine."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Yunque stores only timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The one place that reads the wall clock for storage; rules never call it."""
    return datetime.now(UTC)
