"""The live media of viewing rooms (实时连线): the site officer's camera and microphone received over
WebRTC, relayed to every participant, snapshotted and recorded; and the room's voice back to the
officer (a participant's microphone, one speaker at a time), recorded with it. aiortc and PyAV only; who may
publish, watch, capture or close is decided by ``services.live``.

One ``LiveRoom`` per open viewing, kept in a ``LiveRegistry`` (one per process: the web app holds it
in ``st.cache_resource``). The publisher's tracks arrive through ``PublisherSink`` (a streamlit-webrtc
``MediaSink``) and are copied into one stable ``RoomTrack`` per kind, re-stamped on the server's
clock: viewers and the recorder subscribe to those through one aiortc ``MediaRelay``, so the
upstream is decoded once whatever the number of viewers, and nobody loses the picture when the
officer switches camera or reconnects (a new upstream replaces the old one behind the same track).

Everything that touches tracks runs on one asyncio loop (streamlit-webrtc's, or a test's); calls
from other threads go through ``LiveRoom.call``.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import av
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)
T = TypeVar("T")
VIDEO_CLOCK = 90_000
#: Seen within this many seconds counts as connected (pages report every 2 s).
PRESENCE_SECONDS = 6.0


class RoomClock:
    """The room's time: zero at the first frame any track of the room receives, so that the officer's
    picture and sound and the voice that answers them line up in the recording."""

    def __init__(self) -> None:
        self._t0: float | None = None

    def elapsed(self, now: float) -> float:
        if self._t0 is None:
            self._t0 = now
        return now - self._t0


class RoomTrack(MediaStreamTrack):
    """The room's video or audio (or its voice back to the officer), whoever sends it at the moment."""

    def __init__(self, kind: str, clock: RoomClock | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.clock = clock or RoomClock()
        self._queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=8)
        self._last_pts = -1

    def feed(self, frame: Any) -> None:
        """Stamp ``frame`` on the room's clock and queue it (the oldest is dropped if nobody reads)."""
        elapsed = self.clock.elapsed(time.monotonic())
        if self.kind == "video":
            pts = max(int(elapsed * VIDEO_CLOCK), self._last_pts + 1)
            frame.time_base = Fraction(1, VIDEO_CLOCK)
        else:  # audio: contiguous samples, jumping over a gap (silence, or a new speaker taking over)
            rate = frame.sample_rate
            pts = int(elapsed * rate) if self._last_pts < 0 else self._last_pts + frame.samples
            if self._last_pts >= 0 and int(elapsed * rate) - pts > rate // 2:
                pts = int(elapsed * rate)
            frame.time_base = Fraction(1, rate)
        frame.pts = self._last_pts = pts
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(frame)

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        return frame

    def stop(self) -> None:
        if self.readyState == "live":
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(None)  # wakes the relay, which then ends every subscriber
        super().stop()


