"""8. Live viewing: one publisher (640x480, 30 frames a second) relayed to three viewers, and the
session's recording.

Everything is real aiortc in one process: the officer's "browser" peer connection sends aiortc's
synthetic camera and microphone, the server's connection hands them to a ``LiveRoom`` (which also
records the session), and each viewer gets its own server connection fed from the room's relay and
a receiving "browser" connection that decodes and counts frames. Figures: frames a second each
viewer receives (goal >= 15); the share of the pictures the publisher sent that the recording holds
(goal >= 0.95, with three viewers and with none); and CPU seconds a second of the whole process and
of the recorder's encoding process per viewer (the difference between three viewers and none,
divided by three; it includes the simulated browsers' VP8 decoding, so it is an upper bound of the
server's own cost).

The 10-minute session (full mode only) is recorded in real time, 30 pictures a second for 10 minutes
on the room's clock, with sound: a textured scene that pans, with sensor-like noise, so that the
encoder works as on a camera's picture (aiortc's synthetic camera is a flat green that costs nothing
to store). No viewers: it measures the recording alone. The room is opened, published and closed
through the services (``close_live_room``) on SQLite and the embedded S3 server, as in the viewing
room: ``live_recording_close_s`` is from the close until the recording file is finished,
``live_recording_evidence_s`` until ``close_live_room`` returns with the recording stored as evidence
(SHA-256, S3, timeline) and the room closed.

    python -m bench.live [seconds]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _cpu_seconds(pid: int) -> float:
    """User and system CPU of process ``pid`` so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _session(viewers: int, seconds: float, workdir: Path) -> dict[str, Any]:
    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    from adapters.live import LiveRegistry

    rooms = LiveRegistry(workdir)
    room = rooms.room(1)
    pcs: list[RTCPeerConnection] = []

    async def connect(sender: RTCPeerConnection, receiver: RTCPeerConnection) -> None:
        await sender.setLocalDescription(await sender.createOffer())
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)

    phone, upstream = RTCPeerConnection(), RTCPeerConnection()
    pcs += [phone, upstream]
    phone.addTrack(VideoStreamTrack())
    phone.addTrack(AudioStreamTrack())

    @upstream.on("track")
    def _on_upstream(track) -> None:
        sink = room.sink(track.kind)
        sink.addTrack(track)
        sink.start()

    await connect(phone, upstream)
    counts = [0] * viewers

    async def count(i: int, track) -> None:
        while True:
            try:
                await track.recv()
            except Exception:  # noqa: BLE001  (the track ended)
                return
            counts[i] += 1

    for i in range(viewers):
        out, browser = RTCPeerConnection(), RTCPeerConnection()
        pcs += [out, browser]
        out.addTrack(room.subscribe("video"))
        out.addTrack(room.subscribe("audio"))

        def on_track(track, i: int = i) -> None:
            if track.kind == "video":
                asyncio.ensure_future(count(i, track))

        browser.on("track", on_track)
        await connect(out, browser)

    await asyncio.sleep(4)  # connections up, first key frames through
    assert room.recorder is not None, "no picture reached the room"
    start = [c for c in counts]
    recorder_pid = room.recorder.pid
    cpu0, rec0, wall0 = time.process_time(), _cpu_seconds(recorder_pid), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    recorder_cpu = _cpu_seconds(recorder_pid) - rec0
    fps = [round((c - s) / wall, 2) for c, s in zip(counts, start, strict=True)]
    recording = await room.close()
    for pc in pcs:
        await pc.close()
    sent = room.video_frames  # every picture the publisher's connection delivered to the room
    recorded = recording.video_frames if recording else 0
    return {"fps": fps, "cpu_per_s": round((cpu + recorder_cpu) / wall, 3),
            "recorder_cpu_per_s": round(recorder_cpu / wall, 3), "sent_frames": sent, "recorded_frames": recorded,
            "lost_frames": recording.video_frames_lost if recording else 0,
            "recorded_share": round(recorded / sent, 4) if sent else 0.0,
            "publisher_frames_per_s": round(sent / (wall + 4), 2)}


