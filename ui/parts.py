"""Blocks several pages show: lines, notices, decisions on detained lines, viewings, evidence, documents;
and the goods read from a CSV file for the register page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import streamlit as st

from models.schemas import DocumentOut, LineOut, NoticeOut
from services import detention
from services.context import Actor
from ui import chrome
from ui.chrome import SHANGHAI, tr


def lines_table(lines: list[LineOut], *, customs: bool = False) -> None:
    """The lines with their state and clocks; for customs also what the confirming officer must look at
    (the Nice class stated, the match flags: outside the recordation's classes, the consignor a licensee)."""
    on_court_clock = any(ln.court_due and not ln.investigation_due for ln in lines)  # detained on application
    flagged = customs and any(ln.match_flags for ln in lines)
    chrome.table([{tr("line_no"): ln.number, tr("brand"): ln.brand, tr("description"): ln.description,
                   tr("quantity"): ln.quantity, tr("unit"): chrome.unit(ln.unit), tr("value"): chrome.money(ln.value),
                   tr("state"): chrome.state_label(ln.state), tr("reason"): chrome.code_label("reason", ln.state_reason),
                   tr("recordation"): ln.recordation, tr("rights_holder"): ln.rights_holder,
                   tr("investigation_due"): chrome.day(ln.investigation_due, ln.clocks_pending_year),
                   **({tr("apply_court_due"): chrome.day(ln.court_due, ln.clocks_pending_year)} if on_court_clock else {}),
                   **({tr("nice_class"): ln.nice_class,
                       tr("match_flags"): ", ".join(tr(f"flag.{f}") for f in ln.match_flags)} if flagged else {})}
                  for ln in lines])


def notices_block(notices: list[NoticeOut]) -> None:
    now = datetime.now(SHANGHAI)
    rows = []
    for n in notices:
        a = n.answer
        rows.append({
            tr("col.id"): n.id, tr("rights_holder"): n.rights_holder, tr("brands"): ", ".join(n.brands),
            tr("lines"): ", ".join(map(str, n.lines)), tr("state"): tr(f"notice_state.{n.state}"),
            tr("served_at"): chrome.when(n.served_at), tr("deadline"): chrome.day(n.deadline, n.deadline_pending_year),
            tr("countdown"): chrome.countdown(n.deadline_at, n.deadline, now, n.deadline_pending_year,
                                      served_at=n.served_at) if n.state in ("served", "claim-pending") else "",
            tr("answer"): "" if a is None else ", ".join(f"{k}: {tr('verdict.' + v)}" for k, v in sorted(a.verdicts.items())),
            tr("detain"): "" if a is None else (tr("yes") if a.detain else tr("no")),
            tr("bond"): "" if a is None or not a.detain else
            f"{chrome.code_label('bond_kind', a.bond_kind) or '—'} {a.bond_amount or ''} / {a.bond_required}",
            tr("confirmation_minutes"): n.confirmation_minutes,
        })
    chrome.table(rows)
    comments = [(n.rights_holder, n.answer.comment) for n in notices if n.answer and n.answer.comment]
    for holder, comment in comments:
        st.caption(chrome.md(holder))
        st.text(comment)  # the rights holder's own words: text, never markdown


def decide_detained(case_number: str, lines: list[LineOut], actor: str) -> None:
    tr = chrome.translator()
    st.subheader(tr("decide_detained"))
    with st.form("case.decide"):
        labels = {ln.number: f"{ln.number} · {ln.brand} · {chrome.state_label(ln.state)}" for ln in lines}  # this run's language
        number = st.selectbox(tr("line_no"), list(labels), format_func=labels.__getitem__)
        # No outcome chosen in advance: confiscation or release is the officer's decision, never a default.
        # a counter-bond is recorded with what customs received (services.counter_bonds), not chosen here
        outcomes = [o for o in detention.OUTCOMES if o != "counter-bond"]
        outcome = st.selectbox(tr("outcome"), outcomes, format_func=lambda o: tr(f"outcome.{o}"),
                               index=None, placeholder=tr("choose_outcome"), key="case.decide.outcome")
        note = st.text_area(tr("note"), max_chars=2000)
        if st.form_submit_button(tr("decide"), type="primary"):
            if outcome is None:
                st.error(tr("outcome_missing"))
            elif chrome.run_action(detention.decide_line, case_number=case_number, line_number=number, actor=actor,
                                 outcome=outcome, note=note, ok=tr("decided")) is not None:
                st.rerun()


def counter_bond_block(case_number: str, actor: str) -> None:
    """An IPR officer on a detained patent line records the consignor's counter-bond (反担保: what customs
    received; it releases the line, Reg 19, Meas 20); on a line whose counter-bond is held, the rights
    holder's court filing (受理案件通知书), which keeps it for the court. Refusals name the field."""
    from models.enums import CounterBondState, LineState
    from services import counter_bonds

    rows = counter_bonds.counter_bonds_of_case(case_number=case_number, actor=actor)
    detained = {r["line"]: r for r in rows if r["state"] == LineState.DETAINED and r["counter_bond"] is None}
    held = {r["line"]: r for r in rows if r["counter_bond"] and r["counter_bond"]["state"] == CounterBondState.HELD}
    if not detained and not held:
        return
    st.subheader(tr("counter_bond.title"))
    if held:
        chrome.table([{tr("line_no"): n, tr("field.amount"): chrome.money(r["counter_bond"]["amount"]),
                       tr("field.form"): tr(f"value.{r['counter_bond']['form']}"),
                       tr("counter_bond.received"): chrome.when(datetime.fromisoformat(r["counter_bond"]["received_at"])),
                       tr("counter_bond.court_due"): chrome.day(date.fromisoformat(r["counter_bond"]["court_due"]))
                       if r["counter_bond"]["court_due"] else tr("counter_bond.not_served")}
                      for n, r in held.items()])
    if detained:
        with st.form("case.counter_bond"):
            st.caption(tr("counter_bond.how"))
            lines = {n: tr("counter_bond.line", n=n, value=chrome.money(r["value"])) for n, r in detained.items()}  # this run's language
            forms = {v: tr(f"value.{v}") for v in ("deposit", "guarantee")}
            number = st.selectbox(tr("line_no"), list(lines), key="case.counter_bond.line", format_func=lines.__getitem__)
            form = st.selectbox(tr("field.form"), list(forms), format_func=forms.__getitem__, index=None,
                                placeholder=tr("counter_bond.choose_form"), key="case.counter_bond.form")
            amount = st.text_input(tr("field.amount"), key="case.counter_bond.amount", max_chars=20)
            bank = st.text_input(tr("field.bank"), key="case.counter_bond.bank", max_chars=200)
            letter_no = st.text_input(tr("field.letter_no"), key="case.counter_bond.letter_no", max_chars=100)
            evidence_id = st.text_input(tr("field.evidence_id"), key="case.counter_bond.evidence_id", max_chars=12)
            note = st.text_area(tr("field.note"), key="case.counter_bond.note", max_chars=2000)
            if st.form_submit_button(tr("counter_bond.record"), type="primary"):
                bond = {"form": form, "amount": amount, "bank": bank, "letter_no": letter_no, "note": note,
                        "evidence_id": evidence_id.strip() or None}
                if chrome.run_action(counter_bonds.record_counter_bond, case_number=case_number, line_number=number,
                                     actor=actor, bond=bond) is not None:
                    st.session_state["case.flash"] = tr("counter_bond.recorded", n=number)
                    st.rerun()
    if held:
        with st.form("case.court_filing"):
            st.caption(tr("court_filing.how"))
            number = st.selectbox(tr("line_no"), list(held), key="case.court_filing.line")
            court = st.text_input(tr("field.court"), key="case.court_filing.court", max_chars=200)
            reference = st.text_input(tr("field.reference"), key="case.court_filing.reference", max_chars=100)
            received_at = st.text_input(tr("field.received_at"), key="case.court_filing.received_at", max_chars=40,
                                        help=tr("court_filing.received_help"))
            evidence_id = st.text_input(tr("field.evidence_id"), key="case.court_filing.evidence_id", max_chars=12)
            if st.form_submit_button(tr("court_filing.record"), type="primary"):
                filing = {"court": court, "reference": reference, "received_at": received_at.strip() or None,
                          "evidence_id": evidence_id.strip() or None}
                if chrome.run_action(counter_bonds.record_court_filing, case_number=case_number, line_number=number,
                                     actor=actor, filing=filing) is not None:
                    st.session_state["case.flash"] = tr("court_filing.recorded", n=number)
                    st.rerun()


def _optional(module: str) -> Any:
    """A service module another part of Yunque provides; None if this installation lacks it."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(module) is None:
        return None
    return importlib.import_module(module)


def viewings_block(case_number: str, actor: Actor) -> None:
    viewing = _optional("services.viewing")
    if viewing is None:
        st.caption(tr("not_installed"))
        return
    items = viewing.list_viewings(case_number=case_number, actor=actor.username)
    if not items:
        st.info(tr("no_viewings"))
        return
    chrome.table([{tr("col.id"): v.id, tr("rights_holder"): v.rights_holder or "", tr("state"): tr(f"viewing_state.{v.state}"),
                   tr("requested_by"): v.requested_by, tr("requested_at"): chrome.when(v.requested_at),
                   tr("opened_at"): chrome.when(v.opened_at), tr("closed_at"): chrome.when(v.closed_at),
                   tr("lines"): ", ".join(map(str, v.line_numbers))} for v in items])
    for v in items:
        if v.state in ("approved", "open"):
            st.page_link("views/viewing.py", label=tr("join_room", id=v.id), icon=":material/videocam:",
                         query_params={"viewing": str(v.id)})


def evidence_gallery(case_number: str, actor: Actor) -> None:
    from services import evidence

    items = evidence.list_evidence(case_number=case_number, actor=actor.username, with_urls=True)
    if not items:
        st.info(tr("no_evidence"))
        return
    show_evidence(items)


def show_evidence(items: list[Any], columns: int = 3) -> None:
    cols = st.columns(columns)
    for i, e in enumerate(items):
        with cols[i % columns]:
            if e.kind == "photo" and e.url:
                st.image(e.url, width="stretch")
            elif e.kind == "video" and e.url:
                st.video(e.url)
            elif e.url:
                st.link_button(tr("download"), e.url)
            st.caption(f"#{e.id} · {tr('line_no')} {e.line_number or '—'} · {chrome.md(e.captured_by)} · "
                       f"{chrome.when(e.captured_at)}")
            st.code(e.sha256[:16], language=None)
            if e.note:
                st.text(e.note)


def documents_block(case_number: str, docs: list[DocumentOut], actor: Actor) -> None:
    """The case's documents the actor is entitled to; each downloads as the PDF that was issued.

    A fetched PDF is kept for the session (``ui.`` keys end with the sign-out), so its save button stays
    when a refreshing fragment around this block reruns."""
    from services import documents

    if not docs:
        st.info(tr("no_documents"))
        return
    for d in docs:
        c1, c2 = st.columns([4, 1])
        c1.text(f"{d.number} · {tr('doc.' + d.kind)} · {chrome.when(d.issued_at)}")
        fetched = f"ui.doc_pdf.{d.id}"
        if fetched not in st.session_state and c2.button(tr("download"), key=f"doc.{d.id}"):
            got = chrome.run_action(documents.document_bytes, number=d.number, actor=actor.username)
            if got is not None:
                st.session_state[fetched] = got
        if fetched in st.session_state:
            name, data = st.session_state[fetched]
            c2.download_button(tr("save_pdf"), data, file_name=name, mime="application/pdf", key=f"doc.dl.{d.id}")


def portal_viewing(notice: NoticeOut, lines: list[LineOut], actor: Actor) -> None:
    """A rights holder asks for a (remote) viewing of its lines, and joins the room once approved.

    The viewings' state refreshes itself every 10 s (an officer's approval shows "Join viewing room"
    without a reload); the request form sits outside that refresh, so typing in it is never interrupted."""
    viewing = _optional("services.viewing")
    if viewing is None:
        st.caption(tr("not_installed"))
        return
    flash = f"portal.viewing.flash.{notice.id}"
    if st.session_state.get(flash):
        st.success(st.session_state.pop(flash))
    mine = portal_viewing_status(notice, actor) or []  # None when the refresh failed (shown as an incident)
    if notice.state != "served" or any(v.state in ("requested", "approved", "open") for v in mine):
        return
    with st.form(f"portal.viewing.{notice.id}"):
        numbers = st.multiselect(tr("lines"), [ln.number for ln in lines], default=[ln.number for ln in lines],
                                 placeholder=tr("choose_options"), select_all=False)
        invite = st.checkbox(tr("invite_consignor"))
        note = st.text_area(tr("note"), max_chars=2000)
        if st.form_submit_button(tr("request_viewing"), type="primary"):
            if chrome.run_action(viewing.request_viewing, notice_id=notice.id, actor=actor.username,
                                 line_numbers=numbers or None, invite_consignor=invite, note=note) is not None:
                st.session_state[flash] = tr("viewing_requested")  # shown by the next run
                st.rerun()


@chrome.fragment(run_every=10)
def portal_viewing_status(notice: NoticeOut, actor: Actor) -> list[Any]:
    """The rights holder's viewings of one notice, with the room's link once approved (self-refreshing)."""
    viewing = _optional("services.viewing")
    mine = [v for v in viewing.list_viewings(case_number=notice.case_number, actor=actor.username) if v.notice_id == notice.id]
    for v in mine:
        st.text(f"#{v.id} · {tr('viewing_state.' + v.state)} · {chrome.when(v.requested_at)}")
        if v.decision_reason:
            st.text(v.decision_reason)
        if v.state in ("approved", "open"):
            st.page_link("views/viewing.py", label=tr("join_room", id=v.id), icon=":material/videocam:",
                         query_params={"viewing": str(v.id)})
    return mine


def answer_form(p: Any, *, key: str, submit: Any) -> bool:
    """A verdict per line, a detention application and its bond (the general bond if valid, or an
    individual bond whose required amount is computed and shown, Meas 23). True once recorded."""
    from decimal import Decimal

    from pydantic import ValidationError

    from models.schemas import AnswerIn
    from services.answers import required_bond

    tr = chrome.translator()
    st.caption(tr("answer_help"))
    verdicts: dict[int, str | None] = {}
    for ln in p.lines:
        label = f"{tr('line_no')} {ln.number} · {chrome.md(ln.brand)} · {ln.quantity} {chrome.md(chrome.unit(ln.unit))} · {chrome.money(ln.value)}"
        verdicts[ln.number] = st.radio(label,
                                       ["not-infringing", "infringing"], format_func=lambda v: tr(f"verdict.{v}"),
                                       horizontal=True, key=f"{key}.verdict.{ln.number}", index=None)
    claimed_values = [ln.value for ln in p.lines if verdicts.get(ln.number) == "infringing"]
    claimed_value = sum(claimed_values, Decimal("0"))
    detain = st.checkbox(tr("apply_detention"), key=f"{key}.detain", disabled=claimed_value == 0)
    bond: str | None = None
    if detain:
        required = required_bond(claimed_values=claimed_values)  # the rule record_answer enforces
        st.info(tr("bond_required", amount=chrome.money(required), value=chrome.money(claimed_value)))
        gb = p.general_bond
        options = (["general"] if gb else []) + ["individual"]
        kind = st.radio(tr("bond"), options, key=f"{key}.bond_kind", horizontal=True,
                        format_func=lambda k: tr("general_bond", ref=chrome.md(gb.reference), until=chrome.day(gb.valid_until))
                        if k == "general" and gb else tr("individual_bond"))
        bond = "general" if kind == "general" else st.text_input(tr("bond_amount"), value=f"{required:.2f}",
                                                                 key=f"{key}.bond_amount", max_chars=20)
    comment = st.text_area(tr("comment"), max_chars=2000, key=f"{key}.comment")
    if not st.button(tr("submit_answer"), type="primary", key=f"{key}.submit"):
        return False
    missing = [k for k, v in verdicts.items() if v is None]
    if missing:
        st.error(tr("field_error", field=tr("field.verdicts"), msg=tr("verdict_missing", lines=", ".join(map(str, missing)), n=len(missing))))
        return False
    try:
        data = AnswerIn.model_validate({"verdicts": verdicts, "detain": detain, "bond": bond, "comment": comment})
    except ValidationError as e:
        chrome.show_validation(e)
        return False
    return chrome.run_action(submit, data) is not None


# --- the process map (case page) ------------------------------------------------------------------------

_STEP_STYLE = {  # fill, border, font colour, border style
    "done": ("#d9f2e3", "#2e7d4f", "#1b4d30", "solid"),
    "current": ("#fff1d6", "#d9822b", "#6b3d00", "bold"),
    "todo": ("#ffffff", "#9aa0a6", "#5f6368", "dashed"),
    "skipped": ("#f1f3f4", "#c4c7c5", "#9aa0a6", "dotted"),
}


def _dot_text(text: str) -> str:
    """A DOT string literal's content: quotes and backslashes escaped, control characters dropped (the
    label is drawn as text, never as markup)."""
    return "".join(ch for ch in text.replace("\\", "\\\\").replace('"', '\\"') if ch >= " " or ch == "\n") \
        .replace("\n", "\\n")


def waiting_label(who: str | None, names: dict[str, str] | None = None) -> str:
    """Whom a step waits on: a role, the process, the court, a rights holder (by name) or a person (by the
    name they go by, from ``names``)."""
    if not who:
        return ""
    if who.startswith("group:"):
        return tr(f"role.{who.removeprefix('group:')}")
    if who in ("process", "court"):
        return tr(f"waiting.{who}")
    return (names or {}).get(who, who)


def step_lines(step, names: dict[str, str] | None = None) -> list[str]:  # noqa: ANN001
    """A step's label as lines: what it is, whose, and its state (done when / waiting on whom until when)."""
    lines = [tr(f"step.{step.kind}")]
    if step.detail:
        lines.append((names or {}).get(step.detail, step.detail))  # who registered the seizure: by name
    if step.state == "done" and step.at:
        lines.append(tr("step_done_at", at=chrome.when(step.at)))
    elif step.state == "current":
        lines.append(tr("step_waiting", who=waiting_label(step.waiting_on, names)))
        if step.until:
            lines.append(tr("step_until", at=chrome.when(step.until)))
    elif step.state == "skipped":
        lines.append(tr("step_skipped"))
    return lines


