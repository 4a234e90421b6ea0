"""On SQLite the stack's Prefect server does not mark overdue runs Late
(``yunque.stack.late_runs_refuse_each_other``): its late-runs service's writes, ten at once, refused each
other after an outage and held the deployments for 140 s. On PostgreSQL it marks them."""

from __future__ import annotations

from pathlib import Path

import pytest

from yunque.settings import Settings
from yunque.stack import stack_env


def _late_runs_enabled(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> bool:
    """What Prefect's server reads from ``env``: whether its late-runs service runs."""
    from prefect.settings import Settings as PrefectSettings

    monkeypatch.delenv("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", raising=False)
    if "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED" in env:
        monkeypatch.setenv("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED",
                           env["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"])
    return PrefectSettings().server.services.late_runs.enabled


def test_on_sqlite_the_server_does_not_mark_overdue_runs_late(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
    monkeypatch.delenv("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", raising=False)
    env = stack_env(Settings(var_dir=tmp_path))
    assert env["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"] == "false"
    assert _late_runs_enabled(env, monkeypatch) is False


def test_on_postgresql_it_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/prefect")
    monkeypatch.delenv("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", raising=False)
    env = stack_env(Settings(var_dir=tmp_path))
    assert "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED" not in env
    assert _late_runs_enabled(env, monkeypatch) is True


def test_an_operator_who_asks_for_late_runs_on_sqlite_gets_them(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED", "true")
    assert stack_env(Settings(var_dir=tmp_path))["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"] == "true"
