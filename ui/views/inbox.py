"""Officers' task inbox: views (mine, my groups unclaimed, the office, done by me), filters and paging done by
the database, a detail panel (case summary, the task's form, its history), several tasks at once; completing
a task performs its act. ``?task=N`` opens one task."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import streamlit as st

from models.enums import Role, TaskKind
from services import board, tasks, users
from ui import chrome, labels
from ui.chrome import SHANGHAI

tr = chrome.translator()

actor = chrome.require(chrome.actor_of_page(), *chrome.CUSTOMS)
NEAR = timedelta(hours=24)
PAGE = 50

st.title(tr("page.inbox"))

# --- view, filters and saved views ----------------------------------------------------------------------
manager = actor.role in (Role.MANAGER, Role.ADMIN)
views = board.saved_views(actor=actor.username) if actor.customs_office_id else []
names = ["—"] + [v["name"] for v in views]
if "inbox.tab" not in st.session_state:
    st.session_state["inbox.tab"] = "office" if manager else "group"
view = st.segmented_control(tr("inbox_view"), list(tasks.VIEWS), format_func=lambda v: tr(f"inbox_view.{v}"),
                            key="inbox.tab") or "mine"
# the filters fold away (on a phone they filled the first screen); open while any is in use
active = any(st.session_state.get(k) for k in ("inbox.kinds", "inbox.case", "inbox.assignee", "inbox.escalated")) \
    or st.session_state.get("inbox.urgency", "all") != "all" or st.session_state.get("inbox.priority", 100) < 100 \
    or st.session_state.get("inbox.view", "—") != "—"
with st.expander(tr("filters"), expanded=bool(active), icon=":material/filter_list:"):
    c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
    chosen = c1.selectbox(tr("saved_view"), names, key="inbox.view")
    if chosen != "—" and st.session_state.get("inbox.applied") != chosen:
        f = next(v["filters"] for v in views if v["name"] == chosen)
        st.session_state["inbox.kinds"] = f["kinds"]
        st.session_state["inbox.urgency"] = f["urgency"] if f["urgency"] in ("all", "overdue", "today", "none") else "all"
        st.session_state["inbox.case"] = f["case_number"]
        st.session_state["inbox.applied"] = chosen
    kinds = c2.multiselect(tr("task_kind"), [k.value for k in TaskKind], format_func=lambda k: tr(f"kind.{k}"), key="inbox.kinds",
                           placeholder=tr("choose_options"), select_all=False)
    urgency = c3.selectbox(tr("urgency"), ["all", "overdue", "today", "none"], format_func=lambda u: tr(f"urgency.{u}"),
                           key="inbox.urgency")
    priority_max = c4.number_input(tr("priority_max"), min_value=0, max_value=100, value=100, step=5, key="inbox.priority")
    c5, c6, c7 = st.columns([3, 3, 2])
    case_filter = c5.text_input(tr("case_number"), key="inbox.case", max_chars=40)
    assignee_filter = c6.text_input(tr("assignee"), key="inbox.assignee", max_chars=80, disabled=view in ("mine", "group"))
    escalated_only = c7.toggle(tr("escalated_only"), key="inbox.escalated")
    # saving the filters as a view: a form inside the folded filters (expanders do not nest)
    with st.form("inbox.save_view_form", clear_on_submit=True, border=False):
        s1, s2 = st.columns([3, 1], vertical_alignment="bottom")
        view_name = s1.text_input(tr("view_name"), max_chars=80)
        if s2.form_submit_button(tr("save_view")):
            chrome.run_action(board.save_view, actor=actor.username, name=view_name, ok=tr("saved"),
                              filters={"kinds": kinds, "mine_only": view == "mine", "urgency": urgency,
                                       "case_number": case_filter})

filters = (view, tuple(kinds), urgency, int(priority_max), case_filter, assignee_filter, escalated_only)
if st.session_state.get("inbox.filters") != filters:  # new filters start at the first page
    st.session_state["inbox.filters"] = filters
    st.session_state["inbox.offset"] = 0


def _rows(items: list, now: datetime) -> list[dict]:
    from services.portal import working_days_left

    rows = []
    for t in items:
        due = t.due_at
        flag = "overdue" if due and due < now else ("near" if due and due - now <= NEAR else "")
        # a legal deadline ends at 24:00 of its last day: that day is the one before the stored instant
        wd = working_days_left(deadline=(due - timedelta(microseconds=1)).astimezone(SHANGHAI).date(), now=now) if due else None
        rows.append({"id": t.id, tr("urgency"): tr(f"urgency.{flag}") if flag else "", tr("task_kind"): tr(f"kind.{t.kind}"),
                     tr("title"): chrome.task_title(t), tr("case_number"): t.case_number, tr("group"): tr(f"role.{t.candidate_group}"),
                     tr("assignee"): t.assignee or "", tr("due"): chrome.when(due),
                     tr("wd_left_col"): wd if wd is not None else None, tr("priority"): t.priority, "_flag": flag})
    return rows


@chrome.fragment(run_every=10)
def task_list() -> None:
    import pandas as pd

    now = datetime.now(SHANGHAI)
    offset = int(st.session_state.get("inbox.offset", 0))
    page = chrome.run_action(tasks.list_tasks, actor=actor.username, view=view, kind=kinds, case_number=case_filter,
                             due=None if urgency == "all" else urgency, assignee=assignee_filter or None,
                             priority_max=int(priority_max) if priority_max < 100 else None,
                             escalated=True if escalated_only else None, offset=offset, limit=PAGE, now=now)
    if page is None:
        return
    items = page.items
    if st.session_state.get("inbox.flash"):
        st.success(st.session_state.pop("inbox.flash"))
    st.caption(tr("refreshed", at=chrome.clock(now), n=len(items)) + " · " +
               tr("page_n", a=offset + 1 if items else 0, b=offset + len(items)))
    p1, p2, _ = st.columns([1, 1, 6])
    if p1.button(tr("previous"), key="inbox.prev", disabled=offset == 0):
        st.session_state["inbox.offset"] = max(0, offset - PAGE)
        st.rerun()
    if p2.button(tr("next"), key="inbox.next", disabled=page.next_offset is None):
        st.session_state["inbox.offset"] = page.next_offset
        st.rerun()
    if not items:
        st.info(tr("no_tasks"))
        return
    rows = _rows(items, now)
    df = pd.DataFrame(rows).set_index("id")
    df.index.name = tr("col.id")  # the header in words, not the code's "id"
    colours = {"overdue": "background-color: #fde2e1", "near": "background-color: #fff4ce", "": ""}
    styled = df.drop(columns=["_flag"]).style.apply(lambda r: [colours[df.loc[r.name, "_flag"]]] * len(r), axis=1)
    picked = st.dataframe(styled, width="stretch", on_select="rerun", selection_mode="multi-row", key="inbox.table")
    by_id = {t.id: t for t in items}
    table_ids = [int(df.index[i]) for i in (picked.selection.rows if picked else [])]  # type: ignore[union-attr]
    if "inbox.selected" in st.session_state:  # tasks done meanwhile drop out of the selection
        st.session_state["inbox.selected"] = [i for i in st.session_state["inbox.selected"] if i in by_id]
    sel_ids = st.multiselect(tr("select_tasks"), list(by_id), key="inbox.selected", placeholder=tr("choose_options"),
                             select_all=False,
                             format_func=lambda i: f"#{i} {chrome.task_title(by_id[i])}" if i in by_id else f"#{i}")
    chosen_tasks = [by_id[i] for i in dict.fromkeys(table_ids + sel_ids) if i in by_id]
    if chosen_tasks and view != "done":
        bulk_actions(chosen_tasks)
    if len(chosen_tasks) == 1 and chosen_tasks[0].id != deep_id:
        detail(chosen_tasks[0].id)


def _report(results: list) -> None:  # noqa: ANN001
    failed = [r for r in results if not r.ok]
    done = len(results) - len(failed)
    st.session_state["inbox.flash"] = tr("bulk_done", n=done) + "".join(
        f" · #{r.task_id}: {chrome.refusal_text(r.refusal) if r.refusal else r.error}" for r in failed)


def bulk_actions(chosen_tasks: list) -> None:
    ids = [t.id for t in chosen_tasks]
    b1, b2, b3, b4 = st.columns(4)
    with b1.popover(tr("claim"), icon=":material/front_hand:"):
        st.write(tr("claim_confirm", n=len(ids)))
        if st.button(tr("claim_yes"), key="inbox.claim"):
            _report(tasks.bulk(action="claim", task_ids=ids, actor=actor.username))
            st.rerun()
    if b2.button(tr("unclaim"), key="inbox.unclaim", icon=":material/undo:"):
        _report(tasks.bulk(action="unclaim", task_ids=ids, actor=actor.username))
        st.rerun()
    groups = {t.candidate_group for t in chosen_tasks}
    people = users.colleagues(actor=actor.username, role=groups.pop()) if len(groups) == 1 else []
    with b3.popover(tr("hand_over"), icon=":material/forward:"):
        to = st.selectbox(tr("assignee"), [p["username"] for p in people], key="inbox.to",
                          format_func=lambda u: next(p["display_name"] for p in people if p["username"] == u))
        if st.button(tr("hand_over"), key="inbox.assign", disabled=not people):
            _report(tasks.bulk(action="assign", task_ids=ids, actor=actor.username, assignee=to))
            st.rerun()
    task_kinds = {t.kind for t in chosen_tasks}
    if len(ids) > 1 and len(task_kinds) == 1:
        from services.task_acts import describe

        form = describe(task_kinds.pop())
        if form["bulk"]:
            with b4.popover(tr("complete_all", n=len(ids)), icon=":material/done_all:"):
                task_form(form, key="inbox.bulk", ids=ids)


def _widget(name: str, prop: dict[str, Any], key: str, kind: str = "") -> Any:  # noqa: ANN401
    """A field of a task's form, its label, help and choices in the user's language (never the schema's English)."""
    lang = chrome.lang()
    label, help_ = labels.task_field_label(kind, name, lang), labels.task_field_help(kind, name, lang)
    options = prop.get("enum") or next((p.get("enum") for p in prop.get("anyOf", []) if p.get("enum")), None)
    if options:
        return st.selectbox(label, options, key=f"{key}.{name}", help=help_,
                            format_func=lambda v: labels.choice_label(v, lang))
    kinds = {prop.get("type")} | {p.get("type") for p in prop.get("anyOf", [])}
    formats = {prop.get("format")} | {p.get("format") for p in prop.get("anyOf", [])}
    if "date-time" in formats:
        return st.text_input(label, key=f"{key}.{name}", help=(help_ or "") + " — 2026-11-24T15:00+08:00",
                             max_chars=40)
    if "array" in kinds:
        return st.text_input(label, key=f"{key}.{name}", help=(help_ or "") + " — 1,2", max_chars=200)
    return st.text_area(label, key=f"{key}.{name}", help=help_, max_chars=prop.get("maxLength") or 2000, height=80)


def task_form(form: dict[str, Any], *, key: str, ids: list[int]) -> None:
    """The task's own form, from its schema: an outcome and the fields; submitting performs the act."""
    if not form["outcomes"]:
        st.info(tr("no_act"))
        return
    with st.form(key):
        outcome = st.radio(tr("decision"), form["outcomes"], format_func=lambda o: tr(f"outcome.{o}"), horizontal=True,
                           key=f"{key}.outcome")
        values = {name: _widget(name, prop, key, form.get("kind", "")) for name, prop in form["fields"].items()}
        if st.form_submit_button(tr("complete"), type="primary"):
            fields = {k: v for k, v in values.items() if isinstance(v, str) and v.strip()}
            if len(ids) == 1:
                done = chrome.run_action(tasks.complete_task, task_id=ids[0], actor=actor.username, outcome=outcome,
                                         fields=fields)
                if done is not None:
                    st.session_state["inbox.flash"] = tr("completed") if done.state == "completed" else tr("acted")
                    st.rerun()
            else:
                _report(tasks.bulk(action="complete", task_ids=ids, actor=actor.username, outcome=outcome, fields=fields))
                st.rerun()


def _photo_text(m: dict | None) -> str:
    """A line's 以图识图 result: the score and whether the photo matched the line's own recordation."""
    if not m:
        return ""
    return tr("photo_match_text", rec=m["recordation"], score=m["score"],
              verdict=tr("photo_match_same") if m["matches"] else tr("photo_match_other"))


def detail(task_id: int) -> None:
    d = chrome.run_action(tasks.task_detail, task_id=task_id, actor=actor.username)
    if d is None:
        return
    t = d.task
    st.subheader(tr("complete_task", id=t.id))
    st.text(chrome.task_title(t))
    if t.kind == TaskKind.ATTEND_VIEWING and t.viewing_id is not None:  # the officer's job is in the room
        st.page_link("views/viewing.py", label=tr("join_room", id=t.viewing_id), icon=":material/videocam:",
                     query_params={"viewing": str(t.viewing_id)})
    elif t.case_number:  # a task may be about no single case (next year's calendar)
        st.page_link("views/case.py", label=tr("open_case", n=t.case_number), icon=":material/folder_open:",
                     query_params={"case": t.case_number})
    if t.kind == TaskKind.LOAD_CALENDAR:
        st.info(tr("calendar.how"))
    left, right = st.columns([3, 2])
    with left:
        if t.case_number:
            st.caption(tr("case_summary", status=tr(f"case_status.{d.case['status']}")))
            checking = t.kind in (TaskKind.CONFIRM_SEIZURE, TaskKind.REVIEW_APPLICATION)  # lines against recordations
            chrome.table([{tr("line_no"): ln["number"], tr("brand"): ln["brand"], tr("description"): ln["description"],
                           tr("quantity"): ln["quantity"], tr("state"): chrome.state_label(ln["state"]),
                           **({tr("recordation"): ln["recordation"], tr("nice_class"): ln["nice_class"],
                               tr("match_flags"): ", ".join(tr(f"flag.{f}") for f in ln["match_flags"]),
                               tr("photo_match"): _photo_text(ln["photo_match"])} if checking else {})}
                          for ln in d.case["lines"]])
        if d.may_complete:
            if labels.task_form_text(t.kind, chrome.lang()):
                st.caption(labels.task_form_text(t.kind, chrome.lang()))
            task_form(d.form, key=f"inbox.complete.{t.id}", ids=[t.id])
        elif t.state in ("open", "claimed"):
            st.info(tr("may_not_complete", why=d.why_not or ""))
    with right:
        st.caption(tr("task_history"))
        names = chrome.people(actor.username, [h.actor for h in d.history])
        for h in d.history:
            st.text(f"{chrome.when(h.at)} · {chrome.person(h.actor, names)} · {chrome.action_text(h.action)}")
            if h.action != "task.opened" and h.detail:  # the opening's detail is the title, shown above
                st.text(chrome.change_text(h.action, None, h.detail))
        if d.escalated_at:
            st.warning(tr("escalated_at", at=chrome.when(d.escalated_at)))


deep = st.query_params.get("task") or st.query_params.get("id")
deep_id = int(deep) if deep and deep.isdigit() else None
if deep_id is not None:
    detail(deep_id)
task_list()
