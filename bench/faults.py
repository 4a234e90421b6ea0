"""Faults on the real stack: kill -9 of the task worker that runs the case runs, the Prefect server, the
S3 server and the Streamlit server in turn, each in the middle of cases with evidence uploads.

For each component: a few cases are opened, a site officer uploads evidence to them without pause
(through ``services.evidence.add_evidence``, the call the capture page makes), and the component's
whole process group is killed with SIGKILL: the task worker (``flows.tasks --serve follow-ups``, where
the case runs run warm) while the case runs serve the notices, the others once half of the notices are
answered, while the process follows those answers up. The supervisor of ``yunque stack up`` restarts
it. Then the other notices are answered and the uploads stop. A run whose process was killed under
it stops sending heartbeats and Prefect's zombie automation marks it Crashed; a run taken (Pending)
but not started, the lost-pending automation; the reconciliation (every 5 minutes in production)
replaces either, and the bench starts it every 45 s.

Afterwards, for the cases of that round:
* every case completes (its flow run Completed, every notice decided and followed up, every line
  released or detained, its documents issued);
* the timeline shows every effect exactly once (lines released or detained, notices sent, decisions
  made and followed up, documents issued, evidence added);
* no evidence record lacks its object (with the recorded hash and size) and no object under
  ``evidence/`` lacks its record.

* a site officer signs in to the app through its own HTTP routes, as a browser does: the page load
  sets the pre-sign-in nonce cookie, the password check gives a one-time code, and ``/_yq/session``
  trades it for the session cookie (after the app's own kill this is the app restarted by the
  supervisor, serving again).

``faults`` in the results: ``{component: "ok" | what went wrong}``; ``faults_detail``: per component, the
uploads tried, stored and refused (an upload refused while the store was down must leave nothing behind),
the seconds the cases took to settle after the kill, and the seconds until the app signed an officer in
after it."""

from __future__ import annotations

import os
import signal
import threading
import time
import traceback
from io import BytesIO
from typing import Any

from bench.stack import (AGENTS, ample_general_bonds, case_runs, effects, open_cases, run_states, running_stack,
                         wait_for)

#: the component, the part of ``yunque stack up`` that runs it
COMPONENTS = [("task-worker", "tasks"), ("prefect-server", "prefect-server"), ("s3", "s3"), ("streamlit", "app")]
#: the part that runs the case runs (warm, ``flows.case.run_warm``)
RUNS_PART = "tasks"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
BRANDS = ("NIKE", "CHANEL", "GUCCI", "ROLEX")


#: uploads in one round at most (a round takes about 300): a round that hangs must not fill the disk
#: (one that waited its 15 minutes stored 37 GB)
MAX_UPLOADS = 1000


class Uploader(threading.Thread):
    """Uploads evidence files to the cases, one after another, until stopped (or ``MAX_UPLOADS``)."""

    def __init__(self, numbers: list[str], size: int) -> None:
        super().__init__(daemon=True)
        self.numbers = numbers
        self.size = size
        self.halt = threading.Event()
        self.tried = self.stored = 0
        self.refused: dict[str, int] = {}

    def run(self) -> None:
        from services.evidence import add_evidence

        i = 0
        while not self.halt.is_set() and self.tried < MAX_UPLOADS:
            number = self.numbers[i % len(self.numbers)]
            body = MP4_HEAD + os.urandom(self.size - len(MP4_HEAD))
            self.tried += 1
            try:
                add_evidence(case_number=number, actor="site.wang", stream=BytesIO(body), filename=f"clip-{i}.mp4",
                             line_number=1, note="bench: fault round")
                self.stored += 1
            except Exception as e:  # noqa: BLE001 - the store or the database restarting: counted, tried again
                self.refused[type(e).__name__] = self.refused.get(type(e).__name__, 0) + 1
                time.sleep(0.2)
            i += 1


