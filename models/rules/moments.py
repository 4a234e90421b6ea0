"""When things happened: a moment reported by a person is never later than now (allowing for clock skew).

Pure: ``now`` is an argument, never read from the clock here."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.rules.errors import InvalidInput

#: How far a device's clock may run ahead of the server's before a reported time counts as "in the future".
CLOCK_SKEW = timedelta(minutes=5)


def not_in_future(at: datetime, *, now: datetime, field: str, skew: timedelta = CLOCK_SKEW) -> datetime:
    """``at`` if it is not after ``now`` (plus ``skew``); InvalidInput naming ``field`` otherwise."""
    if at > now + skew:
        raise InvalidInput(field, "{at} is in the future (it is now {now}): give the time the goods were actually found",
                           at=at, now=now)
    return at
