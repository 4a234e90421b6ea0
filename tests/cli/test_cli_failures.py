"""The command line never shows a traceback: an unexpected failure is one line with its reason and an
incident id (the trace goes to the incident log); money is ASCII digits only; control characters in
what it prints are escaped, never sent raw to the terminal."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

from tests.cli.test_cli import FOUND, db_path, ok, refused, rows, shipment_file, yunque

INCIDENT = re.compile(r"^(?P<reason>.+) \(incident (?P<id>\d{8}-\d{6}-[0-9a-f]{6})\)$")


def incident_log() -> str:
    return (Path(os.environ["YUNQUE_VAR_DIR"]) / "log" / "yunque-incidents.log").read_text(encoding="utf-8")


def one_incident(*args: str) -> tuple[str, str]:
    """Run a command that fails unexpectedly: exit 1, nothing on stdout, one line (reason, incident id) on stderr."""
    r = yunque(*args)
    assert r.code == 1, r
    assert r.out == "", r
    lines = r.err.strip("\n").split("\n")
    assert len(lines) == 1 and "Traceback" not in r.err, r
    m = INCIDENT.match(lines[0])
    assert m, lines[0]
    assert f"incident {m['id']} " in incident_log()
    return m["reason"], m["id"]


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_a_database_nobody_migrated_is_one_line_saying_so(as_json: list[str]) -> None:
    # the autouse fixture points YUNQUE_DATABASE_URL at an empty SQLite file
    reason, incident = one_incident("case", "show", "YQ-2026-000001", *as_json)
    assert reason == "the database is not set up: run `yunque db upgrade`"
    log = incident_log()
    entry = log[log.index(f"incident {incident}"):]
    assert entry.startswith(f"incident {incident} [db-not-set-up]") and "Traceback" in entry and "no such table" in entry


def test_a_full_disk_is_one_line_saying_so(sqlite_db: str) -> None:
    reason, _ = one_incident("seed-shipment", "--out", "/dev/full")
    assert reason.startswith("no space is left on the disk")


def test_commands_outside_the_usual_wrapper_fail_in_one_line_too() -> None:
    r = yunque("stack", "status", env={"YUNQUE_VAR_DIR": "/dev/null/not-a-directory"})
    assert "Traceback" not in r.err and len(r.err.strip("\n").split("\n")) <= 1, r


@pytest.mark.parametrize("value", ["１００", "١٠٠", "1_000", "1E+2", "+5", ".5", "-1", "NaN", "Infinity", "1e3", "5."])
def test_money_on_the_command_line_is_ascii_digits_with_at_most_two_decimals(sqlite_db: str, value: str) -> None:
    refused("bond", value, "--json", field="value")


def test_control_characters_in_what_the_cli_prints_are_escaped(sqlite_db: str, tmp_path: Path) -> None:
    # in an error that repeats what was typed
    r = yunque("case", "show", "YQ\x1b[2J\x1b]8;;https://evil.example\x07-1\u202e", "--as", "ipr.li")
    assert r.code == 1 and r.out == "", r
    assert "\x1b" not in r.err and "\x07" not in r.err and "\u202e" not in r.err, r
    assert "\\x1b[2J" in r.err and "\\u202e" in r.err and len(r.err.strip("\n").split("\n")) == 1, r
    # in data written before the input checks existed (straight into the database)
    c = ok("case", "open", str(shipment_file(tmp_path)), "--as", "site.wang", "--now", FOUND, "--json")
    with sqlite3.connect(db_path()) as conn:
        conn.execute("UPDATE goods_line SET unit = ? WHERE number = 1", ("pcs\x1b[31m\r\u2067",))
    human = ok("case", "show", c["number"], "--as", "ipr.li")
    assert "\x1b" not in human and "\r" not in human and "\u2067" not in human
    assert "pcs\\x1b[31m\\x0d\\u2067" in human
    as_json = yunque("case", "show", c["number"], "--as", "ipr.li", "--json")
    assert as_json.code == 0 and "\x1b" not in as_json.out and "\u2067" not in as_json.out
    assert as_json.json["lines"][0]["unit"] == "pcs\x1b[31m\r\u2067"  # the JSON still carries the exact text


@pytest.mark.parametrize(("change", "field"), [
    ({"customs_office": "Capital Airport Customs\x00"}, "customs_office"),
    ({"consignor": {"name": "重庆\u202e云通", "uscc": "91500000MA5U7X2K3B"}}, "consignor.name"),
    ({"lines": [{"description": "Bags\x00", "brand": "NIKE", "quantity": 1, "unit": "pcs", "value": "10"}]},
     "lines.0.description"),
    ({"lines": [{"description": "Bags", "brand": "NIKE", "quantity": 1, "unit": "pcs\x1b[2J", "value": "10"}]},
     "lines.0.unit"),
    ({"lines": [{"description": "Bags", "brand": "NIKE", "quantity": 1, "unit": "pcs", "value": "１０"}]},
     "lines.0.value"),
    ({"found_at": "2026-11-24T10:36:00+08:00"}, "found_at"),  # 6 minutes after --now
])
def test_case_open_refuses_nul_control_bidi_ascii_money_and_the_future_naming_the_field(
        db: str, tmp_path: Path, change: dict, field: str) -> None:
    """On PostgreSQL too: a NUL never reaches the database (which would refuse it with a traceback)."""
    before = rows() if db.startswith("sqlite") else None
    line = refused("case", "open", str(shipment_file(tmp_path, **change)), "--as", "site.wang", "--now", FOUND,
                   "--json", field=field)
    assert "\x00" not in line and "\x1b" not in line and "\u202e" not in line
    if before is not None:
        assert rows() == before
