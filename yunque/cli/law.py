"""The law after the verdict: bonds received and settled, investigations, court notices, disposals,
costs, and lines flagged at seizure."""

from __future__ import annotations

import typer

from yunque.cli._common import AsOpt, JsonOpt, emit, handled, parse_time

NowOpt = typer.Option(None, "--now", help="Time of the act (tests and replays); default now.")


def _kv(o: dict) -> str:
    return "  ".join(f"{k}={v}" for k, v in o.items() if not isinstance(v, (dict, list)))


bonds_app = typer.Typer(name="bonds", no_args_is_help=True,
                        help="Bonds customs receives (Meas 38) and settles (Reg 25, Meas 35).")
investigation_app = typer.Typer(name="investigation", no_args_is_help=True,
                                help="Investigation of detained goods (Reg 20, Meas 28).")
court_app = typer.Typer(name="court", no_args_is_help=True, help="Court notices of assistance (Reg 23, 24).")
disposal_app = typer.Typer(name="disposal", no_args_is_help=True,
                           help="Disposal of confiscated goods (Reg 27) and costs (Reg 25).")
flagged_app = typer.Typer(name="flagged", no_args_is_help=True,
                          help="Lines flagged at seizure: classes, licensees (Meas 21).")
statement_app = typer.Typer(name="statement", no_args_is_help=True,
                            help="The consignor's statement and evidence (Reg 18, 24(4)).")
police_app = typer.Typer(name="police", no_args_is_help=True, help="Transfer of a suspected crime to the police (Reg 26).")
counter_bond_app = typer.Typer(name="counter-bond", no_args_is_help=True,
                               help="The consignor's counter-bond for detained patent goods (Reg 19, 24(3); Meas 20).")


