"""The working-day calendar: the ``chinese_calendar`` package for the years it knows, plus the
data files in ``data/calendar/`` where an administrator adds a newly published year."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from models.rules.errors import CalendarDataInvalid
from models.rules.workdays import WorkingCalendar, YearSchedule, parse_year


def _package_years() -> list[YearSchedule]:
    import chinese_calendar

    by_year: dict[int, tuple[set, set]] = {}
    for d in chinese_calendar.holidays:
        by_year.setdefault(d.year, (set(), set()))[0].add(d)
    for d in chinese_calendar.workdays:
        by_year.setdefault(d.year, (set(), set()))[1].add(d)
    return [
        YearSchedule(y, frozenset(h), frozenset(w), "chinese-calendar")
        for y, (h, w) in sorted(by_year.items())
    ]


def read_year_file(path: Path) -> YearSchedule:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise CalendarDataInvalid(path.name, f"cannot be read as JSON ({e})") from None
    if not isinstance(data, dict):
        raise CalendarDataInvalid(path.name, "must be a JSON object")
    return parse_year(data, path.name)


def build_calendar(calendar_dir: Path) -> WorkingCalendar:
    years = {y.year: y for y in _package_years()}
    if calendar_dir.is_dir():
        for path in sorted(calendar_dir.glob("*.json")):
            y = read_year_file(path)
            years[y.year] = y  # a published file overrides the package's copy
    return WorkingCalendar(years.values())


@lru_cache(maxsize=4)
def _cached(calendar_dir: str) -> WorkingCalendar:
    return build_calendar(Path(calendar_dir))


def get_calendar() -> WorkingCalendar:
    from yunque.settings import get_settings

    return _cached(str(get_settings().calendar_dir))


def reset_calendar() -> None:
    _cached.cache_clear()
