"""Viewing room (云确): the site officer's camera live to every participant (实时连线, ``ui.live_room``);
the rights holder asks for shots, the site officer captures them (live snapshot, camera or file),
everyone in the room sees new evidence within seconds; the rights holder answers from here."""

from __future__ import annotations

import io
import time
from typing import Any

import streamlit as st

from adapters import media
from models.enums import Role
from models.rules.errors import NotFound
from services import evidence, live, portal, recognition, viewing
from ui import chrome, live_room, parts
from yunque.settings import get_settings

tr = chrome.translator()
actor = chrome.require(chrome.actor_of_page(), Role.SITE_OFFICER, Role.IPR_OFFICER, Role.ADMIN, Role.RIGHTS_HOLDER,
                       Role.CONSIGNOR)

st.title(tr("page.viewing"))
mine = viewing.list_viewings(actor=actor.username)
ids = [v.id for v in mine]
wanted = st.query_params.get("viewing") or st.query_params.get("id")  # /viewing?viewing=N, or ?id=N in a link
if "id" in st.query_params:
    del st.query_params["id"]  # the page's own address says ?viewing=N
if wanted is not None and (not wanted.isdigit() or int(wanted) not in ids):
    st.error(tr("viewing_not_found"))
    st.stop()
if not ids:
    st.info(tr("no_viewings"))
    st.stop()
# No state in the label: a kept selectbox shows the label of its first run; the room's caption has the state.
viewing_id = st.selectbox(tr("viewing"), ids, index=ids.index(int(wanted)) if wanted else 0, key="room.pick",
                          format_func=lambda i: next(f"#{v.id} · {v.case_number} · {v.rights_holder or ''}"
                                                     for v in mine if v.id == i))
st.query_params["viewing"] = str(viewing_id)
try:
    room = viewing.room_state(viewing_id=viewing_id, actor=actor.username)
except NotFound:
    st.error(tr("viewing_not_found"))
    st.stop()
v = room.viewing
customs = room.your_role == "customs"

# --- customs: approve, open, close ------------------------------------------------------------------
if customs:
    c1, c2, c3 = st.columns(3)
    if v.state == "requested" and actor.role in (Role.IPR_OFFICER, Role.ADMIN):
        with c1.form("room.decide"):
            approve = st.radio(tr("decision"), ["approved", "refused"], format_func=lambda d: tr(f"decision.{d}"), horizontal=True)
            reason = st.text_input(tr("reason"), max_chars=2000)
            if st.form_submit_button(tr("decide"), type="primary"):
                if chrome.run_action(viewing.decide_viewing, viewing_id=v.id, actor=actor.username,
                                     approve=approve == "approved", reason=reason):
                    st.rerun()
    if v.state == "approved" and c2.button(tr("open_room"), type="primary", key="room.open", icon=":material/play_arrow:"):
        if chrome.run_action(viewing.open_room, viewing_id=v.id, actor=actor.username):
            st.rerun()
    if v.state == "open" and c3.button(tr("close_room"), key="room.close", icon=":material/stop:"):
        if chrome.run_action(live.close_live_room, rooms=live_room.rooms(), viewing_id=v.id, actor=actor.username):
            st.rerun()


#: the newest pieces of evidence the room draws each second (every one of them on request, and on the
#: case page): redrawing all of a long viewing's snapshots every second slowed every participant's page
ROOM_EVIDENCE_SHOWN = 6


def _steady_links(items: list[Any]) -> list[Any]:
    """Each item keeps its link for half the link's lifetime: every refresh would otherwise hand the
    browser new links, so it fetched every photo again and restarted every video every 2 seconds."""
    keep: dict[int, tuple[str, float]] = st.session_state.setdefault("room.links", {})
    now, fresh_for = time.monotonic(), get_settings().presign_seconds / 2
    out = []
    for e in items:
        if not e.url:
            out.append(e)
            continue
        got = keep.get(e.id)
        if got is None or now - got[1] > fresh_for:
            keep[e.id] = got = (e.url, now)
        out.append(e.model_copy(update={"url": got[0]}))
    return out


def _line_label(number: int | None) -> str:
    return "—" if number is None else next(f"{ln.number} · {ln.brand} · {ln.description[:40]}" for ln in room.lines
                                           if ln.number == number)


def _open_shots(r: viewing.RoomState) -> set[int]:
    return {sh.id for sh in r.shot_requests if sh.state == "open"}


def _page_is_stale(r: viewing.RoomState) -> bool:
    """True when what the page outside the live part was drawn from has changed: the room opened or
    closed, the notice was answered, or (for whoever captures) a shot was asked for or answered."""
    if (r.viewing.state, r.may_answer, r.may_capture, r.may_request_shots) != (
            room.viewing.state, room.may_answer, room.may_capture, room.may_request_shots):
        return True
    return room.may_capture and _open_shots(r) != _open_shots(room)


