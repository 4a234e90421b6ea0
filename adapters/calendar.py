"""The working-day calendar: the ``chinese-calendar`` package for the years it knows, plus the years an
administrator loaded into the database (table ``calendar_year``) when the State Council published them.

Every process (app, workers, command line) reads the same database, so they count the same days; a
process notices a newly loaded year within ``RECHECK_SECONDS`` without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from sqlmodel import Session

from models.rules.workdays import WorkingCalendar, YearSchedule

#: how often a process asks the database whether a year was loaded since it built its calendar
RECHECK_SECONDS = 2.0

PACKAGE_SOURCE = "chinese-calendar"


@lru_cache(maxsize=1)
def package_years() -> tuple[YearSchedule, ...]:
    """The years the ``chinese-calendar`` package carries (2004 to its last published year)."""
    import chinese_calendar

    by_year: dict[int, tuple[set[date], set[date]]] = {}
    for d in chinese_calendar.holidays:
        by_year.setdefault(d.year, (set(), set()))[0].add(d)
    for d in chinese_calendar.workdays:
        by_year.setdefault(d.year, (set(), set()))[1].add(d)
    return tuple(YearSchedule(y, frozenset(h), frozenset(w), PACKAGE_SOURCE) for y, (h, w) in sorted(by_year.items()))


def build_calendar(loaded: Iterable[YearSchedule] = ()) -> WorkingCalendar:
    """The package's years, with the loaded years added (a loaded year replaces the package's copy)."""
    years = {y.year: y for y in package_years()}
    years.update({y.year: y for y in loaded})
    return WorkingCalendar(years.values())


def _signature(s: Session) -> tuple[int, str]:
    from sqlalchemy import func
    from sqlmodel import select

    from models.tables import CalendarYear

    count, last = s.exec(select(func.count(), func.max(CalendarYear.loaded_at))).one()
    return int(count), str(last)


def _loaded(s: Session) -> list[YearSchedule]:
    from sqlmodel import select

    from models.tables import CalendarYear

    return [schedule_of(row) for row in s.exec(select(CalendarYear))]


def schedule_of(row: object) -> YearSchedule:
    """A ``calendar_year`` row as the schedule the rules count with."""
    return YearSchedule(
        row.year,  # type: ignore[attr-defined]
        frozenset(date.fromisoformat(d) for d in row.holidays),  # type: ignore[attr-defined]
        frozenset(date.fromisoformat(d) for d in row.workdays),  # type: ignore[attr-defined]
        row.source,  # type: ignore[attr-defined]
    )


class _Cache:
    """One database's calendar, looked at again every ``RECHECK_SECONDS`` (a count and a date)."""

    def __init__(self) -> None:
        self.calendar: WorkingCalendar | None = None
        self.signature: tuple[int, str] | None = None
        self.checked = 0.0

    def recent(self) -> WorkingCalendar | None:
        """The calendar if it was looked at within ``RECHECK_SECONDS``."""
        fresh = self.calendar is not None and time.monotonic() - self.checked < RECHECK_SECONDS
        return self.calendar if fresh else None

    def get(self, s: Session) -> WorkingCalendar:
        if (recent := self.recent()) is not None:
            return recent
        signature = _signature(s)
        if self.calendar is None or signature != self.signature:
            self.calendar = build_calendar(_loaded(s))
            self.signature = signature
        self.checked = time.monotonic()
        return self.calendar


_caches: dict[str, _Cache] = {}
_lock = threading.Lock()


def get_calendar(session: Session) -> WorkingCalendar:
    """The calendar of the database of ``session`` (a service passes its unit of work's): the package's years
    plus the years loaded into it."""
    with _lock:
        cache = _caches.setdefault(_key(session.get_bind().url), _Cache())
        return cache.get(session)


def recent_calendar(db_url: str) -> WorkingCalendar | None:
    """The calendar of the database at ``db_url`` if this process looked at it within ``RECHECK_SECONDS``
    (no query); None otherwise, and the caller asks ``get_calendar`` with a session. A page that counts
    the days left of every row it shows opens no transaction per row."""
    with _lock:
        cache = _caches.get(_key(db_url))
        return cache.recent() if cache is not None else None


def _key(url: object) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)  # type: ignore[arg-type]


def reset_calendar() -> None:
    """Forget every database's calendar (a year was loaded: the next look reads it)."""
    with _lock:
        _caches.clear()
