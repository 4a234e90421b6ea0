"""Working days: 调休 counted, weekday holidays skipped, counting from the day after service,
ending at 24:00 Asia/Shanghai; an unknown year is an error naming the year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.calendar import build_calendar
from models.rules.errors import CalendarDataInvalid, CalendarUnknown
from models.rules.workdays import (
    ANSWER_WD,
    COURT_ASSISTANCE_WD,
    COURT_ORDER_WD,
    INVESTIGATION_WD,
    WorkingCalendar,
    YearSchedule,
    add_working_days,
    answer_deadline,
    court_assistance_deadline,
    court_order_deadline,
    end_of_day,
    investigation_deadline,
    local_date,
    parse_year,
    schedule_changes,
    working_days_left,
)

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    """The package's years only (no year loaded)."""
    return build_calendar()


def d(s: str) -> date:
    return date.fromisoformat(s)


def test_the_2026_make_up_days_are_working_days(cal: WorkingCalendar) -> None:
    for day in ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]:
        assert d(day).weekday() >= 5
        assert cal.is_working_day(d(day)), day


def test_weekday_holidays_are_not_working_days(cal: WorkingCalendar) -> None:
    for day in ["2026-01-01", "2026-02-16", "2026-02-20", "2026-02-23", "2026-05-01", "2026-05-05",
                "2026-09-25", "2026-10-01", "2026-10-07"]:
        assert d(day).weekday() < 5
        assert not cal.is_working_day(d(day)), day


@pytest.mark.parametrize(
    ("served", "deadline", "why"),
    [
        ("2026-11-24", "2026-11-27", "an ordinary week: Wed, Thu, Fri"),
        ("2026-11-27", "2026-12-02", "served on a Friday: the weekend does not count"),
        ("2026-11-28", "2026-12-02", "served on a Saturday: counting starts Sunday, first working day Monday"),
        ("2025-12-31", "2026-01-06", "New Year: 1-3 January off, Sunday 4 January worked"),
        ("2026-02-12", "2026-02-24", "Spring Festival: Fri 13, make-up Sat 14, then Tue 24 after the holiday"),
        ("2026-02-13", "2026-02-25", "Spring Festival: make-up Sat 14 counts, 15-23 February off"),
        ("2026-02-14", "2026-02-26", "served on the make-up Saturday: counting starts on the 15th"),
        ("2026-02-25", "2026-02-28", "the make-up Saturday 28 February is the third day"),
        ("2026-04-30", "2026-05-08", "Labour Day: 1-5 May off"),
        ("2026-05-06", "2026-05-09", "Labour Day: the make-up Saturday 9 May is the third day"),
        ("2026-09-18", "2026-09-22", "the make-up Sunday 20 September is the first day"),
        ("2026-09-23", "2026-09-29", "Mid-Autumn: Friday 25 September off"),
        ("2026-09-30", "2026-10-10", "National Day: 1-7 October off, make-up Saturday 10 October is the third"),
        ("2026-12-28", "2026-12-31", "the last days of a known year"),
    ],
)
def test_answer_deadline_across_holidays(cal: WorkingCalendar, served: str, deadline: str, why: str) -> None:
    assert add_working_days(d(served), 3, cal) == d(deadline), why
    assert answer_deadline(datetime.combine(d(served), datetime.min.time(), SH).replace(hour=15), cal) == d(deadline)


def test_a_period_is_never_counted_into_a_year_the_calendar_does_not_know(cal: WorkingCalendar) -> None:
    with pytest.raises(CalendarUnknown) as caught:
        add_working_days(d("2026-12-30"), 3, cal)
    assert caught.value.year == 2027
    assert "2027" in str(caught.value)
    with pytest.raises(CalendarUnknown, match="2027"):
        cal.is_working_day(d("2027-03-03"))  # a plain Wednesday is not guessed either


def test_a_year_before_the_package_is_unknown_too(cal: WorkingCalendar) -> None:
    with pytest.raises(CalendarUnknown, match="2003"):
        add_working_days(d("2003-06-02"), 3, cal)


def test_the_deadline_uses_the_shanghai_date_of_service_not_the_utc_date(cal: WorkingCalendar) -> None:
    # 16:30 UTC on Thursday 26 November is 00:30 on Friday 27 November in Shanghai
    served = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)
    assert local_date(served) == d("2026-11-27")
    assert answer_deadline(served, cal) == d("2026-12-02")
    # one minute before Shanghai midnight it is still Thursday
    assert answer_deadline(datetime(2026, 11, 26, 15, 59, tzinfo=UTC), cal) == d("2026-12-01")


def test_a_naive_time_cannot_start_a_legal_clock(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="timezone"):
        answer_deadline(datetime(2026, 11, 26, 10, 0), cal)


def test_a_period_ends_at_24_00_shanghai_of_its_last_day() -> None:
    end = end_of_day(d("2026-11-27"))
    assert end == datetime(2026, 11, 28, 0, 0, tzinfo=SH)
    assert end.astimezone(UTC) == datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert end.utcoffset() == timedelta(hours=8)


