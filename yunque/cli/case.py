"""Cases and notices."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, fail, handled, parse_time


def _case_text(c) -> str:  # noqa: ANN001
    out = [f"{c.number}  {c.status}  declaration {c.declaration_no}  {c.customs_office}"]
    for ln in c.lines:
        out.append(f"  line {ln.number:>3}  {ln.brand:14} {ln.quantity:>5} {ln.unit:6} RMB {ln.value:>12}  {ln.state}")
    for n in c.notices:
        out.append(f"  notice {n.id}  {n.rights_holder}  lines {n.lines}  {n.state}  deadline {n.deadline}")
    return "\n".join(out)


case_app = typer.Typer(name="case", no_args_is_help=True, help="Cases of suspect goods.")
notice_app = typer.Typer(name="notice", no_args_is_help=True, help="Confirmation notices (确权通知).")
line_app = typer.Typer(name="line", no_args_is_help=True, help="Decisions on detained lines.")


@case_app.command("open")
@handled
def open_(file: Path = typer.Argument(..., help="Shipment JSON (see README)."),
          actor: str = typer.Option("system", "--as", help="The officer registering the seizure."),
          key: str = typer.Option(None, "--idempotency-key"),
          now: str = typer.Option(None, "--now", help="Time of registration (tests and replays); default now."),
          as_json: bool = JsonOpt) -> None:
    """Register a seizure: suspend its lines and issue one notice per rights holder (served once an IPR
    officer confirms the lines: ``yunque case confirm``)."""
    from services.cases import open_case

    # JSON numbers are read as exact decimals, so "value": 36000.50 is money, never a binary float
    data = json.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    if not isinstance(data, dict):
        fail("invalid input: the shipment must be a JSON object", 2)
    c = open_case(shipment=data, actor=actor, idempotency_key=key, now=parse_time(now))
    emit(c, as_json, _case_text)


@case_app.command("confirm")
@handled
def confirm(number: str, actor: str = AsOpt,
            not_matching: str = typer.Option("", "--not-matching",
                                             help="Lines that do not match their recordation, e.g. 2,5: released at once."),
            reason: str = typer.Option("", "--reason", help="Why those lines do not match (class, licensee, mark)."),
            now: str = typer.Option(None, "--now", help="Time of the act (tests and replays); default now."),
            as_json: bool = JsonOpt) -> None:
    """An IPR officer confirms a seizure's lines against the recordations; the notices are served then
    (the confirm_seizure task is completed with it)."""
    from services.task_acts import confirm_seizure

    numbers: list[int] = []
    for part in (p.strip() for p in not_matching.split(",")):
        if not part:
            continue
        if not part.isascii() or not part.isdigit():
            fail(f"invalid input: not-matching: {part!r} is not a line number", 2)
        numbers.append(int(part))
    out = confirm_seizure(case_number=number.strip().upper(), actor=actor, not_matching=numbers, reason=reason,
                          now=parse_time(now))
    emit(out, as_json, lambda o: f"{o['case_number']} confirmed; released lines {o['released'] or 'none'}; "
                                 f"notices {o['notices']}")


@case_app.command("show")
@handled
def show(number: str, actor: str = typer.Option("system", "--as"), as_json: bool = JsonOpt) -> None:
    """A case: lines with states, notices with deadlines and answers, documents."""
    from services.cases import get_case

    emit(get_case(case_number=number, actor=actor), as_json, _case_text)


@notice_app.command("answer")
@handled
def answer(notice_id: int,
           actor: str = AsOpt,
           verdict: list[str] = typer.Option(..., "--verdict", help="LINE=infringing|not-infringing, once per line."),
           detain: bool = typer.Option(False, "--detain", help="Apply for detention of the infringing lines."),
           bond: str = typer.Option(None, "--bond", help="general, or an amount in RMB."),
           comment: str = typer.Option("", "--comment"),
           key: str = typer.Option(None, "--idempotency-key"),
           now: str = typer.Option(None, "--now", help="Time of the answer (tests and replays)."),
           as_json: bool = JsonOpt) -> None:
    """Answer a notice: a verdict per line, and a detention application with its bond."""
    from services.answers import record_answer

    verdicts: dict[int, str] = {}
    for v in verdict:
        m = re.fullmatch(r"\s*(\d+)\s*=\s*([a-z-]+)\s*", v)
        if not m:
            fail(f"invalid input: verdict: {v!r} is not LINE=infringing or LINE=not-infringing", 2)
        n = int(m.group(1))
        if n in verdicts:
            fail(f"invalid input: verdict: line {n} is given twice", 2)
        verdicts[n] = m.group(2)
    out = record_answer(notice_id=notice_id, actor=actor, idempotency_key=key, now=parse_time(now),
                        answer={"verdicts": verdicts, "detain": detain, "bond": bond, "comment": comment})
    emit(out, as_json, lambda n: f"notice {n.id}: {n.state}")


@notice_app.command("bond")
@handled
def post(notice_id: int, actor: str = AsOpt, bond: str = typer.Option(..., "--bond"),
         now: str = typer.Option(None, "--now", help="Time the bond is posted (tests and replays)."),
         as_json: bool = JsonOpt) -> None:
    """Post the bond for a pending detention claim."""
    from services.answers import post_bond

    emit(post_bond(notice_id=notice_id, actor=actor, bond=bond, now=parse_time(now)), as_json,
         lambda n: f"notice {n.id}: {n.state}")


@line_app.command("decide")
@handled
def decide(case_number: str, line_number: int, actor: str = AsOpt,
           outcome: str = typer.Option(..., "--outcome", help="confiscate, cannot-determine, court-notice, withdrawn "
                                                             "(a counter-bond: yunque counter-bond receive)"),
           note: str = typer.Option("", "--note"), as_json: bool = JsonOpt) -> None:
    """Decide on a detained line (Reg 19, 20, 24)."""
    from services.detention import decide_line

    emit(decide_line(case_number=case_number, line_number=line_number, actor=actor, outcome=outcome, note=note),
         as_json, lambda ln: f"line {ln.number}: {ln.state}")
