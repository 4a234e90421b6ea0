"""Running Alembic from Yunque (``yunque db upgrade``, the run command, the tests) on the database at ``url``."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from yunque.settings import ROOT


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> str:
    cfg = alembic_config(url)
    command.upgrade(cfg, "heads")
    return ",".join(sorted(ScriptDirectory.from_config(cfg).get_heads()))


def current(url: str) -> str | None:
    from adapters.db import get_engine

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