def test_the_four_clocks_have_their_legal_lengths(cal: WorkingCalendar) -> None:
    assert (ANSWER_WD, COURT_ORDER_WD, INVESTIGATION_WD, COURT_ASSISTANCE_WD) == (3, 20, 30, 50)
    detained = datetime(2026, 3, 2, 11, 0, tzinfo=SH)  # Monday
    start = d("2026-03-02")
    for clock, n in [(investigation_deadline, 30), (court_assistance_deadline, 50), (court_order_deadline, 20)]:
        last = clock(detained, cal)
        assert last == add_working_days(start, n, cal)
        assert working_days_left(start + timedelta(days=1), last, cal) == n
    # 30 working days from Monday 2 March 2026 cross Qingming (Monday 6 April off)
    assert investigation_deadline(detained, cal) == d("2026-04-14")
    # 50 working days cross Labour Day and count the make-up Saturday 9 May
    assert court_assistance_deadline(detained, cal) == d("2026-05-14")
    assert court_order_deadline(detained, cal) == d("2026-03-30")


def test_working_days_left(cal: WorkingCalendar) -> None:
    assert working_days_left(d("2026-09-30"), d("2026-10-10"), cal) == 4  # 30 Sep, 8, 9, 10 Oct
    assert working_days_left(d("2026-10-11"), d("2026-10-10"), cal) == 0
    assert working_days_left(d("2026-10-03"), d("2026-10-03"), cal) == 0


def test_a_period_has_at_least_one_working_day(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError):
        add_working_days(d("2026-11-24"), 0, cal)


# --- year schedules (what `yunque calendar load` reads) ---------------------------------------------

FICTIONAL_2027 = {
    "year": 2027, "source": "TEST ONLY: fictional data, not the State Council's",
    "holidays": ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
    "workdays": ["2027-02-06", "2027-02-20"],
}


def test_a_loaded_year_extends_the_calendar() -> None:
    y = parse_year(FICTIONAL_2027, "2027.json")
    cal = WorkingCalendar([y])
    assert cal.years == [2027]
    assert cal.is_working_day(d("2027-02-06"))  # a make-up Saturday
    assert not cal.is_working_day(d("2027-02-08"))  # a Monday holiday
    assert add_working_days(d("2027-02-05"), 3, cal) == d("2027-02-16")  # Sat 6, Mon 15, Tue 16


_SRC = {"source": "TEST ONLY"}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"holidays": ["2027-01-01"], **_SRC}, "year"),
        ({"year": "twenty", "holidays": ["2027-01-01"], **_SRC}, "JSON integer"),
        ({"year": "2027", "holidays": ["2027-01-01"], **_SRC}, "JSON integer"),
        ({"year": 2027.0, "holidays": ["2027-01-01"], **_SRC}, "JSON integer"),
        ({"year": True, "holidays": ["2027-01-01"], **_SRC}, "JSON integer"),
        ({"year": 1999, "holidays": ["1999-01-01"], **_SRC}, "not between 2000 and 2100"),
        ({"year": 2101, "holidays": ["2101-01-01"], **_SRC}, "not between 2000 and 2100"),
        ({"year": 2027, "holidays": ["2027-01-01"]}, "source"),
        ({"year": 2027, "holidays": ["2027-01-01"], "source": "  "}, "source"),
        ({"year": 2027, "holidays": ["2027-01-01"], "holiday": [], **_SRC}, "unknown field 'holiday'"),
        ({"year": 2027, "holidays": [], **_SRC}, "holidays"),
        ({"year": 2027, "holidays": "2027-01-01", **_SRC}, "holidays"),
        ({"year": 2027, "holidays": ["2027-13-01"], **_SRC}, "2027-13-01"),
        ({"year": 2027, "holidays": ["20270101"], **_SRC}, "20270101"),
        ({"year": 2027, "holidays": [20270101], **_SRC}, "20270101"),
        ({"year": 2027, "holidays": ["2027-01-01", "2027-01-01"], **_SRC}, "2027-01-01 is listed twice"),
        ({"year": 2027, "holidays": ["2027-01-01"], "workdays": ["2027-02-10"], **_SRC}, "not a weekend day"),
        ({"year": 2027, "holidays": ["2028-01-03"], **_SRC}, "2028-01-03 is not in 2027"),
        ({"year": 2027, "holidays": ["2027-01-01"], "workdays": ["2026-12-27"], **_SRC}, "2026-12-27 is not in 2027"),
        ({"year": 2027, "holidays": ["2027-02-06"], "workdays": ["2027-02-06"], **_SRC}, "both"),
    ],
)
def test_a_malformed_year_is_refused_with_the_reason(data: dict, problem: str) -> None:
    with pytest.raises(CalendarDataInvalid) as caught:
        parse_year(data, "2027.json")
    assert problem in str(caught.value)


def test_a_schedule_object_checks_itself() -> None:
    with pytest.raises(CalendarDataInvalid):
        YearSchedule(2027, frozenset({d("2027-01-01")}), frozenset({d("2027-01-04")}))  # a Monday


def test_a_loaded_year_is_added_to_the_package_years() -> None:
    cal = build_calendar([parse_year(FICTIONAL_2027, "2027.json")])
    assert 2026 in cal.years and 2027 in cal.years
    assert add_working_days(d("2026-12-30"), 3, cal) == d("2027-01-05")  # Thu 31, (1-3 Jan off), Mon 4, Tue 5


def test_replacing_a_year_lists_every_day_whose_status_changes() -> None:
    old = parse_year(FICTIONAL_2027, "a.json")
    new = parse_year({**FICTIONAL_2027, "holidays": ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10",
                                                     "2027-02-11", "2027-02-12", "2027-10-04"],
                      "workdays": ["2027-02-20"]}, "b.json")
    assert schedule_changes(old, new) == [(d("2027-02-06"), True, False), (d("2027-10-04"), True, False)]
    assert schedule_changes(old, old) == []
