"""Helpers shared by the benchmarks: temporary databases (with the embedded S3 server), percentiles, timing."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def percentile(values: list[float], p: int) -> float:
    """The ``p``-th percentile (1 to 99), interpolated between the two closest ranks (the "inclusive"
    method of ``statistics.quantiles``, numpy's default); NaN without values."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]  # statistics.quantiles wants two values before Python 3.13
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [x * 1000 for x in samples_s]
    return {"median_ms": round(statistics.median(ms), 3), "p95_ms": round(percentile(ms, 95), 3), "n": len(ms)}


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _reset() -> None:
    from adapters.calendar import reset_calendar
    from adapters.db import dispose_engines
    from yunque.settings import reset_settings

    dispose_engines()
    reset_settings()
    reset_calendar()


@contextmanager
def environment_kept(*keys: str) -> Iterator[None]:
    """After the block, the environment's ``keys`` as they were before it, and this process's cached
    settings, engines and calendar dropped: a key left behind points the next suite at a stopped server."""
    saved = {k: os.environ.get(k) for k in keys}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reset()


@contextmanager
def database(kind: str, *, migrate: bool = True, demo: bool = True) -> Iterator[str]:
    """A fresh database of ``kind`` (sqlite or postgres) with Yunque's schema and demo data,
    with YUNQUE_DATABASE_URL and YUNQUE_VAR_DIR pointed at it for the duration."""
    with environment_kept("YUNQUE_DATABASE_URL", "YUNQUE_VAR_DIR"), \
            tempfile.TemporaryDirectory(prefix=f"yq-bench-{kind}-") as tmp:
        name = None
        if kind == "sqlite":
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        else:
            import psycopg

            name = f"yq_bench_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                c.execute(f"CREATE DATABASE {name}")
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        os.environ["YUNQUE_DATABASE_URL"] = url
        os.environ["YUNQUE_VAR_DIR"] = str(Path(tmp) / "var")
        _reset()
        try:
            if migrate:
                from adapters.migrations import upgrade

                upgrade(url)
            if demo:
                from services.demo import load_demo_data

                load_demo_data()
            yield url
        finally:
            _reset()  # its engines closed before its database is dropped
            if name:
                import psycopg

                with psycopg.connect(PG_ADMIN, autocommit=True) as c:
                    c.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def database_with_s3(prefix: str) -> Iterator[Path]:
    """A SQLite ``database`` and the embedded S3 server on a free port, in a temporary directory (yielded);
    the environment and the cached settings and store put back afterwards."""
    from adapters import s3_server
    from adapters.s3 import reset_store
    from tests.support import free_port
    from yunque.settings import get_settings, reset_settings

    with environment_kept("YUNQUE_S3_PORT"):
        os.environ["YUNQUE_S3_PORT"] = str(free_port())
        with database("sqlite"), tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            reset_settings()
            reset_store()
            proc = s3_server.start(get_settings(), log=Path(tmp) / "s3.log")
            try:
                yield Path(tmp)
            finally:
                s3_server.stop(proc)
                reset_store()


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


def open_confirmed(shipment: dict, *, now: object, actor: str = "site.wang", confirmer: str = "ipr.li") -> object:
    """Register a seizure and have an IPR officer confirm its lines, as every case is before its notices go
    out (``services.task_acts.confirm_seizure``); the case as it then stands."""
    from services.cases import get_case, open_case
    from services.task_acts import confirm_seizure

    case = open_case(shipment=shipment, actor=actor, now=now)
    confirm_seizure(case_number=case.number, actor=confirmer, not_matching=[], reason="", now=now)
    return get_case(case_number=case.number, actor=actor)