class PublisherSink:
    """Receives one kind of a participant's upstream (streamlit-webrtc ``sink_video_track`` /
    ``sink_audio_track``) and copies it into the room: the officer's ``video`` and ``audio`` (a newer
    upstream replaces an older one), or a participant's microphone as the room's ``voice`` (``owner``:
    whoever started speaking last has the channel)."""

    def __init__(self, room: LiveRoom, kind: str, owner: str | None = None) -> None:
        self.room, self.kind, self.owner = room, kind, owner
        self._track: MediaStreamTrack | None = None
        self._task: asyncio.Task[None] | None = None

    def addTrack(self, track: MediaStreamTrack) -> None:
        self.stop()
        self._track = track

    def hasTrack(self) -> bool:
        return self._track is not None

    def start(self) -> None:
        if self._track is None:
            raise RuntimeError("no track attached")
        self.room.bind_loop(asyncio.get_running_loop())
        self.room.upstream_started(self.kind, self.owner)
        self._task = asyncio.get_running_loop().create_task(self._pump(self._track))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._track = None

    async def _pump(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                try:
                    frame = await track.recv()
                except MediaStreamError:
                    return
                await self.room.on_frame(self.kind, frame, owner=self.owner)
        finally:
            if self._task in (None, asyncio.current_task()):  # not replaced meanwhile by a newer upstream
                self.room.upstream_ended(self.kind, self.owner)


@dataclass
class Recording:
    path: Path
    started_at: float  # time.time() of the first frame
    duration_seconds: float
    video_frames: int
    audio_frames: int
    voice_frames: int = 0


class SessionRecorder:
    """Writes the room's video (VP8), the officer's sound and the voice back to the officer (two Opus
    tracks) to a WebM file.

    aiortc's ``MediaRecorder`` encodes on the event loop that also carries every participant's
    media; here the encoding runs on a thread of its own, and VP8 is asked for real-time speed."""

    def __init__(self, path: Path, *, with_audio: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._container = av.open(str(path), mode="w", format="webm")
        self._video = self._container.add_stream("libvpx", rate=30)
        self._video.pix_fmt = "yuv420p"
        self._video.bit_rate = 1_500_000
        self._video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        self._audio = self._container.add_stream("libopus", rate=48000) if with_audio else None
        self._voice = self._container.add_stream("libopus", rate=48000)
        self._voice.metadata["title"] = "voice to the site"  # what the participants said to the officer
        self._sized = False
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-recorder")
        self._tasks: list[asyncio.Task[None]] = []
        self.video_frames = self.audio_frames = self.voice_frames = 0
        self.first_at: float | None = None
        self.last_at: float | None = None
        self._lock = threading.Lock()

    def start(self, video: MediaStreamTrack, audio: MediaStreamTrack | None, voice: MediaStreamTrack | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run(video, "video")))
        if audio is not None and self._audio is not None:
            self._tasks.append(loop.create_task(self._run(audio, "audio")))
        if voice is not None:
            self._tasks.append(loop.create_task(self._run(voice, "voice")))

    async def _run(self, track: MediaStreamTrack, kind: str) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            await loop.run_in_executor(self._pool, self._encode, frame, kind)

    def _encode(self, frame: Any, kind: str) -> None:
        with self._lock:
            if self._container is None:
                return
            now = time.time()
            self.first_at = self.first_at or now
            self.last_at = now
            if kind == "video":
                if not self._sized:
                    self._video.width, self._video.height = frame.width, frame.height
                    self._sized = True
                if (frame.width, frame.height) != (self._video.width, self._video.height):
                    frame = frame.reformat(width=self._video.width, height=self._video.height)
                packets = self._video.encode(frame)
                self.video_frames += 1
            elif kind == "voice":
                packets = self._voice.encode(frame)
                self.voice_frames += 1
            else:
                packets = self._audio.encode(frame) if self._audio is not None else []
                self.audio_frames += 1
            for p in packets:
                self._container.mux(p)

    async def stop(self) -> Recording | None:
        for t in self._tasks:
            t.cancel()
        await asyncio.get_running_loop().run_in_executor(self._pool, self._close)
        self._pool.shutdown(wait=True)
        if not self.video_frames:
            self.path.unlink(missing_ok=True)
            return None
        return Recording(self.path, self.first_at or 0.0, round((self.last_at or 0) - (self.first_at or 0), 3),
                         self.video_frames, self.audio_frames, self.voice_frames)

    def _close(self) -> None:
        with self._lock:
            if self._container is None:
                return
            if self._sized:
                for stream in (self._video, self._audio, self._voice):
                    if stream is not None:
                        for p in stream.encode(None):
                            self._container.mux(p)
            self._container.close()
            self._container = None


@dataclass
class Presence:
    username: str
    role: str  # customs, rights_holder, consignor
    publishing: bool
    seen: float  # time.monotonic()
    speaking: bool = False  # has the voice channel to the officer


@dataclass
class LiveStats:
    video_frames: int
    audio_frames: int
    width: int | None
    height: int | None
    publishing: bool
    recording: bool
    last_frame_age: float | None  # seconds since the last frame from the officer, None before the first


@dataclass
class LiveRoom:
    """The live media of one viewing room."""

    viewing_id: int
    record_to: Path | None = None  # where the session is recorded (None: not recorded)
    clock: RoomClock = field(default_factory=RoomClock)
    video: RoomTrack = field(init=False)
    audio: RoomTrack = field(init=False)
    voice: RoomTrack = field(init=False)  # a participant's microphone, back to the officer
    relay: MediaRelay = field(default_factory=MediaRelay)
    publisher: str | None = None
    speaker: str | None = None  # who has the voice channel (the last to start speaking)
    presence: dict[str, Presence] = field(default_factory=dict)
    attendees: dict[str, str] = field(default_factory=dict)  # everyone ever connected: username -> part
    loop: asyncio.AbstractEventLoop | None = None
    latest: Any = None  # the newest video frame from the officer, as received (full resolution)
    latest_at: float | None = None
    video_frames: int = 0
    audio_frames: int = 0
    voice_frames: int = 0
    recorder: SessionRecorder | None = None
    closed: bool = False
    _upstream: dict[str, bool] = field(default_factory=dict)
    _sinks: dict[str, PublisherSink] = field(default_factory=dict)
    _voices: dict[str, PublisherSink] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.video = RoomTrack("video", self.clock)
        self.audio = RoomTrack("audio", self.clock)
        self.voice = RoomTrack("audio", self.clock)

    # --- the officer's upstream -----------------------------------------------------------------

    def sink(self, kind: str) -> PublisherSink:
        """The sink the publishing officer's connection delivers ``kind`` to (one per kind)."""
        with self._lock:
            if kind not in self._sinks:
                self._sinks[kind] = PublisherSink(self, kind)
            return self._sinks[kind]

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is None:
            self.loop = loop
        elif self.loop is not loop:
            raise RuntimeError("a live room's media runs on one event loop")

    def voice_sink(self, username: str) -> PublisherSink:
        """The sink a participant's microphone is delivered to (one per participant)."""
        with self._lock:
            if username not in self._voices:
                self._voices[username] = PublisherSink(self, "voice", owner=username)
            return self._voices[username]

    def upstream_started(self, kind: str, owner: str | None) -> None:
        if kind == "voice":
            self.speaker = owner  # the last to start speaking has the channel

    async def on_frame(self, kind: str, frame: Any, owner: str | None = None) -> None:
        if self.closed:
            return
        if kind == "voice":
            if owner == self.speaker:
                self.voice_frames += 1
                self.voice.feed(frame)
            return
        self._upstream[kind] = True
        if kind == "video":
            self.latest, self.latest_at = frame, time.monotonic()
            self.video_frames += 1
            if self.recorder is None and self.record_to is not None:
                # Browsers attach microphone and camera before the first frame: the first video frame
                # knows whether the session has sound.
                sound = "audio" in self._sinks and self._sinks["audio"].hasTrack()
                self.recorder = SessionRecorder(self.record_to, with_audio=sound)
                self.recorder.start(self.relay.subscribe(self.video), self.relay.subscribe(self.audio) if sound else None,
                                    self.relay.subscribe(self.voice))
            self.video.feed(frame)  # the same picture; only its time stamp is the room's
        else:
            self.audio_frames += 1
            self.audio.feed(frame)

    def upstream_ended(self, kind: str, owner: str | None = None) -> None:
        if kind == "voice":
            if self.speaker == owner:
                self.speaker = None
            return
        self._upstream[kind] = False

    # --- viewers ---------------------------------------------------------------------------------

    def subscribe(self, kind: str) -> MediaStreamTrack:
        """A track of the room for one more participant (``video``, ``audio``, or the ``voice`` back to
        the officer): the newest frame only, never a backlog."""
        track = {"video": self.video, "audio": self.audio, "voice": self.voice}[kind]
        return self.relay.subscribe(track, buffered=False)

    def seen(self, username: str, role: str, *, publishing: bool, now: float | None = None) -> None:
        with self._lock:
            self.presence[username] = Presence(username, role, publishing, time.monotonic() if now is None else now)
            self.attendees.setdefault(username, role)
            if publishing:
                self.publisher = username

    def connected(self, now: float | None = None) -> list[Presence]:
        now = time.monotonic() if now is None else now
        with self._lock:
            return sorted((replace(p, speaking=p.username == self.speaker) for p in self.presence.values()
                           if now - p.seen <= PRESENCE_SECONDS), key=lambda p: (not p.publishing, p.username))

    def stats(self) -> LiveStats:
        frame = self.latest
        return LiveStats(self.video_frames, self.audio_frames, frame.width if frame is not None else None,
                         frame.height if frame is not None else None, bool(self._upstream.get("video")),
                         self.recorder is not None,
                         None if self.latest_at is None else round(time.monotonic() - self.latest_at, 3))

    # --- snapshot and close ------------------------------------------------------------------------

    def snapshot_jpeg(self, quality: int = 92) -> bytes | None:
        """The current frame of the officer's camera as a JPEG, at the resolution it arrives in."""
        frame = self.latest
        if frame is None:
            return None
        out = io.BytesIO()
        frame.to_image().save(out, format="JPEG", quality=quality)
        return out.getvalue()

    async def close(self) -> Recording | None:
        """Stop the room's media: viewers' tracks end, the recording (if any) is finished."""
        self.closed = True
        for s in [*self._sinks.values(), *self._voices.values()]:
            s.stop()
        self.video.stop()
        self.audio.stop()
        self.voice.stop()
        recorder, self.recorder = self.recorder, None
        return await recorder.stop() if recorder is not None else None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        """Run ``coro`` on the room's media loop from another thread (directly if it never had one)."""
        if self.loop is None or self.loop.is_closed():
            return asyncio.run(coro)
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


class LiveRegistry:
    """Every live room of this process, by viewing id."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._rooms: dict[int, LiveRoom] = {}
        self._lock = threading.Lock()

    def room(self, viewing_id: int, *, record: bool = True) -> LiveRoom:
        with self._lock:
            room = self._rooms.get(viewing_id)
            if room is None or room.closed:
                path = self.workdir / f"viewing-{viewing_id}-{time.time_ns()}.webm" if record else None
                room = self._rooms[viewing_id] = LiveRoom(viewing_id, record_to=path)
            return room

    def get(self, viewing_id: int) -> LiveRoom | None:
        with self._lock:
            room = self._rooms.get(viewing_id)
            return room if room is not None and not room.closed else None

    def discard(self, viewing_id: int, room: LiveRoom) -> None:
        with self._lock:
            if self._rooms.get(viewing_id) is room:
                del self._rooms[viewing_id]