@bonds_app.command("receive")
@handled
def receive(notice_id: int, actor: str = AsOpt,
            form: str = typer.Option(..., "--form", help="deposit or guarantee (bank guarantee letter)"),
            amount: str = typer.Option(..., "--amount", help="RMB received"),
            bank: str = typer.Option("", "--bank"), letter_no: str = typer.Option("", "--letter-no"),
            evidence: int = typer.Option(None, "--evidence", help="Evidence id of the scan."),
            now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Record the bond customs received for a pending detention claim; the lines are detained."""
    from services.bonds import record_bond_receipt

    out = record_bond_receipt(notice_id=notice_id, actor=actor, now=parse_time(now),
                              receipt={"form": form, "amount": amount, "bank": bank, "letter_no": letter_no,
                                       "evidence_id": evidence})
    emit(out, as_json, _kv)


@bonds_app.command("settle")
@handled
def settle(notice_id: int, actor: str = AsOpt, note: str = typer.Option("", "--note"), now: str = NowOpt,
           as_json: bool = JsonOpt) -> None:
    """Charge the recorded costs against the bond and refund the rest."""
    from services.bonds import settle_bond

    emit(settle_bond(notice_id=notice_id, actor=actor, note=note, now=parse_time(now)), as_json, _kv)


@bonds_app.command("show")
@handled
def show(notice_id: int, actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """A notice's bond: required, received, costs, settlement."""
    from services.bonds import bond_account

    emit(bond_account(notice_id=notice_id, actor=actor), as_json, _kv)


@investigation_app.command("decide")
@handled
def decide(case_number: str, line_number: int, actor: str = AsOpt,
           outcome: str = typer.Option(..., "--outcome", help="infringing, not-infringing or cannot-determine"),
           note: str = typer.Option("", "--note"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Conclude the investigation of a detained line."""
    from services.detention import decide_investigation

    emit(decide_investigation(case_number=case_number, line_number=line_number, actor=actor, outcome=outcome,
                              note=note, now=parse_time(now)), as_json, lambda ln: f"line {ln.number}: {ln.state}")


@court_app.command("record")
@handled
def court_record(case_number: str, line_number: int, actor: str = AsOpt,
                 court_name: str = typer.Option(..., "--court"), reference: str = typer.Option(..., "--reference"),
                 received_at: str = typer.Option(None, "--received-at"),
                 evidence: int = typer.Option(None, "--evidence"), now: str = NowOpt,
                 as_json: bool = JsonOpt) -> None:
    """Record a court's notice of assistance: the line is held for the court."""
    from services.court import record_court_notice

    out = record_court_notice(case_number=case_number, line_number=line_number, actor=actor, now=parse_time(now),
                              notice={"court": court_name, "reference": reference,
                                      "received_at": parse_time(received_at, "received_at"),
                                      "evidence_id": evidence})
    emit(out, as_json, _kv)


@disposal_app.command("record")
@handled
def disposal_record(case_number: str, line_number: int, actor: str = AsOpt,
                    method: str = typer.Option(..., "--method",
                                               help="public-welfare, sale-to-rights-holder, auction, destruction"),
                    why_not_earlier: str = typer.Option("", "--why-not-earlier"),
                    recipient: str = typer.Option("", "--recipient"),
                    evidence: int = typer.Option(None, "--evidence"),
                    cost: str = typer.Option(None, "--cost", help="The disposal's cost in RMB."),
                    now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Record the disposal of a confiscated line (Reg 27)."""
    from services.disposal import record_disposal

    out = record_disposal(case_number=case_number, line_number=line_number, actor=actor, now=parse_time(now),
                          disposal={"method": method, "why_not_earlier": why_not_earlier, "recipient": recipient,
                                    "evidence_id": evidence, "cost": cost})
    emit(out, as_json, _kv)


@disposal_app.command("cost")
@handled
def cost_record(case_number: str, line_number: int, actor: str = AsOpt,
                kind: str = typer.Option(..., "--kind", help="storage, handling or disposal"),
                amount: str = typer.Option(..., "--amount"), note: str = typer.Option("", "--note"),
                now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Record a storage, handling or disposal cost charged to the rights holder."""
    from services.disposal import record_cost

    emit(record_cost(case_number=case_number, line_number=line_number, actor=actor, now=parse_time(now),
                     cost={"kind": kind, "amount": amount, "note": note}), as_json, _kv)


@flagged_app.command("decide")
@handled
def match_decide(case_number: str, line_number: int, actor: str = AsOpt,
                 release: bool = typer.Option(False, "--release/--keep",
                                              help="Release the line as outside the recordation, or keep it."),
                 reason: str = typer.Option(..., "--reason"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Decide on a line flagged at seizure (outside the recordation's classes, or a licensee's goods)."""
    from services.matching import decide_flagged_line

    emit(decide_flagged_line(case_number=case_number, line_number=line_number, actor=actor, release=release,
                             reason=reason, now=parse_time(now)), as_json, _kv)


@statement_app.command("file")
@handled
def statement_file(case_number: str, actor: str = AsOpt,
                   line: list[int] = typer.Option(..., "--line", help="A detained line the statement is about."),
                   text: str = typer.Option(..., "--text"),
                   evidence: list[int] = typer.Option([], "--evidence", help="Evidence id, once per item."),
                   now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """The consignor files its written statement that the goods do not infringe."""
    from services.consignor_side import file_statement

    emit(file_statement(case_number=case_number, actor=actor, now=parse_time(now),
                        statement={"lines": line, "text": text, "evidence_ids": evidence}), as_json, _kv)


@statement_app.command("review")
@handled
def statement_review(statement_id: int, actor: str = AsOpt,
                     decision: str = typer.Option(..., "--decision", help="accepted or rejected"),
                     reason: str = typer.Option(..., "--reason"), now: str = NowOpt,
                     as_json: bool = JsonOpt) -> None:
    """The IPR officer accepts (the goods are released) or rejects a consignor's statement."""
    from services.consignor_side import review_statement

    emit(review_statement(statement_id=statement_id, actor=actor, now=parse_time(now),
                          review={"decision": decision, "reason": reason}), as_json, _kv)


@police_app.command("transfer")
@handled
def police_transfer(case_number: str, actor: str = AsOpt,
                    line: list[int] = typer.Option(..., "--line", help="A detained line, once per line."),
                    police_unit: str = typer.Option(..., "--police-unit"),
                    reference: str = typer.Option("", "--reference"),
                    grounds: str = typer.Option(..., "--grounds"), now: str = NowOpt,
                    as_json: bool = JsonOpt) -> None:
    """Transfer a suspected crime to the police (Reg 26)."""
    from services.police import transfer_to_police

    emit(transfer_to_police(case_number=case_number, actor=actor, now=parse_time(now),
                            transfer={"lines": line, "police_unit": police_unit, "reference": reference,
                                      "grounds": grounds}), as_json, _kv)


@counter_bond_app.command("receive")
@handled
def counter_receive(case_number: str, line_number: int, actor: str = AsOpt,
                    form: str = typer.Option(..., "--form", help="deposit or guarantee (bank guarantee letter)"),
                    amount: str = typer.Option(..., "--amount", help="RMB received; at least the line's value"),
                    bank: str = typer.Option("", "--bank"), letter_no: str = typer.Option("", "--letter-no"),
                    evidence: int = typer.Option(None, "--evidence", help="Evidence id of the scan."),
                    note: str = typer.Option("", "--note"), now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Record the consignor's counter-bond for a detained patent line: the line is released."""
    from services.counter_bonds import record_counter_bond

    emit(record_counter_bond(case_number=case_number, line_number=line_number, actor=actor, now=parse_time(now),
                             bond={"form": form, "amount": amount, "bank": bank, "letter_no": letter_no,
                                   "evidence_id": evidence, "note": note}), as_json, _kv)


@counter_bond_app.command("court-filing")
@handled
def counter_court_filing(case_number: str, line_number: int, actor: str = AsOpt,
                         court_name: str = typer.Option(..., "--court"),
                         reference: str = typer.Option(..., "--reference", help="The court's case number."),
                         received_at: str = typer.Option(None, "--received-at",
                                                         help="When customs received it (ISO, with zone)."),
                         evidence: int = typer.Option(None, "--evidence"), now: str = NowOpt,
                         as_json: bool = JsonOpt) -> None:
    """Record the court's acceptance notice the rights holder filed: customs keeps the counter-bond."""
    from services.counter_bonds import record_court_filing

    emit(record_court_filing(case_number=case_number, line_number=line_number, actor=actor, now=parse_time(now),
                             filing={"court": court_name, "reference": reference,
                                     "received_at": parse_time(received_at, "received_at"),
                                     "evidence_id": evidence}), as_json, _kv)


@counter_bond_app.command("refund")
@handled
def counter_refund(case_number: str, line_number: int, actor: str = AsOpt,
                   reference: str = typer.Option("", "--reference", help="The repayment or returned letter."),
                   note: str = typer.Option("", "--note"), evidence: int = typer.Option(None, "--evidence"),
                   now: str = NowOpt, as_json: bool = JsonOpt) -> None:
    """Record the refund of a counter-bond whose 30 working days passed with no court filing."""
    from services.counter_bonds import refund_counter_bond

    emit(refund_counter_bond(case_number=case_number, line_number=line_number, actor=actor, now=parse_time(now),
                             refund={"reference": reference, "note": note, "evidence_id": evidence}), as_json, _kv)


@counter_bond_app.command("show")
@handled
def counter_show(case_number: str, line_number: int, actor: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """A line's counter-bond: amount, state, the rights holder's deadline, the court filing, the refund."""
    from services.counter_bonds import counter_bond

    emit(counter_bond(case_number=case_number, line_number=line_number, actor=actor), as_json, _kv)
