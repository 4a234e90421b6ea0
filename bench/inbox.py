"""Inbox filters at 500,000 open tasks: every view and filter of ``services.tasks.list_tasks`` (done by the
database, with paging), median and p95 on SQLite and PostgreSQL. Target: p95 <= 50 ms.

``python -m bench.inbox [--tasks N] [--repeats R]`` prints JSON; ``python -m bench --only inbox`` keeps it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bench.common import database, pg_available, summary_ms, timed

KINDS = ["confirm_seizure", "approve_viewing", "attend_viewing", "check_bond", "investigate", "serve_manually"]


def generate(open_tasks: int, *, done_tasks: int = 50_000, per_case: int = 50, seed: int = 11,
             chunk: int = 25_000) -> dict[str, object]:
    """Cases of the first office with ``open_tasks`` open or claimed tasks and ``done_tasks`` completed ones."""
    from sqlalchemy import insert, select
    from sqlmodel import SQLModel

    from adapters.db import get_engine
    from yunque.settings import get_settings

    T = SQLModel.metadata.tables
    rnd = random.Random(seed)
    engine = get_engine(get_settings().db_url)
    with engine.begin() as c:
        office = c.execute(select(T["customs_office"].c.id).order_by(T["customs_office"].c.id)).first().id  # type: ignore[union-attr]
        users = {r.username: r.id for r in c.execute(select(T["user_account"].c.username, T["user_account"].c.id))}
        consignor = c.execute(insert(T["consignor"]).values(name="Bench consignor", uscc="91BENCHINBOX000001",
                                                            contact_emails=[]).returning(T["consignor"].c.id)).scalar_one()
    ipr = [users[u] for u in ("ipr.li", "ipr.chen") if u in users]
    site = users["site.wang"]
    start = datetime(2026, 11, 2, tzinfo=UTC)
    total = open_tasks + done_tasks
    cases = (total + per_case - 1) // per_case
    numbers: list[str] = []
    for base in range(0, cases, chunk // per_case):
        n = min(chunk // per_case, cases - base)
        ships, cs, tasks = [], [], []
        for i in range(base, base + n):
            cid = 200_000_000 + i
            opened = start + timedelta(minutes=i)
            number = f"YQI-{i:07d}"
            numbers.append(number)
            ships.append({"id": cid, "declaration_no": f"{cid:018d}", "direction": "export", "customs_office_id": office,
                          "consignor_id": consignor, "found_at": opened})
            cs.append({"id": cid, "number": number, "shipment_id": cid, "customs_office_id": office, "status": "open",
                       "opened_at": opened, "opened_by_id": site, "version": 1})
            for t in range(per_case):
                k = i * per_case + t
                if k >= total:
                    break
                live = k < open_tasks
                group = "ipr_officer" if t % 3 else "site_officer"
                who = rnd.choice(ipr) if group == "ipr_officer" else site
                assigned = rnd.random() < 0.3
                tasks.append({"kind": rnd.choice(KINDS), "case_id": cid, "customs_office_id": office, "candidate_group": group,
                              "assignee_id": who if (assigned or not live) else None,
                              "title": f"Bench task {t} of {number}",
                              "due_at": None if rnd.random() < 0.05 else opened + timedelta(hours=rnd.randint(-48, 24 * 20)),
                              "priority": rnd.randint(0, 100),
                              "state": ("claimed" if assigned else "open") if live else "completed",
                              "created_at": opened, "completed_at": None if live else opened + timedelta(hours=2),
                              "completed_by_id": None if live else who, "outcome": {}, "version": 1})
        with engine.begin() as c:
            c.execute(insert(T["shipment"]), ships)
            c.execute(insert(T["ipr_case"]), cs)
            c.execute(insert(T["human_task"]), tasks)
    from sqlalchemy import text

    with engine.begin() as c:
        c.execute(text("ANALYZE"))  # both engines plan from fresh statistics
    return {"open_tasks": open_tasks, "done_tasks": done_tasks, "cases": cases, "numbers": numbers}


def _queries(numbers: list[str], repeats: int) -> dict[str, dict[str, float]]:
    from services.tasks import list_tasks

    now = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    rnd = random.Random(3)
    filters = {
        "mine": dict(actor="ipr.li", view="mine"),
        "group_unclaimed": dict(actor="ipr.li", view="group"),
        "office_all": dict(actor="mgr.zhao", view="office"),
        "office_page_100": dict(actor="mgr.zhao", view="office", offset=5000),
        "kind": dict(actor="ipr.li", view="group", kind="approve_viewing"),
        "case": lambda: dict(actor="ipr.li", view="office", case_number=rnd.choice(numbers)),
        "overdue": dict(actor="mgr.zhao", view="office", due="overdue", now=now),
        "assignee": dict(actor="mgr.zhao", view="office", assignee="ipr.chen"),
        "priority": dict(actor="ipr.li", view="group", priority_max=10),
        "done_by_me": dict(actor="ipr.li", view="done"),
    }
    out: dict[str, dict[str, float]] = {}
    for name, f in filters.items():
        kwargs = f if isinstance(f, dict) else None
        list_tasks(**(kwargs or f()))  # warm
        out[name] = summary_ms([timed(lambda: list_tasks(**(kwargs or f()))) for _ in range(repeats)])  # type: ignore[misc, operator]
    worst = max(v["p95_ms"] for v in out.values())
    out["worst"] = {"p95_ms": worst, "median_ms": max(v["median_ms"] for v in out.values()), "n": repeats}
    return out


def measure(kind: str, open_tasks: int, repeats: int) -> dict[str, object]:
    import time

    with database(kind):
        t = time.perf_counter()
        made = generate(open_tasks, done_tasks=max(open_tasks // 10, 100))
        built = round(time.perf_counter() - t, 1)
        return {"open_tasks": open_tasks, "generated_s": built, "queries": _queries(made["numbers"], repeats)}  # type: ignore[arg-type]


def run(results: dict, quick: bool = False) -> None:
    """Each engine at ``size`` open tasks, and at a hundredth of it in the same run as the baseline: the
    ratio of the worst p95s says how the views grow with the number of tasks (indexes: close to 1)."""
    size, repeats = (50_000, 20) if quick else (500_000, 40)
    kinds = ["sqlite", *(["postgres"] if pg_available() else [])]
    results["inbox"] = {}
    for kind in kinds:
        full, base = measure(kind, size, repeats), measure(kind, size // 100, repeats)
        worst, base_worst = full["queries"]["worst"]["p95_ms"], base["queries"]["worst"]["p95_ms"]  # type: ignore[index]
        results["inbox"][kind] = {**full, "baseline": base, "growth_ratio": round(worst / max(base_worst, 0.01), 2)}
    results["inbox_filters_p95_ms"] = results["inbox"]["sqlite"]["queries"]["worst"]["p95_ms"]
    results["inbox_filters_growth_ratio"] = results["inbox"]["sqlite"]["growth_ratio"]
    if "postgres" in results["inbox"]:
        results["inbox_filters_pg_p95_ms"] = results["inbox"]["postgres"]["queries"]["worst"]["p95_ms"]
        results["inbox_filters_pg_growth_ratio"] = results["inbox"]["postgres"]["growth_ratio"]


if __name__ == "__main__":
    import argparse
    import json

    p = argparse.ArgumentParser()
    p.add_argument("--tasks", type=int, default=500_000)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--only", choices=["sqlite", "postgres"], default=None)
    a = p.parse_args()
    res = {k: measure(k, a.tasks, a.repeats) for k in ("sqlite", "postgres") if a.only in (None, k)
           and (k == "sqlite" or pg_available())}
    print(json.dumps(res, indent=1))
