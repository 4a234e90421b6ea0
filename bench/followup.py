"""Answer -> follow-up done, on the real stack, against the same steps called in this process, in the
same run and under the same load.

Measured (``followup_p95_s``): a rights holder's "not infringing" (``services.answers.record_answer``,
the call the portal makes) until the decision is followed up (its release notice issued and mailed,
the manager's artifact published on the case's run, ``Decision.followed_up_at`` set): the outbox
dispatcher hands the decision to the warm task worker (``flows/tasks.py``) as a background task.

Baseline: the same answer, then the same follow-up steps (``flows.tasks.follow_up``) called here, in
this already-warm process, while the stack's dispatcher is held (SIGSTOP) so it cannot do them first.
Both are timed from the answer and polled the same way (``followed_up_at`` read every 50 ms) until
done. Samples alternate so both see the same load, and each starts once the stack has handed on the
outbox and finished its background tasks (``bench.stack.quiet``): the events of an in-process sample,
held in the outbox while the dispatcher was stopped, are not handed on during the next measured one.
``followup_inprocess_ratio`` = p95 / p95."""

from __future__ import annotations

import os
import signal
import statistics
import time
from typing import Any

from bench.common import percentile
from bench.stack import case_runs, open_cases, quiet, run_states, running_stack, wait_for

POLL_S = 0.05


def _followed_up(case_number: str, notice_id: int) -> bool:
    from services.process import case_progress

    ds = [d for d in case_progress(case_number=case_number).decisions if d.notice_id == notice_id]
    return bool(ds) and all(d.followed_up_at is not None for d in ds)


def _paused(numbers: list[str], timeout: float = 900) -> None:
    def check() -> bool:
        runs = case_runs(numbers)
        if any(r is None for r in runs.values()):
            return False
        return all(s == "PAUSED" for s in run_states([r for r in runs.values() if r]).values())

    wait_for(f"{len(numbers)} case runs to wait for their rights holders", check, timeout=timeout, every=1.0)


def _answer_nike(case: Any) -> tuple[int, float]:
    from services.answers import record_answer

    notice = next(n for n in case.notices if n.brands == ["NIKE"])
    t0 = time.perf_counter()
    record_answer(notice_id=notice.id, actor="nike.agent", answer={"verdicts": {ln: "not-infringing" for ln in notice.lines}})
    return notice.id, t0


def _until_followed_up(case: Any, notice_id: int, t0: float) -> float:
    wait_for("the follow-up", lambda: _followed_up(case.number, notice_id), timeout=600, every=POLL_S)
    return time.perf_counter() - t0


def measure(samples: int, dispatcher_pid: int) -> dict[str, Any]:
    from flows.tasks import follow_up
    from services.process import case_progress

    cases = open_cases(2 * samples, tag="79", brands=("NIKE", "CHANEL"))
    _paused([c.number for c in cases])
    # warm this process as the task worker is warm (fonts, templates, clients), on a case of its own
    warm = open_cases(1, tag="791", brands=("NIKE",))[0]
    os.kill(dispatcher_pid, signal.SIGSTOP)
    try:
        _answer_nike(warm)
        for d in case_progress(case_number=warm.number).pending_decisions:
            follow_up(d.id)
    finally:
        os.kill(dispatcher_pid, signal.SIGCONT)
    warm_stack = open_cases(1, tag="792", brands=("NIKE",))[0]
    _paused([warm_stack.number])
    nid, t0 = _answer_nike(warm_stack)
    _until_followed_up(warm_stack, nid, t0)

    measured, inprocess = [], []
    for i in range(samples):
        quiet()
        case = cases[2 * i]
        nid, t0 = _answer_nike(case)
        measured.append(_until_followed_up(case, nid, t0))

        quiet()
        case = cases[2 * i + 1]
        os.kill(dispatcher_pid, signal.SIGSTOP)
        try:
            nid, t0 = _answer_nike(case)
            for d in case_progress(case_number=case.number).pending_decisions:
                follow_up(d.id)
            inprocess.append(_until_followed_up(case, nid, t0))
        finally:
            os.kill(dispatcher_pid, signal.SIGCONT)
        print(f"   follow-up {measured[-1]:.2f} s on the stack, {inprocess[-1]:.2f} s in-process", flush=True)
    p95, p95_in = percentile(measured, 95), percentile(inprocess, 95)
    return {"followup_p95_s": round(p95, 2), "followup_median_s": round(statistics.median(measured), 2),
            "followup_inprocess_p95_s": round(p95_in, 2),
            "followup_inprocess_median_s": round(statistics.median(inprocess), 2),
            "followup_inprocess_ratio": round(p95 / p95_in, 2),
            "followup_samples_s": [round(x, 2) for x in measured],
            "followup_inprocess_samples_s": [round(x, 2) for x in inprocess]}


def run(results: dict, quick: bool = False) -> None:
    with running_stack(prefix="yq-bench-followup-") as stack:
        results.update(measure(5 if quick else 20, stack.pid("dispatcher")))


if __name__ == "__main__":
    import json

    out: dict = {}
    run(out, quick=True)
    print(json.dumps(out, indent=2))
