"""End to end on the real stack (``yunque stack up``): the seed case through the command line, two
rights holders answering, the third notice expiring at a sweep, and the case's flow run Completed."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from tests import support
from tests.e2e.conftest import LiveStack

pytestmark = pytest.mark.slow


def wait_for(what: str, check, timeout: float = 180.0, every: float = 0.5):  # noqa: ANN001, ANN201
    """``tests.support.wait_for`` on the live stack: a check that raises (a part restarting) is tried again."""
    return support.wait_for(what, check, timeout, every, retry_errors=True)


def run_state(run_id: str) -> Any:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as c:
        return c.read_flow_run(UUID(run_id)).state


def case_run(stack: LiveStack, number: str) -> str:
    return wait_for(f"a flow run for {number}",
                    lambda: stack.cli_json("case", "show", number, "--as", "ipr.li")["flow_run_id"])


def wait_state(stack: LiveStack, number: str, state: str, timeout: float = 180.0) -> str:
    def check() -> str | None:
        run_id = case_run(stack, number)
        return run_id if run_state(run_id).type.value == state else None

    return wait_for(f"{number}'s run to be {state}", check, timeout)


def open_seed_case(stack: LiveStack, name: str) -> dict:
    """The seed seizure registered and confirmed by an IPR officer; the case once every notice is served (the
    stack runs the default rule: the mail server's acceptance serves a notice)."""
    seed = stack.var_dir / f"{name}.json"
    stack.cli("seed-shipment", "--out", str(seed))
    number = stack.cli_json("case", "open", str(seed), "--as", "site.wang")["number"]
    return confirm_and_wait(stack, number)


def confirm_and_wait(stack: LiveStack, number: str) -> dict:
    stack.cli_json("case", "confirm", number, "--as", "ipr.li")
    return wait_served(stack, number)


def wait_served(stack: LiveStack, number: str, timeout: float = 240) -> dict:
    """The case once every notice is served."""
    def served() -> dict | None:
        case = stack.cli_json("case", "show", number, "--as", "ipr.li")
        return case if all(n["state"] != "issued" for n in case["notices"]) else None

    return wait_for("the notices to be served by mail", served, timeout=timeout, every=1.0)


def notice_of(case: dict, brand: str) -> dict:
    return next(n for n in case["notices"] if brand in n["brands"])


def answer(stack: LiveStack, case: dict, brand: str, user: str, verdict: str, *extra: str) -> dict:
    n = notice_of(case, brand)
    return stack.cli_json("notice", "answer", str(n["id"]), "--as", user,
                          *[a for line in n["lines"] for a in ("--verdict", f"{line}={verdict}")], *extra)


def sweep_after_deadlines(stack: LiveStack, case: dict) -> dict:
    last = max(datetime.fromisoformat(n["deadline_at"]) for n in case["notices"])
    return stack.cli_json("sweep", "--now", (last + timedelta(minutes=1)).isoformat())


def effects(case_number: str) -> Counter:
    """How many times each effect a person could see is in the case's timeline."""
    from sqlmodel import select

    from models.tables import Case, TimelineEntry
    from tests.support import session_scope

    with session_scope(readonly=True) as s:
        case = s.exec(select(Case).where(Case.number == case_number)).one()
        return Counter((e.action, e.subject) for e in s.exec(select(TimelineEntry).where(TimelineEntry.case_id == case.id))
                       if e.action.startswith("line.") or e.action in ("notice.sent", "notice.expired", "decision.made",
                                                                         "decision.followed_up", "document.issued"))


def followed_up(number: str, kind: str) -> bool:
    from services.process import case_progress

    ds = [d for d in case_progress(case_number=number).decisions if d.kind == kind]
    return bool(ds) and all(d.followed_up_at for d in ds)


def test_the_seed_case_runs_end_to_end_on_the_stack(on_stack: LiveStack) -> None:
    live_stack = on_stack
    case = open_seed_case(live_stack, "seed-e2e")
    number = case["number"]
    assert len(case["notices"]) == 9
    wait_state(live_stack, number, "PAUSED")  # notices served, timers set, waiting without a process

    t0 = time.monotonic()
    answer(live_stack, case, "NIKE", "nike.agent", "not-infringing")
    shown = live_stack.cli_json("case", "show", number, "--as", "nike.agent")
    released_s = time.monotonic() - t0
    assert [ln["state"] for ln in shown["lines"]] == ["released"]  # at once, before any flow step
    wait_for("the release to be followed up", lambda: followed_up(number, "released"), timeout=180, every=0.2)
    followed_s = time.monotonic() - t0
    print(f"\nnot infringing -> released and shown (two CLI calls): {released_s:.2f} s; "
          f"-> follow-up done: {followed_s:.1f} s")

    answer(live_stack, case, "CHANEL", "chanel.agent", "infringing", "--detain", "--bond", "general")
    swept = sweep_after_deadlines(live_stack, case)
    assert len(swept["released"]) == 7
    run_id = wait_state(live_stack, number, "COMPLETED", timeout=240)

    final = live_stack.cli_json("case", "show", number, "--as", "ipr.li")
    states = {ln["brand"]: (ln["state"], ln["state_reason"]) for ln in final["lines"]}
    assert states.pop("NIKE") == ("released", "cleared")
    assert states.pop("CHANEL") == ("detained", "detention")
    assert set(states.values()) == {("released", "expired")}
    assert final["status"] == "open"  # the detained line keeps the case open; its clocks run on
    assert run_state(run_id).type.value == "COMPLETED"
    once = effects(number)
    assert all(n == 1 for n in once.values()), {k: n for k, n in once.items() if n > 1}
    assert sum(1 for a, _ in once if a == "decision.followed_up") == 9  # cleared, detained, one release per silent notice
    assert sum(1 for a, _ in once if a == "notice.sent") == 9
    kinds = Counter(d["kind"] for d in final["documents"])
    assert kinds["confirmation_notice"] == 9 and kinds["detention_receipt"] == 1 and kinds["release_notice"] >= 3


def test_a_case_run_cancelled_in_the_prefect_ui_is_restarted_from_its_managers_task(on_stack: LiveStack) -> None:
    """A manager cancels a waiting case run in the Prefect UI; a rights holder's answer then meets the stopped
    run: the decision is followed up all the same, the office's managers get a task, and restarting from it
    gives the case a fresh run that waits for the other rights holders."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    live_stack = on_stack
    case = open_seed_case(live_stack, "seed-cancelled")
    number = case["number"]
    run_id = wait_state(live_stack, number, "PAUSED")
    with get_client(sync_client=True) as c:
        c.set_flow_run_state(UUID(run_id), Cancelling(message="cancelled from the Prefect UI"))
    wait_for("the waiting run to be Cancelled", lambda: run_state(run_id).type.value == "CANCELLED", timeout=60)

    answer(live_stack, case, "NIKE", "nike.agent", "not-infringing")
    wait_for("the release to be followed up", lambda: followed_up(number, "released"), timeout=180, every=0.5)

    def the_task() -> dict | None:
        tasks = live_stack.cli_json("task", "list", "--as", "mgr.zhao", "--kind", "restart_process", "--case", number)
        return tasks[0] if tasks else None

    task = wait_for("the managers' task about the stopped run", the_task, timeout=60)
    live_stack.cli_json("task", "complete", str(task["id"]), "--as", "mgr.zhao", "--outcome", "restart")
    fresh = wait_for("a fresh run", lambda: (r := case_run(live_stack, number)) != run_id and r, timeout=120)
    wait_state(live_stack, number, "PAUSED")  # warm, waiting for the eight rights holders who have not answered
    shown = live_stack.cli_json("case", "show", number, "--as", "ipr.li")
    assert shown["flow_run_id"] == fresh
    assert live_stack.cli_json("task", "list", "--as", "mgr.zhao", "--kind", "restart_process", "--case", number) == []
    once = effects(number)
    assert sum(1 for a, _ in once if a == "notice.sent") == 9 and all(n == 1 for n in once.values()), once
