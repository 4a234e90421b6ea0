"""The live media of viewing rooms (实时连线): the site officer's camera and microphone received over
WebRTC, relayed to every participant, snapshotted and recorded; and the room's voice back to the
officer (a participant's microphone, one speaker at a time), recorded with it. aiortc and PyAV only; who may
publish, watch, capture or close is decided by ``services.live``.

One ``LiveRoom`` per open viewing, kept in a ``LiveRegistry`` (one per process: the web app holds it
in ``st.cache_resource``). The publisher's tracks arrive through ``PublisherSink`` (a streamlit-webrtc
``MediaSink``) and are copied into one stable ``RoomTrack`` per kind, re-stamped on the server's
clock: viewers subscribe to those through one aiortc ``MediaRelay``, so the upstream is decoded once
whatever the number of viewers, and nobody loses the picture when the officer switches camera or
reconnects (a new upstream replaces the old one behind the same track). Viewers get the newest frame
only; the ``SessionRecorder`` is handed every frame as it arrives, and encodes it in a process of its
own.

Everything that touches tracks runs on one asyncio loop (streamlit-webrtc's, or a test's); calls
from other threads go through ``LiveRoom.call``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)
T = TypeVar("T")
VIDEO_CLOCK = 90_000
ROOT = Path(__file__).resolve().parents[1]  # where the recorder's process imports this module from
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
    duration_seconds: float  # from the first to the last picture, on the room's clock
    video_frames: int  # in the file
    audio_frames: int
    voice_frames: int = 0
    video_frames_lost: int = 0  # sent by the site but not in the file (the encoder fell behind)
    audio_frames_lost: int = 0
    voice_frames_lost: int = 0


#: How much of the session (raw pictures and sound, in memory) may wait for the recorder's encoder;
#: beyond it frames are lost, and counted: about 9 s of 640x480, 3 s of 1280x720.
RECORDER_BACKLOG_BYTES = 128 * 2**20
#: How long closing the room may wait for the encoder to finish the file.
RECORDER_FINISH_SECONDS = 300.0
RECORDED_KINDS = ("video", "audio", "voice")


class RecorderFailed(RuntimeError):
    """The recorder's encoding process ended without finishing the session's file."""

    def __init__(self, path: Path, returncode: int | None, errors: str) -> None:
        super().__init__(f"the session recorder for {path} ended with {returncode}: {errors[-2000:]}")
        self.path, self.returncode, self.errors = path, returncode, errors


class SessionRecorder:
    """Writes the room's video (VP8), the officer's sound and the voice back to the officer (two Opus
    tracks) to a WebM file: every frame the site sends, or a count of those it could not keep.

    ``LiveRoom.on_frame`` hands each frame to ``feed`` as it arrives, before and apart from the viewers'
    relay (which only ever gives the newest frame). The encoding runs in a process of its own
    (``record_session``): PyAV's encoders hold the interpreter lock, so an encoder thread next to the
    viewers' own VP8 encoders got a small share of it and the session's file lost most of its pictures.
    ``feed`` copies the frame into a bounded backlog (``RECORDER_BACKLOG_BYTES``) that a writer thread
    pipes to that process; a frame that finds the backlog full is lost and counted in the
    ``Recording``."""

    def __init__(self, path: Path, *, with_audio: bool, backlog_bytes: int = RECORDER_BACKLOG_BYTES) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.with_audio, self.backlog_bytes = path, with_audio, backlog_bytes
        self.received = dict.fromkeys(RECORDED_KINDS, 0)  # handed to feed
        self.lost = dict.fromkeys(RECORDED_KINDS, 0)
        self.first_at: float | None = None
        self._first_pts: float | None = None  # seconds on the room's clock, video
        self._last_pts: float | None = None
        self._backlog: deque[tuple[str, bytes, memoryview]] = deque()
        self._backlog_size = 0
        self._closing = False
        self._broken: BaseException | None = None
        self._ready = threading.Condition()
        self._errors = tempfile.TemporaryFile()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        self._process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from adapters.live import record_session; record_session(*sys.argv[1:])",
             str(path), "audio" if with_audio else "silent"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, env=env, cwd=ROOT)
        self._writer = threading.Thread(target=self._write, name="live-recorder", daemon=True)
        self._writer.start()

    @property
    def pid(self) -> int:
        """The encoding process (its CPU is the recording's cost)."""
        return self._process.pid

    @property
    def video_frames(self) -> int:
        """Pictures taken into the recording so far (in the file, or on their way to it)."""
        return self.received["video"] - self.lost["video"]

    @property
    def voice_frames(self) -> int:
        return self.received["voice"] - self.lost["voice"]

    def feed(self, kind: str, frame: Any) -> None:
        """Take ``frame`` (stamped on the room's clock) into the recording, or count it lost if the
        backlog is full. Called on the media loop; never waits for the encoder."""
        if kind == "audio" and not self.with_audio:
            return  # the session started without sound: its file has no track for it
        self.received[kind] += 1
        if kind == "video":
            at = float(frame.pts * frame.time_base)
            self._first_pts = at if self._first_pts is None else self._first_pts
            self._last_pts = at
        self.first_at = self.first_at or time.time()
        head, payload = _frame_message(kind, frame)
        with self._ready:
            if self._broken is not None or self._closing or self._backlog_size + payload.nbytes > self.backlog_bytes:
                self.lost[kind] += 1
                return
            self._backlog.append((kind, head, payload))
            self._backlog_size += payload.nbytes
            self._ready.notify()

    def _write(self) -> None:
        pipe = self._process.stdin
        assert pipe is not None
        while True:
            with self._ready:
                while not self._backlog and not self._closing:
                    self._ready.wait()
                if not self._backlog:
                    return  # closing, and everything received is in the pipe
                kind, head, payload = self._backlog.popleft()
            try:
                pipe.write(head)
                pipe.write(payload)
            except (BrokenPipeError, OSError) as e:  # the encoder died: what it did not take is lost
                with self._ready:
                    self._broken = e
                    self.lost[kind] += 1
                    for k, _, _ in self._backlog:
                        self.lost[k] += 1
                    self._backlog.clear()
                    self._backlog_size = 0
                return
            with self._ready:
                self._backlog_size -= payload.nbytes

    async def stop(self) -> Recording | None:
        """Let the encoder take what is waiting, finish the file and report it (None: no picture)."""
        return await asyncio.get_running_loop().run_in_executor(None, self._finish)

    def _finish(self) -> Recording | None:
        deadline = time.monotonic() + RECORDER_FINISH_SECONDS
        with self._ready:
            self._closing = True
            self._ready.notify()
        self._writer.join(RECORDER_FINISH_SECONDS)
        if self._writer.is_alive():  # the encoder stopped taking frames: the writer ends on the broken pipe
            self._process.kill()
            self._writer.join()
        try:
            self._process.stdin.close()  # type: ignore[union-attr]
        except (BrokenPipeError, OSError):
            pass  # the encoder has died: its exit status says why, below
        try:
            returncode = self._process.wait(max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._process.kill()
            returncode = self._process.wait()
        report = self._process.stdout.read()  # type: ignore[union-attr]  (a line, written as it ended)
        self._process.stdout.close()  # type: ignore[union-attr]
        self._errors.seek(0)
        errors = self._errors.read().decode(errors="replace")
        self._errors.close()
        if returncode != 0 or not report:
            raise RecorderFailed(self.path, returncode, errors)
        written = json.loads(report)
        if not written["video"]:
            self.path.unlink(missing_ok=True)
            return None
        duration = (self._last_pts or 0.0) - (self._first_pts or 0.0)
        return Recording(self.path, self.first_at or 0.0, round(duration, 3), written["video"], written["audio"],
                         written["voice"], self.lost["video"], self.lost["audio"], self.lost["voice"])


def _frame_message(kind: str, frame: Any) -> tuple[bytes, memoryview]:
    """A frame as the recorder's process reads it: a header (sizes, then what the samples are and when)
    and the raw samples (video as planar YUV 4:2:0)."""
    if kind == "video":
        if frame.format.name != "yuv420p":
            frame = frame.reformat(format="yuv420p")
        samples = frame.to_ndarray()
        about = {"kind": kind, "width": frame.width, "height": frame.height}
    else:
        samples = frame.to_ndarray()
        about = {"kind": kind, "format": frame.format.name, "layout": frame.layout.name, "rate": frame.sample_rate}
    about |= {"pts": frame.pts, "time_base": [frame.time_base.numerator, frame.time_base.denominator],
              "dtype": samples.dtype.str, "shape": list(samples.shape)}
    meta = json.dumps(about).encode()
    payload = memoryview(np.ascontiguousarray(samples)).cast("B")
    return struct.pack("<II", len(meta), payload.nbytes) + meta, payload


def record_session(path: str, sound: str, source: BinaryIO | None = None, report: TextIO | None = None) -> None:
    """The recorder's own process: read frames (``_frame_message``) from ``source`` until it ends,
    encode them into the WebM file at ``path`` (VP8 at real-time speed; Opus), and report what the file
    holds to ``report``. An ended source (the room closed, or the server died) still finishes the file."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the server ends the pipe, which ends the file
    source = source or sys.stdin.buffer
    report = report or sys.stdout
    container = av.open(path, mode="w", format="webm")
    video = container.add_stream("libvpx", rate=30)
    video.pix_fmt = "yuv420p"
    video.bit_rate = 1_500_000
    video.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    streams: dict[str, Any] = {"video": video}
    if sound == "audio":
        streams["audio"] = container.add_stream("libopus", rate=48000)
    streams["voice"] = container.add_stream("libopus", rate=48000)
    streams["voice"].metadata["title"] = "voice to the site"  # what the participants said to the officer
    written = dict.fromkeys(RECORDED_KINDS, 0)
    sized = False
    try:
        while len(head := source.read(8)) == 8:
            meta_size, payload_size = struct.unpack("<II", head)
            about = json.loads(source.read(meta_size))
            payload = source.read(payload_size)
            if len(payload) < payload_size:
                break  # the server died mid-frame
            samples = np.frombuffer(payload, dtype=about["dtype"]).reshape(about["shape"])
            kind = about["kind"]
            if kind == "video":
                frame = av.VideoFrame.from_ndarray(samples, format="yuv420p")
                if not sized:
                    video.width, video.height = frame.width, frame.height
                    sized = True
                if (frame.width, frame.height) != (video.width, video.height):  # another camera, another size
                    frame = frame.reformat(width=video.width, height=video.height)
            elif not sized or kind not in streams:
                continue  # sound before the first picture has no place in the file
            else:
                frame = av.AudioFrame.from_ndarray(samples, format=about["format"], layout=about["layout"])
                frame.sample_rate = about["rate"]
            frame.pts, frame.time_base = about["pts"], Fraction(*about["time_base"])
            for packet in streams[kind].encode(frame):
                container.mux(packet)
            written[kind] += 1
    finally:
        if sized:
            for stream in streams.values():
                for packet in stream.encode(None):
                    container.mux(packet)
        container.close()
    report.write(json.dumps(written))
    report.flush()


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
                if self.recorder is not None:
                    self.recorder.feed("voice", frame)
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
            self.video.feed(frame)  # the same picture; only its time stamp is the room's
            if self.recorder is not None:
                self.recorder.feed("video", frame)  # every picture, whatever the viewers keep up with
        else:
            self.audio_frames += 1
            self.audio.feed(frame)
            if self.recorder is not None:
                self.recorder.feed("audio", frame)

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
