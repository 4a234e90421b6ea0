"""The working-day calendar."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import typer

from yunque.cli._common import JsonOpt, emit, fail, handled


def register(app: typer.Typer) -> None:
    cal = typer.Typer(no_args_is_help=True, help="Chinese official working days (调休 included).")
    app.add_typer(cal, name="calendar")

    @cal.command("deadline")
    @handled
    def deadline(served: str = typer.Argument(..., help="Day of service (or of the start event), YYYY-MM-DD."),
                 working_days: int = typer.Option(3, "--working-days", min=1, max=400),
                 as_json: bool = JsonOpt) -> None:
        """The last working day of a period counted from the day after SERVED."""
        from adapters.calendar import get_calendar
        from models.rules.workdays import add_working_days

        try:
            d = date.fromisoformat(served)
        except ValueError:
            fail(f"invalid input: served: {served!r} is not a YYYY-MM-DD date", 2)
        last = add_working_days(d, working_days, get_calendar())
        emit({"served": d.isoformat(), "working_days": working_days, "deadline": last.isoformat()}, as_json,
             lambda o: o["deadline"])

    @cal.command("years")
    @handled
    def years(as_json: bool = JsonOpt) -> None:
        """The years whose official schedule Yunque knows."""
        from adapters.calendar import get_calendar

        ys = get_calendar().years
        emit({"years": ys}, as_json, lambda o: f"{o['years'][0]}-{o['years'][-1]}")

    @cal.command("load")
    @handled
    def load(file: Path = typer.Argument(..., help="JSON: {year, source, holidays: [...], workdays: [...]}"),
             as_json: bool = JsonOpt) -> None:
        """Add a newly published year (国务院办公厅 holiday arrangement) to data/calendar/."""
        from adapters.calendar import read_year_file, reset_calendar
        from yunque.settings import get_settings

        schedule = read_year_file(file)  # validates before anything is written
        target_dir = get_settings().calendar_dir
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / f"{schedule.year}.json"
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(file, tmp)
        tmp.replace(target)
        reset_calendar()
        emit({"year": schedule.year, "holidays": len(schedule.holidays), "workdays": len(schedule.workdays),
              "file": str(target)}, as_json, lambda o: json.dumps(o))