def map_dot(pmap, names: dict[str, str] | None = None) -> str:  # noqa: ANN001
    """The map as a DOT graph, left to right, each step styled by its state; each step's hover text is its
    label (a step's key, such as ``notice-1``, is never shown)."""
    # the graph's name is its hover text where no step is
    out = [f'digraph "{_dot_text(tr("process_map") + " · " + pmap.case_number)}" {{', '  rankdir=LR; nodesep=0.25; ranksep=0.35;',
           '  node [shape=box, style="rounded,filled", fontname="sans-serif", fontsize=11];',
           '  edge [color="#9aa0a6", arrowsize=0.7];']
    for step in pmap.steps:
        fill, border, font, line = _STEP_STYLE[step.state]
        lines = step_lines(step, names)
        label, hover = _dot_text("\n".join(lines)), _dot_text(" · ".join(lines))
        out.append(f'  "{_dot_text(step.key)}" [label="{label}", tooltip="{hover}", fillcolor="{fill}", '
                   f'color="{border}", fontcolor="{font}", style="rounded,filled,{line}"];')
    for a, b in pmap.edges:
        out.append(f'  "{_dot_text(a)}" -> "{_dot_text(b)}" [tooltip=" "];')
    out.append("}")
    return "\n".join(out)


def process_map(case_number: str, actor: Actor) -> None:
    """The case's path drawn from its real state, and what it waits on, as a diagram and as a table."""
    from services.process_map import case_map

    pmap = chrome.run_action(case_map, case_number=case_number, actor=actor.username)
    if pmap is None:
        return
    names = chrome.people(actor.username, [s.waiting_on for s in pmap.steps] + [s.detail for s in pmap.steps]
                          + [t.assignee for t in pmap.tasks])
    st.graphviz_chart(map_dot(pmap, names), width="stretch")
    waiting = [s for s in pmap.steps if s.state == "current"]
    if waiting:
        chrome.table([{tr("step"): tr(f"step.{s.kind}") + (f" · {s.detail}" if s.detail else ""),
                       tr("waiting_on"): waiting_label(s.waiting_on, names), tr("until"): chrome.when(s.until)}
                      for s in waiting])
    if pmap.tasks:
        st.caption(tr("open_tasks"))
        chrome.table([{tr("col.id"): t.id, tr("title"): chrome.task_title(t), tr("group"): chrome.code_label("role", t.candidate_group),
                       tr("assignee"): chrome.person(t.assignee, names) if t.assignee else "", tr("due"): chrome.when(t.due_at)}
                      for t in pmap.tasks])


