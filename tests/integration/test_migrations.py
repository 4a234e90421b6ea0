"""`alembic upgrade heads` on an empty database builds exactly the schema the models describe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlmodel import SQLModel

import models.registry  # noqa: F401  (every table module)
from adapters.migrations import alembic_config, upgrade


def _differences(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            return compare_metadata(ctx, SQLModel.metadata)
    finally:
        engine.dispose()


def test_every_revision_descends_from_the_initial_schema() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    revisions = list(scripts.walk_revisions())
    assert revisions, "no migrations"
    bases = [r.revision for r in revisions if r.down_revision is None]
    assert bases == ["0001"]
    assert len({r.revision for r in revisions}) == len(revisions)


def test_upgrade_on_an_empty_sqlite_database_matches_the_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("YUNQUE_DATABASE_URL", url)
    heads = upgrade(url)
    assert heads
    assert _differences(url) == []
    upgrade(url)  # a second upgrade is a no-op
    assert _differences(url) == []


@pytest.mark.postgres
def test_upgrade_on_an_empty_postgres_database_matches_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import _pg_exec, require_pg

    require_pg()
    name = f"yq_mig_{os.getpid()}"
    _pg_exec(f"DROP DATABASE IF EXISTS {name}")
    _pg_exec(f"CREATE DATABASE {name}")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        monkeypatch.setenv("YUNQUE_DATABASE_URL", url)
        upgrade(url)
        assert _differences(url) == []
    finally:
        from adapters.db import dispose_engines

        dispose_engines()
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_comparison_sees_a_schema_that_differs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    create_engine(url).connect().close()
    missing = {d[1].name for d in _differences(url) if d[0] == "add_table"}
    assert {"ipr_case", "goods_line", "notice", "timeline_entry"} <= missing
