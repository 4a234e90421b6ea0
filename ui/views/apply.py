"""A rights holder applies for the detention of a named shipment (申请扣留, Reg 12-15), and follows its
applications: under review, accepted (detained, 20 working days to a court notice), rejected or withdrawn."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from models.enums import Role
from services import applications, recognition
from ui import chrome
from ui.chrome import SHANGHAI

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), Role.RIGHTS_HOLDER)

st.title(tr("page.apply"))
st.caption(tr("apply_intro"))

EMPTY = pd.DataFrame([{"description": "", "quantity": 1, "unit": tr("unit.default"), "value": "0.00"}])
records = [r.recordation for r in recognition.my_recordations(actor=actor.username)]
offices = applications.offices_to_apply_to(actor=actor.username)

if not records:
    st.info(tr("apply_no_recordation"))
else:
    goods = st.data_editor(EMPTY, num_rows="dynamic", key="apply.lines", width="stretch",
                           column_config={"description": st.column_config.TextColumn(tr("description"), max_chars=500),
                                          "quantity": st.column_config.NumberColumn(tr("quantity"), min_value=1, step=1),
                                          "unit": st.column_config.TextColumn(tr("unit"), max_chars=20),
                                          "value": st.column_config.TextColumn(tr("value_rmb"), max_chars=20)})
    with st.form("apply.form"):
        c1, c2 = st.columns(2)
        office = c1.selectbox(tr("customs_office"), [code for code, _ in offices],
                              format_func=lambda c: next(name for code, name in offices if code == c))
        recordation = c2.selectbox(tr("recordation"), records)
        c3, c4 = st.columns(2)
        declaration_no = c3.text_input(tr("declaration_no"), max_chars=18, key="apply.declaration_no")
        direction = c4.selectbox(tr("direction"), ["export", "import"], format_func=lambda d: tr(f"direction.{d}"))
        c5, c6 = st.columns(2)
        consignor_name = c5.text_input(tr("consignor"), max_chars=500, key="apply.consignor_name")
        uscc = c6.text_input(tr("uscc"), max_chars=18, key="apply.uscc")
        c7, c8 = st.columns(2)
        expected_on = c7.date_input(tr("apply_expected_on"), value=None, key="apply.expected_on",
                                    min_value=datetime.now(SHANGHAI).date())
        transport = c8.text_input(tr("apply_transport"), max_chars=200, key="apply.transport")
        grounds = st.text_area(tr("apply_grounds"), max_chars=4000, key="apply.grounds")
        st.caption(tr("apply_bond_note"))
        submitted = st.form_submit_button(tr("apply_submit"), type="primary")
    if submitted:
        rows = [{"description": str(r.get("description") or ""),
                 "quantity": int(r["quantity"]) if pd.notna(r.get("quantity")) else 0,
                 "unit": str(r.get("unit") or ""), "value": str(r.get("value") or "")}
                for r in goods.to_dict("records") if str(r.get("description") or "").strip()]
        filed = chrome.run_action(applications.file_application, actor=actor.username, application={
            "customs_office": office, "declaration_no": declaration_no.strip(), "direction": direction,
            "consignor": {"name": consignor_name, "uscc": uscc.strip().upper()}, "recordation": recordation,
            "lines": rows, "grounds": grounds, "expected_on": expected_on, "transport": transport})
        if filed is not None:
            st.success(tr("apply_filed", n=filed["case_number"], amount=chrome.money(filed["bond_required"])))

st.subheader(tr("apply_mine"))


@chrome.fragment(run_every=10)
def my_applications() -> None:
    rows = applications.list_applications(actor=actor.username)
    if not rows:
        st.caption(tr("apply_none"))
        return
    chrome.table([{tr("case_number"): a["case_number"], tr("state"): tr(f"application.{a['state']}"),
                   tr("brand"): a["brand"], tr("declaration_no"): a["declaration_no"],
                   tr("value_rmb"): chrome.money(a["value"]), tr("apply_bond_required"): chrome.money(a["bond_required"]),
                   tr("apply_court_due"): ", ".join(chrome.day(date.fromisoformat(d)) for d in sorted({ln["court_due"] for ln in a["lines"] if ln["court_due"]})),
                   tr("apply_reason"): a["reason"]} for a in rows])


my_applications()

withdrawable = [a["case_number"] for a in applications.list_applications(actor=actor.username)
                if any(ln["state"] in ("applied", "detained") for ln in a["lines"])]
if withdrawable:
    with st.form("apply.withdraw"):
        number = st.selectbox(tr("apply_withdraw_which"), withdrawable)
        reason = st.text_input(tr("apply_withdraw_reason"), max_chars=2000)
        if st.form_submit_button(tr("apply_withdraw")):
            if chrome.run_action(applications.withdraw_application, case_number=number, actor=actor.username,
                                 withdrawal={"reason": reason}) is not None:
                st.rerun()
