"""The live connection of a viewing room (实时连线) over real aiortc tracks: the officer publishes a
synthetic camera and microphone, participants receive the relayed picture, the rights holder's voice
reaches the officer, a snapshot and the recorded session become evidence, and nobody uninvited gets
a frame."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from sqlmodel import select

from adapters.live import LiveRegistry, LiveRoom, RecorderFailed, SessionRecorder
from models.rules.errors import ConcurrentUpdate, InvalidInput, NotFound, PermissionDenied
from models.tables import TimelineEntry
from services.demo import seed_shipment
from services.evidence import list_evidence, verify_evidence
from services.live import close_live_room, hear_live, live_status, publish_live, speak_live, take_snapshot, watch_live
from services.viewing import decide_viewing, open_room, request_shot, request_viewing, room_state
from tests.support import moto_store, open_confirmed, session_scope, wait_for

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 24, 10, 30, tzinfo=SH)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def media_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """The event loop the media runs on, in its own thread as streamlit-webrtc's is."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop

    async def cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def on(loop: asyncio.AbstractEventLoop, coro: Any, timeout: float = 30) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)


def _open_viewing(invite_consignor: bool) -> tuple[Any, Any]:
    case = open_confirmed(seed_shipment(T0), now=T0)
    chanel = next(n for n in case.notices if "CHANEL" in n.brands)
    v = request_viewing(actor="chanel.agent", notice_id=chanel.id, invite_consignor=invite_consignor, now=at(1))
    decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=at(2))
    return case, open_room(viewing_id=v.id, actor="site.wang", now=at(3))


