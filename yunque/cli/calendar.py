"""The working-day calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled

if TYPE_CHECKING:
    from models.rules.workdays import WorkingCalendar


app = typer.Typer(name="calendar", no_args_is_help=True, help="Chinese official working days (调休 included).")


def _calendar() -> WorkingCalendar:
    """The calendar of the configured database: the package's years and the years loaded into it."""
    from adapters.calendar import get_calendar
    from yunque.bootstrap import bootstrap

    with bootstrap().transaction(readonly=True) as s:
        return get_calendar(s)


@app.command("deadline")
@handled
def deadline(served: str = typer.Argument(..., help="Day of service (or of the start event), YYYY-MM-DD."),
             working_days: int = typer.Option(3, "--working-days", min=1, max=400),
             as_json: bool = JsonOpt) -> None:
    """The last working day of a period counted from the day after SERVED."""
    from models.rules.workdays import add_working_days

    try:
        d = date.fromisoformat(served)
    except ValueError:
        fail(f"invalid input: served: {served!r} is not a YYYY-MM-DD date", 2)
    last = add_working_days(d, working_days, _calendar())
    emit({"served": d.isoformat(), "working_days": working_days, "deadline": last.isoformat()}, as_json,
         lambda o: o["deadline"])


@app.command("years")
@handled
def years(as_json: bool = JsonOpt) -> None:
    """The years whose official schedule Yunque knows."""
    ys = _calendar().years
    emit({"years": ys}, as_json, lambda o: f"{o['years'][0]}-{o['years'][-1]}")


@app.command("load")
@handled
def load(file: Path = typer.Argument(..., help="JSON: {year, source, holidays: [...], workdays: [...]}"),
         actor: str = AsOpt,
         replace: bool = typer.Option(False, "--replace", help="Replace a year the official data already covers."),
         as_json: bool = JsonOpt) -> None:
    """Load a newly published year (国务院办公厅 holiday arrangement) for every process of Yunque."""
    from services.calendar import load_calendar_year

    out = load_calendar_year(content=file.read_bytes(), filename=file.name, actor=actor, replace=replace)
    emit(out, as_json, _describe_load)


@app.command("status")
@handled
def status(actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """The years known, the years missing, and the clocks waiting for them."""
    from services.calendar import calendar_status

    out = calendar_status(actor=actor)
    emit(out, as_json, _describe_status)


def _describe_load(o: object) -> str:
    from services.calendar import CalendarLoadOut

    assert isinstance(o, CalendarLoadOut)
    head = f"loaded {o.year} ({o.source}): {o.holidays} holiday(s), {o.workdays} make-up working day(s), sha256 {o.sha256}"
    lines = [head]
    if o.replaced is not None:
        lines.append(f"replaced the schedule from {o.replaced}; {len(o.changes)} day(s) change status:")
        lines += [f"  {c.day.isoformat()}: {c.was} -> {c.now}" for c in o.changes]
    lines.append(f"{o.deadlines_computed} waiting deadline(s) computed; {o.released_lines} overdue line(s) released")
    return "\n".join(lines)


def _describe_status(o: object) -> str:
    from services.calendar import CalendarStatusOut

    assert isinstance(o, CalendarStatusOut)
    lines = [f"known years: {o.years[0]}-{o.years[-1]}" if o.years else "no year known"]
    for y in o.missing:
        lines.append(f"MISSING {y}: deadlines in {y} wait for its schedule ({o.waiting_clocks} clock(s) waiting); "
                     f"load it with `yunque calendar load FILE --as USER`")
    if o.next_year_missing:
        lines.append(f"{o.today.year + 1} is not loaded yet: load it before 1 January")
    return "\n".join(lines)
