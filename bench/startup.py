"""7. Start-up: from the run command (``yunque stack up``, what ``make run`` runs once its setup step
found everything installed) to every part healthy (the supervisor prints READY only after each part's
health check passed and the deployments were applied). Median of a few starts over a fresh ``var/``
(the first start of a directory also migrates the database and loads the demo data) and a second
start of the same directory."""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from tests.e2e.conftest import start_stack, stop_stack


def one_start(var_dir: Path) -> float:
    """Seconds from the run command to READY. The fixture then loads the calendar years the tests
    need (a CLI process or two, 3-5 s): not part of the start, and measured in the figure until
    9062e4f."""
    stack = start_stack(var_dir, timeout=600)
    stop_stack(stack.proc)
    assert stack.ready_after_s is not None
    return stack.ready_after_s


def run(results: dict, quick: bool = False) -> None:
    n = 2 if quick else 3
    fresh, again = [], []
    for _ in range(n):
        tmp = Path(tempfile.mkdtemp(prefix="yq-bench-startup-"))
        try:
            fresh.append(one_start(tmp / "var"))
            again.append(one_start(tmp / "var"))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"   start: fresh {fresh[-1]:.1f} s, again {again[-1]:.1f} s", flush=True)
    results["startup_s"] = round(statistics.median(fresh), 1)
    results["startup_again_s"] = round(statistics.median(again), 1)
    results["startup_samples_s"] = [round(x, 1) for x in fresh + again]


if __name__ == "__main__":
    import json

    out: dict = {}
    run(out, quick=True)
    print(json.dumps(out, indent=2))
