"""Detention on a rights holder's application (Reg 12-15, 24(1))."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled, parse_time

NowOpt = typer.Option(None, "--now", help="Time of the act (tests and replays); default now.")


def _text(a: dict) -> str:
    out = [f"{a['case_number']}  {a['state']}  {a['brand']} ({a['recordation']})  declaration {a['declaration_no']}  "
           f"value RMB {a['value']}  bond required RMB {a['bond_required']}"
           + (f"  received RMB {a['bond_received']}" if a.get("bond_received") else "")]
    for ln in a["lines"]:
        due = f"  court notice by {ln['court_due']}" if ln.get("court_due") else ""
        out.append(f"  line {ln['number']:>3}  {ln['quantity']:>5} {ln['unit']:6} RMB {ln['value']:>12}  {ln['state']}{due}")
    if a.get("reason"):
        out.append(f"  reason: {a['reason']}")
    return "\n".join(out)


app = typer.Typer(name="application", no_args_is_help=True,
                  help="A rights holder's application for the detention of a named shipment (Reg 12-15).")


@app.command("file")
@handled
def file_(file: Path = typer.Argument(..., help="Application JSON (see README)."), actor: str = AsOpt,
          key: str = typer.Option(None, "--idempotency-key"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Apply for the detention of a shipment with a bond equal to the value; an IPR officer reviews it."""
    from services.applications import file_application

    data = json.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    if not isinstance(data, dict):
        fail("invalid input: the application must be a JSON object", 2)
    emit(file_application(application=data, actor=actor, idempotency_key=key, now=parse_time(now)), as_json, _text)


@app.command("accept")
@handled
def accept(case_number: str, actor: str = AsOpt,
           form: str = typer.Option(..., "--form", help="deposit or guarantee (bank guarantee letter)"),
           amount: str = typer.Option(..., "--amount", help="RMB received: at least the value of the goods"),
           bank: str = typer.Option("", "--bank"), letter_no: str = typer.Option("", "--letter-no"),
           evidence: int = typer.Option(None, "--evidence", help="Evidence id of the scan."),
           reason: str = typer.Option("", "--reason"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Accept an application with the bond received: the goods are detained (Reg 15)."""
    from services.applications import review_application

    emit(review_application(case_number=case_number, actor=actor, now=parse_time(now), review={
        "decision": "accepted", "form": form, "amount": amount, "bank": bank, "letter_no": letter_no,
        "evidence_id": evidence, "reason": reason}), as_json, lambda o: f"{o['case_number']}: accepted, goods detained")


@app.command("reject")
@handled
def reject(case_number: str, actor: str = AsOpt, reason: str = typer.Option(..., "--reason"), now: str = NowOpt,
           as_json: bool = JsonOpt) -> None:
    """Reject an application, in writing with the reason (Reg 15); nothing is held."""
    from services.applications import review_application

    emit(review_application(case_number=case_number, actor=actor, now=parse_time(now),
                            review={"decision": "rejected", "reason": reason}),
         as_json, lambda o: f"{o['case_number']}: rejected")


@app.command("withdraw")
@handled
def withdraw(case_number: str, actor: str = AsOpt, reason: str = typer.Option("", "--reason"), now: str = NowOpt,
             as_json: bool = JsonOpt) -> None:
    """The rights holder withdraws its application: goods awaiting review or detained are released (Reg 24(5))."""
    from services.applications import withdraw_application

    emit(withdraw_application(case_number=case_number, actor=actor, now=parse_time(now),
                              withdrawal={"reason": reason}), as_json, _text)


@app.command("show")
@handled
def show(case_number: str, actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """One application: its goods, bond and state."""
    from services.applications import get_application

    emit(get_application(case_number=case_number, actor=actor), as_json, _text)


@app.command("list")
@handled
def list_(actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """A rights holder's applications, or those filed with an officer's office."""
    from services.applications import list_applications

    emit(list_applications(actor=actor), as_json, lambda rows: "\n".join(_text(a) for a in rows) or "no applications")
