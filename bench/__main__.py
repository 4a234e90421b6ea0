"""Run every benchmark: `python -m bench [--quick] [--only release,scale,...]`.

Writes bench/results.json (figures plus date, commit and machine) and bench/results.md (a table),
and refreshes the table in README.md between the bench markers."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

#: (module, what it measures) in the order they run.
SUITES = [
    ("startup", "7. start-up of the whole stack"),
    ("release", "1. release on the spot"),
    ("followup", "2. answer -> follow-up done on the stack, against the same steps in-process"),
    ("process", "3. throughput against empty flow runs"),
    ("scale", "4. inbox, case page and board at scale"),
    ("inbox", "4b. every inbox view and filter at 500,000 open tasks, against 5,000 in the same run"),
    ("evidence", "5. evidence upload against plain boto3"),
    ("deadlines", "6. 1,000 deadlines at once, and after an outage"),
    ("faults", "kill -9 of the task worker, the Prefect server, the S3 server and the app in the middle of cases"),
    ("live", "8. live viewing: one publisher relayed to three viewers at 640x480"),
    ("live_snapshot", "8b. live viewing in three browsers: a snapshot -> evidence on every participant's page"),
    ("match", "以图识图: photo -> recorded mark, accuracy and time at 10 to 10,000 recordations"),
]

#: The figures the README table shows, with their meaning.
FIGURES = [
    ("release_p95_ms", "answer 'not infringing' -> lines released and visible, p95 (SQLite)"),
    ("release_median_ms", "the same, median"),
    ("followup_p95_s", "answer -> follow-up done (documents issued and mailed, artifact published), p95, s"),
    ("followup_inprocess_ratio", "that p95 over the same steps called in-process in the same run"),
    ("cases_per_minute", "complete three-notice cases a minute end to end, one worker (SQLite)"),
    ("cases_inprocess_ratio", "that over the same work called in-process, one case after another, in the same run"),
    ("cases_per_minute_pg", "the same with the cases and the Prefect server on PostgreSQL"),
    ("throughput_ratio", "cases a minute over empty flow runs a minute"),
    ("inbox_p95_ms", "officer's inbox at 100k cases / 500k tasks, p95 (SQLite)"),
    ("inbox_pg_p95_ms", "the same on PostgreSQL"),
    ("inbox_filters_p95_ms", "every inbox view and filter at 500,000 open tasks, worst p95 (SQLite)"),
    ("inbox_filters_growth_ratio", "that p95 over the same at 5,000 open tasks"),
    ("inbox_filters_pg_p95_ms", "the same views on PostgreSQL, worst p95"),
    ("inbox_filters_pg_growth_ratio", "that p95 over the same at 5,000 open tasks (PostgreSQL)"),
    ("case_page_p95_ms", "case page queries at scale, p95 (SQLite)"),
    ("board_p95_ms", "managers' board queries at scale, p95 (SQLite)"),
    ("evidence_upload_ratio", "200 MB upload through Yunque over plain boto3 (time ratio)"),
    ("evidence_peak_rss_mib", "peak RSS of the uploading process, MiB"),
    ("evidence_plain_peak_rss_mib", "the same upload through plain boto3, peak RSS, MiB"),
    ("deadline_all_released_s", "1,000 deadlines passing at once -> all lines released, s"),
    ("deadline_after_outage_s", "the same with everything stopped through the deadline, from restart, s"),
    ("startup_s", "`make run` -> every part healthy, s"),
    ("startup_again_s", "the same, a second start of the same var/, s"),
    ("faults", "kill -9 of each component mid-case: cases complete, effects once, evidence and objects match"),
    ("live_fps_min", "live viewing, 1 publisher and 3 viewers at 640x480: frames a second of the slowest viewer"),
    ("live_cpu_per_viewer", "the same: CPU seconds a second per viewer (incl. the simulated browser's decoding)"),
    ("live_recorded_share", "the same: share of the pictures sent that the session's recording holds"),
    ("live_recording_10min_mib", "a 10-minute session's recording (640x480, 30 fps, with sound), MiB"),
    ("live_recording_evidence_s", "closing that room -> the recording stored as evidence, s"),
    ("live_snapshot_p95_s", "three browsers: snapshot asked for -> shown on every participant's page, p95, s"),
    ("match_top1", "以图识图: generated photos of the 9 demo marks among 1,000 recordations, top-1 share"),
    ("match_top3", "the same, top-3 share"),
    ("match_no_match_rate", "photos without a mark answered 'no match', share"),
    ("match_p95_ms_1000", "match one photo against 1,000 recordations, p95 ms (wall clock; see results.json for CPU)"),
]


def machine() -> dict[str, object]:
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory_mib": mem, "python": platform.python_version(), "platform": platform.platform()}


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(results: dict) -> str:
    figures = results["meta"].get("figures", {})
    rows = ["| figure | value | meaning | measured |", "|---|---|---|---|"]
    for key, meaning in FIGURES:
        value = results.get(key, "not measured")
        f = figures.get(key)
        when = f"{f['mode']}, {f['commit']}, {f['date'][:10]}" if f else "-"
        rows.append(f"| `{key}` | {value} | {meaning} | {when} |")
    meta = results["meta"]
    head = (f"Each figure as last measured on {meta['machine']['cores']} cores, {meta['machine']['memory_mib']} MiB "
            f"(its mode, commit and date in the last column; `python -m bench --only ...` measures some again). "
            f"Last run: {meta['date']} at commit {meta['commit']}{' (quick mode)' if meta.get('quick') else ''}.")
    return head + "\n\n" + "\n".join(rows) + "\n"


def update_readme(md: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        readme.write_text(f"{before}{start}\n{md}{end}{after}", encoding="utf-8")


def replace_suite(results: dict, suite: str, got: dict, stamp: dict) -> None:
    """``suite``'s figures in ``results`` replaced by ``got``, each stamped with the run that measured it
    (its commit, date and mode); a figure the suite no longer reports goes with the old ones."""
    figures = results["meta"]["figures"]
    for k in [k for k, f in figures.items() if f.get("suite") == suite]:
        results.pop(k, None)
        del figures[k]
    results.update(got)
    figures.update({k: stamp for k in got})


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a fast look")
    ap.add_argument("--only", default="", help="comma-separated suites: " + ",".join(s for s, _ in SUITES))
    ap.add_argument("--out", default=str(HERE / "results.json"))
    args = ap.parse_args(argv)
    only = {s for s in args.only.split(",") if s}
    out_path = Path(args.out)
    # what was measured before stands until its suite measures it again: a suite that fails keeps its
    # figures from its last complete run, each with its own commit and date
    results: dict = json.loads(out_path.read_text()) if out_path.exists() else {}
    meta = results.get("meta") or {}
    figures = meta.get("figures", {})
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results["meta"] = {**meta, "date": started, "commit": commit(), "machine": machine(), "quick": args.quick,
                       "figures": figures}
    failures = {}
    t_run = time.perf_counter()
    for name, what in SUITES:
        if only and name not in only:
            continue
        print(f"== {name}: {what}", flush=True)
        t0 = time.perf_counter()
        load = round(os.getloadavg()[0], 2)  # what else ran on the machine as the suite began
        got: dict = {}
        try:
            module = importlib.import_module(f"bench.{name}")
            module.run(got, quick=args.quick)
        except Exception as e:  # noqa: BLE001  (a failed suite is reported, the others still run)
            traceback.print_exc()
            failures[name] = f"{type(e).__name__}: {e}"
        else:
            replace_suite(results, name, got, {"commit": results["meta"]["commit"],
                                               "date": datetime.now(UTC).isoformat(timespec="seconds"),
                                               "mode": "quick" if args.quick else "full", "suite": name,
                                               "load_average": load})
        print(f"   {time.perf_counter() - t0:.1f} s", flush=True)
    if not only and not args.quick:  # a whole full run in one go: when, how long, what failed
        results["meta"]["full_run"] = {"started": started, "commit": results["meta"]["commit"],
                                       "seconds": round(time.perf_counter() - t_run), "failed": failures}
    results["meta"]["failures"] = failures
    out_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md = table(results)
    (out_path.with_suffix(".md")).write_text(md)
    if out_path.resolve() == (HERE / "results.json").resolve():  # not a trial run written elsewhere
        update_readme(md)  # each row says its own mode, commit and date
    print(md)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
