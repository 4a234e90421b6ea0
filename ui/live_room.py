"""The live part of the viewing room (实时连线): the site officer's phone publishes its camera and
microphone (streamlit-webrtc, SENDONLY, rear camera by default), every other participant receives the
relayed picture (RECVONLY) and may speak back (SENDONLY, microphone only), which the officer hears
(RECVONLY, sound only); everyone sees who is connected, who speaks and that the session is recorded,
and the room falls back to photo mode when the live connection does not come up."""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from adapters.live import LiveRegistry
from models.enums import Role
from models.rules.errors import YunqueError
from services import live, viewing
from ui import chrome
from yunque.settings import get_settings

#: Seconds a participant waits for the live picture before the room says so and offers photo mode.
FALLBACK_AFTER = 8.0


@st.cache_resource
def rooms() -> LiveRegistry:
    """The live rooms of this server process, by viewing id (one registry shared by every session)."""
    return LiveRegistry(get_settings().var_dir / "live")


def _served() -> bool:
    """True under a real Streamlit server: the media needs its event loop (AppTest has none: photo mode)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


def _rtc() -> dict[str, Any]:
    return {"iceServers": get_settings().ice_servers}


#: the live component's own words (streamlit-webrtc ``Translations``), from the catalogs
DEVICE_WORDS = ("select_device", "media_api_not_available", "device_ask_permission", "device_not_available",
                "device_access_denied", "turn_camera_on", "turn_camera_off", "mute_microphone", "unmute_microphone",
                "select_camera", "select_microphone")


def _words(start: str, stop: str) -> dict[str, str]:
    """Every text the live component draws, in the user's language: its start and stop buttons, and the
    device picker and permission messages (``live_device.*``)."""
    tr = chrome.translator()
    return {"start": tr(start), "stop": tr(stop), **{k: tr(f"live_device.{k}") for k in DEVICE_WORDS}}


def _hear(viewing_id: int, username: str, *, on: bool) -> None:
    """The officer filming hears the participant speaking (sound only; on while the picture is)."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    try:
        voice = live.hear_live(rooms=rooms(), viewing_id=viewing_id, actor=username)
    except YunqueError:
        return
    webrtc_streamer(key=f"room-live-hear-{viewing_id}", mode=WebRtcMode.RECVONLY, source_audio_track=voice,
                    media_stream_constraints={"video": False, "audio": True}, desired_playing_state=on,
                    frontend_rtc_configuration=_rtc(), server_rtc_configuration=_rtc(),
                    translations=_words("live_hear_start", "live_hear_stop"))


def _speak(viewing_id: int, username: str) -> None:
    """A participant speaks to the officer: the microphone only, while its button says so."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    try:
        voice = live.speak_live(rooms=rooms(), viewing_id=viewing_id, actor=username)
    except YunqueError:  # the officer who filmed a moment ago: heard through the picture
        return
    webrtc_streamer(key=f"room-live-speak-{viewing_id}", mode=WebRtcMode.SENDONLY, sink_audio_track=voice.audio,
                    media_stream_constraints={"video": False, "audio": True},
                    frontend_rtc_configuration=_rtc(), server_rtc_configuration=_rtc(),
                    translations=_words("live_speak_start", "live_speak_stop"))


def show(viewing_id: int, actor: Any, open_shots: list[Any]) -> None:
    """Render the live connection of an open room for ``actor``; nothing for anyone not invited."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    tr = chrome.translator()
    try:
        seat = viewing.live_seat(viewing_id=viewing_id, actor=actor.username)
    except YunqueError:  # not invited (NotFound) or the room is not open
        return
    st.subheader(tr("live"))
    st.info(tr("live_recorded"), icon=":material/radio_button_checked:")
    if not _served():
        st.warning(tr("live_fallback"), icon=":material/photo_camera:")
        return
    publishing = False
    if seat.may_publish and st.toggle(tr("live_publish"), value=actor.role == Role.SITE_OFFICER,
                                      key=f"room.live.publish.{viewing_id}"):
        facing = st.radio(tr("live_camera"), ["environment", "user"], horizontal=True,
                          format_func=lambda f: tr(f"live_camera.{f}"), key=f"room.live.facing.{viewing_id}")
        upstream = live.publish_live(rooms=rooms(), viewing_id=viewing_id, actor=actor.username)
        ctx = webrtc_streamer(
            key=f"room-live-publish-{viewing_id}-{facing}",  # a new camera is a new connection; viewers keep theirs
            mode=WebRtcMode.SENDONLY,
            sink_video_track=upstream.video, sink_audio_track=upstream.audio,
            media_stream_constraints={"video": {"facingMode": {"ideal": facing}, "width": {"ideal": 1280},
                                                "height": {"ideal": 720}}, "audio": True},
            frontend_rtc_configuration=_rtc(), server_rtc_configuration=_rtc(), translations=_words("live_start", "live_stop"),
            video_html_attrs={"autoPlay": True, "muted": True, "playsInline": True, "style": {"width": "100%"}},
        )
        publishing = True
        _hear(viewing_id, actor.username, on=bool(ctx.state.playing))
    else:
        feed = live.watch_live(rooms=rooms(), viewing_id=viewing_id, actor=actor.username)
        ctx = webrtc_streamer(
            key=f"room-live-watch-{viewing_id}",
            mode=WebRtcMode.RECVONLY,
            source_video_track=feed.video, source_audio_track=feed.audio,
            media_stream_constraints={"video": True, "audio": True},
            frontend_rtc_configuration=_rtc(), server_rtc_configuration=_rtc(), translations=_words("live_start", "live_stop"),
            video_html_attrs={"autoPlay": True, "controls": False, "playsInline": True, "style": {"width": "100%"}},
        )
        _speak(viewing_id, actor.username)
    playing = bool(ctx.state.playing)
    since_key = f"room.live.since.{viewing_id}"
    if playing:
        st.session_state.setdefault(since_key, time.monotonic())
    else:
        st.session_state.pop(since_key, None)

    @st.fragment(run_every=2)
    def status() -> None:
        try:
            out = live.live_status(rooms=rooms(), viewing_id=viewing_id, actor=actor.username, connected=playing,
                                   publishing=publishing)
        except YunqueError:
            return
        known = chrome.people(actor.username, [p.username for p in out.connected])
        names = [f"{chrome.person(p.username, known)} ({tr('live_filming')})" if p.publishing
                 else f"{chrome.person(p.username, known)} ({tr('live_speaking')})" if p.speaking
                 else chrome.person(p.username, known) for p in out.connected]
        st.caption(f"{tr('live_connected')}: {chrome.md(', '.join(names))}" if names else tr("live_nobody"))
        started = st.session_state.get(since_key)
        if playing and not out.live:
            waited = time.monotonic() - started if started is not None else 0.0
            if waited > FALLBACK_AFTER:
                st.warning(tr("live_fallback"), icon=":material/photo_camera:")
            else:
                st.caption(tr("live_waiting"))

    status()
    if seat.may_snapshot:
        shot = st.selectbox(tr("live_for_shot"), [None, *[sh.id for sh in open_shots]], key=f"room.live.shot.{viewing_id}",
                            format_func=lambda i: "—" if i is None else next(f"#{sh.id} {sh.text}" for sh in open_shots
                                                                             if sh.id == i))
        if st.button(tr("live_snapshot"), key=f"room.live.snap.{viewing_id}", icon=":material/screenshot_monitor:"):
            chrome.run_action(live.take_snapshot, rooms=rooms(), viewing_id=viewing_id, actor=actor.username,
                              shot_request_id=shot, ok=tr("live_snapshot_done"))
