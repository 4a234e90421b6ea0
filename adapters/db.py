"""The database session factory: engines are built lazily, once per URL.

SQLite (embedded default) runs in WAL mode and takes the write lock at the start of each write
transaction (``BEGIN IMMEDIATE``), so two writers never both read-then-write the same row, and write
transactions are serialised.

On PostgreSQL services lock the rows they change (``SELECT ... FOR UPDATE``), and the timeline's hash
chains (one per case, "case:<id>", and "system") are ordered by one transaction-scoped advisory lock per
chain (``lock_chains``). Writes to different cases do not wait for each other; writes to one case queue
on its chain lock. The lock order, the same in every transaction, is **a case's chain lock before any
lock on a row of that case**: a write session (``ChainLockingSession``) takes the chain locks of

- the rows a ``SELECT ... FOR UPDATE`` will lock, before it runs (the case is the row's ``case_id``, the
  case's own ``id``, or found through a required foreign key, e.g. a shot request's viewing; a row whose
  ``case_id`` is empty, such as the task of loading next year's calendar, is the system chain's), and
- the rows a flush will insert, update or delete, before the flush (an INSERT locks the rows its foreign
  keys point at), so a change made before ``services.context.record`` cannot lock a row first;

``record`` takes its chain's lock before reading the chain's last entry, without flushing first (a
session flushes before any statement it runs, even plain SQL, so the lock goes through the connection).
Rows of tables of no case (users, counters, calendar years, offices, sign-in sessions) take no chain
lock: they are locked by the few services that change them, which do not then wait for a chain another
holder of the same row holds (taking the system chain for them would queue every numbering step of
every case behind the system's appends again). Taken only at the
first timeline append, the chain lock deadlocked against a transaction that held a row lock of the case
and was waiting for the chain lock; the order above rules that out.

A service that checks a natural key before inserting it (a declaration number, a consignor's USCC, an
idempotency key, a counter's name) takes that name's lock first (``lock_name``), so the second of two
identical calls waits for the first and then sees its row, as it did when all writes queued.

A service reads a case's rows consistently from the first lock it takes on that case; the services lock
the row they change first (``SELECT ... FOR UPDATE``), then read the rest.

A transaction that touches several cases takes each statement's chain locks in the order of their keys,
but it may still need a case's chain while another transaction that holds that chain waits for one it
holds (two cases locked in opposite orders, or rows that came to match a statement between its chain
locks and its row locks). PostgreSQL then breaks the deadlock, or a lock is not granted within the lock
timeout (30 s, SQLite's busy timeout): the transaction is rolled back whole, nothing of it is written,
and ``session_scope`` raises ``LockContention`` (a ``ConcurrentUpdate``) naming what was busy; the same
call may be tried again (flows retry it). Keep write transactions short (no network calls inside), and
never open a write transaction inside another.

Both engines recover by themselves after a failure: connections are pinged before use
(``pool_pre_ping``), and a SQLite connection that failed because the file was read-only, unreadable or
damaged at that moment is thrown away rather than reused.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Table, event, inspect, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, SQLModel, create_engine

from models.rules.chain import chain_of
from models.rules.errors import LockContention

#: The advisory-lock namespaces on PostgreSQL: the timeline's chains ("YUNC") and the natural keys a service
#: checks before inserting them ("YUNN"); the other key is ``advisory_key`` of the chain or the name.
CHAIN_LOCK_NS, NAME_LOCK_NS = 0x59554E43, 0x59554E4E
_HELD = "yunque_chains_held"  # session.info: the chains whose locks this transaction holds
_WAITING = "yunque_chain_waited_for"  # session.info: the chain whose lock is being taken
#: PostgreSQL's "deadlock detected" and "lock not available" (the lock timeout)
_DEADLOCK, _LOCK_TIMEOUT = "40P01", "55P03"

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


def get_engine(url: str) -> Engine:
    """The engine of the database at ``url`` (built at the first use of that URL)."""
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
def session_scope(url: str, *, readonly: bool = False) -> Iterator[Session]:
    """One transaction on the database at ``url``: committed if the block ends normally, rolled back otherwise.

    On PostgreSQL a write transaction keeps the lock order of the module's docstring; one that was chosen
    to break a deadlock, or waited for a lock longer than the lock timeout, is rolled back and raises
    ``LockContention`` naming what was busy.

    The caller names the database (the bootstrap binds the URL of its settings: ``yunque.bootstrap``); there
    is no default to the global settings."""
    engine = get_engine(url)
    if readonly:
        engine = engine.execution_options(yunque_readonly=True)
    writes_pg = not readonly and engine.dialect.name == "postgresql"
    with (ChainLockingSession if writes_pg else Session)(engine, expire_on_commit=False) as session:
        try:
            if writes_pg:
                # waits as long as SQLite's busy timeout, then fails loudly instead of hanging
                session.execute(text("SET LOCAL lock_timeout = '30s'"))
            yield session
            if readonly:
                session.rollback()
            else:
                session.commit()
        except DBAPIError as e:
            busy = lock_contention(session, e) if writes_pg else None
            session.rollback()
            if busy is not None:
                raise busy from e
            raise
        except BaseException:
            session.rollback()
            raise


# --- the chain locks of write transactions on PostgreSQL ----------------------------------------------


class ChainLockingSession(Session):
    """A write transaction on PostgreSQL: takes a case's chain lock before any lock on a row of that case
    (the listeners below, and ``services.context.record``)."""


def lock_chains(session: Session, chains: Iterable[str]) -> None:
    """Take the locks of ``chains`` this transaction does not hold yet, in the order of their keys; advisory
    transaction locks, released at commit or rollback. Never flushes. Nothing on SQLite, whose write
    transactions are serialised by ``BEGIN IMMEDIATE``."""
    if not is_postgres(session):
        return
    held: set[str] = session.info.setdefault(_HELD, set())
    for chain in sorted(set(chains) - held, key=lambda c: (advisory_key(c), c)):
        session.info[_WAITING] = chain
        # on the connection, not through the session: the session would flush first, locking rows before it
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"),
                                     {"ns": CHAIN_LOCK_NS, "k": advisory_key(chain)})
        held.add(chain)
    session.info.pop(_WAITING, None)


def lock_name(session: Session, name: str) -> None:
    """Serialise a check-then-insert of a natural key ("declaration:<no>", "idempotency:<key>") on PostgreSQL:
    the second transaction waits until the first has committed, then sees its row. Taken before the
    check, and before any chain lock of an existing case (the insert's new case has no other holder).
    Nothing on SQLite, whose write transactions are serialised."""
    if is_postgres(session):
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:ns, :k)"),
                                     {"ns": NAME_LOCK_NS, "k": advisory_key(name)})


def advisory_key(name: str) -> int:
    """The advisory lock key of a chain or a name (a signed 32-bit number derived from it)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big", signed=True)


def lock_contention(session: Session, error: DBAPIError) -> LockContention | None:
    """The domain error for a deadlock PostgreSQL broke or a lock timeout, naming what was busy; else None."""
    state = getattr(error.orig, "sqlstate", None)
    if state not in (_DEADLOCK, _LOCK_TIMEOUT):
        return None
    chain = session.info.get(_WAITING)
    if chain is not None:
        what = f"the timeline of {chain.replace(':', ' ')}"
    else:
        diag = getattr(error.orig, "diag", None)
        where = re.search(r'relation "([^"]+)"', f"{getattr(diag, 'context', '')} {error.orig}")
        what = f"a row of {where.group(1)}" if where else "a row this action changes"
    return LockContention(what, "another action held it while waiting for this one (PostgreSQL broke the deadlock); "
                                "this action was rolled back, nothing of it was written: try it again"
                          if state == _DEADLOCK else
                          "another action held it longer than the lock timeout; "
                          "this action was rolled back, nothing of it was written: try it again")


@functools.cache
def case_route(table: Table) -> tuple[tuple[tuple[Column[Any], Column[Any]], ...], Column[Any]] | None:
    """How a row of ``table`` names its case: the foreign keys to follow (``(column, referenced column)``,
    required ones only, shortest way first) and the column that holds the case's id; None for a table of no
    case. The case's own table is its ``id``; a table with ``case_id`` is that; a shot request is its viewing's."""
    from models.tables import Case

    cases = Case.__table__
    frontier: list[tuple[Any, tuple[tuple[Column[Any], Column[Any]], ...]]] = [(table, ())]
    seen = {table}
    while frontier:
        following = []
        for t, hops in frontier:
            if t is cases:
                return hops, t.c.id
            if "case_id" in t.c and any(fk.column.table is cases for fk in t.c.case_id.foreign_keys):
                return hops, t.c.case_id
            for fk in sorted(t.foreign_keys, key=lambda fk: list(t.c).index(fk.parent)):
                if not fk.parent.nullable and fk.column.table not in seen:
                    seen.add(fk.column.table)
                    following.append((fk.column.table, (*hops, (fk.parent, fk.column))))
        frontier = following
    return None


def _chains_a_statement_locks(session: Session, state: ORMExecuteState) -> set[str]:
    """The chains of the rows a ``SELECT ... FOR UPDATE`` of entities will lock: the same FROM and WHERE,
    selecting the case ids, without the lock (a superset when the statement has a LIMIT)."""
    stmt: Any = state.statement
    found: set[str] = set()
    for mapper in state.all_mappers:
        route = case_route(mapper.local_table)
        if route is None:
            continue
        hops, case_column = route
        q = select(case_column).distinct().select_from(*stmt.get_final_froms())
        for column, referenced in hops:
            q = q.join_from(column.table, referenced.table, column == referenced)
        if stmt.whereclause is not None:
            q = q.where(stmt.whereclause)
        found.update(chain_of(c) for c in session.connection().execute(q, state.parameters or {}).scalars())
    return found


def _chain_of_row(session: Session, obj: object) -> str | None:
    """The chain of a row about to be inserted, updated or deleted (None: a table of no case)."""
    mapper = inspect(obj).mapper  # type: ignore[union-attr]
    route = case_route(mapper.local_table)
    if route is None:
        return None
    hops, case_column = route
    if not hops:
        case_id = getattr(obj, mapper.get_property_by_column(case_column).key)
        if case_id is None and case_column.name == "id":
            return None  # a case not inserted yet: nobody else can hold its chain
        return chain_of(case_id)  # an empty case_id: the system chain
    value = getattr(obj, mapper.get_property_by_column(hops[0][0]).key)
    if value is None:
        return None  # what it hangs on is new too: that row's own chain is taken
    (parent,) = [m.class_ for m in mapper.registry.mappers if m.local_table is hops[0][1].table]
    row = session.get(parent, value)  # usually in the session already: no query
    return None if row is None else _chain_of_row(session, row)


@event.listens_for(ChainLockingSession, "do_orm_execute")
def _chains_before_row_locks(state: ORMExecuteState) -> None:
    # getattr: SQLAlchemy has no public reader of a statement's FOR UPDATE
    if state.is_select and getattr(state.statement, "_for_update_arg", None) is not None:
        lock_chains(state.session, _chains_a_statement_locks(state.session, state))


@event.listens_for(ChainLockingSession, "before_flush")
def _chains_before_flush(session: Session, _context: object, _instances: object) -> None:
    chains = set()
    with session.no_autoflush:
        for obj in [*session.new, *(o for o in session.dirty if session.is_modified(o)), *session.deleted]:
            chain = _chain_of_row(session, obj)
            if chain is not None:
                chains.add(chain)
    lock_chains(session, chains)


@event.listens_for(ChainLockingSession, "after_transaction_end")
def _chains_released(session: Session, transaction: Any) -> None:
    # the end of the transaction releases its locks, and a rolled-back savepoint those taken in it: forget
    # them all at either (taking one again is harmless); a flush's inner transaction releases nothing
    if transaction.parent is None or transaction.nested:
        session.info.pop(_HELD, None)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def create_all(url: str) -> None:
    """For unit tests only; real databases are built by Alembic migrations (``yunque db upgrade``)."""
    import models.registry  # noqa: F401

    SQLModel.metadata.create_all(get_engine(url))
