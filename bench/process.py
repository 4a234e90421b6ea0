"""3. The process against the floor of the tools it runs on, on the real stack, in the same run
(answer -> follow-up done is ``bench/followup.py``).

``cases_per_minute``: complete three-notice cases a minute end to end: the seizure registered (CHANEL,
GUCCI and NIKE goods), the process serves each notice (a PDF each), scripted rights holders answer each
notice once it was sent (CHANEL and NIKE, who hold a general bond, infringing with the goods detained
on it; GUCCI not infringing), the process releases or detains and issues the documents, and every
case's flow run is Completed.
``cases_inprocess_ratio``: that over the same work called in this process, one case after another,
with the stack's dispatcher held (SIGSTOP) so that it does none of it: registration, each notice
issued and mailed (the case run's own step), the answers, each decision followed up (the task
worker's own function).
``throughput_ratio``: that over empty flow runs a minute (as many started at once as there are cases,
to Completed). ``cases_per_minute_pg``: the same with the cases and the Prefect server on PostgreSQL."""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from bench.stack import (answer_all, case_runs, cpu_by_part, open_cases, run_states, running_stack, wait_for,
                         ample_general_bonds as _ample_general_bonds)

#: the rights holders with a general bond (总担保) of the demo data: they have the goods detained
INFRINGING = {"CHANEL", "NIKE"}
#: the brands of each case: three notices
BRANDS = ("CHANEL", "GUCCI", "NIKE")
#: the rounds of cases measured on the same stack (a tag of declaration numbers each; one round when
#: quick), the figure their median: one round of ten cases took 41 s and the next 76 s on the same stack
#: (the Prefect client waits 2, 4, 8 s after a refused write)
ROUND_TAGS = ("78", "79", "80")
INPROCESS_TAGS = ("77", "75", "74")


def _verdict(brand: str) -> str:
    return "infringing" if brand in INFRINGING else "not-infringing"


def _deploy_empty() -> None:
    from bench import empty_flow
    from yunque.settings import get_settings

    empty_flow.deploy(get_settings().work_pool)


def _empty_latency() -> float:
    from prefect.deployments import run_deployment

    from bench.empty_flow import DEPLOYMENT

    t0 = time.perf_counter()
    fr = run_deployment(DEPLOYMENT, timeout=600, as_subflow=False)
    took = time.perf_counter() - t0
    if fr.state is None or fr.state.type.value != "COMPLETED":
        raise RuntimeError(f"the empty flow run ended {fr.state}")
    return took


def pdf_render(rounds: int = 3) -> float:
    """Median seconds to render a confirmation notice (``adapters.pdf.render``) in this process, after
    a first render (which parses the fonts once per process)."""
    from sqlmodel import select

    from adapters.pdf import render
    from models.tables import Case, Notice
    from services.documents import plan_confirmation
    from yunque.bootstrap import bootstrap

    number = open_cases(1, tag="76", brands=BRANDS)[0].number  # a case of its own (the stack starts empty)
    with bootstrap().transaction(readonly=True) as s:
        case = s.exec(select(Case).where(Case.number == number)).one()
        docs = [plan_confirmation(s, n).doc for n in s.exec(select(Notice).where(Notice.case_id == case.id))]
    render(docs[0])
    times = []
    for _ in range(rounds):
        for doc in docs:
            t0 = time.perf_counter()
            render(doc)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _completed(numbers: list[str]) -> bool:
    runs = case_runs(numbers)
    if any(r is None for r in runs.values()):
        return False
    return all(s == "COMPLETED" for s in run_states([r for r in runs.values() if r]).values())


def cases_a_minute(n: int, *, root_pid: int, tag: str = ROUND_TAGS[0], timeout: float = 3600) -> dict[str, Any]:
    """``n`` cases from seizure to every flow run Completed, the rights holders answering as the
    notices reach them; then ``n`` empty flow runs started at once, to Completed. With the CPU seconds
    each part of the stack (under ``root_pid``) and this process used for the cases."""
    from flows.common import held_clients

    with held_clients():  # one client for the polls: a new one each second cost the server a request more
        return _cases_a_minute(n, root_pid=root_pid, tag=tag, timeout=timeout)


