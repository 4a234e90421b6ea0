"""Officers' task inbox: claim, unclaim, hand over, complete; filters, saved views, several at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.enums import Role, TaskKind
from services import board, tasks, users
from ui import chrome
from ui.chrome import SHANGHAI

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), *chrome.CUSTOMS)
NEAR = timedelta(hours=24)

st.title(tr("page.inbox"))


class OutcomeIn(BaseModel):
    """The completion form, validated at the edge: a refusal or a problem needs a reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: str = Field(pattern=r"^(done|confirmed|approved|refused|bond-ok|bond-missing|signed)$")
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _reason(self) -> OutcomeIn:
        if self.decision in ("refused", "bond-missing") and not self.note:
            raise ValueError("note: give the reason")
        return self


DECISIONS = {
    TaskKind.CONFIRM_SEIZURE: ["confirmed", "refused"],
    TaskKind.APPROVE_VIEWING: ["approved", "refused"],
    TaskKind.CHECK_BOND: ["bond-ok", "bond-missing"],
    TaskKind.SIGN_DETENTION: ["signed", "refused"],
}

# --- filters and saved views ------------------------------------------------------------------------
views = board.saved_views(actor=actor.username) if actor.customs_office_id else []
names = ["—"] + [v["name"] for v in views]
c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
chosen = c1.selectbox(tr("saved_view"), names, key="inbox.view")
if chosen != "—" and st.session_state.get("inbox.applied") != chosen:
    f = next(v["filters"] for v in views if v["name"] == chosen)
    st.session_state["inbox.kinds"] = f["kinds"]
    st.session_state["inbox.mine"] = f["mine_only"]
    st.session_state["inbox.urgency"] = f["urgency"]
    st.session_state["inbox.case"] = f["case_number"]
    st.session_state["inbox.applied"] = chosen
kinds = c2.multiselect(tr("task_kind"), [k.value for k in TaskKind], format_func=lambda k: tr(f"kind.{k}"), key="inbox.kinds")
urgency = c3.selectbox(tr("urgency"), ["all", "overdue", "near"], format_func=lambda u: tr(f"urgency.{u}"), key="inbox.urgency")
mine = c4.toggle(tr("mine_only"), key="inbox.mine")
case_filter = st.text_input(tr("case_number"), key="inbox.case", max_chars=40)
with st.expander(tr("save_view")):
    with st.form("inbox.save_view_form", clear_on_submit=True):
        view_name = st.text_input(tr("view_name"), max_chars=80)
        if st.form_submit_button(tr("save")):
            chrome.run_action(board.save_view, actor=actor.username, name=view_name, ok=tr("saved"),
                              filters={"kinds": kinds, "mine_only": mine, "urgency": urgency, "case_number": case_filter})


def _rows(items: list, now: datetime) -> list[dict]:
    from services.portal import working_days_left

    rows = []
    for t in items:
        due = t.due_at
        flag = "overdue" if due and due < now else ("near" if due and due - now <= NEAR else "")
        # a legal deadline ends at 24:00 of its last day: that day is the one before the stored instant
        wd = working_days_left(deadline=(due - timedelta(microseconds=1)).astimezone(SHANGHAI).date(), now=now) if due else None
        rows.append({"id": t.id, tr("urgency"): tr(f"urgency.{flag}") if flag else "", tr("task_kind"): tr(f"kind.{t.kind}"),
                     tr("title"): t.title, tr("case_number"): t.case_number, tr("group"): tr(f"role.{t.candidate_group}"),
                     tr("assignee"): t.assignee or "", tr("due"): chrome.when(due),
                     tr("wd_left_col"): wd if wd is not None else None, tr("priority"): t.priority, "_flag": flag})
    return rows


