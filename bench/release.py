"""1. Release on the spot: from a rights holder's "not infringing" (the service the UI calls) to the
lines released and visible to another party, over >= 200 answers with 50 cases open at once."""

from __future__ import annotations

import time
from datetime import timedelta

from bench.common import database, open_confirmed, summary_ms


def measure(kind: str, cases: int = 50, answers: int = 200) -> dict[str, float]:
    from models.types import utcnow
    from services.answers import record_answer
    from services.cases import get_case
    from services.demo import seed_shipment

    with database(kind):
        now = utcnow()
        opened = []
        for i in range(cases):
            shipment = seed_shipment(now)
            shipment["declaration_no"] = f"9{i:017d}"
            opened.append(open_confirmed(shipment, now=now))
        agents = {"CHANEL": "chanel.agent", "NIKE": "nike.agent", "HERMES": "hermes.agent", "ADIDAS": "adidas.agent",
                  "LOUIS VUITTON": "lv.agent", "GUCCI": "gucci.agent", "PRADA": "prada.agent",
                  "BURBERRY": "burberry.agent", "ROLEX": "rolex.agent"}
        todo = [(c, n) for c in opened for n in c.notices][:answers]
        samples = []
        for case, notice in todo:
            agent = agents[notice.brands[0]]
            t0 = time.perf_counter()
            record_answer(notice_id=notice.id, actor=agent, now=utcnow() + timedelta(seconds=1),
                          answer={"verdicts": {ln: "not-infringing" for ln in notice.lines}})
            seen = get_case(case_number=case.number, actor="site.wang")  # visible to the site officer
            assert all(ln.state == "released" for ln in seen.lines if ln.number in notice.lines)
            samples.append(time.perf_counter() - t0)
        return summary_ms(samples)


def run(results: dict, quick: bool = False) -> None:
    from bench.common import pg_available

    n = 60 if quick else 200
    r = measure("sqlite", cases=50, answers=n)
    results["release_median_ms"] = r["median_ms"]
    results["release_p95_ms"] = r["p95_ms"]
    results["release_answers"] = r["n"]
    if pg_available():
        p = measure("postgres", cases=50, answers=n)
        results["release_pg_median_ms"] = p["median_ms"]
        results["release_pg_p95_ms"] = p["p95_ms"]


if __name__ == "__main__":
    import json

    out: dict = {}
    run(out, quick=True)
    print(json.dumps(out, indent=2))
