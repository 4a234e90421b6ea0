"""One flow run per case (named after the case number, tagged with the office and the brands).

The run reads like the process: register the seizure, serve the notices and start their answer
clocks, wait for the rights holders, follow up each decision to release or detain (documents and
notifications), and start the detention clocks of detained lines.

Waiting holds no process: when nothing is left to do but wait, the run suspends itself
(``suspend_flow_run`` with a typed ``CaseUpdate`` input) and its process exits. The outbox dispatcher
resumes it when something happens to the case; the resumed run starts its body again from the top,
which is safe because every step is idempotent in the database (a notice is served once, a decision
followed up once) and the timers are idempotent in Prefect (one key per legal deadline).
"""

from __future__ import annotations

import importlib.util
from datetime import timedelta

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from prefect.states import Completed

from flows.common import (
    DETENTION_CLOCK,
    NOTICE_DEADLINE,
    RETRY_DELAYS,
    schedule_runs,
    transient_only,
)
from services import process

#: the longest a case waits suspended before the run gives up (the reconciliation then starts a
#: fresh run): well past any answer deadline, which is 3 working days after service
WAIT_LIMIT = timedelta(days=30)


class CaseUpdate(RunInput):
    """What wakes a waiting case: the outbox event that happened to it."""

    event_id: int
    topic: str


def installed(module: str) -> bool:
    """Whether a service module is part of this build (documents: issued PDFs; delivery: mail)."""
    return importlib.util.find_spec(module) is not None


