"""Outbox: every attempt to serve a document (mail accepted or refused, by hand, by post)."""

from __future__ import annotations

import streamlit as st

from services import delivery
from ui import chrome

tr = chrome.translator()
actor = chrome.require(chrome.actor_of_page(), *chrome.CUSTOMS)

st.title(tr("page.outbox"))


@chrome.fragment(run_every=10)
def listing() -> None:
    rows = delivery.outbox(actor=actor.username)
    if not rows:
        st.info(tr("no_deliveries"))
        return
    chrome.table([{tr("document_number"): d.document_number, tr("kind"): tr(f"doc.{d.document_kind}"),
                   tr("case_number"): d.case_number, tr("addressee"): d.addressee, tr("means"): chrome.code_label("value", d.means),
                   tr("attempt"): d.attempt, tr("state"): chrome.code_label("delivery_state", d.state), tr("recipients"): ", ".join(d.recipients),
                   tr("server_reply"): d.server_reply or "", tr("error"): d.error or "",
                   tr("started_at"): chrome.when(d.started_at), tr("accepted_at"): chrome.when(d.accepted_at)}
                  for d in rows])


listing()
