"""The database session factory: engines are built lazily, once per URL.

SQLite (embedded default) runs in WAL mode and takes the write lock at the start of each write
transaction (``BEGIN IMMEDIATE``), so two writers never both read-then-write the same row; on
PostgreSQL services lock the rows they change (``SELECT ... FOR UPDATE``), and every write transaction
first takes one transaction-scoped advisory lock, the lock that orders appends to the timeline's hash
chain. Taking it first, before any row lock, keeps the lock order the same in every transaction: taken
only at the first timeline append, it deadlocked against a transaction that held a row lock and was
waiting for it. Write transactions are therefore serialised on both engines; keep them short (no
network calls inside), and never open a write transaction inside another.

Both engines recover by themselves after a failure: connections are pinged before use
(``pool_pre_ping``), and a SQLite connection that failed because the file was read-only, unreadable or
damaged at that moment is thrown away rather than reused.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, create_engine

#: The advisory lock of write transactions on PostgreSQL ("YUNQ"); ``services.context.record`` takes it too.
WRITE_LOCK = 0x59554E51

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _build(url: str) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True)

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "handle_error")
        def _error(ctx):  # noqa: ANN001
            # A connection opened while the file was read-only (or its directory unreadable) stays read-only
            # for ever: SQLite falls back to read-only at open time. Treat it as a lost connection, so the
            # pool drops it (and its siblings) and the next use opens a fresh one once the file is writable.
            if _stale_sqlite(ctx.original_exception):
                ctx.is_disconnect = True

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            if conn.get_execution_options().get("yunque_readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if u.get_backend_name() == "postgresql" and u.drivername == "postgresql":
        url = u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


#: SQLite errors after which a pooled connection is not to be trusted again.
_STALE_SQLITE = ("readonly database", "disk i/o error", "unable to open database file", "database disk image is malformed")


def _stale_sqlite(exc: BaseException | None) -> bool:
    return exc is not None and any(m in str(exc).lower() for m in _STALE_SQLITE)


def get_engine(url: str | None = None) -> Engine:
    if url is None:
        from yunque.settings import get_settings

        url = get_settings().db_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _build(url)
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(url: str | None = None, *, readonly: bool = False) -> Iterator[Session]:
    """One transaction: committed if the block ends normally, rolled back otherwise."""
    engine = get_engine(url)
    if readonly:
        engine = engine.execution_options(yunque_readonly=True)
    with Session(engine, expire_on_commit=False) as session:
        try:
            if not readonly and engine.dialect.name == "postgresql":
                # waits as long as SQLite's busy timeout, then fails loudly instead of hanging
                session.execute(text("SET LOCAL lock_timeout = '30s'"))
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})
            yield session
            if readonly:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def create_all(url: str | None = None) -> None:
    """For unit tests only; real databases are built by Alembic migrations (``yunque db upgrade``)."""
    import models.registry  # noqa: F401

    SQLModel.metadata.create_all(get_engine(url))
