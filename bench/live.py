"""8. Live viewing: one publisher (640x480, 30 frames a second) relayed to three viewers.

Everything is real aiortc in one process: the officer's "browser" peer connection sends aiortc's
synthetic camera and microphone, the server's connection hands them to a ``LiveRoom`` (which also
records the session), and each viewer gets its own server connection fed from the room's relay and
a receiving "browser" connection that decodes and counts frames. Figures: frames a second each
viewer receives (goal >= 15), and CPU seconds a second of the whole process per viewer (the
difference between three viewers and none, divided by three; it includes the simulated browsers'
VP8 decoding, so it is an upper bound of the server's own cost)."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path


async def _session(viewers: int, seconds: float, workdir: Path) -> dict[str, float | list[float]]:
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
    start = [c for c in counts]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    fps = [round((c - s) / wall, 2) for c, s in zip(counts, start, strict=True)]
    recording = await room.close()
    for pc in pcs:
        await pc.close()
    return {"fps": fps, "cpu_per_s": round(cpu / wall, 3), "recorded_frames": recording.video_frames if recording else 0,
            "publisher_frames_per_s": round(room.video_frames / (wall + 4), 2)}


def measure(seconds: float = 20, viewers: int = 3) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        none = asyncio.run(_session(0, seconds, Path(tmp) / "a"))
        some = asyncio.run(_session(viewers, seconds, Path(tmp) / "b"))
    fps = some["fps"]
    return {"viewers": viewers, "seconds": seconds, "fps_per_viewer": fps,
            "fps_min": min(fps), "fps_median": statistics.median(fps),  # type: ignore[arg-type]
            "cpu_s_per_s_no_viewer": none["cpu_per_s"], "cpu_s_per_s_with_viewers": some["cpu_per_s"],
            "cpu_s_per_s_per_viewer": round((some["cpu_per_s"] - none["cpu_per_s"]) / viewers, 3),  # type: ignore[operator]
            "recorded_frames": some["recorded_frames"], "publisher_frames_per_s": some["publisher_frames_per_s"]}


def run(results: dict, quick: bool = False) -> None:
    r = measure(seconds=8 if quick else 20)
    results["live_fps_min"] = r["fps_min"]
    results["live_cpu_per_viewer"] = r["cpu_s_per_s_per_viewer"]
    results["live"] = r


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(seconds=float(sys.argv[1]) if len(sys.argv) > 1 else 20), indent=2))
