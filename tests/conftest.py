"""Shared fixtures: fresh databases (SQLite, and PostgreSQL at 127.0.0.1:5432) built by the real
Alembic migrations and loaded with the demo data once, then copied for each test."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

# The tests date acts with fixed 2026 times (``--now`` on the command line): replay mode, inherited by the
# `yunque` processes the CLI and e2e tests start. Outside it, the CLI refuses --now.
os.environ.setdefault("YUNQUE_ALLOW_REPLAY", "1")
# In-process suites run no mail path: they serve a notice when it is issued (after the confirmation), as an
# office that hands notices over does. The product's default (actual service: the mail server's acceptance or
# the portal's first opening) is what the stack tests run (tests/e2e) and what tests/unit/test_settings checks.
os.environ.setdefault("YUNQUE_SERVICE_RULE", "issue")

PG_ADMIN_URL = os.environ.get("YUNQUE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
_counter = itertools.count()


def _reset() -> None:
    from adapters.calendar import reset_calendar
    from adapters.db import dispose_engines
    from yunque.settings import reset_settings

    dispose_engines()
    reset_settings()
    reset_calendar()


def point_at(monkeypatch: pytest.MonkeyPatch, url: str, var_dir: Path) -> None:
    monkeypatch.setenv("YUNQUE_DATABASE_URL", url)
    monkeypatch.setenv("YUNQUE_VAR_DIR", str(var_dir))
    _reset()


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No test touches the developer's var/ by accident."""
    monkeypatch.setenv("YUNQUE_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("YUNQUE_DATABASE_URL", f"sqlite:///{tmp_path / 'var' / 'unused.db'}")
    _reset()
    yield
    _reset()


#: When the tests' demo data was loaded: the tests act at fixed dates of November-December 2026 (the
#: years the official calendar data covers), whatever the machine's date, so the demo data (general bonds
#: valid for the year of loading and the next, recordations for 10 years) is loaded as of this moment.
DEMO_LOADED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _build_template(url: str, var_dir: Path, *, at_machine_date: bool = False) -> None:
    mp = pytest.MonkeyPatch()
    try:
        point_at(mp, url, var_dir)
        from adapters.migrations import upgrade
        from services.demo import load_demo_data

        upgrade(url)
        if at_machine_date:
            from tests.support import load_test_only_years

            now = datetime.now(UTC)
            load_demo_data(now=now)
            load_test_only_years(now)
        else:
            load_demo_data(now=DEMO_LOADED_AT)
    finally:
        _reset()
        mp.undo()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sqlite-template")
    _build_template(f"sqlite:///{root / 'yunque.db'}", root / "var")
    return root


@pytest.fixture(scope="session")
def sqlite_template_now(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """For tests that act at the machine's date (pages that call services without ``now``): demo data
    loaded now and, for this year and next when the official data lacks them, test-only schedules."""
    root = tmp_path_factory.mktemp("sqlite-template-now")
    _build_template(f"sqlite:///{root / 'yunque.db'}", root / "var", at_machine_date=True)
    return root


def pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=3):
            return None
    except Exception as e:  # noqa: BLE001
        return f"no PostgreSQL at 127.0.0.1:5432 ({type(e).__name__}: {e})"


def _pg_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def require_pg() -> None:
    why = pg_available()
    if why is None:
        return
    if os.environ.get("YUNQUE_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required here (YUNQUE_REQUIRE_POSTGRES is set): {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    require_pg()
    name = f"yq_tmpl_{os.getpid()}"
    _pg_exec(f"DROP DATABASE IF EXISTS {name}")
    _pg_exec(f"CREATE DATABASE {name}")
    var_dir = tmp_path_factory.mktemp("pg-template") / "var"
    _build_template(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", var_dir)
    yield name, var_dir
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _copy_of(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    root = tmp_path / "db"
    shutil.copytree(template, root)
    url = f"sqlite:///{root / 'yunque.db'}"
    point_at(monkeypatch, url, root / "var")
    return url


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    return _copy_of(sqlite_template, tmp_path, monkeypatch)


@pytest.fixture
def sqlite_db_now(sqlite_template_now: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database whose demo data and calendar are valid at the machine's date (see sqlite_template_now)."""
    return _copy_of(sqlite_template_now, tmp_path, monkeypatch)


@pytest.fixture
def pg_db(pg_template: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    template, var_dir = pg_template
    name = f"yq_t_{os.getpid()}_{next(_counter)}"
    _pg_exec(f"CREATE DATABASE {name} TEMPLATE {template}")
    shutil.copytree(var_dir, tmp_path / "pgvar")
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    point_at(monkeypatch, url, tmp_path / "pgvar")
    yield url
    _reset()
    _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL, each with the demo data loaded."""
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
