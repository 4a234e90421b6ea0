"""`yunque counter-bond`: the consignor's counter-bond for a detained patent line, through the command line;
bad input exits 2 with one line naming the field, a broken rule exits 1, and nothing is written."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli.test_cli import FOUND, db_path, ok, refused, rows, shipment_file

AT = "2026-11-25T10:00:00+08:00"


def _patent(brand: str) -> None:
    with sqlite3.connect(db_path()) as conn:
        conn.execute("UPDATE recordation SET right_type = 'patent' WHERE brand = ?", (brand,))


def test_a_counter_bond_releases_a_detained_patent_line_and_bad_input_names_its_field(sqlite_db: str,
                                                                                        tmp_path: Path) -> None:
    _patent("ROLEX")
    lines = [{"description": "Watches", "brand": "ROLEX", "quantity": 4, "unit": "pcs", "value": "16000.00"},
             {"description": "Sports shoes", "brand": "NIKE", "quantity": 30, "unit": "pairs", "value": "9000.00"}]
    c = ok("case", "open", str(shipment_file(tmp_path, lines=lines)), "--as", "site.wang", "--now", FOUND, "--json")
    ok("case", "confirm", c["number"], "--as", "ipr.li", "--now", FOUND, "--json")
    rolex = str(next(n["id"] for n in c["notices"] if "ROLEX" in n["brands"]))
    ok("notice", "answer", rolex, "--as", "rolex.agent", "--verdict", "1=infringing", "--detain", "--bond", "16000",
       "--now", "2026-11-24T10:45:00+08:00", "--json")
    ok("bonds", "receive", rolex, "--as", "ipr.li", "--form", "deposit", "--amount", "16000",
       "--now", "2026-11-24T13:00:00+08:00", "--json")
    number = c["number"]
    before = rows()
    receive = ("counter-bond", "receive", number, "1", "--as", "ipr.li", "--now", AT)
    refused(*receive, "--form", "guarantee", "--amount", "15999.99", "--bank", "中国银行", "--letter-no", "BG-1",
            field="amount")
    refused(*receive, "--form", "cheque", "--amount", "16000", field="form")
    refused(*receive, "--form", "guarantee", "--amount", "16000", field="bank")
    refused(*receive, "--form", "deposit", "--amount", "-1", field="amount")
    refused("counter-bond", "receive", number, "2", "--as", "ipr.li", "--now", AT, "--form", "deposit",
            "--amount", "9000", field="line")  # NIKE: a trademark, still suspended
    refused("counter-bond", "receive", number, "1", "--as", "site.wang", "--now", AT, "--form", "deposit",
            "--amount", "16000", field="permission-denied", code=1)
    assert rows() == before

    out = ok(*receive, "--form", "guarantee", "--amount", "16000", "--bank", "中国银行北京分行", "--letter-no", "BG-2026-1125",
             "--json")
    assert (out["state"], out["amount"], out["court_due"]) == ("held", "16000.00", None)
    shown = ok("case", "show", number, "--as", "ipr.li", "--json")
    assert [(ln["state"], ln["state_reason"]) for ln in shown["lines"]][0] == ("released", "counter-bond")
    swept = ok("sweep", "--now", "2026-11-25T11:00:00+08:00", "--json")
    assert swept["counter_bonds"] == []  # the release notice is not served on the rights holder yet
    refused("counter-bond", "refund", number, "1", "--as", "ipr.li", "--now", "2026-11-25T12:00:00+08:00", field="line")
    refused("counter-bond", "court-filing", number, "1", "--as", "ipr.li", "--court", "北京知识产权法院",
            "--reference", "(2026)京73民初1号", "--received-at", "2026-11-25T11:30:00", "--now",
            "2026-11-25T12:00:00+08:00", field="received_at")
    kept = ok("counter-bond", "court-filing", number, "1", "--as", "ipr.li", "--court", "北京知识产权法院",
              "--reference", "(2026)京73民初1号", "--now", "2026-11-25T12:00:00+08:00", "--json")
    assert kept["state"] == "kept"
    assert ok("counter-bond", "show", number, "1", "--as", "ipr.li", "--json")["court_reference"] == "(2026)京73民初1号"
