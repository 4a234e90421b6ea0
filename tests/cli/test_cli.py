"""The `yunque` command through the real process: JSON shapes on stdout, and for bad input a non-zero
exit with one line on stderr that names the field, with nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv" / "bin" / "python"
FOUND = "2026-11-24T10:30:00+08:00"
LOADED = "2026-11-20T09:00:00+08:00"  # when the demo data of the tests' database was loaded (tests/conftest.py)


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[str]):
        self.code, self.out, self.err = proc.returncode, proc.stdout, proc.stderr

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"exit {self.code}\nstdout: {self.out}\nstderr: {self.err}"


def yunque(*args: str, env: dict[str, str] | None = None) -> Result:
    proc = subprocess.run([str(PYTHON), "-m", "yunque", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=120)
    return Result(proc)


def ok(*args: str, env: dict[str, str] | None = None) -> Any:
    r = yunque(*args, env=env)
    assert r.code == 0, r
    return r.json if "--json" in args else r.out


def refused(*args: str, field: str, code: int | None = 2, env: dict[str, str] | None = None) -> str:
    r = yunque(*args, env=env)
    assert r.code != 0, r
    if code is not None:
        assert r.code == code, r
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r  # one line, no traceback
    assert field in lines[0], r
    assert r.out == "", r
    return lines[0]


def db_path() -> Path:
    return Path(os.environ["YUNQUE_DATABASE_URL"].removeprefix("sqlite:///"))


def rows() -> dict[str, int]:
    with sqlite3.connect(db_path()) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # noqa: S608


def shipment_file(tmp_path: Path, name: str = "shipment.json", **change: Any) -> Path:
    data = {"declaration_no": "010120261124000001", "direction": "export", "customs_office": "Capital Airport Customs",
            "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}, "found_at": FOUND,
            "lines": [{"description": "Handbags", "brand": "CHANEL", "quantity": 12, "unit": "pcs", "value": "36000.00"},
                      {"description": "Sports shoes", "brand": "NIKE", "quantity": 30, "unit": "pairs", "value": "9000.00"},
                      {"description": "Belts", "brand": "CHANEL", "quantity": 5, "unit": "pcs", "value": "1500.00"}]}
    data.update(change)
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# --- the command tree ----------------------------------------------------------------------------------


def test_every_command_group_of_the_package_is_reachable_from_yunque() -> None:
    """yunque/cli/__init__.py lists the sub-apps by hand: a module's Typer left out of that list is caught here."""
    import importlib
    import pkgutil

    import typer

    import yunque.cli as cli

    def tree(t: typer.Typer) -> list[typer.Typer]:
        return [t] + [sub for g in t.registered_groups if g.typer_instance for sub in tree(g.typer_instance)]

    reachable = {id(t) for t in tree(cli.app)}
    forgotten = [f"yunque.cli.{m.name}.{name}" for m in pkgutil.iter_modules(cli.__path__)
                 for name, value in vars(importlib.import_module(f"yunque.cli.{m.name}")).items()
                 if isinstance(value, typer.Typer) and id(value) not in reachable]
    assert forgotten == []


# --- bond and calendar --------------------------------------------------------------------------------


def test_bond(sqlite_db: str) -> None:
    assert ok("bond", "150000", "--json") == {"value": "150000.00", "route": "ex-officio", "bond": "75000.00"}
    assert ok("bond", "19999.99", "--json")["bond"] == "19999.99"
    assert ok("bond", "200000.01", "--json")["bond"] == "100000.00"
    assert ok("bond", "36000", "--route", "application", "--json")["bond"] == "36000.00"
    assert ok("bond", "150000").strip() == "bond RMB 75000.00"
    refused("bond", "-5", "--json", field="value")
    refused("bond", "abc", "--json", field="value")
    refused("bond", "1.234", "--json", field="value")
    refused("bond", "100", "--route", "postal", "--json", field="route")


