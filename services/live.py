"""The live connection of a viewing room (实时连线): who may publish, watch, speak to the officer, take
a snapshot or close it, and how its snapshots and its recording become evidence.

The officer films and speaks (``publish_live``); everyone else invited watches and hears
(``watch_live``) and may answer by voice (``speak_live``: the rights holder guides the officer to
the detail it wants), which the officers hear (``hear_live``). One participant speaks at a time:
whoever started last has the channel, and everyone sees who it is.

The media itself is ``adapters.live`` (aiortc). Every function here first asks
``services.viewing.live_seat`` who the caller is in the room: anyone not invited to that viewing
(role, organisation, the viewing's case) is told it does not exist, and gets no track at all.
Snapshots and the recording go through ``services.evidence.add_evidence`` like any other capture,
so they are hashed, stored under the case and listed in the room within its 2-second refresh.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from aiortc import MediaStreamTrack

from adapters.live import LiveRegistry, PublisherSink
from models.evidence_schemas import EvidenceOut, LivePresenceOut, LiveRoomOut, LiveSeatOut, SnapshotIn, ViewingOut
from models.rules.errors import InvalidInput, PermissionDenied
from services import evidence, viewing
from services.context import load_actor, now_or, record
from services.unit_of_work import UnitOfWork, given

#: A snapshot needs a picture newer than this (seconds): an older one means the camera has stopped.
FRESH_SECONDS = 5.0


@dataclass
class Upstream:
    """Where the publishing officer's browser delivers its camera and microphone."""

    seat: LiveSeatOut
    video: PublisherSink
    audio: PublisherSink


@dataclass
class Voice:
    """Where a participant's browser delivers its microphone, back to the officer."""

    seat: LiveSeatOut
    audio: PublisherSink


@dataclass
class Feed:
    """One participant's own subscription to the room's picture and sound."""

    seat: LiveSeatOut
    video: MediaStreamTrack
    audio: MediaStreamTrack


def publish_live(*, rooms: LiveRegistry, viewing_id: int, actor: str, now: datetime | None = None,
                 uow: UnitOfWork | None = None) -> Upstream:
    """An officer of the office sends the phone's camera to the room (a newer connection replaces an older).
    The first picture of a recorded room is noted on the timeline (``viewing.live_started``): from then on
    the room closes where its recording can be kept (``close_live_room``)."""
    uow = given(uow)
    seat = viewing.live_seat(viewing_id=viewing_id, actor=actor, uow=uow)
    if not seat.may_publish:
        raise PermissionDenied(actor, "publish the live picture", "only a site or IPR officer of the office films")
    room = rooms.room(viewing_id)
    first = room.publisher is None and room.record_to is not None
    room.seen(seat.you, seat.part, publishing=True)
    if first:  # the session is now recorded: the room must be closed where the recording can be kept
        with uow.transaction() as s:
            record(s, actor=load_actor(s, actor), action="viewing.live_started", subject=f"viewing:{viewing_id}",
                   at=now_or(now), case_id=_case_id(s, viewing_id), after={"recorded": True})
    return Upstream(seat, room.sink("video"), room.sink("audio"))


def watch_live(*, rooms: LiveRegistry, viewing_id: int, actor: str, uow: UnitOfWork | None = None) -> Feed:
    """A participant's tracks of the room (relayed: no new upstream per viewer)."""
    uow = given(uow)
    seat = viewing.live_seat(viewing_id=viewing_id, actor=actor, uow=uow)
    room = rooms.room(viewing_id)
    return Feed(seat, room.subscribe("video"), room.subscribe("audio"))


def speak_live(*, rooms: LiveRegistry, viewing_id: int, actor: str, uow: UnitOfWork | None = None) -> Voice:
    """A participant other than the officer filming answers by voice: the microphone goes to the officers
    (and into the recording). The last to start speaking has the channel."""
    uow = given(uow)
    seat = viewing.live_seat(viewing_id=viewing_id, actor=actor, uow=uow)
    room = rooms.room(viewing_id)
    if room.publisher == seat.you:
        raise InvalidInput("voice", "the officer filming is heard through the live picture's own sound")
    return Voice(seat, room.voice_sink(seat.you))


def hear_live(*, rooms: LiveRegistry, viewing_id: int, actor: str, uow: UnitOfWork | None = None) -> MediaStreamTrack:
    """The voice of the participant speaking, for an officer of the office (who films or may film)."""
    uow = given(uow)
    seat = viewing.live_seat(viewing_id=viewing_id, actor=actor, uow=uow)
    if not seat.may_publish:
        raise PermissionDenied(actor, "hear the room's voice channel", "the officers on site hear the participants")
    return rooms.room(viewing_id).subscribe("voice")


def live_status(*, rooms: LiveRegistry, viewing_id: int, actor: str, connected: bool = False,
                publishing: bool = False, uow: UnitOfWork | None = None) -> LiveRoomOut:
    """What the live connection looks like to ``actor`` (who is connected, whether the picture flows);
    ``connected`` reports that this participant's own connection is up (pages report every 2 s)."""
    uow = given(uow)
    seat = viewing.live_seat(viewing_id=viewing_id, actor=actor, uow=uow)
    room = rooms.room(viewing_id)
    if connected:
        room.seen(seat.you, seat.part, publishing=publishing and seat.may_publish)
    st = room.stats()
    fresh = st.last_frame_age is not None and st.last_frame_age <= FRESH_SECONDS
    return LiveRoomOut(viewing_id=viewing_id, live=st.publishing and fresh, recorded=room.record_to is not None,
                       connected=[LivePresenceOut(username=p.username, part=p.role, publishing=p.publishing,
                                                  speaking=p.speaking) for p in room.connected()],
                       publisher=room.publisher, speaker=room.speaker, width=st.width, height=st.height, video_frames=st.video_frames,
                       last_frame_age=st.last_frame_age)