#: The buckets of the managers' confirmation-time histogram, in minutes (lower bounds; the last is open).
CONFIRMATION_BUCKETS = (0, 10, 15, 30, 60, 240, 1440)


def confirmation_histogram(minutes: list[float]) -> Any:
    """Confirmations per bucket of minutes ("0–10", ..., "1440–∞": the chart's axis says "minutes" in the
    reader's language), ordered by each bucket's lower bound (never by its label, which sorts "1440–∞"
    before "15–30"); empty buckets are kept at 0."""
    import bisect

    import pandas as pd

    counts = [0] * len(CONFIRMATION_BUCKETS)
    for m in minutes:
        counts[max(bisect.bisect_right(CONFIRMATION_BUCKETS, m) - 1, 0)] += 1
    uppers = [*CONFIRMATION_BUCKETS[1:], None]
    labels = [f"{lo}–{hi if hi is not None else '∞'}" for lo, hi in zip(CONFIRMATION_BUCKETS, uppers, strict=True)]
    return pd.DataFrame({"bucket": labels, "lower": CONFIRMATION_BUCKETS, "count": counts})


@st.cache_data(ttl=30, show_spinner=False, max_entries=200)
def office_board(office: int | None, _username: str) -> Any:
    """The managers' board of one office (``None``: every office, the administrators'), computed at most
    once every 30 s for all who watch it: the query takes about 2 s and the board refreshes every 30 s for
    each manager. Keyed by the office only; the page has checked the role, and the first caller's
    ``board.board`` checks it again."""
    from services import board

    return board.board(actor=_username)


