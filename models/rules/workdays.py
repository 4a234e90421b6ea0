"""Chinese official working days (工作日), with make-up working days (调休) counted.

A period counts from the day after its start event (Meas 41) and ends at the end of its last working
day, Asia/Shanghai. A date in a year whose schedule is unknown raises ``CalendarUnknown``: a deadline
is never guessed from a plain weekday count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.rules.errors import CalendarDataInvalid, CalendarUnknown

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

#: The four legal clocks of DOMAIN.md, in working days.
ANSWER_WD = 3  # answer to a confirmation notice (Meas 41; Reg 16, Meas 25)
INVESTIGATION_WD = 30  # investigation after ex officio detention (Reg 20, Meas 28)
COURT_ASSISTANCE_WD = 50  # court assistance after "cannot determine" (Reg 24)
COURT_ORDER_WD = 20  # court order after detention on application (Reg 24)
COURT_FILING_WD = 30  # patent: the rights holder's court filing after a counter-bond (Reg 19; Meas 20, 41)


@dataclass(frozen=True)
class YearSchedule:
    """One year's published arrangement: weekdays that are holidays, weekend days that are worked."""

    year: int
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    source: str = ""

    def __post_init__(self) -> None:
        for d in self.holidays | self.workdays:
            if d.year != self.year:
                raise CalendarDataInvalid(str(self.year), "{day} is not in {year}", day=d, year=self.year)
        both = self.holidays & self.workdays
        if both:
            raise CalendarDataInvalid(str(self.year), "{day} is both a holiday and a working day", day=min(both))
        for d in self.workdays:
            if d.weekday() < 5:
                raise CalendarDataInvalid(str(self.year), "make-up working day {day} is not a weekend day", day=d)


#: the years a schedule file may name (a year outside is a typo, not a schedule)
FIRST_YEAR, LAST_YEAR = 2000, 2100
_FILE_FIELDS = ("year", "source", "holidays", "workdays")


def parse_year(data: Mapping[str, object], source: str = "data") -> YearSchedule:
    """Build a schedule from the data-file form ``{"year", "source", "holidays": [...], "workdays": [...]}``.

    Strict, because a schedule changes every deadline counted through it: the year is a JSON integer
    from 2000 to 2100; every date is written YYYY-MM-DD, lies in that year and appears once; no date is
    both a holiday and a working day; a make-up working day (调休) is a weekend day."""
    unknown = sorted(set(data) - set(_FILE_FIELDS))
    if unknown:
        raise CalendarDataInvalid(source, "unknown field {field!r} (expected {fields})", field=unknown[0],
                                  fields=list(_FILE_FIELDS))
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise CalendarDataInvalid(source, "field 'year' must be a JSON integer such as 2027")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise CalendarDataInvalid(source, "field 'year': {year} is not between {first} and {last}", year=year,
                                  first=FIRST_YEAR, last=LAST_YEAR)
    named = data.get("source")
    if not isinstance(named, str) or not named.strip():
        raise CalendarDataInvalid(source, "field 'source' must name where the schedule was published")

    def dates(key: str) -> frozenset[date]:
        raw = data.get(key, [])
        if not isinstance(raw, list):
            raise CalendarDataInvalid(source, "field '{key}' must be a list of YYYY-MM-DD dates", key=key)
        out: set[date] = set()
        for item in raw:
            if not isinstance(item, str) or not _ISO_DAY.fullmatch(item):
                raise CalendarDataInvalid(source, "field '{key}': {item!r} is not a YYYY-MM-DD date", key=key,
                                          item=item)
            try:
                d = date.fromisoformat(item)
            except ValueError:
                raise CalendarDataInvalid(source, "field '{key}': {item!r} is not a YYYY-MM-DD date", key=key,
                                          item=item) from None
            if d in out:
                raise CalendarDataInvalid(source, "field '{key}': {item} is listed twice", key=key, item=item)
            out.add(d)
        return frozenset(out)

    holidays = dates("holidays")
    if not holidays:
        raise CalendarDataInvalid(source, "field 'holidays' is empty: a published year always has holidays")
    return YearSchedule(year, holidays, dates("workdays"), named.strip())


def schedule_changes(old: YearSchedule, new: YearSchedule) -> list[tuple[date, bool, bool]]:
    """Every day of the year whose status differs: ``(day, was a working day, is a working day)``."""
    if old.year != new.year:
        raise ValueError("compare schedules of the same year")
    before, after = WorkingCalendar([old]), WorkingCalendar([new])
    out = []
    d = date(old.year, 1, 1)
    while d.year == old.year:
        was, now = before.is_working_day(d), after.is_working_day(d)
        if was != now:
            out.append((d, was, now))
        d += timedelta(days=1)
    return out


class WorkingCalendar:
    """The official calendar for the years whose schedule is known."""

    def __init__(self, years: Iterable[YearSchedule]):
        self._years: dict[int, YearSchedule] = {}
        for y in years:
            self._years[y.year] = y

    @property
    def years(self) -> list[int]:
        return sorted(self._years)

    def schedule(self, year: int) -> YearSchedule:
        try:
            return self._years[year]
        except KeyError:
            raise CalendarUnknown(year) from None

    def is_working_day(self, d: date) -> bool:
        s = self.schedule(d.year)
        if d in s.workdays:
            return True
        if d in s.holidays:
            return False
        return d.weekday() < 5


def add_working_days(start: date, n: int, calendar: WorkingCalendar) -> date:
    """The last day of a period of ``n`` working days counted from the day after ``start``."""
    if n < 1:
        raise ValueError("a period has at least one working day")
    d = start
    counted = 0
    while counted < n:
        d += timedelta(days=1)
        if calendar.is_working_day(d):
            counted += 1
    return d


def end_of_day(d: date) -> datetime:
    """A period ends at 24:00 of its last day, Asia/Shanghai (filings online or by post)."""
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        raise ValueError("a legal clock needs a timezone-aware time")
    return moment.astimezone(SHANGHAI).date()


def working_days_left(today: date, last_day: date, calendar: WorkingCalendar) -> int:
    """Working days from ``today`` (counted if it is one) up to and including ``last_day``."""
    if last_day < today:
        return 0
    n = 0
    d = today
    while d <= last_day:
        if calendar.is_working_day(d):
            n += 1
        d += timedelta(days=1)
    return n


def answer_deadline(served_at: datetime, calendar: WorkingCalendar) -> date:
    """3 working days from the day after service (Meas 41)."""
    return add_working_days(local_date(served_at), ANSWER_WD, calendar)


def court_filing_deadline(notified_at: datetime, calendar: WorkingCalendar) -> date:
    """30 working days from the day after customs' written notice of a counter-bond release was served on
    the rights holder: by then it files its court's acceptance notice, or the counter-bond is refunded
    (Reg 19; Meas 20, 41)."""
    return add_working_days(local_date(notified_at), COURT_FILING_WD, calendar)


def investigation_deadline(detained_at: datetime, calendar: WorkingCalendar) -> date:
    """30 working days after an ex officio detention (Reg 20, Meas 28)."""
    return add_working_days(local_date(detained_at), INVESTIGATION_WD, calendar)


def court_assistance_deadline(detained_at: datetime, calendar: WorkingCalendar) -> date:
    """50 working days after detention, when infringement cannot be determined (Reg 24)."""
    return add_working_days(local_date(detained_at), COURT_ASSISTANCE_WD, calendar)


def court_order_deadline(detained_at: datetime, calendar: WorkingCalendar) -> date:
    """20 working days after a detention on application (Reg 24)."""
    return add_working_days(local_date(detained_at), COURT_ORDER_WD, calendar)