@pytest.fixture
def room(db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    with moto_store(monkeypatch):
        yield _open_viewing(invite_consignor=True)


@pytest.fixture
def lite_room(sqlite_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    with moto_store(monkeypatch):
        yield _open_viewing(invite_consignor=False)


async def _publish(upstream: Any) -> None:
    upstream.video.addTrack(VideoStreamTrack())  # 640x480 at 30 frames a second
    upstream.audio.addTrack(AudioStreamTrack())
    upstream.audio.start()
    upstream.video.start()


async def _frames(track: Any, n: int) -> list[Any]:
    return [await asyncio.wait_for(track.recv(), 5) for _ in range(n)]


def _timeline(action: str) -> list[dict]:
    with session_scope(readonly=True) as s:
        return [dict(e.after) for e in s.exec(select(TimelineEntry).where(TimelineEntry.action == action))]


def test_the_officers_camera_reaches_every_participant_and_a_snapshot_and_the_recording_become_evidence(
        room, media_loop, tmp_path: Path) -> None:
    case, v = room
    rooms = LiveRegistry(tmp_path / "live")
    on(media_loop, _publish(publish_live(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(4))))
    feeds = {who: watch_live(rooms=rooms, viewing_id=v.id, actor=who) for who in ("chanel.agent", "cq.trading", "ipr.li")}
    got = {who: on(media_loop, _frames(f.video, 10)) for who, f in feeds.items()}
    for frames in got.values():
        assert {(f.width, f.height) for f in frames} == {(640, 480)}
        assert [f.pts for f in frames] == sorted({f.pts for f in frames})
    sound = on(media_loop, _frames(feeds["chanel.agent"].audio, 5))
    assert {f.sample_rate for f in sound} == {8000}  # what aiortc's synthetic microphone produces

    for who, publishing in (("site.wang", True), ("chanel.agent", False), ("cq.trading", False)):
        status = live_status(rooms=rooms, viewing_id=v.id, actor=who, connected=True, publishing=publishing)
    assert status.live and status.recorded and status.publisher == "site.wang" and (status.width, status.height) == (640, 480)
    assert [(p.username, p.part, p.publishing) for p in status.connected] == [
        ("site.wang", "customs", True), ("chanel.agent", "rights_holder", False), ("cq.trading", "consignor", False)]

    shot = request_shot(viewing_id=v.id, actor="chanel.agent", text="the serial number, please", now=at(4))
    snap = take_snapshot(rooms=rooms, viewing_id=v.id, actor="chanel.agent", shot_request_id=shot.id, now=at(5))
    assert (snap.kind, snap.content_type, snap.captured_by, snap.shot_request_id) == ("photo", "image/jpeg", "site.wang", shot.id)
    assert snap.captured_at == at(5) and "asked by chanel.agent" in snap.note
    for who in ("chanel.agent", "cq.trading", "site.wang"):
        seen = room_state(viewing_id=v.id, actor=who)
        assert snap.id in [e.id for e in seen.evidence]
    assert {s.id: s.state for s in room_state(viewing_id=v.id, actor="chanel.agent").shot_requests} == {shot.id: "answered"}
    [asked] = _timeline("viewing.snapshot")
    assert (asked["asked_by"], asked["filmed_by"], asked["shot_request_id"], asked["width"]) == (
        "chanel.agent", "site.wang", shot.id, 640)

    wait_for("the recorder to have 10 video frames",
             lambda: rooms.get(v.id).recorder is not None and rooms.get(v.id).recorder.video_frames >= 10, timeout=90, every=0.05)
    closed = close_live_room(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(9))
    assert closed.state == "closed" and rooms.get(v.id) is None
    with pytest.raises(Exception):  # noqa: B017  (the viewers' tracks end with the room)
        on(media_loop, _frames(feeds["chanel.agent"].video, 20))
    recording = [e for e in list_evidence(case_number=case.number, actor="site.wang") if e.content_type == "video/webm"]
    assert len(recording) == 1 and recording[0].viewing_id == v.id and recording[0].size > 1000
    assert "participants: chanel.agent, cq.trading, site.wang" in recording[0].note
    [rec] = _timeline("viewing.recorded")
    assert rec["evidence_id"] == recording[0].id and rec["sha256"] == recording[0].sha256
    assert rec["duration_seconds"] > 0.5 and rec["participants"] == ["chanel.agent", "cq.trading", "site.wang"]
    assert rec["audio_frames"] > 0 and rec["video_frames"] >= 10 and rec["video_frames_lost"] == 0
    assert [e.id for e in list_evidence(case_number=case.number, actor="chanel.agent")] == [snap.id, recording[0].id]
    report = verify_evidence(case_number=case.number)
    assert report.intact and report.counts["intact"] == 2
    assert list((tmp_path / "live").iterdir()) == []  # the file on disk went once stored
    import av

    from services.evidence import store

    with av.open(io.BytesIO(store().open(f"evidence/{case.number}/{rec['sha256']}").read())) as probe:
        kinds = sorted(st.type for st in probe.streams)
        pictures = sum(1 for _ in probe.decode(video=0))
    assert kinds == ["audio", "audio", "video"] and pictures >= 10  # the officer's sound, the voice back, the picture


async def _speak(voice: Any) -> None:
    voice.audio.addTrack(AudioStreamTrack())
    voice.audio.start()


def test_the_rights_holder_speaks_to_the_officer_one_voice_at_a_time_and_it_is_recorded(
        lite_room, media_loop, tmp_path: Path) -> None:
    case, v = lite_room
    rooms = LiveRegistry(tmp_path / "live")
    on(media_loop, _publish(publish_live(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(4))))
    heard = hear_live(rooms=rooms, viewing_id=v.id, actor="site.wang")
    on(media_loop, _speak(speak_live(rooms=rooms, viewing_id=v.id, actor="chanel.agent")))
    sound = on(media_loop, _frames(heard, 10))
    assert {f.sample_rate for f in sound} == {8000} and [f.pts for f in sound] == sorted(f.pts for f in sound)
    live_status(rooms=rooms, viewing_id=v.id, actor="chanel.agent", connected=True)
    status = live_status(rooms=rooms, viewing_id=v.id, actor="site.wang", connected=True, publishing=True)
    assert status.speaker == "chanel.agent"
    assert {p.username: p.speaking for p in status.connected} == {"site.wang": False, "chanel.agent": True}

    # an IPR officer speaks too: the last to start has the channel; when it stops, nobody has it
    ipr = speak_live(rooms=rooms, viewing_id=v.id, actor="ipr.li")
    on(media_loop, _speak(ipr))
    assert live_status(rooms=rooms, viewing_id=v.id, actor="site.wang").speaker == "ipr.li"
    ipr.audio.stop()
    wait_for("the channel to be free", lambda: rooms.get(v.id).speaker is None, timeout=10, every=0.05)

    with pytest.raises(InvalidInput, match="own sound"):
        speak_live(rooms=rooms, viewing_id=v.id, actor="site.wang")  # the officer filming speaks on the picture
    with pytest.raises(PermissionDenied):
        hear_live(rooms=rooms, viewing_id=v.id, actor="chanel.agent")
    for who in ("nike.agent", "cq.trading", "nobody"):  # not invited: the room does not exist for them
        for call in (speak_live, hear_live):
            with pytest.raises(NotFound):
                call(rooms=rooms, viewing_id=v.id, actor=who)

    on(media_loop, _speak(speak_live(rooms=rooms, viewing_id=v.id, actor="chanel.agent")))
    wait_for("the recorder to have the voice", lambda: rooms.get(v.id).recorder is not None
             and rooms.get(v.id).recorder.voice_frames >= 20, timeout=60, every=0.05)
    close_live_room(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(9))
    [rec] = _timeline("viewing.recorded")
    assert rec["voice_frames"] >= 20
    import av

    from services.evidence import store

    with av.open(io.BytesIO(store().open(f"evidence/{case.number}/{rec['sha256']}").read())) as probe:
        voice = [st for st in probe.streams if st.metadata.get("title") == "voice to the site"]
        assert len(voice) == 1 and voice[0].type == "audio"
        assert sum(1 for _ in probe.demux(voice[0]) if _.size) > 10  # the voice was encoded, not only declared


def test_nobody_uninvited_joins_or_receives_the_media(lite_room, media_loop, tmp_path: Path) -> None:
    case, v = lite_room  # the consignor was not invited to this one
    rooms = LiveRegistry(tmp_path / "live")
    on(media_loop, _publish(publish_live(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(4))))
    for who in ("nike.agent", "cq.trading", "site.huang", "nobody"):
        for call in (watch_live, publish_live, live_status, take_snapshot, close_live_room):
            with pytest.raises(NotFound):
                call(rooms=rooms, viewing_id=v.id, actor=who)
    with pytest.raises(PermissionDenied):
        publish_live(rooms=rooms, viewing_id=v.id, actor="chanel.agent")
    with pytest.raises(PermissionDenied):
        close_live_room(rooms=rooms, viewing_id=v.id, actor="chanel.agent")
    assert [p.username for p in live_status(rooms=rooms, viewing_id=v.id, actor="site.wang").connected] == ["site.wang"]
    assert list_evidence(case_number=case.number, actor="site.wang") == []


def test_a_snapshot_needs_a_live_picture_and_an_open_room(lite_room, media_loop, tmp_path: Path) -> None:
    _case, v = lite_room
    rooms = LiveRegistry(tmp_path / "live")
    with pytest.raises(InvalidInput, match="no live picture"):
        take_snapshot(rooms=rooms, viewing_id=v.id, actor="chanel.agent", now=at(4))
    closed = close_live_room(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(5))  # nothing was live: no recording
    assert closed.state == "closed"
    for call in (watch_live, live_status):
        with pytest.raises(ConcurrentUpdate):
            call(rooms=rooms, viewing_id=v.id, actor="chanel.agent")


def test_a_recorded_live_session_is_closed_in_its_room_or_its_loss_is_recorded(lite_room, media_loop, tmp_path: Path) -> None:
    """Closing from the command line or the inbox would lose the recording of a session on air in the viewing
    room: it is refused, unless the officer says the recording is lost (the app stopped); either way the
    timeline says what happened to it."""
    from services.viewing import close_room

    _case, v = lite_room
    rooms = LiveRegistry(tmp_path / "live")
    on(media_loop, _publish(publish_live(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(4))))
    assert [e["recorded"] for e in _timeline("viewing.live_started")] == [True]
    with pytest.raises(ConcurrentUpdate, match="recorded"):
        close_room(viewing_id=v.id, actor="site.wang", now=at(5))
    closed = close_room(viewing_id=v.id, actor="site.wang", now=at(5), abandon_recording=True)
    assert closed.state == "closed"
    assert [e["reason"] for e in _timeline("viewing.recording_abandoned")] == ["the room was closed outside the live room"]
    on(media_loop, rooms.room(v.id).close())


def _picture(i: int) -> Any:
    """A 640x480 picture with a bar that moves, as the officer's camera would send it (planar YUV 4:2:0)."""
    import av
    import numpy as np

    planes = np.full((720, 640), 128, dtype=np.uint8)
    planes[100:380, (i * 8) % 600:(i * 8) % 600 + 40] = 235
    return av.VideoFrame.from_ndarray(planes, format="yuv420p")


def _pictures_in(path: Path) -> int:
    import av

    with av.open(str(path)) as f:
        return sum(1 for p in f.demux(f.streams.video[0]) if p.size)


async def _view(track: Any) -> int:
    """A viewer's server connection, as aiortc's sender treats the room's track: the newest frame, encoded
    to VP8 on the default executor. Returns the pictures it sent on."""
    from aiortc.codecs.vpx import Vp8Encoder
    from aiortc.mediastreams import MediaStreamError

    encoder, loop, sent = Vp8Encoder(), asyncio.get_running_loop(), 0
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return sent
        await loop.run_in_executor(None, encoder.encode, frame)
        sent += 1


def test_the_recording_holds_the_pictures_the_site_sent_while_three_viewers_watch(tmp_path: Path) -> None:
    """The viewers' encoders and the recorder's share the machine: the viewers may skip to the newest
    picture, the recording may not."""
    sent = 150  # five seconds at 30 frames a second

    async def session() -> tuple[Any, list[int]]:
        room = LiveRoom(1, record_to=tmp_path / "session.webm")
        viewers = [asyncio.ensure_future(_view(room.subscribe("video"))) for _ in range(3)]
        for i in range(sent):
            await room.on_frame("video", _picture(i))
            await asyncio.sleep(1 / 30)
        recording = await room.close()
        return recording, await asyncio.gather(*viewers)

    recording, viewed = asyncio.run(session())
    assert recording is not None and min(viewed) > 0
    in_file = _pictures_in(recording.path)
    assert in_file >= 0.95 * sent
    assert (recording.video_frames, recording.video_frames + recording.video_frames_lost) == (in_file, sent)
    assert recording.duration_seconds >= 4.5  # on the room's clock, however slowly it was encoded


def test_pictures_the_recorder_could_not_keep_are_counted_lost(tmp_path: Path) -> None:
    """A backlog of ten pictures, sixty sent at once: the file holds those it took, the rest are counted."""
    from fractions import Fraction

    async def burst() -> Any:
        recorder = SessionRecorder(tmp_path / "burst.webm", with_audio=False, backlog_bytes=10 * 640 * 480 * 3 // 2)
        for i in range(60):
            picture = _picture(i)
            picture.pts, picture.time_base = i * 3000, Fraction(1, 90_000)
            recorder.feed("video", picture)
        return await recorder.stop()

    recording = asyncio.run(burst())
    assert recording is not None and recording.video_frames_lost > 0
    assert recording.video_frames == _pictures_in(recording.path) >= 10
    assert recording.video_frames + recording.video_frames_lost == 60


def test_a_recorder_that_dies_is_an_error_at_closing_not_a_silent_loss(tmp_path: Path) -> None:
    import os
    import signal
    from fractions import Fraction

    async def session() -> SessionRecorder:
        recorder = SessionRecorder(tmp_path / "dies.webm", with_audio=False)
        os.kill(recorder.pid, signal.SIGKILL)
        for i in range(30):
            picture = _picture(i)
            picture.pts, picture.time_base = i * 3000, Fraction(1, 90_000)
            recorder.feed("video", picture)
            await asyncio.sleep(0.01)
        with pytest.raises(RecorderFailed) as failed:
            await recorder.stop()
        assert failed.value.returncode == -signal.SIGKILL
        return recorder

    recorder = asyncio.run(session())
    assert recorder.lost["video"] == 30  # none of them reached a file