#: the register page's goods columns, with the catalog key of each one's heading
LINE_COLUMNS = {"description": "description", "brand": "brand", "quantity": "quantity", "unit": "unit",
                "value": "value_rmb"}


def lines_from_csv(data: Any) -> Any:  # a pandas DataFrame
    """The goods of a CSV file (a path, bytes' stream or uploaded file), its header in the codes
    (``description,brand,quantity,unit,value``) or in the page's headings in either language (品名, 品牌,
    数量, 单位, 价值（元）). ``ValueError`` naming the columns missing, in the reader's language."""
    import pandas as pd

    from ui.i18n import t

    seed = pd.read_csv(data, dtype=str, keep_default_na=False)
    aliases = {t(key, lang): code for code, key in LINE_COLUMNS.items() for lang in ("zh", "en")}
    aliases.update({code: code for code in LINE_COLUMNS})
    seed = seed.rename(columns=lambda c: aliases.get(str(c).strip(), str(c).strip()))
    missing = [code for code in LINE_COLUMNS if code not in seed.columns]
    if missing:
        raise ValueError(tr("lines_file_missing", columns="、".join(tr(LINE_COLUMNS[c]) for c in missing)))
    seed = seed[list(LINE_COLUMNS)]
    seed["quantity"] = pd.to_numeric(seed["quantity"], errors="coerce").fillna(0).astype(int)
    return seed