def test_calendar_deadline(sqlite_db: str) -> None:
    assert ok("calendar", "deadline", "2026-09-30", "--working-days", "3", "--json") == {
        "served": "2026-09-30", "working_days": 3, "deadline": "2026-10-10"}
    assert ok("calendar", "deadline", "2026-02-13", "--json")["deadline"] == "2026-02-25"
    assert ok("calendar", "deadline", "2026-03-02", "--working-days", "30", "--json")["deadline"] == "2026-04-14"
    assert "2027" in refused("calendar", "deadline", "2026-12-30", "--json", field="calendar-unknown", code=1)
    refused("calendar", "deadline", "30/09/2026", "--json", field="served")
    refused("calendar", "deadline", "2026-09-30", "--working-days", "0", "--json", field="working-days")


FICTIONAL_2027 = {"year": 2027, "source": "TEST ONLY: fictional data, not the State Council's",
                  "holidays": ["2027-01-01", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12"],
                  "workdays": ["2027-02-06", "2027-02-20"]}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "JSON"),
        ('{"year": 2027, "year": 2028, "source": "x", "holidays": ["2027-01-01"]}', "'year' appears twice"),
        (json.dumps({**FICTIONAL_2027, "year": "2027"}), "JSON integer"),
        (json.dumps({**FICTIONAL_2027, "year": 2227}), "not between 2000 and 2100"),
        (json.dumps({**FICTIONAL_2027, "holidays": ["2027-01-01", "2027-01-01"]}), "listed twice"),
        (json.dumps({**FICTIONAL_2027, "workdays": ["2027-02-06", "2027-02-08"]}), "both a holiday and a working day"),
        (json.dumps({**FICTIONAL_2027, "workdays": ["2027-03-03"]}), "not a weekend day"),  # a Wednesday
        (json.dumps({**FICTIONAL_2027, "holidays": ["2028-01-03"]}), "2028-01-03 is not in 2027"),
        (json.dumps({**FICTIONAL_2027, "holidays": ["2027-02-30"]}), "2027-02-30"),
    ],
)
def test_calendar_load_refuses_a_bad_year_file_and_writes_nothing(sqlite_db: str, tmp_path: Path, content: str,
                                                                   problem: str) -> None:
    bad = tmp_path / "2027.json"
    bad.write_text(content, encoding="utf-8")
    before = rows()
    refused("calendar", "load", str(bad), "--as", "admin", "--json", field=problem, code=None)
    assert rows() == before
    assert 2027 not in ok("calendar", "years", "--json")["years"]


