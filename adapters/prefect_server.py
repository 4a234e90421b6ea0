"""The stack's Prefect server: ``prefect server start``, run in this process, with one setting of
Prefect's own where the server keeps its runs in SQLite (its default): every write transaction
begins IMMEDIATE.

Prefect begins its SQLite transactions DEFERRED, except on the paths where it asks for the lock
first (``with_for_update``: a flow or task run's state). A DEFERRED transaction that read before it
writes cannot wait for the write lock once another connection has written meanwhile: SQLite refuses
it at once ("database is locked", whatever ``busy_timeout`` says), the server answers 503, and
Prefect's client tries again after 2, 4, 8 and 16 s. A case's steps waited for those pauses (a case
run's creation took 14-18 s, and a decision's follow-up waited 20 s behind it). A transaction that
begins IMMEDIATE takes the lock first and waits for it (``busy_timeout``, which Prefect sets), so
writers queue for milliseconds instead. Prefect's interface for this is its database configuration
(``set_database_config``), set here before the server starts.

On PostgreSQL the server is started as it is.

    python -m adapters.prefect_server --host 127.0.0.1 --port 4200   # the options of ``prefect server start``
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from prefect.server.database.configurations import AioSqliteConfiguration


class WritesFirst(AioSqliteConfiguration):
    """Prefect's SQLite configuration, every transaction it begins taking the write lock first."""

    def begin_transaction(self, session: Any, with_for_update: bool = False) -> AbstractAsyncContextManager[Any]:
        return super().begin_transaction(session, with_for_update=True)


def on_sqlite(env: Mapping[str, str]) -> bool:
    """Whether the Prefect server the environment ``env`` describes keeps its runs in SQLite: no
    PostgreSQL connection URL is set."""
    return not env.get("PREFECT_SERVER_DATABASE_CONNECTION_URL", "").startswith("postgresql")


def main(argv: list[str] | None = None) -> None:
    from prefect.cli import app
    from prefect.server.database.dependencies import set_database_config
    from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL

    if on_sqlite(os.environ):
        set_database_config(WritesFirst(connection_url=PREFECT_API_DATABASE_CONNECTION_URL.value()))
    sys.argv = ["prefect", "server", "start", *(sys.argv[1:] if argv is None else argv)]  # what Prefect's CLI reads
    app()


if __name__ == "__main__":
    main()
