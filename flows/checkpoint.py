"""The audit anchor: every chain's head, signed, written to the evidence store every ``--interval`` seconds.

A checkpoint is written when the heads changed since the newest one, and at least every
``--heartbeat`` seconds otherwise, so a tail deleted from the database after a checkpoint shows in
``yunque audit verify``. Run it with ``python -m flows.checkpoint`` (the stack does); a failed round
(store or database unreachable) is logged and tried again on the next.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time

from services.audit import write_checkpoint

log = logging.getLogger("yunque.checkpoint")


def run_forever(*, interval: float, heartbeat: float, stop: threading.Event) -> None:
    last_written = 0.0
    while not stop.is_set():
        try:
            due = time.monotonic() - last_written >= heartbeat
            out = write_checkpoint(only_if_changed=not due)
            if out is not None:
                last_written = time.monotonic()
                log.info("checkpoint %s: %s chains", out["key"], out["chains"])
        except Exception:  # noqa: BLE001 - infrastructure: logged, retried next round
            log.exception("checkpoint failed; trying again in %.0f s", interval)
        stop.wait(interval)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Write signed checkpoints of the timeline's chains to the evidence store.")
    ap.add_argument("--interval", type=float, default=30.0, help="seconds between rounds")
    ap.add_argument("--heartbeat", type=float, default=600.0, help="write one at least this often, changed or not")
    ap.add_argument("--once", action="store_true", help="one checkpoint, then exit")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.once:
        print(write_checkpoint())
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(interval=args.interval, heartbeat=args.heartbeat, stop=stop)


if __name__ == "__main__":
    main()
