"""以图识图: accuracy and speed of matching a photo against the recorded marks.

`python -m bench match` (or `python -m bench --only match`). The test set is generated: the nine
demo marks printed on varied backgrounds in perspective, rotated, scaled, blurred, unevenly lit and
JPEG-compressed, plus photos with no mark at all; the index also holds procedurally generated
distractor marks (the same generator with other words), so the demo marks compete with look-alikes.
Results go to bench/results.json under ``match``.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import sys
import time
from multiprocessing import Pool
from pathlib import Path

from adapters import marks

DEMO_BRANDS = ["CHANEL", "NIKE", "HERMES", "ADIDAS", "LOUIS VUITTON", "GUCCI", "PRADA", "BURBERRY", "ROLEX"]
_LETTERS = "ABCDEFGHIKLMNOPRSTUVWXYZ"


def distractor_word(i: int) -> str:
    rnd = random.Random(f"distractor-{i}")
    return "".join(rnd.choice(_LETTERS) for _ in range(rnd.randint(4, 10)))


def _mark_features(i: int) -> tuple[int, marks.Features]:
    if i < len(DEMO_BRANDS):
        img = marks.synthetic_mark(DEMO_BRANDS[i], 0)
    else:
        img = marks.synthetic_mark(distractor_word(i), i)
    return i, marks.mark_features(marks.as_gray(img))


def features(n: int) -> list[tuple[int, marks.Features]]:
    with Pool(2) as pool:
        return pool.map(_mark_features, range(n), chunksize=64)


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _load() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def test_set(per_mark: int, without: int) -> tuple[list[tuple[int, bytes]], list[bytes]]:
    demo = [marks.synthetic_mark(b, 0) for b in DEMO_BRANDS]
    with_mark = [(i, marks.synthetic_photo(demo[i], seed=1000 * i + s))
                 for i in range(len(demo)) for s in range(per_mark)]
    no_mark = [marks.synthetic_photo(None, seed=900_000 + s) for s in range(without)]
    return with_mark, no_mark


def accuracy(index: marks.MarkIndex, with_mark: list[tuple[int, bytes]], no_mark: list[bytes]) -> dict:
    top1 = top3 = 0
    times: list[float] = []
    for truth, photo in with_mark:
        t = time.perf_counter()
        found = index.search(marks.photo_features(photo), top=3)
        times.append(time.perf_counter() - t)
        ids = [m.mark for m in found]
        top1 += ids[:1] == [truth]
        top3 += truth in ids
    rejected = 0
    for photo in no_mark:
        t = time.perf_counter()
        found = index.search(marks.photo_features(photo), top=3)
        times.append(time.perf_counter() - t)
        rejected += not found
    return {"photos_with_mark": len(with_mark), "photos_without_mark": len(no_mark),
            "top1": round(top1 / len(with_mark), 4), "top3": round(top3 / len(with_mark), 4),
            "no_match_rate": round(rejected / len(no_mark), 4),
            "p50_ms": round(1000 * _pct(times, 50), 1), "p95_ms": round(1000 * _pct(times, 95), 1)}


def scaling(sizes: list[int], queries: list[tuple[int, bytes]]) -> list[dict]:
    out = []
    for n in sizes:
        rss0 = _rss_mib()
        t = time.perf_counter()
        feats = features(n)
        t_feat = time.perf_counter() - t
        t = time.perf_counter()
        index = marks.MarkIndex.build(feats)
        t_build = time.perf_counter() - t
        times, cpu = [], []
        hits = 0
        for truth, photo in queries:
            t, c = time.perf_counter(), time.process_time()
            found = index.search(marks.photo_features(photo), top=3)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            hits += [m.mark for m in found][:1] == [truth]
        out.append({"recordations": n, "descriptors": sum(len(f) for _, f in feats),
                    "describe_marks_s": round(t_feat, 1), "build_index_s": round(t_build, 2),
                    "index_mib": round(index.nbytes() / 2**20, 1), "rss_growth_mib": round(_rss_mib() - rss0, 1),
                    "p50_ms": round(1000 * statistics.median(times), 1), "p95_ms": round(1000 * _pct(times, 95), 1),
                    "cpu_p95_ms": round(1000 * _pct(cpu, 95), 1), "load_average": round(_load(), 1),
                    "top1": round(hits / len(queries), 3)})
        del index, feats
        print(f"  match: {out[-1]}", flush=True)
    return out


def run(results: dict, quick: bool = False) -> None:
    per_mark, without = (4, 30) if quick else (12, 100)
    with_mark, no_mark = test_set(per_mark, without)
    n = 200 if quick else 1000
    index = marks.MarkIndex.build(features(n))
    acc = accuracy(index, with_mark, no_mark)
    acc["recordations"] = n
    print(f"  match accuracy: {acc}", flush=True)
    sizes = [10, 100, 1000] if quick else [10, 1000, 10000]
    queries = with_mark[:: max(1, len(with_mark) // 30)]
    scale = scaling(sizes, queries)
    results["match"] = {"accuracy": acc, "scaling": scale, "peak_rss_mib":
                        round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    results["match_top1"] = acc["top1"]
    results["match_top3"] = acc["top3"]
    results["match_no_match_rate"] = acc["no_match_rate"]
    results["match_p95_ms_1000"] = next((s["p95_ms"] for s in scale if s["recordations"] == 1000), None)


if __name__ == "__main__":
    res: dict = {}
    run(res, quick="--quick" in sys.argv)
    print(json.dumps(res, indent=2))
    out = Path(__file__).resolve().parent / "results.json"
    if "--quick" not in sys.argv and out.exists():
        stored = json.loads(out.read_text())
        stored.update(res)
        out.write_text(json.dumps(stored, indent=2, default=str) + "\n")
