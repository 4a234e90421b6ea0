"""The unit of work: what one service call works with, passed in rather than reached for.

A ``UnitOfWork`` carries the settings the call follows (the portal's address, the service rule, the
audit key, the mail sender), the session factory of the database it writes to and the evidence store
it keeps files in. A service opens one
transaction through it (``with uow.transaction() as s:``): committed if the block ends normally, rolled
back otherwise, with the locking and ``LockContention`` of ``adapters.db.session_scope``; a readonly one
(``uow.transaction(readonly=True)``) never writes.

Every public service takes ``uow`` as a keyword-only argument. The edges (pages, flows, the CLI) may leave
it out: ``given(None)`` asks the bootstrap (``yunque.bootstrap``) for the default one, built from the
current settings at that moment (tests change the environment between calls), never at import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from sqlmodel import Session

from adapters.objectstore import ObjectStore
from yunque.settings import Settings

#: session.info: the unit of work that opened the transaction (its settings give the timeline's audit key)
UOW_KEY = "yunque_unit_of_work"

#: opens one transaction: ``factory(readonly=...)`` is a context manager yielding the session
SessionFactory = Callable[..., AbstractContextManager[Session]]


@dataclass(frozen=True)
class UnitOfWork:
    """The settings, the database and the evidence store of one service call (cosmicpython's unit of work)."""

    settings: Settings
    session_factory: SessionFactory
    #: the evidence store; None: the one the settings name (``adapters.s3``, one client per endpoint)
    object_store: ObjectStore | None = None

    @property
    def store(self) -> ObjectStore:
        """Where evidence, documents, seals, marks and checkpoints are kept."""
        if self.object_store is not None:
            return self.object_store
        from adapters.s3 import get_store

        return get_store(self.settings)

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: committed if the block ends normally, rolled back otherwise (always rolled
        back when ``readonly``). Write transactions are kept short: no network call inside one."""
        with self.session_factory(readonly=readonly) as session:
            session.info[UOW_KEY] = self
            yield session


def given(uow: UnitOfWork | None) -> UnitOfWork:
    """The caller's unit of work, or the default one for the current settings (the bootstrap's)."""
    if uow is not None:
        return uow
    from yunque.bootstrap import bootstrap

    return bootstrap()


def unit_of(session: Session) -> UnitOfWork:
    """The unit of work that opened ``session``; the default one for a session opened outside one
    (``adapters.db.session_scope`` called directly with a URL)."""
    uow = session.info.get(UOW_KEY)
    return uow if uow is not None else given(None)


def settings_of(session: Session) -> Settings:
    """The settings of the unit of work that opened ``session``."""
    return unit_of(session).settings
