"""The stack's Prefect server on SQLite (``adapters/prefect_server.py``): every write transaction takes
the lock first, so one that read before another connection wrote waits for it instead of being
refused ("database is locked", a 503 to Prefect's client, which then waits 2 s or more). Measured on a
real SQLite file through Prefect's own database configuration: Prefect's default refuses the
interleaving, ours lets both transactions commit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa
from prefect.server.database.configurations import AioSqliteConfiguration

from adapters import prefect_server
from adapters.prefect_server import WritesFirst, on_sqlite


async def _interleave(config: AioSqliteConfiguration) -> list[str]:
    """Transaction A reads, then B writes and commits, then A writes: what each ended with."""
    engine = await config.engine()
    async with engine.begin() as c:
        await c.execute(sa.text("CREATE TABLE IF NOT EXISTS seen (n INTEGER)"))
    a_read = asyncio.Event()
    outcome: list[str] = []

    async def a() -> None:
        session = await config.session(engine)
        try:
            async with config.begin_transaction(session):
                await session.execute(sa.text("SELECT count(*) FROM seen"))
                a_read.set()
                await asyncio.sleep(0.5)  # B writes meanwhile, or waits for A's lock
                await session.execute(sa.text("INSERT INTO seen VALUES (1)"))
            outcome.append("a committed")
        except sa.exc.OperationalError as e:
            outcome.append(f"a refused: {e.orig}")
        finally:
            await session.close()

    async def b() -> None:
        await a_read.wait()
        session = await config.session(engine)
        try:
            async with config.begin_transaction(session):
                await session.execute(sa.text("INSERT INTO seen VALUES (2)"))
            outcome.append("b committed")
        finally:
            await session.close()

    try:
        await asyncio.gather(a(), b())
    finally:
        await engine.dispose()
    return sorted(outcome)


def test_prefects_default_refuses_a_transaction_that_read_before_another_wrote(tmp_path: Path) -> None:
    config = AioSqliteConfiguration(connection_url=f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}")
    outcome = asyncio.run(_interleave(config))
    assert outcome[0].startswith("a refused") and "database is locked" in outcome[0], outcome
    assert outcome[1] == "b committed"


def test_writes_first_lets_both_commit(tmp_path: Path) -> None:
    config = WritesFirst(connection_url=f"sqlite+aiosqlite:///{tmp_path / 'prefect.db'}")
    assert asyncio.run(_interleave(config)) == ["a committed", "b committed"]


def test_only_sqlite_gets_it() -> None:
    assert on_sqlite({})
    assert on_sqlite({"PREFECT_SERVER_DATABASE_CONNECTION_URL": "sqlite+aiosqlite:////var/prefect.db"})
    assert not on_sqlite({"PREFECT_SERVER_DATABASE_CONNECTION_URL": "postgresql+asyncpg://postgres@127.0.0.1/p"})


@pytest.mark.parametrize("url, expected", [("", WritesFirst), ("postgresql+asyncpg://postgres@127.0.0.1:5432/p", None)])
def test_main_sets_prefects_database_configuration_then_starts_prefects_server(
        url: str, expected: type | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    import prefect.cli
    from prefect.server.database import dependencies

    started: list[list[str]] = []
    monkeypatch.setattr(prefect.cli, "app", lambda: started.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", list(sys.argv))
    monkeypatch.setitem(dependencies.MODELS_DEPENDENCIES, "database_config", None)
    if url:
        monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", url)
    else:
        monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    prefect_server.main(["--host", "127.0.0.1", "--port", "4299"])
    assert started == [["prefect", "server", "start", "--host", "127.0.0.1", "--port", "4299"]]
    config = dependencies.MODELS_DEPENDENCIES["database_config"]
    assert (config is None) if expected is None else isinstance(config, expected)