@chrome.fragment(run_every=1)
def live() -> None:
    """Polled every second (a snapshot must reach every participant within 2 seconds): shot requests,
    evidence and the room's log as this participant may see them."""
    try:
        r = viewing.room_state(viewing_id=viewing_id, actor=actor.username)
    except NotFound:
        st.error(tr("viewing_not_found"))
        return
    if _page_is_stale(r):
        st.rerun()  # the forms beside the room (shot to capture, shot to ask, answer) follow the room
    known = chrome.people(actor.username, r.participants)
    who = ", ".join(chrome.person(u, known) for u in r.participants)
    st.caption(f"{tr('viewing_state.' + r.viewing.state)} · {tr('participants')}: {chrome.md(who)}")
    if r.viewing.call_link:
        st.link_button(tr("video_call"), r.viewing.call_link, icon=":material/call:")
    chrome.table([{tr("line_no"): ln.number, tr("brand"): ln.brand, tr("description"): ln.description,
                   tr("quantity"): ln.quantity, tr("unit"): chrome.unit(ln.unit), tr("state"): chrome.state_label(ln.state)} for ln in r.lines])
    st.subheader(tr("shot_requests"))
    if r.shot_requests:
        chrome.table([{"#": sh.id, tr("line_no"): sh.line_number, tr("shot_request"): sh.text, tr("requested_by"): sh.requested_by,
                       tr("state"): tr(f"shot_state.{sh.state}"), tr("evidence"): ", ".join(map(str, sh.evidence_ids))}
                      for sh in r.shot_requests])
    else:
        st.caption(tr("no_shot_requests"))
    st.subheader(f"{tr('evidence')} ({len(r.evidence)})")
    if r.evidence:
        newest = list(reversed(r.evidence))
        if len(newest) > ROOM_EVIDENCE_SHOWN and not st.toggle(tr("room_evidence_all"), key="room.evidence_all"):
            st.caption(tr("room_evidence_newest", n=ROOM_EVIDENCE_SHOWN, total=len(newest)))
            newest = newest[:ROOM_EVIDENCE_SHOWN]
        parts.show_evidence(_steady_links(newest))
    with st.expander(tr("room_log")):
        chrome.table([{tr("when"): chrome.when(e.at), tr("actor"): e.actor, tr("action"): chrome.action_text(e.action),
                       tr("details"): chrome.change_text(e.action, None, e.detail)} for e in r.log])


if v.state == "open":
    live_room.show(v.id, actor, [sh for sh in room.shot_requests if sh.state == "open"])

left, right = st.columns([3, 2])
with left:
    live()
with right:
    if room.may_request_shots and room.your_role in ("rights_holder", "consignor"):
        st.subheader(tr("ask_shot"))
        with st.form("room.shot", clear_on_submit=True):
            guide = st.selectbox(tr("guide_item"), [None, *[g.id for g in room.guide]], key="room.guide",
                                 format_func=lambda i: "—" if i is None else next(f"{g.brand}: {g.text}" for g in room.guide if g.id == i))
            line_no = st.selectbox(tr("line_no"), [None, *[ln.number for ln in room.lines]], key="room.shot_line",
                                   format_func=_line_label)
            text = st.text_area(tr("shot_request"), max_chars=1000)
            if st.form_submit_button(tr("ask_shot"), type="primary"):
                chrome.run_action(viewing.request_shot, viewing_id=v.id, actor=actor.username, text=text,
                                  guide_item_id=guide, line_number=line_no, ok=tr("shot_asked"))
    if room.may_capture:
        st.subheader(tr("capture"))
        open_shots = [sh for sh in room.shot_requests if sh.state == "open"]
        shot = st.selectbox(tr("shot_request"), [None, *[sh.id for sh in open_shots]], key="room.capture_shot",
                            format_func=lambda i: "—" if i is None else next(f"#{sh.id} {sh.text}" for sh in open_shots if sh.id == i))
        chosen = next((sh for sh in open_shots if sh.id == shot), None)
        line_no = st.selectbox(tr("line_no"), [None, *[ln.number for ln in room.lines]], key="room.capture_line",
                               format_func=_line_label,
                               index=([None, *[ln.number for ln in room.lines]].index(chosen.line_number)
                                      if chosen and chosen.line_number in [ln.number for ln in room.lines] else 0))
        note = st.text_input(tr("note"), max_chars=2000, key="room.capture_note")
        use_camera = st.toggle(tr("use_camera"), key="room.use_camera")
        photo = st.camera_input(tr("take_photo"), key="room.camera") if use_camera else None
        upload = st.file_uploader(tr("upload_file"), type=media.extensions(),
                                  key="room.upload")
        item = photo or upload
        if item is not None and st.button(tr("send_evidence"), type="primary", key="room.send"):
            out = chrome.run_action(evidence.add_evidence, case_number=v.case_number, actor=actor.username,
                                    stream=io.BytesIO(item.getvalue()), filename=item.name or "capture.jpg",
                                    line_number=line_no, viewing_id=v.id, shot_request_id=shot, note=note,
                                    ok=tr("evidence_sent"))
            if out is not None and out.duplicate:
                st.info(tr("evidence_duplicate"))
            if out is not None and out.line_number is not None and out.content_type in ("image/jpeg", "image/png"):
                # 以图识图: does the snapshot show the mark of the line's recordation?
                chk = chrome.run_action(recognition.check_snapshot, actor=actor.username, case_number=v.case_number,
                                        evidence_id=out.id)
                if chk is not None:
                    (st.success if chk.matched else st.warning)(
                        tr("snapshot_match" if chk.matched else "snapshot_no_match", brand=chk.brand,
                           rec=chk.recordation, score=chk.score))
    if room.may_answer and v.notice_id is not None:
        st.subheader(tr("answer"))
        p = portal.my_notice(actor=actor.username, notice_id=v.notice_id)
        if parts.answer_form(p, key=f"room.{v.id}", submit=lambda data: viewing.answer_from_room(
                viewing_id=v.id, actor=actor.username, answer=data)):
            st.session_state["room.flash"] = tr("answer_recorded")
            st.rerun()
    if st.session_state.get("room.flash"):
        st.success(st.session_state.pop("room.flash"))
