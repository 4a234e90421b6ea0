"""Register a seizure (中止放行): the declaration and its suspect lines; recordations matched automatically."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from models.enums import Role
from models.schemas import ShipmentIn
from services import cases, portal, recognition
from ui import chrome, parts
from ui.chrome import SHANGHAI

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), Role.SITE_OFFICER, Role.IPR_OFFICER, Role.ADMIN)

st.title(tr("page.register"))

EMPTY = pd.DataFrame([{"description": "", "brand": "", "quantity": 1, "unit": tr("unit.default"), "value": "0.00"}])
csv_file = st.file_uploader(tr("lines_file", columns=", ".join(tr(k) for k in parts.LINE_COLUMNS.values())),
                            type=["csv"], key="register.csv")
if csv_file is not None and st.session_state.get("register.csv_id") != csv_file.file_id:
    try:
        seed = parts.lines_from_csv(csv_file)
        st.session_state["register.lines_seed"] = seed
        st.session_state["register.csv_id"] = csv_file.file_id
        st.session_state.pop("register.lines", None)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as e:
        st.error(tr("lines_file_bad", e=chrome.md(e)))
lines_df = st.data_editor(st.session_state.get("register.lines_seed", EMPTY), num_rows="dynamic", key="register.lines",
                          width="stretch",
                          column_config={"description": st.column_config.TextColumn(tr("description"), max_chars=500),
                                         "brand": st.column_config.TextColumn(tr("brand"), max_chars=120),
                                         "quantity": st.column_config.NumberColumn(tr("quantity"), min_value=1, step=1),
                                         "unit": st.column_config.TextColumn(tr("unit"), max_chars=20),
                                         "value": st.column_config.TextColumn(tr("value_rmb"), max_chars=20)})

with st.expander(tr("identify"), icon=":material/photo_camera:"):
    # 以图识图: a photo of a line's logo suggests the brand (and so the recordation); the officer confirms.
    line_no = st.number_input(tr("identify_line"), min_value=1, max_value=max(1, len(lines_df)), step=1,
                              key="register.identify_line")
    shot = st.file_uploader(tr("identify_photo"), type=["jpg", "jpeg", "png", "heic"], key="register.identify_photo")
    if shot is not None:
        data = shot.getvalue()
        found = chrome.run_action(recognition.match_photo, actor=actor.username, data=data)
        if found is not None and not found.candidates:
            st.info(tr("identify_none"))
        elif found is not None:
            chrome.table([{tr("brand"): c.brand, tr("recordation"): c.recordation, tr("rights_holder"): c.rights_holder,
                           tr("identify_score"): c.score} for c in found.candidates])
            st.image(recognition.outline(data, found.candidates[0]), caption=tr("identify_region"))
            for c in found.candidates:
                if st.button(tr("identify_use", brand=c.brand, n=line_no),
                             key=f"register.identify_use.{c.recordation}"):
                    seed = lines_df.copy()
                    seed.loc[seed.index[int(line_no) - 1], "brand"] = c.brand
                    st.session_state["register.lines_seed"] = seed
                    st.session_state.pop("register.lines", None)
                    st.session_state["register.identified"] = tr("identify_used", n=line_no, brand=c.brand)
                    st.session_state.setdefault("register.identifications", {})[int(line_no)] = \
                        recognition.Identification(line_number=int(line_no), recordation=c.recordation, score=c.score,
                                                inliers=c.inliers)
                    st.rerun()
    if st.session_state.get("register.identified"):
        st.success(st.session_state["register.identified"])

brands = sorted({str(b).strip().upper() for b in lines_df["brand"].fillna("") if str(b).strip()})
found_day = st.session_state.get("register.found_day") or datetime.now(SHANGHAI).date()
if brands:
    st.caption(tr("recordation_match"))
    matches = portal.match_recordations(actor=actor.username, brands=brands, on=found_day)
    chrome.table([{tr("brand"): m.brand, tr("recordation"): m.recordation or tr("no_recordation"),
                   tr("rights_holder"): m.rights_holder or "", tr("valid_until"): chrome.day(m.valid_until)} for m in matches])

with st.form("register.form"):
    c1, c2 = st.columns(2)
    declaration_no = c1.text_input(tr("declaration_no"), max_chars=18, key="register.declaration_no")
    direction = c2.selectbox(tr("direction"), ["export", "import"], format_func=lambda d: tr(f"direction.{d}"))
    office = st.text_input(tr("customs_office"), key="register.office",
                           value=portal.office_of(actor=actor.username, lang=chrome.lang()) or "")
    c3, c4 = st.columns(2)
    consignor_name = c3.text_input(tr("consignor"), max_chars=500, key="register.consignor_name")
    uscc = c4.text_input(tr("uscc"), max_chars=18, key="register.uscc")
    c5, c6 = st.columns(2)
    day = c5.date_input(tr("found_on"), value=found_day, key="register.found_day")
    # the default is now, never a later hour: a seizure found in the future is refused (found_at)
    at = c6.time_input(tr("found_time"), value=datetime.now(SHANGHAI).time().replace(second=0, microsecond=0),
                       key="register.found_time")
    submitted = st.form_submit_button(tr("register"), type="primary")

if submitted:
    rows = []
    for r in lines_df.to_dict("records"):
        if not any(str(r.get(k) or "").strip() for k in ("description", "brand")):
            continue
        rows.append({"description": str(r.get("description") or ""), "brand": str(r.get("brand") or ""),
                     "quantity": int(r["quantity"]) if pd.notna(r.get("quantity")) else 0,
                     "unit": str(r.get("unit") or ""), "value": str(r.get("value") or "")})
    payload = {"declaration_no": declaration_no.strip(), "direction": direction, "customs_office": office.strip(),
               "consignor": {"name": consignor_name, "uscc": uscc.strip().upper()},
               "found_at": datetime.combine(day, at, tzinfo=SHANGHAI), "lines": rows}
    try:
        shipment = ShipmentIn.model_validate(payload)
    except ValidationError as e:
        chrome.show_validation(e)
        st.stop()
    case = chrome.run_action(cases.open_case, shipment=shipment, actor=actor.username)
    if case is not None:
        idents = list(st.session_state.pop("register.identifications", {}).values())
        if idents:  # the scores go on the timeline, for the IPR officer confirming the seizure
            chrome.run_action(recognition.record_identifications, case_number=case.number, actor=actor.username,
                              identifications=idents)
        st.success(tr("registered", number=case.number, n=len(case.notices)))
        parts.lines_table(case.lines)
        st.page_link("views/case.py", label=tr("open_case", n=case.number), query_params={"case": case.number},
                     icon=":material/folder_open:")