def test_calendar_load_adds_a_year_for_every_process(sqlite_db: str, tmp_path: Path) -> None:
    src = tmp_path / "arrangement-2027.json"
    src.write_text(json.dumps(FICTIONAL_2027), encoding="utf-8")
    refused("calendar", "load", str(src), "--as", "site.wang", "--json", field="permission-denied", code=1)
    out = ok("calendar", "load", str(src), "--as", "admin", "--json")
    assert out["year"] == 2027 and out["holidays"] == 6 and out["workdays"] == 2 and out["replaced"] is None
    assert out["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    # a new process (another command) counts with it: it lives in the database, not in a file
    assert ok("calendar", "deadline", "2026-12-30", "--json")["deadline"] == "2027-01-05"
    assert ok("calendar", "deadline", "2027-02-05", "--json")["deadline"] == "2027-02-16"
    assert 2027 in ok("calendar", "years", "--json")["years"]
    with sqlite3.connect(db_path()) as conn:
        (after,) = conn.execute("SELECT after FROM timeline_entry WHERE action = 'calendar.loaded'").fetchone()
    assert json.loads(after)["sha256"] == out["sha256"]
    refused("calendar", "load", str(tmp_path / "missing.json"), "--as", "admin", field="missing.json", code=None)


def test_a_year_already_known_is_replaced_only_on_request_and_the_changed_days_are_listed(sqlite_db: str,
                                                                                          tmp_path: Path) -> None:
    # 2026 is in the official package data: 1 October (National Day) is a holiday, 10 October a make-up day
    changed = tmp_path / "2026.json"
    changed.write_text(json.dumps({"year": 2026, "source": "TEST ONLY: a corrected 2026",
                                   "holidays": ["2026-01-01", "2026-10-01", "2026-10-02", "2026-12-31"],
                                   "workdays": []}), encoding="utf-8")
    before = rows()
    line = refused("calendar", "load", str(changed), "--as", "admin", field="--replace", code=1)
    assert "2026" in line and "chinese-calendar" in line
    assert rows() == before
    assert ok("calendar", "deadline", "2026-12-28", "--json")["deadline"] == "2026-12-31"
    text = ok("calendar", "load", str(changed), "--as", "admin", "--replace")
    assert "replaced the schedule from chinese-calendar" in text
    assert "2026-10-10: working -> rest" in text  # the make-up Saturday is gone
    assert "2026-12-31: working -> rest" in text
    assert "2026-10-05: rest -> working" in text  # the Golden Week Monday is no longer off
    # 31 December is now a rest day: the same period reaches into 2027, which nobody loaded
    assert "2027" in refused("calendar", "deadline", "2026-12-28", "--json", field="calendar-unknown", code=1)


# --- cases and notices -----------------------------------------------------------------------------------


def test_case_open_and_show(sqlite_db: str, tmp_path: Path) -> None:
    c = ok("case", "open", str(shipment_file(tmp_path)), "--as", "site.wang", "--now", FOUND, "--json")
    assert c["number"] == "YQ-2026-000001" and c["declaration_no"] == "010120261124000001"
    assert [(ln["number"], ln["brand"], ln["state"]) for ln in c["lines"]] == [
        (1, "CHANEL", "suspended"), (2, "NIKE", "suspended"), (3, "CHANEL", "suspended")]
    notices = {n["rights_holder"]: n for n in c["notices"]}
    assert set(notices) == {"CHANEL SARL", "Nike Innovate C.V."}
    chanel = notices["CHANEL SARL"]
    assert isinstance(chanel["id"], int) and chanel["brands"] == ["CHANEL"] and chanel["lines"] == [1, 3]
    assert chanel["deadline"] is None and chanel["state"] == "issued"  # served once the lines are confirmed
    refused("case", "confirm", c["number"], "--as", "site.wang", "--now", FOUND, field="ipr_officer", code=1)
    refused("case", "confirm", c["number"], "--as", "ipr.li", "--not-matching", "x", "--now", FOUND, field="not-matching")
    refused("case", "confirm", c["number"], "--as", "ipr.li", "--not-matching", "9", "--reason", "class 14",
            "--now", FOUND, field="not_matching")
    done = ok("case", "confirm", c["number"], "--as", "ipr.li", "--now", FOUND, "--json")
    assert done["released"] == [] and sorted(done["notices"]) == sorted(n["id"] for n in c["notices"])
    refused("case", "confirm", c["number"], "--as", "ipr.li", "--now", FOUND, field="confirmed", code=1)
    chanel = {n["id"]: n for n in ok("case", "show", c["number"], "--as", "ipr.li", "--json")["notices"]}[chanel["id"]]
    assert chanel["deadline"] == "2026-11-27" and chanel["state"] == "served"

    shown = ok("case", "show", c["number"], "--as", "ipr.li", "--json")
    assert [ln["state"] for ln in shown["lines"]] == ["suspended"] * 3
    n = {x["id"]: x for x in shown["notices"]}[chanel["id"]]
    assert {"id", "rights_holder", "served_at", "deadline", "answer"} <= set(n) and n["answer"] is None
    assert "YQ-2026-000001" in ok("case", "show", c["number"], "--as", "ipr.li")  # the text form

    # a rights holder sees its own part only; another office's officer sees nothing
    assert [ln["brand"] for ln in ok("case", "show", c["number"], "--as", "nike.agent", "--json")["lines"]] == ["NIKE"]
    refused("case", "show", c["number"], "--as", "site.huang", "--json", field="not-found", code=1)


def test_json_numbers_in_a_shipment_are_read_as_exact_decimals(sqlite_db: str, tmp_path: Path) -> None:
    path = tmp_path / "numbers.json"
    path.write_text(shipment_file(tmp_path).read_text().replace('"36000.00"', "36000.10"), encoding="utf-8")
    c = ok("case", "open", str(path), "--as", "site.wang", "--now", FOUND, "--json")
    assert c["lines"][0]["value"] == "36000.10"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"declaration_no": "0101202611240000011"}, "declaration_no"),
        ({"found_at": "2026-11-24T10:30:00"}, "found_at"),
        ({"lines": [{"description": "X", "brand": "ACME", "quantity": 1, "unit": "pcs", "value": "10"}]}, "ACME"),
        ({"lines": [{"description": "X", "brand": "NIKE", "quantity": 1, "unit": "pcs", "value": "-10"}]}, "lines.0.value"),
        ({"lines": [{"description": "X", "brand": "NIKE", "quantity": 1, "unit": "pcs", "value": "ten"}]}, "lines.0.value"),
    ],
)
def test_case_open_refuses_bad_shipments_and_writes_nothing(sqlite_db: str, tmp_path: Path, change: dict,
                                                            field: str) -> None:
    before = rows()
    refused("case", "open", str(shipment_file(tmp_path, **change)), "--as", "site.wang", "--json", field=field)
    assert rows() == before


