"""Public verification of a document (the QR code printed on it): is this the document customs issued?

Open to anyone, signed in or not. It says only what the printed document itself says."""

from __future__ import annotations

import streamlit as st
from pydantic import ValidationError

from services import documents
from ui import chrome

tr = chrome.translator()

st.title(tr("page.verify"))
st.caption(tr("verify_intro"))
number = st.text_input(tr("document_number"), value=st.query_params.get("doc", ""), max_chars=60, key="verify.number")
sha = st.text_input(tr("sha256_optional"), value=st.query_params.get("sha256", ""), max_chars=64, key="verify.sha256")
upload = st.file_uploader(tr("pdf_optional"), type=["pdf"], key="verify.file")
if number.strip() and (st.button(tr("verify"), type="primary", key="verify.go") or st.query_params.get("doc")):
    data = upload.getvalue() if upload is not None else None
    try:
        v = documents.verify_document(number=number.strip(), data=data, sha256=sha.strip() or None)
    except ValidationError as e:
        chrome.show_validation(e)
        st.stop()
    if not v.issued:
        st.error(tr("verify_unknown", n=v.number))
    else:
        if v.matches is True:
            st.success(tr("verify_match"))
        elif v.matches is False:
            st.error(tr("verify_mismatch"))
        else:
            st.info(tr("verify_issued"))
        chrome.table([{tr("document_number"): v.number, tr("kind"): v.title_zh if chrome.lang() == "zh" else v.title_en,
                       tr("customs_office"): v.office if chrome.lang() == "zh" else v.office_en,
                       tr("issued_at"): chrome.when(v.dated), "SHA-256": v.sha256}])