def _cases_a_minute(n: int, *, root_pid: int, tag: str, timeout: float) -> dict[str, Any]:
    from services.process import case_progress

    cpu0, own0 = cpu_by_part(root_pid), time.process_time()
    t0 = time.perf_counter()
    cases = open_cases(n, tag=tag, brands=BRANDS)
    numbers = [c.number for c in cases]
    answered: set[int] = set()
    end = time.monotonic() + timeout
    while not _completed(numbers):
        if time.monotonic() > end:
            raise TimeoutError(f"{n} cases not completed after {timeout:.0f} s")
        for case in cases:
            if all(n_.id in answered for n_ in case.notices):
                continue
            sent = {p.id for p in case_progress(case_number=case.number).notices if p.sent}
            ready = [n_ for n_ in case.notices if n_.id in sent and n_.id not in answered]
            if ready:
                answer_all(case.model_copy(update={"notices": ready}), _verdict)
                answered.update(n_.id for n_ in ready)
        time.sleep(1.0)
    cases_s = time.perf_counter() - t0
    cpu = {k: round(v - cpu0.get(k, 0.0), 1) for k, v in cpu_by_part(root_pid).items()}
    cpu["the bench (registering, answering, polling)"] = round(time.process_time() - own0, 1)
    _check_complete(numbers)

    from prefect.deployments import run_deployment

    from bench.empty_flow import DEPLOYMENT

    t1 = time.perf_counter()
    runs = [str(run_deployment(DEPLOYMENT, timeout=0, as_subflow=False).id) for _ in range(n)]
    wait_for(f"{n} empty runs", lambda: all(s == "COMPLETED" for s in run_states(runs).values())
             and len(run_states(runs)) == n, timeout=timeout, every=0.5)
    empty_s = time.perf_counter() - t1
    cpm, epm = n / cases_s * 60, n / empty_s * 60
    print(f"   {n} cases in {cases_s:.0f} s ({cpm:.2f}/min); {n} empty runs in {empty_s:.0f} s ({epm:.2f}/min); "
          f"CPU seconds for the cases, by part: {cpu}", flush=True)
    return {"cases": n, "cases_s": round(cases_s, 1), "cases_per_minute": round(cpm, 2), "cases_cpu_s": cpu,
            "empty_runs_per_minute": round(epm, 2), "throughput_ratio": round(cpm / epm, 3)}


def cases_a_minute_inprocess(n: int, dispatcher_pid: int, *, tag: str = INPROCESS_TAGS[0]) -> dict[str, Any]:
    """The same work as ``cases_a_minute`` called here, one case after another, while the stack's
    dispatcher is held so that it neither starts runs nor follows up (it stays held afterwards: the
    stack is stopped next, or measured in-process again)."""
    import signal

    from flows.case import serve_one
    from flows.tasks import follow_up
    from services.process import case_progress

    os.kill(dispatcher_pid, signal.SIGSTOP)
    t0 = time.perf_counter()
    cases = open_cases(n, tag=tag, brands=BRANDS)
    for case in cases:
        for notice in case.notices:
            serve_one(case.number, notice.id)  # the case run's step, without the run
        answer_all(case, _verdict)
        for d in case_progress(case_number=case.number).pending_decisions:
            follow_up(d.id)
    took = time.perf_counter() - t0
    _check_complete([c.number for c in cases])
    cpm = n / took * 60
    print(f"   {n} cases in-process in {took:.0f} s ({cpm:.2f}/min)", flush=True)
    return {"cases_inprocess_per_minute": round(cpm, 2)}