def take_snapshot(*, rooms: LiveRegistry, viewing_id: int, actor: str, shot_request_id: int | None = None,
                  line_number: int | None = None, note: str = "", now: datetime | None = None,
                  uow: UnitOfWork | None = None) -> EvidenceOut:
    """The current frame of the officer's camera, at the resolution it arrives in, stored as evidence
    (captured by the officer who films; the timeline says who asked and for which shot request)."""
    uow = given(uow)
    data = SnapshotIn(shot_request_id=shot_request_id, line_number=line_number, note=note)
    now = now_or(now)
    seat = viewing.live_seat(viewing_id=viewing_id, actor=actor, uow=uow)
    if not seat.may_snapshot:
        raise PermissionDenied(actor, "take a snapshot", "the officers and the rights holder take snapshots")
    room = rooms.get(viewing_id)
    st = room.stats() if room is not None else None
    if room is None or st is None or st.last_frame_age is None or st.last_frame_age > FRESH_SECONDS:
        raise InvalidInput("snapshot", "no live picture is arriving from the site: take a photo instead")
    filmed_by = room.publisher
    jpeg = room.snapshot_jpeg()
    if filmed_by is None or jpeg is None:
        raise InvalidInput("snapshot", "no live picture is arriving from the site: take a photo instead")
    text = f"Live snapshot asked by {seat.you}, filmed by {filmed_by}" + (f": {data.note}" if data.note else "")
    out = evidence.add_evidence(case_number=seat.case_number, actor=filmed_by, stream=io.BytesIO(jpeg),
                                filename=f"viewing-{viewing_id}-snapshot.jpg", line_number=data.line_number,
                                viewing_id=viewing_id, shot_request_id=data.shot_request_id, note=text, now=now,
                                uow=uow)
    with uow.transaction() as s:
        who = load_actor(s, actor)
        record(s, actor=who, action="viewing.snapshot", subject=f"viewing:{viewing_id}", at=now,
               case_id=_case_id(s, viewing_id),
               after={"evidence_id": out.id, "sha256": out.sha256, "asked_by": seat.you, "filmed_by": filmed_by,
                      "shot_request_id": data.shot_request_id, "server_time": now.isoformat(),
                      "width": st.width, "height": st.height})
    return out


def close_live_room(*, rooms: LiveRegistry, viewing_id: int, actor: str, now: datetime | None = None,
                    uow: UnitOfWork | None = None) -> ViewingOut:
    """Close the room: the live media stops, the session's recording is stored as evidence (SHA-256,
    duration, participants) while the room is still open, then the room closes. If storing fails the
    room stays open and the recording stays on disk under ``var/live``."""
    uow = given(uow)
    now = now_or(now)
    seat = viewing.live_seat(viewing_id=viewing_id, actor=actor, uow=uow)
    if not seat.may_close:
        raise PermissionDenied(actor, "close a viewing room", "only a site or IPR officer of the office may")
    room = rooms.get(viewing_id)
    if room is not None:
        recording = room.call(room.close())
        rooms.discard(viewing_id, room)
        if recording is not None:
            participants = sorted(room.attendees)
            minutes, seconds = divmod(round(recording.duration_seconds), 60)
            sent = recording.video_frames + recording.video_frames_lost
            # the evidence says itself how much of what the site sent it lacks
            lost = (f"; {recording.video_frames_lost} of {sent} pictures lost (the recorder fell behind)"
                    if recording.video_frames_lost else "")
            with recording.path.open("rb") as f:
                out = evidence.add_evidence(
                    case_number=seat.case_number, actor=actor, stream=f, filename=f"viewing-{viewing_id}.webm",
                    viewing_id=viewing_id, now=now,
                    note=f"Recording of the live session ({minutes}:{seconds:02d}); participants: "
                         f"{', '.join(participants)}{lost}",
                    uow=uow)
            with uow.transaction() as s:
                record(s, actor=load_actor(s, actor), action="viewing.recorded", subject=f"viewing:{viewing_id}", at=now,
                       case_id=_case_id(s, viewing_id),
                       after={"evidence_id": out.id, "sha256": out.sha256, "size": out.size,
                              "duration_seconds": recording.duration_seconds, "participants": participants,
                              "video_frames": recording.video_frames, "audio_frames": recording.audio_frames,
                              "voice_frames": recording.voice_frames, "video_frames_lost": recording.video_frames_lost,
                              "audio_frames_lost": recording.audio_frames_lost,
                              "voice_frames_lost": recording.voice_frames_lost})
            recording.path.unlink(missing_ok=True)
    # no room in this process (the app restarted): its recording, if one was running, is lost
    return viewing.close_room(viewing_id=viewing_id, actor=actor, now=now, abandon_recording=room is None, uow=uow)


def _case_id(s, viewing_id: int) -> int:
    from models.tables import Viewing

    v = s.get(Viewing, viewing_id)
    assert v is not None
    return v.case_id


__all__ = ["Feed", "Upstream", "Voice", "close_live_room", "hear_live", "live_status", "publish_live", "speak_live",
           "take_snapshot", "watch_live"]