def _answer(case: Any, notices: list[Any]) -> None:
    """The rights holders answer (retrying while a part restarts): CHANEL infringing with the goods
    detained on its general bond, the others not infringing."""
    from models.rules.errors import YunqueError
    from services.answers import record_answer

    for notice in notices:
        brand = notice.brands[0]
        verdict = "infringing" if brand == "CHANEL" else "not-infringing"
        body: dict[str, Any] = {"verdicts": {ln: verdict for ln in notice.lines}}
        if verdict == "infringing":
            body.update({"detain": True, "bond": "general"})

        def give(n: Any = notice, b: dict = body) -> bool:
            try:
                record_answer(notice_id=n.id, actor=AGENTS[n.brands[0]], answer=b, idempotency_key=f"bench-{n.id}")
            except YunqueError as e:
                raise AssertionError(f"notice {n.id}: the answer was refused: {e}") from e
            return True

        wait_for(f"notice {notice.id}'s answer to be taken", give, timeout=120, every=1.0)


def _reconcile() -> None:
    """The reconciliation on demand (a lost run is marked Crashed by Prefect's zombie automation)."""
    from prefect.deployments import run_deployment

    run_deployment("reconcile/reconcile", timeout=0, as_subflow=False)


def _reconciling(done: Any, *, timeout: float, every: float = 45.0) -> bool:
    """Wait until ``done()``, starting the reconciliation every ``every`` seconds; False at ``timeout``."""
    deadline = time.monotonic() + timeout
    last_reconcile = 0.0
    while not done():
        if time.monotonic() > deadline:
            return False
        if time.monotonic() - last_reconcile > every:
            try:
                _reconcile()
                last_reconcile = time.monotonic()
            except Exception:  # noqa: BLE001 - the server restarting: next time
                pass
        time.sleep(2.0)
    return True


def _all_sent(numbers: list[str]) -> bool:
    from services.process import case_progress

    try:
        return all(all(n.sent for n in case_progress(case_number=x).notices) for x in numbers)
    except Exception:  # noqa: BLE001 - the database restarting: not yet
        return False


def _settled(numbers: list[str]) -> bool:
    try:
        return _all_settled(numbers)
    except Exception:  # noqa: BLE001 - the Prefect server or the database restarting: not yet
        return False


def _all_settled(numbers: list[str]) -> bool:
    from services.process import case_progress

    runs = case_runs(numbers)
    if any(r is None for r in runs.values()):
        return False
    states = run_states([r for r in runs.values() if r])
    return all(s == "COMPLETED" for s in states.values()) and all(
        case_progress(case_number=n).settled for n in numbers)


def _check(numbers: list[str]) -> list[str]:
    """What is wrong with the round's cases and with the evidence store (empty: nothing)."""
    from sqlmodel import select

    from models.tables import Evidence
    from services.cases import get_case
    from services.evidence import store
    from yunque.bootstrap import bootstrap

    wrong: list[str] = []
    for number in numbers:
        seen = get_case(case_number=number, actor="ipr.li")
        waiting = [ln.number for ln in seen.lines if ln.state not in ("released", "detained")]
        if waiting:
            wrong.append(f"{number}: lines {waiting} undecided")
        if not seen.documents:
            wrong.append(f"{number}: no documents")
        twice = {f"{a} {s}": n for (a, s), n in effects(number).items() if n != 1}
        if twice:
            wrong.append(f"{number}: effects not once: {twice}")
    st = store()
    with bootstrap().transaction(readonly=True) as s:
        records = {e.key: (e.sha256, e.size) for e in s.exec(select(Evidence))}
    keys = set(st.list_keys("evidence/"))
    lacking_object = [k for k in records if k not in keys]
    lacking_record = [k for k in keys if k not in records]
    bad_bytes = [k for k, v in records.items() if k in keys and st.hash_of(k) != v]
    if lacking_object:
        wrong.append(f"{len(lacking_object)} evidence records without their object, e.g. {lacking_object[0]}")
    if lacking_record:
        wrong.append(f"{len(lacking_record)} objects without a record, e.g. {lacking_record[0]}")
    if bad_bytes:
        wrong.append(f"{len(bad_bytes)} objects whose bytes differ from their record, e.g. {bad_bytes[0]}")
    return wrong


def _app_signs_in(stack: Any, user: str = "site.wang") -> None:
    """A browser's sign-in against the app's HTTP routes: page load (nonce cookie), password, handoff."""
    import httpx

    from services.sessions import sign_in

    with httpx.Client(base_url=stack.app_url, timeout=10) as web:
        page = web.get("/")
        nonce = web.cookies.get("yq_nonce")
        if page.status_code != 200 or not nonce:
            raise AssertionError(f"the app's page answered {page.status_code} without a nonce cookie")
        signed = sign_in(username=user, password=stack.passwords[user], nonce=nonce)
        back = web.get("/_yq/session", params={"code": signed.handoff}, follow_redirects=False)
        if back.status_code != 303 or not web.cookies.get("yq_session"):
            raise AssertionError(f"/_yq/session answered {back.status_code} without the session cookie")


