"""4. Inbox, case page and board at scale: 100,000 cases, 1,000,000 lines, 300,000 evidence records
and 500,000 tasks generated in the database; query times (median, p95) on SQLite and PostgreSQL.

The history ends at ``NOW``, the moment the board is asked about, so its 12-week window holds the
last weeks' work as an office would have it: answers (with their line verdicts), viewings with their
rooms opened before the answer, decisions, lines released and detained."""

from __future__ import annotations

import hashlib
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bench.common import database, pg_available, summary_ms, timed

LINE_STATES_OPEN = ["suspended", "detained", "suspended", "undetermined"]
LINE_STATES_CLOSED = ["released", "released", "confiscated", "released"]
#: the end of the generated history, and the board's "now"
NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
#: one case in this many asks for a viewing (remote, room opened before the answer)
VIEWING_EVERY = 10


def generate(cases: int, *, seed: int = 7, chunk: int = 20_000) -> dict[str, object]:
    """Bulk-insert a realistic office history (core inserts in chunks, one transaction each)."""
    from sqlalchemy import insert, select
    from sqlmodel import SQLModel

    from adapters.db import get_engine
    from yunque.settings import get_settings

    md = SQLModel.metadata
    T = md.tables
    rnd = random.Random(seed)
    engine = get_engine(get_settings().db_url)
    with engine.begin() as c:
        offices = [r.id for r in c.execute(select(T["customs_office"].c.id)).all()]
        recs = [(r.id, r.brand, r.rights_holder_id) for r in c.execute(select(T["recordation"].c.id, T["recordation"].c.brand, T["recordation"].c.rights_holder_id))]
        users = {r.username: r.id for r in c.execute(select(T["user_account"].c.username, T["user_account"].c.id))}
        c.execute(insert(T["consignor"]), [
            {"name": f"Bench consignor {i}", "uscc": f"91{i:06d}BENCH{i % 100000:05d}", "contact_emails": []}
            for i in range(1, 1001)])
        consignors = [r.id for r in c.execute(select(T["consignor"].c.id))]
    site, ipr = users["site.wang"], users["ipr.li"]
    start = NOW - timedelta(minutes=5 * cases)
    counts = {"cases": 0, "lines": 0, "notices": 0, "evidence": 0, "tasks": 0, "answers": 0, "viewings": 0,
              "decisions": 0}
    home_cases: list[str] = []  # cases of the first office, where the measured officers work
    next_id = {"case": 100_000_000, "notice": 100_000_000, "line": 100_000_000, "answer": 100_000_000}
    for base in range(0, cases, chunk // 10):
        n = min(chunk // 10, cases - base)
        ships, cs, notices, lines, evidence, tasks = [], [], [], [], [], []
        answers, verdicts, viewings, decisions = [], [], [], []
        for i in range(base, base + n):
            cid = next_id["case"] = next_id["case"] + 1
            opened = start + timedelta(minutes=5 * i)
            is_open = rnd.random() < 0.2
            office = offices[0] if rnd.random() < 0.9 or len(offices) == 1 else offices[1]
            ships.append({"id": cid, "declaration_no": f"{cid:018d}", "direction": "export", "customs_office_id": office,
                          "consignor_id": rnd.choice(consignors), "found_at": opened})
            if office == offices[0] and len(home_cases) < 5000:
                home_cases.append(f"YQB-{i:07d}")
            cs.append({"id": cid, "number": f"YQB-{i:07d}", "shipment_id": cid, "customs_office_id": office,
                       "status": "open" if is_open else "closed", "opened_at": opened, "opened_by_id": site, "version": 1,
                       "closed_at": None if is_open else opened + timedelta(days=2)})
            holders = rnd.sample(recs, 3)
            nids, answered_at = [], {}
            for _rid, _brand, holder in holders:
                nid = next_id["notice"] = next_id["notice"] + 1
                nids.append(nid)
                served = opened + timedelta(minutes=30)
                answered_at[nid] = None if is_open else served + timedelta(minutes=rnd.randint(5, 600))
                notices.append({"id": nid, "case_id": cid, "rights_holder_id": holder, "state": "served" if is_open else "answered",
                                "issued_at": served, "served_at": served, "served_by": "issue",
                                "deadline": (served + timedelta(days=3)).date(), "deadline_at": served + timedelta(days=3),
                                "answered_at": answered_at[nid], "version": 1})
                if answered_at[nid] is not None:
                    aid = next_id["answer"] = next_id["answer"] + 1
                    answers.append({"id": aid, "notice_id": nid, "answered_by_id": ipr, "answered_at": answered_at[nid],
                                    "detain": False, "comment": ""})
                if i % VIEWING_EVERY == 0:  # a remote viewing, its room opened a while before the answer
                    at = served + timedelta(minutes=3)
                    room = (answered_at[nid] - timedelta(minutes=rnd.randint(3, 30))) if answered_at[nid] else at
                    viewings.append({"case_id": cid, "notice_id": nid, "requested_by_id": ipr, "requested_at": at,
                                     "remote": True, "state": "closed" if answered_at[nid] else "open",
                                     "decided_by_id": ipr, "decided_at": at, "decision_reason": "",
                                     "consignor_invited": False, "opened_at": max(room, at),
                                     "closed_at": answered_at[nid], "line_ids": []})
            for ln in range(1, 11):
                k = rnd.randrange(3)
                rid, brand, holder = holders[k]
                state = rnd.choice(LINE_STATES_OPEN if is_open else LINE_STATES_CLOSED)
                lid = next_id["line"] = next_id["line"] + 1
                decided = answered_at[nids[k]] or opened + timedelta(days=1)
                lines.append({"id": lid, "case_id": cid, "number": ln, "description": f"Goods line {ln}", "brand": brand,
                              "quantity": rnd.randint(1, 500), "unit": "pcs", "value": Decimal(rnd.randint(100, 90000)),
                              "recordation_id": rid, "rights_holder_id": holder, "notice_id": nids[k], "state": state,
                              "state_reason": "cleared" if state == "released" else "detention", "suspended_at": opened,
                              "version": 1, "released_at": decided if state == "released" else None,
                              "detained_at": decided if state in ("detained", "confiscated", "undetermined") else None})
                if answered_at[nids[k]] is not None:
                    verdicts.append((nids[k], lid, "not-infringing" if state == "released" else "infringing"))
                    decisions.append({"case_id": cid, "notice_id": nids[k], "kind": "released" if state == "released"
                                      else "detained", "reason": "cleared" if state == "released" else "detention",
                                      "line_ids": [lid], "decided_by_id": ipr, "decided_at": decided, "deadline_met": True,
                                      "note": "", "followed_up_at": decided + timedelta(seconds=3)})
            for e in range(3):
                digest = hashlib.sha256(f"{cid}-{e}".encode()).hexdigest()
                evidence.append({"case_id": cid, "line_id": lid - rnd.randrange(10), "key": f"evidence/YQB-{i:07d}/{digest}",
                                 "sha256": digest, "size": 2_000_000, "content_type": "image/jpeg", "kind": "photo",
                                 "captured_by_id": site, "captured_at": opened + timedelta(minutes=40), "note": ""})
            for t in range(5):
                group = "ipr_officer" if t % 2 == 0 else "site_officer"
                live = is_open and t < 2
                tasks.append({"kind": "confirm_seizure" if t == 0 else "investigate", "case_id": cid, "customs_office_id": office,
                              "candidate_group": group, "assignee_id": None if live else (ipr if group == "ipr_officer" else site),
                              "title": f"Bench task {t} of YQB-{i:07d}", "due_at": opened + timedelta(days=3 + t),
                              "priority": rnd.randint(0, 100), "state": "open" if live else "completed", "created_at": opened,
                              "outcome": {}, "version": 1})
        with engine.begin() as c:
            c.execute(insert(T["shipment"]), ships)
            c.execute(insert(T["ipr_case"]), cs)
            c.execute(insert(T["notice"]), notices)
            c.execute(insert(T["goods_line"]), lines)
            c.execute(insert(T["evidence"]), evidence)
            c.execute(insert(T["human_task"]), tasks)
            if answers:
                c.execute(insert(T["answer"]), answers)
                answer_of = {a["notice_id"]: a["id"] for a in answers}
                c.execute(insert(T["line_verdict"]), [{"answer_id": answer_of[n], "line_id": lid, "verdict": v}
                                                      for n, lid, v in verdicts])
                c.execute(insert(T["decision"]), decisions)
            if viewings:
                c.execute(insert(T["viewing"]), viewings)
        counts["cases"] += len(cs)
        counts["lines"] += len(lines)
        counts["notices"] += len(notices)
        counts["evidence"] += len(evidence)
        counts["tasks"] += len(tasks)
        counts["answers"] += len(answers)
        counts["viewings"] += len(viewings)
        counts["decisions"] += len(decisions)
    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            for tbl in ("ipr_case", "notice", "goods_line", "shipment", "answer"):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{tbl}', 'id'), (SELECT max(id) FROM {tbl}))"))
            c.execute(text("ANALYZE"))
        else:
            from sqlalchemy import text

            c.execute(text("ANALYZE"))
    counts["home_cases"] = home_cases  # type: ignore[assignment]
    return counts


def _queries(home_cases: list[str], repeats: int) -> dict[str, dict[str, float]]:
    from services.cases import get_case
    from services.tasks import inbox

    rnd = random.Random(11)
    out: dict[str, dict[str, float]] = {}
    out["inbox_ipr"] = summary_ms([timed(lambda: inbox(actor="ipr.li")) for _ in range(repeats)])
    out["inbox_site"] = summary_ms([timed(lambda: inbox(actor="site.wang")) for _ in range(repeats)])
    out["inbox_manager"] = summary_ms([timed(lambda: inbox(actor="mgr.zhao")) for _ in range(repeats)])

    from services.board import board
    from services.evidence import list_evidence

    def case_page() -> None:
        number = rnd.choice(home_cases)
        get_case(case_number=number, actor="ipr.li")
        list_evidence(case_number=number, actor="ipr.li")

    out["case_page"] = summary_ms([timed(case_page) for _ in range(repeats)])
    seen = board(actor="mgr.zhao", now=NOW)  # the window holds the last 12 weeks of the history
    if not (seen.confirmation_minutes and seen.room_minutes and seen.outcomes):
        raise AssertionError("the board's window is empty: the generated history does not reach NOW")
    out["board"] = summary_ms([timed(lambda: board(actor="mgr.zhao", now=NOW)) for _ in range(max(5, repeats // 3))])
    out["board"]["window"] = {"answers": len(seen.confirmation_minutes), "rooms": len(seen.room_minutes),
                              "outcomes": len(seen.outcomes)}
    return out


def measure(kind: str, cases: int, repeats: int) -> dict[str, object]:
    with database(kind):
        t0 = time.perf_counter()
        counts = generate(cases)
        gen_s = time.perf_counter() - t0
        q = _queries(counts.pop("home_cases"), repeats)  # type: ignore[arg-type]
    return {"counts": counts, "generate_s": round(gen_s, 1), "queries": q}


def run(results: dict, quick: bool = False) -> None:
    cases = 10_000 if quick else 100_000
    repeats = 15 if quick else 40
    kinds = ["sqlite"] + (["postgres"] if pg_available() else [])
    detail = {}
    for kind in kinds:
        detail[kind] = measure(kind, cases, repeats)
    results["scale"] = detail
    s = detail["sqlite"]["queries"]
    results["inbox_p95_ms"] = s["inbox_ipr"]["p95_ms"]
    results["case_page_p95_ms"] = s["case_page"]["p95_ms"]
    if "board" in s:
        results["board_p95_ms"] = s["board"]["p95_ms"]
    if "postgres" in detail:
        p = detail["postgres"]["queries"]
        results["inbox_pg_p95_ms"] = p["inbox_ipr"]["p95_ms"]
        results["case_page_pg_p95_ms"] = p["case_page"]["p95_ms"]
        if "board" in p:
            results["board_pg_p95_ms"] = p["board"]["p95_ms"]


if __name__ == "__main__":
    import json
    import sys

    out: dict = {}
    run(out, quick="--full" not in sys.argv)
    print(json.dumps(out, indent=2, default=str))