def measure(seconds: float = 20, viewers: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        none = asyncio.run(_session(0, seconds, Path(tmp) / "a"))
        some = asyncio.run(_session(viewers, seconds, Path(tmp) / "b"))
    fps = some["fps"]
    return {"viewers": viewers, "seconds": seconds, "fps_per_viewer": fps,
            "fps_min": min(fps), "fps_median": statistics.median(fps),  # type: ignore[arg-type]
            "cpu_s_per_s_no_viewer": none["cpu_per_s"], "cpu_s_per_s_with_viewers": some["cpu_per_s"],
            "cpu_s_per_s_per_viewer": round((some["cpu_per_s"] - none["cpu_per_s"]) / viewers, 3),  # type: ignore[operator]
            "recorder_cpu_s_per_s": some["recorder_cpu_per_s"],
            "recorded_share": some["recorded_share"], "recorded_share_no_viewer": none["recorded_share"],
            "recorded_frames": some["recorded_frames"], "sent_frames": some["sent_frames"],
            "lost_frames": some["lost_frames"], "lost_frames_no_viewer": none["lost_frames"],
            "publisher_frames_per_s": some["publisher_frames_per_s"], "load_average": round(os.getloadavg()[0], 2)}


# --- a 10-minute recorded session ------------------------------------------------------------------

def _scene(count: int = 90) -> list[Any]:
    """``count`` planar YUV 4:2:0 pictures (640x480) of a textured scene panning, with sensor-like noise."""
    import numpy as np

    rng = np.random.default_rng(7)
    coarse = rng.integers(16, 235, (61, 161)).astype(np.float32)
    ys, xs = np.linspace(0, 60, 480), np.linspace(0, 160, 1280)
    y0, x0 = ys.astype(int).clip(0, 59), xs.astype(int).clip(0, 159)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    scene = (coarse[y0][:, x0] * (1 - fy) * (1 - fx) + coarse[y0 + 1][:, x0] * fy * (1 - fx)
             + coarse[y0][:, x0 + 1] * (1 - fy) * fx + coarse[y0 + 1][:, x0 + 1] * fy * fx)  # smooth blobs
    scene += np.where(rng.random(scene.shape) < 0.02, 60, 0)  # fine detail: specks
    pictures = []
    for i in range(count):
        planes = np.full((720, 640), 128, dtype=np.float32)
        planes[:480] = scene[:, (i * 7) % 640:(i * 7) % 640 + 640] + rng.normal(0, 2, (480, 640))
        planes[480:] += rng.normal(0, 1, (240, 640))
        pictures.append(planes.clip(0, 255).astype(np.uint8))
    return pictures


async def _publish(room: Any, seconds: float, fps: int = 30) -> int:
    """Deliver ``seconds`` of pictures (and 20 ms sound frames) to ``room`` in real time; the pictures sent."""
    import av
    import numpy as np

    pictures = _scene()
    rng = np.random.default_rng(3)
    hiss = [(rng.normal(0, 300, (1, 960))).astype(np.int16) for _ in range(50)]
    loop = asyncio.get_running_loop()
    t0, sent, heard = loop.time(), 0, 0
    while sent < seconds * fps:
        await room.on_frame("video", av.VideoFrame.from_ndarray(pictures[sent % len(pictures)], format="yuv420p"))
        sent += 1
        while heard < sent * 50 // fps:  # 50 sound frames a second
            sound = av.AudioFrame.from_ndarray(hiss[heard % len(hiss)], format="s16", layout="mono")
            sound.sample_rate = 48_000
            await room.on_frame("audio", sound)
            heard += 1
        await asyncio.sleep(max(0.0, t0 + sent / fps - loop.time()))
    return sent


def measure_session(minutes: float = 10) -> dict[str, Any]:
    """A recorded session of ``minutes`` through the services, closed in its room: stored size, times."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from aiortc.mediastreams import AudioStreamTrack

    from adapters.live import LiveRegistry
    from bench.common import database_with_s3
    from services.cases import open_case
    from services.demo import seed_shipment
    from services.live import close_live_room, publish_live
    from services.task_acts import confirm_seizure
    from services.viewing import decide_viewing, open_room, request_viewing

    t0 = datetime(2026, 11, 24, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # a working day

    def at(m: float) -> datetime:
        return t0 + timedelta(minutes=m)

    with database_with_s3("yq-bench-live-") as tmp:
        case = open_case(shipment=seed_shipment(t0), actor="site.wang", now=t0)
        confirm_seizure(case_number=case.number, actor="ipr.li", not_matching=[], reason="", now=t0)
        from services.cases import get_case

        notice = next(n for n in get_case(case_number=case.number, actor="site.wang").notices
                      if "CHANEL" in n.brands)
        v = request_viewing(actor="chanel.agent", notice_id=notice.id, invite_consignor=False, now=at(1))
        decide_viewing(viewing_id=v.id, actor="ipr.li", approve=True, now=at(2))
        open_room(viewing_id=v.id, actor="site.wang", now=at(3))
        rooms = LiveRegistry(Path(tmp) / "live")
        publish_live(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(4))
        room = rooms.room(v.id)
        room.sink("audio").addTrack(AudioStreamTrack())  # the phone's microphone is attached: with sound

        sent = asyncio.run(_publish(room, minutes * 60))
        finished: dict[str, float] = {}
        close = room.close

        async def timed_close() -> Any:  # the room's own close, timed inside the service's call
            start = time.perf_counter()
            recording = await close()
            finished["close_s"] = time.perf_counter() - start
            finished["size"] = recording.path.stat().st_size if recording else 0
            finished["frames"] = recording.video_frames if recording else 0
            finished["lost"] = recording.video_frames_lost if recording else 0
            finished["duration"] = recording.duration_seconds if recording else 0
            return recording

        room.close = timed_close  # type: ignore[method-assign]
        start = time.perf_counter()
        close_live_room(rooms=rooms, viewing_id=v.id, actor="site.wang", now=at(5 + minutes))
        evidence_s = time.perf_counter() - start
    return {"minutes": minutes, "sent_frames": sent, "recorded_frames": finished["frames"],
            "lost_frames": finished["lost"], "duration_seconds": finished["duration"],
            "size_mib": round(finished["size"] / 2**20, 2), "close_s": round(finished["close_s"], 2),
            "evidence_s": round(evidence_s, 2), "load_average": round(os.getloadavg()[0], 2)}


def run(results: dict, quick: bool = False) -> None:
    r = measure(seconds=8 if quick else 20)
    results["live_fps_min"] = r["fps_min"]
    results["live_cpu_per_viewer"] = r["cpu_s_per_s_per_viewer"]
    results["live_recorded_share"] = r["recorded_share"]
    results["live_recorded_share_no_viewer"] = r["recorded_share_no_viewer"]
    results["live"] = r
    if not quick:  # ten minutes of real time
        s = measure_session(minutes=10)
        results["live_recording_10min_mib"] = s["size_mib"]
        results["live_recording_close_s"] = s["close_s"]
        results["live_recording_evidence_s"] = s["evidence_s"]
        results["live_recording"] = s


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=2))
