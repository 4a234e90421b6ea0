"""8b. Live viewing in three real browsers: a snapshot asked for -> the evidence on every participant's page.

The app, its database and the embedded S3 server run as in the browser tests; three Chromium contexts
join one viewing room: the site officer's phone (390x844, Chromium's fake camera and microphone)
publishes, the rights holder and the consignor watch the relayed picture. The rights holder presses
"Capture the live picture as evidence" ``snapshots`` times; each time, from the click until the page
of each participant (the officer's phone, the rights holder's own, the consignor's) shows the new
evidence count ("Evidence (k)"). ``live_snapshot_p95_s``: the p95 over every (snapshot, participant)
pair (goal <= 2 s); ``live_snapshot_median_s`` the median. The pages are polled every 50 ms, one
after the other (Playwright's synchronous API), so a reading may be up to ~0.15 s late."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import percentile

POLL_S = 0.05


def _seen(page: Any, count: int) -> bool:
    return page.get_by_role("heading", name=f"Evidence ({count})").count() > 0


def _keep(pages: dict[str, Any], k: int) -> Path:
    """Each participant's page as it is when a snapshot fails to reach it, a picture and its text, kept
    beside the app's log; the folder."""
    from tests.e2e.browser_support import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, page in pages.items():
        page.screenshot(path=str(ARTIFACTS / f"bench-snapshot-{k}-{name}.png"), full_page=True)
        (ARTIFACTS / f"bench-snapshot-{k}-{name}.txt").write_text(page.inner_text("body"), encoding="utf-8")
    return ARTIFACTS


def measure(snapshots: int) -> dict[str, Any]:
    from tests.e2e.browser_support import chromium, enter_live_room, open_live_viewing, plays, start_app, start_live

    with tempfile.TemporaryDirectory(prefix="yq-bench-snapshot-") as tmp, \
            start_app(Path(tmp), log_name="streamlit-bench-snapshot.log") as stack, chromium() as browser:
        _case, viewing_id = open_live_viewing(stack, declaration_no="010120261129000999")
        site, holder, consignor = enter_live_room(browser, stack, viewing_id)
        for page in (site, holder, consignor):  # the officer first: the others watch what it sends
            start_live(page)
        plays(holder)
        pages = {"site.wang": site, "chanel.agent": holder, "cq.trading": consignor}
        samples: dict[str, list[float]] = {name: [] for name in pages}
        capture = holder.get_by_role("button", name="Capture the live picture as evidence")
        for k in range(1, snapshots + 1):
            capture.wait_for()
            t0 = time.monotonic()
            capture.click()
            waiting = dict(pages)
            while waiting:
                if time.monotonic() - t0 > 60:
                    kept = _keep(pages, k)
                    raise TimeoutError(f"snapshot {k}: not shown to {', '.join(waiting)} after 60 s "
                                       f"(each page kept in {kept})")
                for name, page in list(waiting.items()):
                    if _seen(page, k):
                        samples[name].append(time.monotonic() - t0)
                        del waiting[name]
                holder.wait_for_timeout(POLL_S * 1000)
            print(f"   snapshot {k}: " + ", ".join(f"{n} {s[-1]:.2f} s" for n, s in samples.items()), flush=True)
            holder.wait_for_timeout(1000)  # the rights holder looks again before the next detail
        site.get_by_role("button", name="Close the room").click()
        site.get_by_role("button", name="Close the room").wait_for(state="detached", timeout=120_000)
    every = [x for s in samples.values() for x in s]
    return {"live_snapshot_p95_s": round(percentile(every, 95), 2),
            "live_snapshot_median_s": round(statistics.median(every), 2),
            "live_snapshot": {"snapshots": snapshots, "samples_s": {n: [round(x, 2) for x in s] for n, s in samples.items()}}}


def run(results: dict, quick: bool = False) -> None:
    results.update(measure(5 if quick else 20))


if __name__ == "__main__":
    import json

    out: dict = {}
    run(out, quick=True)
    print(json.dumps(out, indent=2))
