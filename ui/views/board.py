"""Managers' board: open work by state, who it waits on, what is late, confirmation times, outcomes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from models.enums import Role
from services import board, tasks, users
from ui import chrome, parts

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), Role.MANAGER, Role.ADMIN)

st.title(tr("page.board"))


@chrome.fragment(run_every=30)
def overview() -> None:
    from yunque.settings import get_settings

    b = parts.office_board(board.scope(actor), actor.username)
    english = chrome.lang() == "en"
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(tr("open_cases"), b.open_cases)
    c2.metric(tr("open_tasks"), len(b.open_tasks))
    c3.metric(tr("overdue_tasks"), len(b.overdue_tasks))
    c4.metric(tr("near_deadline"), len(b.notices_near_deadline))

    left, right = st.columns(2)
    with left:
        st.subheader(tr("lines_by_state"))
        if b.lines_by_state:
            st.bar_chart(pd.DataFrame({tr("lines"): b.lines_by_state}).rename(index=chrome.state_label))
        st.subheader(tr("waiting_on_whom"))
        chrome.table([{tr("party"): tr("waiting.group", role=chrome.code_label("role", w.group)) if w.group else w.party,
                       tr("waiting_for"): chrome.code_label("kind", w.kind), tr("count"): w.count} for w in b.waiting])
    with right:
        st.subheader(tr("confirmation_times"))
        if b.confirmation_minutes:
            hist = parts.confirmation_histogram(b.confirmation_minutes)
            st.bar_chart(hist, x="bucket", y="count", x_label=tr("minutes"), y_label=tr("count"), sort=False)
            st.caption(tr("median_minutes", m=f"{pd.Series(b.confirmation_minutes).median():.1f}",
                          r=f"{pd.Series(b.room_minutes).median():.1f}" if b.room_minutes else "—"))
        else:
            st.caption(tr("no_confirmations"))
        st.subheader(tr("outcomes"))
        if b.outcomes:
            df = pd.DataFrame(b.outcomes)
            dim = st.segmented_control(tr("by"), ["brand", "office", "week"], default="brand", key="board.by",
                                       format_func=lambda d: tr(f"by.{d}")) or "brand"
            column = "office_en" if dim == "office" and english else dim  # each office by its name in the user's language
            st.bar_chart(df.pivot_table(index=column, columns="kind", values="quantity", aggfunc="sum", fill_value=0)
                         .rename(columns=chrome.state_label))

    st.subheader(tr("near_deadline"))
    chrome.table([{tr("case_number"): n.case_number, tr("rights_holder"): n.rights_holder,
                   tr("state"): tr(f"notice_state.{n.state}"), tr("deadline"): chrome.when(n.deadline_at),
                   tr("hours_left"): n.hours_left} for n in b.notices_near_deadline])
    st.subheader(tr("cases"))
    url = get_settings().prefect_ui_url
    chrome.table([{tr("case_number"): c.number, tr("customs_office"): c.office_en if english else c.office, tr("status"): tr(f"case_status.{c.status}"),
                   tr("opened_at"): chrome.when(c.opened_at),
                   tr("flow_run"): f"{url}/runs/flow-run/{c.flow_run_id}" if c.flow_run_id else None} for c in b.cases],
                 column_config={tr("flow_run"): st.column_config.LinkColumn(tr("flow_run"), display_text=tr("open"))})
    st.session_state["board.tasks"] = b.open_tasks
    st.session_state["board.overdue"] = b.overdue_tasks


overview()

st.subheader(tr("reassign"))
open_tasks = st.session_state.get("board.tasks", [])
overdue_ids = {t.id for t in st.session_state.get("board.overdue", [])}
if not open_tasks:
    st.info(tr("no_tasks"))
else:
    with st.form("board.reassign"):
        # worded once here: the widget's labels must not depend on when they are drawn
        titles = {t.id: f"#{t.id} {'⚠ ' if t.id in overdue_ids else ''}{chrome.task_title(t)} · {t.assignee or '—'}"
                  for t in open_tasks}
        task_id = st.selectbox(tr("task"), list(titles), format_func=titles.__getitem__)
        people = users.colleagues(actor=actor.username) if actor.customs_office_id else []
        to = st.selectbox(tr("assignee"), [p["username"] for p in people],
                          format_func=lambda u: next(f"{p['display_name']} ({tr('role.' + p['role'])})" for p in people if p["username"] == u))
        if st.form_submit_button(tr("reassign"), type="primary"):
            t = next(t for t in open_tasks if t.id == task_id)
            if chrome.run_action(tasks.assign_task, task_id=t.id, actor=actor.username, assignee=to, expected_version=t.version,
                                 ok=tr("reassigned")) is not None:
                st.rerun()
