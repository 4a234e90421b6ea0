"""5. Evidence upload: a 200 MB video through the evidence service (magic bytes, spooled SHA-256,
streamed multipart upload, record) against a plain boto3 ``upload_file`` of the same bytes to the
same embedded S3 server (rclone ``serve s3``) in the same run; and the peak RSS of the uploading
process. Each upload runs in a fresh child process so its peak RSS is its own.

    python -m bench.evidence [--quick]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

MiB = 1024 * 1024
SIZE = 200 * MiB
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def _write_video(path: Path, size: int, salt: int) -> None:
    block = os.urandom(MiB)
    with path.open("wb") as f:
        f.write(MP4_HEAD)
        written = len(MP4_HEAD)
        while written < size:
            chunk = block[: min(MiB, size - written)]
            f.write(chunk)
            written += len(chunk)
        f.seek(size - 8)
        f.write(salt.to_bytes(8, "big"))  # other bytes, other hash: every round is a new upload


def _maxrss_mib() -> float:
    """This process's peak resident set (``VmHWM``). Not ``getrusage``'s ``ru_maxrss``: Linux keeps that
    across ``fork`` and ``execve``, so a child started by a large parent reports the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def _child(mode: str, path: str, case_number: str) -> None:
    """Runs in a child process: one upload, timed; prints seconds and peak RSS as JSON."""
    if mode == "service":
        from adapters.s3 import get_store
        from services.evidence import add_evidence, list_evidence
        from yunque.settings import get_settings

        get_store(get_settings())  # both sides start warm: client built, database engine connected
        list_evidence(case_number=case_number, actor="site.wang")
        with open(path, "rb") as f:
            t0 = time.perf_counter()
            add_evidence(case_number=case_number, actor="site.wang", stream=f, filename="bench.mp4", line_number=1)
            seconds = time.perf_counter() - t0
    else:
        from adapters.s3 import get_store
        from yunque.settings import get_settings

        client = get_store(get_settings()).client
        t0 = time.perf_counter()
        client.upload_file(path, get_settings().s3_bucket, f"bench/plain-{os.getpid()}")
        seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "maxrss_mib": _maxrss_mib()}))


def _run_child(mode: str, path: Path, case_number: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.evidence", "--child", mode, str(path), case_number],
                         capture_output=True, text=True, check=True, env=dict(os.environ), timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(rounds: int = 3, size: int = SIZE) -> dict[str, float]:
    from bench.common import database_with_s3
    from services.cases import open_case
    from services.demo import seed_shipment

    with database_with_s3("yq-bench-evidence-") as tmp:
        case = open_case(shipment=seed_shipment(time_now()), actor="site.wang")
        service, plain, rss, plain_rss = [], [], [], []
        for i in range(rounds):
            video = Path(tmp) / f"video-{i}.mp4"
            _write_video(video, size, i)
            p = _run_child("plain", video, case.number)
            s = _run_child("service", video, case.number)
            plain.append(p["seconds"])
            service.append(s["seconds"])
            rss.append(s["maxrss_mib"])
            plain_rss.append(p["maxrss_mib"])
            video.unlink()
        return {
            "service_s": round(statistics.median(service), 3),
            "plain_s": round(statistics.median(plain), 3),
            "ratio": round(statistics.median(service) / statistics.median(plain), 3),
            "service_mb_s": round(size / MiB / statistics.median(service), 1),
            "plain_mb_s": round(size / MiB / statistics.median(plain), 1),
            "peak_rss_mib": round(max(rss), 1),
            "plain_peak_rss_mib": round(max(plain_rss), 1),  # the same bytes through boto3 alone
            "peak_rss_ratio": round(max(rss) / max(plain_rss), 3),
            "rounds": rounds,
        }


def time_now():  # noqa: ANN201
    from models.types import utcnow

    return utcnow()


def run(results: dict, quick: bool = False) -> None:
    r = measure(rounds=1 if quick else 3)
    results["evidence_upload_ratio"] = r["ratio"]
    results["evidence_peak_rss_mib"] = r["peak_rss_mib"]
    results["evidence_plain_peak_rss_mib"] = r["plain_peak_rss_mib"]
    results["evidence_upload"] = r


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        res: dict = {}
        run(res, quick="--quick" in sys.argv)
        print(json.dumps(res, indent=2))