def test_case_open_refuses_files_that_are_not_shipments(sqlite_db: str, tmp_path: Path) -> None:
    before = rows()
    broken = tmp_path / "broken.json"
    broken.write_text('{"declaration_no": "0101', encoding="utf-8")
    refused("case", "open", str(broken), "--as", "site.wang", field="malformed JSON")
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]", encoding="utf-8")
    refused("case", "open", str(listing), "--as", "site.wang", field="JSON object")
    refused("case", "open", str(tmp_path / "nope.json"), "--as", "site.wang", field="nope.json")
    refused("case", "open", str(tmp_path), "--as", "site.wang", field="directory")
    refused("case", "open", str(shipment_file(tmp_path)), "--as", "nike.agent", field="nike.agent", code=1)
    assert rows() == before


def test_notice_answer(sqlite_db: str, tmp_path: Path) -> None:
    c = ok("case", "open", str(shipment_file(tmp_path)), "--as", "site.wang", "--now", FOUND, "--json")
    ok("case", "confirm", c["number"], "--as", "ipr.li", "--now", FOUND, "--json")
    notices = {n["rights_holder"]: n["id"] for n in c["notices"]}
    chanel, nike = str(notices["CHANEL SARL"]), str(notices["Nike Innovate C.V."])
    before = rows()
    refused("notice", "answer", chanel, "--as", "nike.agent", "--verdict", "1=not-infringing", "--json",
            "--now", FOUND, field="notice", code=1)  # another rights holder's notice does not exist for it
    refused("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "1=fake", "--verdict", "3=infringing",
            "--json", "--now", FOUND, field="verdicts.1")
    refused("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "one=infringing", "--now", FOUND, field="verdict")
    refused("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "1=infringing", "--now", FOUND, field="verdicts")
    refused("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "1=infringing", "--verdict",
            "3=infringing", "--detain", "--bond", "-100", "--now", FOUND, field="bond")
    refused("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "1=infringing", "--verdict",
            "3=infringing", "--now", "2026-11-24T11:00:00", field="now")
    assert rows() == before

    out = ok("notice", "answer", nike, "--as", "nike.agent", "--verdict", "2=not-infringing", "--json",
             "--now", "2026-11-24T10:39:00+08:00")
    assert out["state"] == "answered" and out["answer"]["verdicts"] == {"2": "not-infringing"}
    assert out["confirmation_minutes"] == 9.0
    out = ok("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "1=infringing", "--verdict",
             "3=not-infringing", "--detain", "--bond", "general", "--json", "--now", "2026-11-24T10:45:00+08:00")
    assert out["answer"]["bond_kind"] == "general" and out["answer"]["bond_accepted"] is True
    shown = ok("case", "show", c["number"], "--as", "ipr.li", "--json")
    assert [ln["state"] for ln in shown["lines"]] == ["detained", "released", "released"]
    refused("notice", "answer", nike, "--as", "nike.agent", "--verdict", "2=infringing", "--now", FOUND, field="conflict",
            code=1)
    late = refused("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "1=infringing", "--verdict",
                   "3=infringing", "--now", "2026-11-28T00:00:00+08:00", field="deadline-passed", code=1)
    assert "2026-11-28T00:00:00+08:00" in late  # said in Shanghai time


def test_the_acts_after_the_verdict(sqlite_db: str, tmp_path: Path) -> None:
    """Bond receipt, investigation, disposal, costs and settlement through the command line; each refused
    with a one-line reason naming the field when the law does not allow it."""
    c = ok("case", "open", str(shipment_file(tmp_path)), "--as", "site.wang", "--now", FOUND, "--json")
    ok("case", "confirm", c["number"], "--as", "ipr.li", "--now", FOUND, "--json")
    chanel = str(next(n["id"] for n in c["notices"] if n["rights_holder"] == "CHANEL SARL"))
    ok("notice", "answer", chanel, "--as", "chanel.agent", "--verdict", "1=infringing", "--verdict", "3=not-infringing",
       "--detain", "--bond", "20000", "--now", "2026-11-24T10:45:00+08:00", "--json")
    at = "2026-11-24T13:00:00+08:00"
    refused("bonds", "receive", chanel, "--as", "chanel.agent", "--form", "deposit", "--amount", "20000",
            "--now", at, field="permission-denied", code=1)
    refused("bonds", "receive", chanel, "--as", "ipr.li", "--form", "cheque", "--amount", "20000", "--now", at,
            field="form")
    refused("bonds", "receive", chanel, "--as", "ipr.li", "--form", "guarantee", "--amount", "20000", "--now", at,
            field="bank")
    refused("bonds", "receive", chanel, "--as", "ipr.li", "--form", "deposit", "--amount", "19999.99", "--now", at,
            field="bond-insufficient", code=1)
    assert ok("bonds", "receive", chanel, "--as", "ipr.li", "--form", "deposit", "--amount", "20000", "--now", at,
              "--json")["state"] == "answered"
    refused("court", "record", c["number"], "2", "--as", "ipr.li", "--court", "北京知识产权法院", "--reference", "R1",
            "--now", at, field="detained goods only")
    refused("investigation", "decide", c["number"], "1", "--as", "ipr.li", "--outcome", "burn", "--now", at,
            field="outcome")
    later = "2026-12-01T10:00:00+08:00"
    assert ok("investigation", "decide", c["number"], "1", "--as", "ipr.li", "--outcome", "infringing", "--now", later,
              "--json")["state"] == "confiscated"
    refused("disposal", "record", c["number"], "1", "--as", "ipr.li", "--method", "destruction", "--now", later,
            field="why_not_earlier")
    ok("disposal", "cost", c["number"], "1", "--as", "ipr.li", "--kind", "storage", "--amount", "800", "--now", later,
       "--json")
    ok("disposal", "record", c["number"], "1", "--as", "ipr.li", "--method", "public-welfare", "--cost", "200",
       "--now", later, "--json")
    settled = ok("bonds", "settle", chanel, "--as", "ipr.li", "--now", later, "--json")
    assert (settled["costs"], settled["charged"], settled["refunded"]) == ("1000.00", "1000.00", "19000.00")
    refused("bonds", "settle", chanel, "--as", "ipr.li", "--now", later, field="conflict", code=1)


def test_the_application_route(sqlite_db: str, tmp_path: Path) -> None:
    """A rights holder applies for a detention (Reg 12-15); refused with a one-line reason naming the field;
    accepted with the bond received, the goods are detained with the 20-working-day court clock (Reg 24(1))."""
    rec = sqlite3.connect(db_path()).execute("SELECT number FROM recordation WHERE brand = 'CHANEL'").fetchone()[0]
    application = {"customs_office": "CAPAIR", "declaration_no": "010120261124000555", "direction": "export",
                   "consignor": {"name": "重庆云通商贸有限公司", "uscc": "91500000MA5U7X2K3B"}, "recordation": rec,
                   "lines": [{"description": "Handbags", "quantity": 40, "unit": "pcs", "value": 36000.00}],
                   "grounds": "Test purchase from the consignor: counterfeit."}
    path = tmp_path / "application.json"
    path.write_text(json.dumps({**application, "recordation": "T0000-00000"}), encoding="utf-8")
    refused("application", "file", str(path), "--as", "chanel.agent", "--now", FOUND, field="recordation")
    path.write_text(json.dumps(application), encoding="utf-8")
    filed = ok("application", "file", str(path), "--as", "chanel.agent", "--now", FOUND, "--json")
    assert (filed["state"], filed["bond_required"]) == ("filed", "36000.00")
    number = filed["case_number"]
    refused("application", "accept", number, "--as", "ipr.li", "--form", "deposit", "--amount", "35999.99",
            "--now", FOUND, field="bond-insufficient", code=1)
    refused("application", "accept", number, "--as", "chanel.agent", "--form", "deposit", "--amount", "36000",
            "--now", FOUND, field="permission-denied", code=1)
    ok("application", "accept", number, "--as", "ipr.li", "--form", "deposit", "--amount", "36000", "--now", FOUND,
       "--json")
    shown = ok("application", "show", number, "--as", "chanel.agent", "--json")
    assert shown["state"] == "accepted" and shown["lines"][0]["state"] == "detained"
    assert shown["lines"][0]["court_due"] == "2026-12-22"  # 20 working days from the day after 24 November
    refused("investigation", "decide", number, "1", "--as", "ipr.li", "--outcome", "infringing", "--now", FOUND,
            field="outcome")
    refused("application", "reject", number, "--as", "ipr.li", "--reason", "late", "--now", FOUND, field="conflict",
            code=1)


def test_audit_verify_finds_a_tampered_entry(sqlite_db: str, tmp_path: Path) -> None:
    ok("case", "open", str(shipment_file(tmp_path)), "--as", "site.wang", "--now", FOUND, "--json")
    intact = ok("audit", "verify", "--without-checkpoint", "--json")  # no evidence store here
    assert intact["intact"] is True and intact["entries"] > 5 and intact["broken_at"] is None
    with sqlite3.connect(db_path()) as conn:
        (victim,) = conn.execute("SELECT id FROM timeline_entry WHERE action = 'line.suspended' ORDER BY id LIMIT 1").fetchone()
        conn.execute("UPDATE timeline_entry SET after = ? WHERE id = ?", (json.dumps({"state": "released"}), victim))
    r = yunque("audit", "verify", "--without-checkpoint", "--json")
    assert r.code == 1, r
    assert r.json["intact"] is False and r.json["broken_at"] == victim and "altered" in r.json["reason"]
    r = yunque("audit", "verify", "--without-checkpoint")
    assert r.code == 1 and f"BROKEN at entry {victim}" in r.out


# --- the demo story with the command line alone ------------------------------------------------------------


def test_the_demo_story_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"YUNQUE_DATABASE_URL": f"sqlite:///{tmp_path / 'story.db'}", "YUNQUE_VAR_DIR": str(tmp_path / "var")}
    monkeypatch.setenv("YUNQUE_DATABASE_URL", env["YUNQUE_DATABASE_URL"])
    assert ok("db", "upgrade", "--json", env=env)["revision"]

    demo = ok("demo-data", "--now", LOADED, "--json", env=env)  # a replay of November 2026, whatever the date
    users = {u["username"]: u for u in demo["users"]}
    brands = {b for u in demo["users"] if u["role"] == "rights_holder" for b in u["brands"]}
    assert {"NIKE", "HERMES", "CHANEL"} <= brands and len(brands) == 9
    assert users["chanel.agent"]["organisation"] == "CHANEL SARL" and users["chanel.agent"]["brands"] == ["CHANEL"]
    assert users["site.wang"]["role"] == "site_officer" and users["site.wang"]["organisation"] == "Capital Airport Customs"
    assert any(u["role"] == "manager" for u in demo["users"]) and any(u["role"] == "consignor" for u in demo["users"])
    assert users["cq.trading"]["organisation"] == "重庆云通商贸有限公司"
    before = rows()
    again = ok("demo-data", "--now", LOADED, "--json", env=env)
    assert again["created"] == 0 and rows() == before  # once

    seed = tmp_path / "seed.json"
    ok("seed-shipment", "--out", str(seed), "--now", FOUND, env=env)
    case = ok("case", "open", str(seed), "--as", "site.wang", "--now", "2026-11-24T10:30:00+08:00", "--json", env=env)
    assert sum(ln["quantity"] for ln in case["lines"]) == 119 and len(case["notices"]) == 9
    assert {n["state"] for n in case["notices"]} == {"issued"}  # served only after the confirmation
    (confirm,) = ok("task", "list", "--as", "ipr.li", "--kind", "confirm_seizure", "--case", case["number"], "--json", env=env)
    shown = ok("task", "show", str(confirm["id"]), "--as", "ipr.li", "--json", env=env)
    assert shown["form"]["outcomes"] == ["confirmed", "not-matching"] and "not_matching" in shown["form"]["fields"]
    refused("task", "complete", str(confirm["id"]), "--as", "ipr.li", "--outcome", "confirmed", "--field", "not_matching=x",
            "--now", "2026-11-24T10:35:00+08:00", field="not_matching", code=2, env=env)
    refused("task", "complete", str(confirm["id"]), "--as", "site.wang", "--outcome", "confirmed",
            "--now", "2026-11-24T10:35:00+08:00", field="ipr_officer", code=1, env=env)
    assert ok("task", "complete", str(confirm["id"]), "--as", "ipr.li", "--outcome", "confirmed", "--now",
              "2026-11-24T10:35:00+08:00", "--json", env=env)["state"] == "completed"
    refused("task", "complete", str(confirm["id"]), "--as", "ipr.li", "--outcome", "confirmed",
            "--now", "2026-11-24T10:36:00+08:00", field="completed", code=1, env=env)
    case = ok("case", "show", case["number"], "--as", "ipr.li", "--json", env=env)
    assert {n["state"] for n in case["notices"]} == {"served"}
    notice = {n["brands"][0]: n for n in case["notices"]}
    line = {ln["brand"]: str(ln["number"]) for ln in case["lines"]}

    ok("notice", "answer", str(notice["NIKE"]["id"]), "--as", "nike.agent", "--verdict", f"{line['NIKE']}=not-infringing",
       "--now", "2026-11-24T10:40:00+08:00", "--json", env=env)
    ok("notice", "answer", str(notice["CHANEL"]["id"]), "--as", "chanel.agent", "--verdict", f"{line['CHANEL']}=infringing",
       "--detain", "--bond", "general", "--now", "2026-11-24T10:39:00+08:00", "--json", env=env)
    ok("notice", "answer", str(notice["HERMES"]["id"]), "--as", "hermes.agent", "--verdict", f"{line['HERMES']}=infringing",
       "--detain", "--bond", "1000", "--now", "2026-11-24T11:00:00+08:00", "--json", env=env)
    ok("notice", "answer", str(notice["ROLEX"]["id"]), "--as", "rolex.agent", "--verdict", f"{line['ROLEX']}=infringing",
       "--detain", "--now", "2026-11-24T11:05:00+08:00", "--json", env=env)
    pending = ok("case", "show", case["number"], "--as", "ipr.li", "--json", env=env)
    assert {n["brands"][0]: n["state"] for n in pending["notices"]}["HERMES"] == "claim-pending"
    refused("notice", "bond", str(notice["ROLEX"]["id"]), "--as", "rolex.agent", "--bond", "15999.99", "--now",
            "2026-11-24T12:00:00+08:00", field="bond-insufficient", code=1, env=env)
    posted = ok("notice", "bond", str(notice["ROLEX"]["id"]), "--as", "rolex.agent", "--bond", "16000", "--json",
                "--now", "2026-11-24T12:05:00+08:00", env=env)
    assert posted["state"] == "claim-pending" and posted["answer"]["bond_amount"] == "16000.00"  # not yet received
    rolex_notice = str(notice["ROLEX"]["id"])
    received = ok("bonds", "receive", rolex_notice, "--as", "ipr.li", "--form", "guarantee", "--amount", "16000",
                  "--bank", "中国银行重庆分行", "--letter-no", "BG-2026-1124", "--now", "2026-11-24T13:05:00+08:00",
                  "--json", env=env)
    assert received["state"] == "answered"

    quiet = ok("sweep", "--now", "2026-11-27T23:59:00+08:00", "--json", env=env)
    assert quiet["released"] == []
    swept = ok("sweep", "--now", "2026-11-28T00:00:00+08:00", "--json", env=env)
    released = {r["brand"]: r["reason"] for r in swept["released"]}
    assert released["HERMES"] == "no-bond" and len(released) == 6 and not {"NIKE", "CHANEL", "ROLEX"} & set(released)
    assert all(r["state"] == "released" for r in swept["released"])
    assert ok("sweep", "--now", "2026-11-28T00:05:00+08:00", "--json", env=env)["released"] == []

    final = ok("case", "show", case["number"], "--as", "mgr.zhao", "--json", env=env)
    states = {ln["brand"]: ln["state"] for ln in final["lines"]}
    assert states.pop("CHANEL") == "detained" and states.pop("ROLEX") == "detained"
    assert set(states.values()) == {"released"}
    ok("line", "decide", case["number"], line["ROLEX"], "--as", "ipr.li", "--outcome", "withdrawn", "--json", env=env)

    tasks = ok("task", "list", "--as", "ipr.li", "--json", env=env)
    investigate = next(t for t in tasks if t["kind"] == "investigate")
    assert ok("task", "claim", str(investigate["id"]), "--as", "ipr.li", "--json", env=env)["state"] == "claimed"
    refused("task", "claim", str(investigate["id"]), "--as", "ipr.chen", field="conflict", code=1, env=env)
    refused("task", "complete", str(investigate["id"]), "--as", "ipr.li", "--outcome", "counterfeit", field="outcome",
            code=2, env=env)
    done = ok("task", "complete", str(investigate["id"]), "--as", "ipr.li", "--outcome", "infringing",
              "--field", "note=counterfeit", "--json", env=env)
    assert done["state"] == "completed"
    lines_now = ok("case", "show", case["number"], "--as", "ipr.li", "--json", env=env)["lines"]
    assert {ln["brand"]: ln["state"] for ln in lines_now}["CHANEL"] == "confiscated"  # the task's act
    refused("line", "decide", case["number"], line["CHANEL"], "--as", "ipr.li", "--outcome", "confiscate",
            field="confiscated", code=1, env=env)
    assert ok("case", "show", case["number"], "--as", "ipr.li", "--json", env=env)["status"] == "closed"
    assert ok("audit", "verify", "--without-checkpoint", "--json", env=env)["intact"] is True