@task(name="read-case", retries=3, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def read_case(case_number: str) -> process.CaseProgress:
    return process.case_progress(case_number=case_number)


@task(name="deliver-document", retries=4, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def deliver_document(document_id: int) -> None:
    if not installed("services.delivery"):
        return
    from services.delivery import deliver_document as deliver

    deliver(document_id=document_id)


@task(name="serve-notice", task_run_name="serve-notice-{notice_id}", retries=3, retry_delay_seconds=RETRY_DELAYS,
      retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def serve_notice(case_number: str, notice_id: int) -> bool:
    """Issue the confirmation notice (确权通知书) and send it to the rights holder, once."""
    key = process.notice_sent_key(notice_id)
    if process.step_done(key=key) is not None:
        return False
    docs: list[str] = []
    if installed("services.documents"):
        from services.documents import issue_for_notice

        doc = issue_for_notice(notice_id=notice_id)
        deliver_document(doc.id)
        docs.append(doc.number)
    return process.mark_step_done(key=key, case_number=case_number, action="notice.sent",
                                  result={"notice_id": notice_id, "documents": docs})


@task(name="start-clocks", retries=3, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only,
      cache_policy=NO_CACHE)
def start_clocks(case_number: str, notices: list[process.NoticeProgress], clocks: list[process.ClockProgress]) -> int:
    """Durable timers, one per legal deadline, kept by the Prefect server: the end of each waiting
    notice's last working day (Reg 16, Meas 25, 41), and for each detained line the 30-working-day
    investigation and 50-working-day court clocks (Reg 20, 24; Meas 28). A notice without a deadline
    (not served yet, or its calendar year unknown) gets its timer once the deadline is known."""
    deadlines = [{"parameters": {"notice_id": n.id, "deadline_at": n.deadline_at.isoformat()},
                  "key": f"deadline-notice-{n.id}", "at": n.deadline_at, "name": f"{case_number}-notice-{n.id}-deadline"}
                 for n in notices if n.deadline_at is not None]
    detention = []
    for c in clocks:
        if c.state == "detained" and c.investigation_due_at is not None:
            detention.append({"parameters": {"line_id": c.line_id, "clock": "investigation",
                                             "due_at": c.investigation_due_at.isoformat()},
                              "key": f"clock-investigation-line-{c.line_id}", "at": c.investigation_due_at,
                              "name": f"{case_number}-line-{c.line_number}-investigation"})
        if c.court_due_at is not None:
            detention.append({"parameters": {"line_id": c.line_id, "clock": "court", "due_at": c.court_due_at.isoformat()},
                              "key": f"clock-court-line-{c.line_id}", "at": c.court_due_at,
                              "name": f"{case_number}-line-{c.line_number}-court"})
    return len(schedule_runs(NOTICE_DEADLINE, deadlines)) + len(schedule_runs(DETENTION_CLOCK, detention))


@task(name="issue-decision-documents", task_run_name="documents-decision-{decision_id}", retries=3,
      retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def issue_decision_documents(decision_id: int) -> list[tuple[int, str]]:
    """Release notice, or detention notice and detention receipt (扣留凭单), or undetermined notice:
    issued once per decision (the service returns the existing ones on a repeat)."""
    if not installed("services.documents"):
        return []
    from services.documents import issue_for_decision

    return [(d.id, d.number) for d in issue_for_decision(decision_id=decision_id)]


@task(name="publish-decision-artifact", task_run_name="artifact-decision-{decision_id}", retries=3,
      retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def publish_decision_artifact(decision_id: int, documents: list[str]) -> None:
    """What a manager reads in the Prefect UI: which lines, which verdict, who, when, in time or not."""
    r = process.decision_report(decision_id=decision_id)
    met = {True: "yes", False: "no (the system acted at the deadline)", None: "not applicable"}[r.deadline_met]
    md = "\n".join([
        f"### {r.case_number}: {r.kind} ({r.reason})",
        "",
        f"- rights holder: {r.rights_holder or '-'} (notice {r.notice_id or '-'})",
        f"- decided by: {r.decided_by} ({r.decided_by_role}) at {r.decided_at.isoformat(timespec='seconds')}",
        f"- notice deadline: {r.notice_deadline_at.isoformat(timespec='seconds') if r.notice_deadline_at else '-'}",
        f"- deadline met: {met}",
        f"- documents: {', '.join(documents) if documents else '-'}",
        "",
        "| line | brand | description | quantity | value (RMB) | state |",
        "|---:|---|---|---:|---:|---|",
        *[f"| {ln.number} | {ln.brand} | {ln.description} | {ln.quantity} {ln.unit} | {ln.value} | {ln.state} |"
          for ln in r.lines],
    ])
    create_markdown_artifact(markdown=md, key=f"decision-{decision_id}",
                             description=f"{r.case_number}: lines {', '.join(str(ln.number) for ln in r.lines)} {r.kind}")


@task(name="mark-followed-up", task_run_name="followed-up-decision-{decision_id}", retries=3,
      retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def mark_followed_up(decision_id: int, documents: list[str]) -> bool:
    return process.mark_followed_up(decision_id=decision_id, documents=documents)


def follow_up(decision_id: int) -> bool:
    """Documents, notifications and the manager's artifact for one decision; then mark it done."""
    docs = issue_decision_documents(decision_id)
    for doc_id, _number in docs:
        deliver_document(doc_id)
    numbers = [n for _i, n in docs]
    publish_decision_artifact(decision_id, numbers)
    return mark_followed_up(decision_id, numbers)


@task(name="case-summary", retries=3, retry_delay_seconds=RETRY_DELAYS, retry_condition_fn=transient_only, cache_policy=NO_CACHE)
def case_summary(progress: process.CaseProgress) -> None:
    create_table_artifact(
        key=f"case-{progress.case_number.lower()}",
        table=[{"notice": n.id, "rights holder": n.rights_holder, "state": n.state,
                "deadline": n.deadline_at.isoformat(timespec="minutes") if n.deadline_at else "-"} for n in progress.notices],
        description=f"{progress.case_number}: notices at the end of the case process",
    )


def _step(case_number: str, p: process.CaseProgress) -> bool:
    """Do what the case's current state calls for; True if anything changed in the case."""
    changed = False
    for n in p.notices:
        if p.confirmed and not n.sent and n.state != "withdrawn":  # notices go out after the confirmation
            changed |= serve_notice(case_number, n.id)
    for d in p.pending_decisions:
        changed |= follow_up(d.id)
    return changed


def _clock_marks(p: process.CaseProgress) -> frozenset:
    return frozenset((n.id, n.deadline_at) for n in p.waiting_notices) | frozenset(
        (c.line_id, c.state, c.investigation_due_at, c.court_due_at) for c in p.clocks)


@flow(name="case-process", flow_run_name="{case_number}", log_prints=True)
def case_process(case_number: str):  # noqa: ANN201 - a Prefect state or a summary
    """Register the seizure, serve the notices, wait for the rights holders, release or detain, follow up."""
    log = get_run_logger()
    rounds = 0
    clocks_started: frozenset = frozenset()
    while True:
        p = read_case(case_number)
        if _step(case_number, p):
            continue  # something changed: read again before deciding to wait
        if _clock_marks(p) - clocks_started:
            start_clocks(case_number, p.waiting_notices, p.clocks)
            clocks_started |= _clock_marks(p)
        if p.settled:
            case_summary(p)
            released = sum(1 for d in p.decisions if d.kind == "released" for _ in d.lines)
            return Completed(message=f"{case_number}: every notice decided, {len(p.decisions)} decision(s) "
                                     f"followed up ({released} line(s) released)")
        waiting = ", ".join(f"notice {n.id} ({n.rights_holder}, {n.state})" for n in p.waiting_notices)
        log.info("%s waits for %s%s", case_number, waiting,
                 f"; {p.open_viewings} viewing(s) requested or under way" if p.open_viewings else "")
        # The key names the newest event this run has seen: an event after it wakes the run; a
        # resumed run that finds nothing new suspends again under the next round's key.
        update = suspend_flow_run(wait_for_input=CaseUpdate, key=f"wait-{p.last_event_id}-{rounds}",
                                  timeout=int(WAIT_LIMIT.total_seconds()))
        log.info("%s woken by event %s (%s)", case_number, update.event_id, update.topic)
        rounds += 1


@flow(name="decision-follow-up", flow_run_name="decision-{decision_id}", log_prints=True, retries=2,
      retry_delay_seconds=30)
def decision_follow_up(decision_id: int):  # noqa: ANN201
    """Follow up a decision taken after its case process ended (a detention clock, an officer's decision)."""
    r = process.decision_report(decision_id=decision_id)
    if r.followed_up_at is not None:
        return Completed(name="AlreadyFollowedUp", message=f"decision {decision_id} was followed up at {r.followed_up_at}")
    follow_up(decision_id)
    p = read_case(r.case_number)
    start_clocks(r.case_number, p.waiting_notices, p.clocks)
    return Completed(message=f"decision {decision_id} of {r.case_number} followed up")
