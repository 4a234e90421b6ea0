"""Rights-holder portal: its own notices, the countdown, a viewing, the answer per line, the bond."""

from __future__ import annotations

from datetime import datetime
import streamlit as st

from models.enums import Role
from models.rules.errors import NotFound
from services import answers, cases, portal, recognition
from ui import chrome, parts
from ui.chrome import SHANGHAI

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), Role.RIGHTS_HOLDER)

st.title(tr("page.portal"))
now = datetime.now(SHANGHAI)
with st.expander(tr("my_marks"), icon=":material/image:"):
    # 以图识图: the holder keeps the images customs match photos against (the mark, reference photos).
    for r in recognition.my_recordations(actor=actor.username):
        st.markdown(f"**{r.recordation}** · {r.brand} · {tr('mark_images', n=len(r.images))}")
        kind = st.radio(tr("mark_kind"), ["mark", "reference"], horizontal=True,
                        key=f"portal.mark_kind.{r.recordation}",
                        format_func=lambda k: tr(f"mark_kind.{k}"))
        up = st.file_uploader(tr("identify_photo"), type=["jpg", "jpeg", "png"], key=f"portal.mark.{r.recordation}")
        if up is not None and st.button(tr("add_mark_image"), key=f"portal.mark_add.{r.recordation}"):
            chrome.run_action(recognition.add_recordation_image, recordation=r.recordation, actor=actor.username,
                              data=up.getvalue(), kind=kind, ok=tr("mark_image_added"))
mine = portal.my_notices(actor=actor.username)
if not mine:
    st.info(tr("no_notices"))
    st.stop()



@chrome.fragment(run_every=10)
def notice_list() -> None:
    """The holder's notices with their state and countdown; refreshes itself (the forms below do not rerun)."""
    at = datetime.now(SHANGHAI)
    chrome.table([{tr("col.id"): p.notice.id, tr("case_number"): p.notice.case_number, tr("brands"): ", ".join(p.notice.brands),
                   tr("state"): tr(f"notice_state.{p.notice.state}"), tr("deadline"): chrome.day(p.notice.deadline, p.notice.deadline_pending_year),
                   tr("countdown"): chrome.countdown(p.notice.deadline_at, p.notice.deadline, at, p.notice.deadline_pending_year,
                                                     served_at=p.notice.served_at)
                   if p.notice.state in ("served", "claim-pending", "issued") else ""}
                  for p in portal.my_notices(actor=actor.username)])


notice_list()

ids = [p.notice.id for p in mine]
wanted = st.query_params.get("notice")
case_wanted = st.query_params.get("case")
if case_wanted and not any(p.notice.case_number == case_wanted for p in mine):
    st.error(tr("case_not_found"))  # another holder's case does not exist for you
    st.stop()
if wanted is not None and (not wanted.isdigit() or int(wanted) not in ids):
    st.error(tr("notice_not_found"))
    st.stop()
default = int(wanted) if wanted else next((p.notice.id for p in mine if p.notice.case_number == case_wanted), ids[0])
notice_id = st.selectbox(tr("open_notice"), ids, index=ids.index(default), key="portal.notice",
                         format_func=lambda i: next(f"{p.notice.case_number} · {', '.join(p.notice.brands)} · #{i}"
                                                    for p in mine if p.notice.id == i))
st.query_params["notice"] = str(notice_id)

# The first opening in the portal is recorded (and serves the notice where the office's rule says so).
opened = st.session_state.setdefault("portal.opened", set())
if notice_id not in opened:
    chrome.run_action(cases.serve_notice, notice_id=notice_id, actor=actor.username, means="portal")
    opened.add(notice_id)
try:
    p = portal.my_notice(actor=actor.username, notice_id=notice_id)
except NotFound:
    st.error(tr("notice_not_found"))
    st.stop()
n = p.notice

st.subheader(f"{n.case_number} · {chrome.md(', '.join(n.brands))}")
chrome.facts([(tr("state"), tr(f"notice_state.{n.state}")), (tr("deadline"), chrome.day(n.deadline, n.deadline_pending_year)),
              (tr("served_at"), chrome.when(n.served_at))])
if n.state in ("served", "claim-pending"):
    st.warning(chrome.countdown(n.deadline_at, n.deadline, now, n.deadline_pending_year, served_at=n.served_at))
parts.lines_table(p.lines)

tab_answer, tab_viewing, tab_docs = st.tabs([tr("answer"), tr("viewing"), tr("documents")])

with tab_answer:
    if n.state == "served":
        if parts.answer_form(p, key=f"portal.{n.id}", submit=lambda data: answers.record_answer(
                notice_id=n.id, actor=actor.username, answer=data)):
            st.session_state["portal.flash"] = tr("answer_recorded")
            st.rerun()
    elif n.state == "claim-pending":
        a = n.answer
        st.warning(tr("bond_awaited", amount=chrome.money(a.bond_required if a else None)))
        with st.form(f"portal.post_bond.{n.id}"):
            options = (["general"] if p.general_bond else []) + ["individual"]
            kind = st.radio(tr("bond"), options, horizontal=True,
                            format_func=lambda k: tr("general_bond", ref=p.general_bond.reference,
                                                     until=chrome.day(p.general_bond.valid_until))
                            if k == "general" and p.general_bond else tr("individual_bond"))
            amount = st.text_input(tr("bond_amount"), max_chars=20)
            if st.form_submit_button(tr("post_bond"), type="primary"):
                if chrome.run_action(answers.post_bond, notice_id=n.id, actor=actor.username,
                                     bond="general" if kind == "general" else amount) is not None:
                    st.rerun()
    if st.session_state.get("portal.flash"):
        st.success(st.session_state.pop("portal.flash"))
    if n.answer is not None:
        st.caption(tr("your_answer", at=chrome.when(n.answer.answered_at), by=chrome.md(chrome.person(n.answer.answered_by, chrome.people(actor.username, [n.answer.answered_by])))))
        chrome.table([{tr("line_no"): k, tr("verdict"): tr(f"verdict.{v}")} for k, v in sorted(n.answer.verdicts.items())])
        if n.answer.comment:
            st.text(n.answer.comment)

with tab_viewing:
    parts.portal_viewing(n, p.lines, actor)

with tab_docs:
    parts.documents_block(n.case_number, p.documents, actor)