def _check_complete(numbers: list[str]) -> None:
    """Each case really is complete: no line waits, every decision followed up, documents issued."""
    from services.cases import get_case
    from services.process import case_progress

    for number in numbers:
        p = case_progress(case_number=number)
        if not p.settled:
            raise AssertionError(f"{number}: completed run but not settled: {p}")
        seen = get_case(case_number=number, actor="ipr.li")
        waiting = [ln.number for ln in seen.lines if ln.state not in ("released", "detained")]
        if waiting or not seen.documents:
            raise AssertionError(f"{number}: lines {waiting} not decided, {len(seen.documents)} documents")


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of several rounds: each the median of the rounds' (``cases_cpu_s``: that of the
    median round by cases a minute), with every round's cases a minute kept."""
    by_rate = sorted(rounds, key=lambda r: r["cases_per_minute"])
    cpm = statistics.median(r["cases_per_minute"] for r in rounds)
    epm = statistics.median(r["empty_runs_per_minute"] for r in rounds)
    return {"cases": rounds[0]["cases"], "cases_per_minute": round(cpm, 2),
            "cases_per_minute_rounds": [r["cases_per_minute"] for r in rounds],
            "cases_cpu_s": by_rate[(len(rounds) - 1) // 2]["cases_cpu_s"],
            "empty_runs_per_minute": round(epm, 2), "throughput_ratio": round(cpm / epm, 3)}


def _rounds(n: int, root_pid: int, quick: bool) -> dict[str, Any]:
    return median_round([cases_a_minute(n, root_pid=root_pid, tag=tag) for tag in ROUND_TAGS[:1 if quick else None]])


def run(results: dict, quick: bool = False) -> None:
    from bench.common import pg_available

    n = 3 if quick else 10
    with running_stack(prefix="yq-bench-process-") as stack:
        _deploy_empty()
        _ample_general_bonds()
        _empty_latency()  # the first run also imports and caches what every later one uses
        results["pdf_render_median_s"] = round(pdf_render(), 3)
        t = _rounds(n, stack.proc.pid, quick)
        results["cases_per_minute"] = t["cases_per_minute"]
        results["cases_per_minute_rounds"] = t["cases_per_minute_rounds"]
        results["cases_cpu_s"] = t["cases_cpu_s"]
        results["empty_runs_per_minute"] = t["empty_runs_per_minute"]
        results["throughput_ratio"] = t["throughput_ratio"]
        results["throughput_cases"] = t["cases"]
        base = [cases_a_minute_inprocess(n, stack.pid("dispatcher"), tag=tag)["cases_inprocess_per_minute"]
                for tag in INPROCESS_TAGS[:1 if quick else None]]
        results["cases_inprocess_per_minute"] = round(statistics.median(base), 2)
        results["cases_inprocess_ratio"] = round(t["cases_per_minute"] / results["cases_inprocess_per_minute"], 3)
    if pg_available():
        import psycopg

        from bench.common import PG_ADMIN

        names = [f"yq_bench_cases_{os.getpid()}", f"yq_bench_prefect_{os.getpid()}"]
        with psycopg.connect(PG_ADMIN, autocommit=True) as c:
            for name in names:
                c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                c.execute(f"CREATE DATABASE {name}")
        try:
            with running_stack(prefix="yq-bench-process-pg-", extra_env={
                    "YUNQUE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{names[0]}",
                    "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{names[1]}"}
                               ) as pg_stack:
                _deploy_empty()
                _ample_general_bonds()
                _empty_latency()
                t = _rounds(n, pg_stack.proc.pid, quick)
                results["cases_per_minute_pg"] = t["cases_per_minute"]
                results["cases_per_minute_pg_rounds"] = t["cases_per_minute_rounds"]
                results["empty_runs_per_minute_pg"] = t["empty_runs_per_minute"]
                results["throughput_ratio_pg"] = t["throughput_ratio"]
        finally:
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                for name in names:
                    c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    import json

    out: dict = {}
    run(out, quick=True)
    print(json.dumps(out, indent=2))
