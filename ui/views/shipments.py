"""Consignor view: its own shipments, the state of each line, detention receipts and release notices.

The shipments and the picked shipment's lines and documents refresh themselves every 3 s: a release
shows without a reload within 5 s (a 5 s period plus the query and the drawing took longer)."""

from __future__ import annotations

import streamlit as st

from models.enums import Role
from models.rules.errors import NotFound
from services import cases, portal
from ui import chrome, parts

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), Role.CONSIGNOR)

st.title(tr("page.shipments"))
mine = portal.my_shipments(actor=actor.username)
if not mine:
    st.info(tr("no_shipments"))
    st.stop()


@chrome.fragment(run_every=3)
def shipment_list() -> None:
    """Every shipment of the consignor with the state of its lines."""
    chrome.table([{tr("case_number"): c.number, tr("declaration_no"): c.declaration_no,
                   tr("customs_office"): c.customs_office, tr("found_at"): chrome.when(c.found_at),
                   tr("status"): tr(f"case_status.{c.status}"),
                   tr("lines"): ", ".join(f"{chrome.state_label(k)} {v}" for k, v in sorted(c.states.items()))}
                  for c in portal.my_shipments(actor=actor.username)])


@chrome.fragment(run_every=3)
def shipment_state(number: str) -> None:
    """One shipment's lines (中止放行, 扣留, 放行 ...) and the documents served on the consignor."""
    try:
        case = cases.get_case(case_number=number, actor=actor.username)
    except NotFound:
        st.error(tr("case_not_found"))
        return
    chrome.facts([(tr("declaration_no"), case.declaration_no), (tr("status"), tr(f"case_status.{case.status}"))])
    parts.lines_table(case.lines)
    st.subheader(tr("documents"))
    parts.documents_block(case.number, case.documents, actor)


shipment_list()
numbers = [c.number for c in mine]
wanted = st.query_params.get("case")
if wanted and wanted not in numbers:
    st.error(tr("case_not_found"))
    st.stop()
number = st.selectbox(tr("case_number"), numbers, index=numbers.index(wanted) if wanted else 0, key="shipments.case")
shipment_state(number)