@st.fragment(run_every=10)
def task_list() -> None:
    import pandas as pd

    now = datetime.now(SHANGHAI)
    items = tasks.inbox(actor=actor.username, mine_only=mine)
    if kinds:
        items = [t for t in items if t.kind in kinds]
    if case_filter.strip():
        items = [t for t in items if case_filter.strip().upper() in t.case_number.upper()]
    if st.session_state.get("inbox.flash"):
        st.success(st.session_state.pop("inbox.flash"))
    rows = _rows(items, now)
    if urgency != "all":
        rows = [r for r in rows if r["_flag"] == urgency or (urgency == "near" and r["_flag"] == "overdue")]
    st.caption(tr("refreshed", at=now.strftime("%H:%M:%S"), n=len(rows)))
    if not rows:
        st.info(tr("no_tasks"))
        return
    df = pd.DataFrame(rows).set_index("id")
    colours = {"overdue": "background-color: #fde2e1", "near": "background-color: #fff4ce", "": ""}
    styled = df.drop(columns=["_flag"]).style.apply(lambda r: [colours[df.loc[r.name, "_flag"]]] * len(r), axis=1)
    st.dataframe(styled, width="stretch")
    by_id = {t.id: t for t in items}
    if "inbox.selected" in st.session_state:  # tasks done meanwhile drop out of the selection
        st.session_state["inbox.selected"] = [i for i in st.session_state["inbox.selected"] if i in by_id]
    sel_ids = st.multiselect(tr("select_tasks"), list(by_id), key="inbox.selected",
                             format_func=lambda i: f"#{i} {by_id[i].case_number} · {tr('kind.' + by_id[i].kind)}" if i in by_id else f"#{i}")
    chosen_tasks = [by_id[i] for i in sel_ids if i in by_id]
    if not chosen_tasks:
        return
    b1, b2, b3 = st.columns(3)
    if b1.button(tr("claim"), key="inbox.claim", icon=":material/front_hand:"):
        for t in chosen_tasks:
            chrome.run_action(tasks.claim_task, task_id=t.id, actor=actor.username, expected_version=t.version)
        st.rerun(scope="fragment")
    if b2.button(tr("unclaim"), key="inbox.unclaim", icon=":material/undo:"):
        for t in chosen_tasks:
            chrome.run_action(tasks.unclaim_task, task_id=t.id, actor=actor.username, expected_version=t.version)
        st.rerun(scope="fragment")
    groups = {t.candidate_group for t in chosen_tasks}
    people = users.colleagues(actor=actor.username, role=groups.pop()) if len(groups) == 1 else []
    with b3.popover(tr("hand_over"), icon=":material/forward:"):
        to = st.selectbox(tr("assignee"), [p["username"] for p in people], key="inbox.to",
                          format_func=lambda u: next(p["display_name"] for p in people if p["username"] == u))
        if st.button(tr("hand_over"), key="inbox.assign", disabled=not people):
            for t in chosen_tasks:
                chrome.run_action(tasks.assign_task, task_id=t.id, actor=actor.username, assignee=to, expected_version=t.version)
            st.rerun(scope="fragment")

    if len(chosen_tasks) == 1:
        complete_form(chosen_tasks[0])


def complete_form(t) -> None:  # noqa: ANN001
    st.subheader(tr("complete_task", id=t.id))
    st.text(t.title)
    if t.case_number:
        st.page_link("pages/case.py", label=tr("open_case", n=t.case_number), icon=":material/folder_open:",
                     query_params={"case": t.case_number})
    if t.kind == TaskKind.LOAD_CALENDAR:
        st.info(tr("calendar.how"))
    if t.kind == TaskKind.INVESTIGATE:
        st.info(tr("investigate_in_case"))
        return
    options = DECISIONS.get(TaskKind(t.kind), ["done"])
    with st.form(f"inbox.complete.{t.id}"):
        decision = st.radio(tr("decision"), options, format_func=lambda d: tr(f"decision.{d}"), horizontal=True)
        note = st.text_area(tr("note"), max_chars=2000)
        if st.form_submit_button(tr("complete"), type="primary"):
            try:
                outcome = OutcomeIn(decision=decision, note=note)
            except ValidationError as e:
                chrome.show_validation(e)
                return
            if chrome.run_action(tasks.complete_task, task_id=t.id, actor=actor.username, outcome=outcome.model_dump(),
                                 expected_version=t.version) is not None:
                st.session_state["inbox.flash"] = tr("completed")
                st.rerun(scope="fragment")


task_list()
