"""Database, demo data, bonds, the sweep and the audit."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import typer

from yunque.cli._common import JsonOpt, emit, fail, handled, parse_time

#: The commands of the root (``yunque demo-data``, ``yunque bond`` ...), outside any group.
top_level = typer.Typer()
db_app = typer.Typer(name="db", no_args_is_help=True, help="The cases database.")
audit_app = typer.Typer(name="audit", no_args_is_help=True, help="The tamper-evident timeline.")


@db_app.command("upgrade")
@handled
def db_upgrade(as_json: bool = JsonOpt) -> None:
    """Apply the Alembic migrations to YUNQUE_DATABASE_URL."""
    from adapters.migrations import upgrade
    from yunque.settings import get_settings

    head = upgrade(get_settings().db_url)
    emit({"revision": head}, as_json, lambda o: f"database at revision {o['revision']}")


@top_level.command("demo-data")
@handled
def demo_data(now: str = typer.Option(None, "--now", help="Load it as of this time (replays of a past story)."),
              as_json: bool = JsonOpt) -> None:
    """Load the seed story's offices, rights holders, recordations and users (once), valid from now:
    general bonds for this year and the next, recordations for 10 years."""
    from services.demo import load_demo_data

    result = load_demo_data(now=parse_time(now))
    emit(result, as_json, lambda o: "\n".join(
        f"{u['username']:16} {u['role']:14} {u['organisation']}  password: {u['password']}" for u in o["users"]))


@top_level.command("seed-shipment")
@handled
def seed(out: Path = typer.Option(..., "--out", help="Where to write the shipment JSON."),
         now: str = typer.Option(None, "--now", help="When the goods were found (ISO time with zone).")) -> None:
    """Write the seed story's shipment (119 items of 9 brands), found now, for `case open`."""
    from services.demo import seed_shipment
    from models.types import utcnow

    out.write_text(json.dumps(seed_shipment(parse_time(now, "found_at") or utcnow()), ensure_ascii=False, indent=2), encoding="utf-8")
    emit({"file": str(out)}, False, lambda o: o["file"])


@top_level.command("bond", context_settings={"ignore_unknown_options": True})  # so "-5" reaches VALUE
@handled
def bond(value: str = typer.Argument(..., help="Value of the goods concerned, RMB."),
         route: str = typer.Option("ex-officio", "--route", help="ex-officio or application"),
         as_json: bool = JsonOpt) -> None:
    """The bond required for a detention (Meas 23; Reg 14 and Meas 15 on application)."""
    from models.rules.bonds import Route, money, required_bond

    try:
        v = money(value, "value")
    except ValueError as e:
        fail(f"invalid input: {e}", 2)
    try:
        r = Route(route)
    except ValueError:
        fail("invalid input: route: must be ex-officio or application", 2)
    b: Decimal = required_bond(v, r)
    emit({"value": str(v), "route": r.value, "bond": str(b)}, as_json, lambda o: f"bond RMB {o['bond']}")


@top_level.command("sweep")
@handled
def sweep(now: str = typer.Option(None, "--now", help="Treat this as the current time (ISO, with zone)."),
          as_json: bool = JsonOpt) -> None:
    """Release lines whose notice expired unanswered, and run the detention clocks."""
    from models.types import utcnow
    from services.clocks import fill_pending_clocks
    from services.sweep import advance_detention_clocks, release_expired

    from services.calendar import ensure_calendar_ahead
    from services.counter_bonds import counter_bonds_due

    t = parse_time(now) or utcnow()
    ensure_calendar_ahead(now=t)
    fill_pending_clocks(now=t)
    released = release_expired(now=t)
    clocks = advance_detention_clocks(now=t)
    counter_bonds = counter_bonds_due(now=t)
    emit({"now": t.isoformat(), "released": released, "detention_clocks": clocks, "counter_bonds": counter_bonds},
         as_json,
         lambda o: f"released {len(o['released'])} line(s); {len(o['detention_clocks'])} detention clock step(s)")


@audit_app.command("verify")
@handled
def audit_verify(without_checkpoint: bool = typer.Option(
                     False, "--without-checkpoint",
                     help="Check the chains only, not against the newest checkpoint (a deleted tail goes unseen)."),
                 as_json: bool = JsonOpt) -> None:
    """Check every chain of the timeline and the newest checkpoint; exit 1 naming the first bad entry."""
    from services.audit import verify_timeline

    result = verify_timeline(anchored=not without_checkpoint).as_dict()
    emit(result, as_json, _audit_text)
    if not result["intact"]:
        raise typer.Exit(1)


@audit_app.command("checkpoint")
@handled
def audit_checkpoint(as_json: bool = JsonOpt) -> None:
    """Sign every chain's head and store it in the evidence store now (the stack does it every minute)."""
    from services.audit import write_checkpoint

    emit(write_checkpoint(), as_json, lambda o: f"checkpoint {o['key']}: {o['chains']} chains, signed with key "
                                                f"{o['key_id']}")


def _audit_text(o: dict) -> str:
    cp = o.get("checkpoint")
    anchor = (f"; checkpoint of {cp['at']}" if cp else "; no checkpoint checked")
    if o["intact"]:
        return f"intact: {o['entries']} entries in {o['chains']} chains{anchor}"
    where = f"entry {o['broken_at']}" if o["broken_at"] is not None else "the checkpoint"
    number = f", number {o['seq']}" if o.get("seq") is not None else ""
    chain = f" (chain {o['chain']}{number})" if o.get("chain") and o["chain"] != "checkpoint" else ""
    return f"BROKEN at {where}{chain}: {o['reason']}"