def _until_app_signs_in(stack: Any, since: float, timeout: float = 180) -> float:
    end = time.monotonic() + timeout
    while True:
        try:
            _app_signs_in(stack)
            return round(time.monotonic() - since, 1)
        except Exception as e:  # noqa: BLE001 - the app (or what it needs) still restarting
            if time.monotonic() > end:
                raise AssertionError(f"the app did not sign an officer in {timeout:.0f} s after the kill: {e}") from e
            time.sleep(0.5)


def one_round(stack: Any, component: str, part: str, *, cases: int, upload_size: int) -> tuple[str, dict[str, Any]]:
    opened = open_cases(cases, tag=f"9{COMPONENTS.index((component, part)) + 1}", brands=BRANDS)
    numbers = [c.number for c in opened]
    uploader = Uploader(numbers, upload_size)
    uploader.start()
    try:
        from services.process import case_progress

        if part == RUNS_PART:
            # the task worker carries the case runs, which run while they serve the notices: kill it then
            try:
                wait_for("a case run to be running", lambda: "RUNNING" in run_states(
                    [r for r in case_runs(numbers).values() if r]).values(), timeout=60, every=0.1)
            except TimeoutError:
                pass  # a fast machine served everything already: kill now all the same
            time.sleep(0.5)
        else:
            # the runs serve the notices; the first half is answered as soon as it was sent, and the
            # component is killed in the middle of their follow-ups
            wait_for("the notices to be sent", lambda: all(all(n.sent for n in case_progress(case_number=x).notices)
                                                           for x in numbers), timeout=900, every=1.0)
            for case in opened:
                _answer(case, case.notices[: len(case.notices) // 2])
        victim = stack.pid(part)
        os.killpg(victim, signal.SIGKILL)
        t_kill = time.monotonic()
        wait_for(f"the supervisor to restart {part}", lambda: stack.pid(part) != victim, timeout=120, every=0.2)
        app_back = _until_app_signs_in(stack, t_kill)
        if part == RUNS_PART:  # the runs lost with the task worker are replaced, and the notices go out
            if not _reconciling(lambda: _all_sent(numbers), timeout=900):
                return "notices not sent 15 minutes after the kill", {}
        for case in opened:
            _answer(case, case.notices[len(case.notices) // 2:] if part != RUNS_PART else case.notices)
        time.sleep(2.0)
    finally:
        uploader.halt.set()
        uploader.join(120)
    # a run lost with its worker, or with the server it reported to, is replaced by the reconciliation
    if not _reconciling(lambda: _settled(numbers), timeout=900):
        progress = {n: case_progress(case_number=n).settled for n in numbers}
        return f"cases not complete 15 minutes after the kill: {progress}", {}
    took = time.monotonic() - t_kill
    wrong = _check(numbers)
    stats = {"uploads_tried": uploader.tried, "uploads_stored": uploader.stored, "uploads_refused": uploader.refused,
             "settled_after_kill_s": round(took, 1), "app_sign_in_after_kill_s": app_back}
    return ("ok" if not wrong else "; ".join(wrong)), stats


def run(results: dict, quick: bool = False) -> None:
    faults: dict[str, str] = {}
    stats: dict[str, Any] = {}
    with running_stack(prefix="yq-bench-faults-") as stack:
        ample_general_bonds()  # four rounds of CHANEL detentions on its general bond
        for component, part in COMPONENTS:
            try:
                verdict, st = one_round(stack, component, part, cases=2 if quick else 4,
                                        upload_size=(1 if quick else 4) * 1024 * 1024)
            except Exception as e:  # noqa: BLE001 - reported per component; the next still runs
                traceback.print_exc()
                verdict, st = f"{type(e).__name__}: {e}", {}
            faults[component] = verdict
            stats[component] = st
            print(f"   kill -9 {component}: {verdict} {st}", flush=True)
    results["faults"] = faults
    results["faults_detail"] = stats


if __name__ == "__main__":
    import json

    out: dict = {}
    run(out, quick=True)
    print(json.dumps(out, indent=2))
