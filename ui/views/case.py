"""Case workspace: shipment and lines, notices with countdowns and answers, viewings, evidence,
documents and the timeline. Customs staff only; a case of another office does not exist here."""

from __future__ import annotations

import streamlit as st

from models.enums import LineState, Role
from models.rules.errors import NotFound
from models.schemas import CaseOut
from services import cases, portal
from ui import chrome, parts

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), *chrome.CUSTOMS)

st.title(tr("page.case"))
summaries = portal.list_cases(actor=actor.username)
numbers = [c.number for c in summaries]
wanted = st.query_params.get("case", "")
if wanted and wanted not in numbers:
    numbers = [wanted, *numbers]
picked = st.selectbox(tr("case_number"), numbers, index=numbers.index(wanted) if wanted in numbers else 0,
                      key="case.pick", placeholder=tr("no_cases")) if numbers else None
if not picked:
    st.info(tr("no_cases"))
    st.stop()
if picked != wanted:
    st.query_params["case"] = picked


@chrome.fragment(run_every=3)
def case_state(number: str) -> CaseOut | None:
    """What the case is now: its status, lines, notices, process map, documents and timeline. It refreshes
    itself every 3 s, so a release (or an answer, a detention) shows without a reload within 5 s (a 5 s
    period plus the query and the drawing took longer); the forms and the
    evidence images are outside it (typing is never interrupted, images are not fetched again)."""
    try:
        case = cases.get_case(case_number=number, actor=actor.username)
    except NotFound:
        st.error(tr("case_not_found"))
        return None
    chrome.facts([(tr("status"), tr(f"case_status.{case.status}")), (tr("route"), tr(f"route.{case.route}")),
                  (tr("declaration_no"), case.declaration_no),
                  (tr("lines"), len(case.lines)), (tr("items"), sum(ln.quantity for ln in case.lines))])
    st.text(f"{tr('customs_office')}: {case.customs_office}    {tr('found_at')}: {chrome.when(case.found_at)}    "
            f"{tr('opened_by')}: {chrome.person(case.opened_by, chrome.people(actor.username, [case.opened_by]))}")
    if case.consignor:
        st.text(f"{tr('consignor')}: {case.consignor['name']} ({case.consignor['uscc']})")
    if case.flow_run_id:
        from yunque.settings import get_settings

        st.link_button(tr("flow_run"), f"{get_settings().prefect_ui_url}/runs/flow-run/{case.flow_run_id}",
                       icon=":material/account_tree:")
    tabs = st.tabs([tr("lines"), tr("process_map"), tr("notices"), tr("documents"), tr("timeline")])
    with tabs[0]:
        parts.lines_table(case.lines, customs=actor.role.is_customs)
    with tabs[1]:
        parts.process_map(case.number, actor)
    with tabs[2]:
        parts.notices_block(case.notices)
    with tabs[3]:
        parts.documents_block(case.number, case.documents, actor)
    with tabs[4]:
        rows = portal.case_timeline(case_number=case.number, actor=actor.username)
        names = chrome.people(actor.username, [e.actor for e in rows])
        chrome.table([{tr("when"): chrome.when(e.at), tr("actor"): chrome.person(e.actor, names), tr("role"): chrome.code_label("role", e.actor_role),
                       tr("action"): chrome.action_text(e.action), tr("subject"): chrome.subject_text(e.subject),
                       tr("details"): chrome.change_text(e.action, e.before, e.after)} for e in rows])
    return case


case = case_state(picked)
if case is None:
    st.stop()

if st.session_state.get("case.flash"):  # what the last act did, said once after the rerun that shows it
    st.success(st.session_state.pop("case.flash"))
detained = [ln for ln in case.lines if ln.state in (LineState.DETAINED, LineState.UNDETERMINED)]
if detained and actor.role in (Role.IPR_OFFICER, Role.ADMIN):
    parts.decide_detained(case.number, detained, actor.username)
if actor.role in (Role.IPR_OFFICER, Role.ADMIN):
    parts.counter_bond_block(case.number, actor.username)

tab_viewings, tab_evidence = st.tabs([tr("viewings"), tr("evidence")])
with tab_viewings:
    parts.viewings_block(case.number, actor)
with tab_evidence:
    parts.evidence_gallery(case.number, actor)
