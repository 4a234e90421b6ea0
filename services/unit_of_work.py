"""The unit of work: what one service call works with, passed in rather than reached for.

A ``UnitOfWork`` carries the settings the call follows (the portal's address, the service rule, the
audit key, the mail sender) and the session factory of the database it writes to. A service opens one
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

from yunque.settings import Settings

#: session.info: the settings of the unit of work that opened the transaction (the timeline's audit key)
SETTINGS_KEY = "yunque_settings"

#: opens one transaction: ``factory(readonly=...)`` is a context manager yielding the session
SessionFactory = Callable[..., AbstractContextManager[Session]]


@dataclass(frozen=True)
class UnitOfWork:
    """The settings and the database of one service call (cosmicpython's unit of work)."""

    settings: Settings
    session_factory: SessionFactory

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        """One transaction: committed if the block ends normally, rolled back otherwise (always rolled
        back when ``readonly``). Write transactions are kept short: no network call inside one."""
        with self.session_factory(readonly=readonly) as session:
            session.info[SETTINGS_KEY] = self.settings
            yield session


def given(uow: UnitOfWork | None) -> UnitOfWork:
    """The caller's unit of work, or the default one for the current settings (the bootstrap's)."""
    if uow is not None:
        return uow
    from yunque.bootstrap import bootstrap

    return bootstrap()


def settings_of(session: Session) -> Settings:
    """The settings of the unit of work that opened ``session``; the default settings for a session opened
    outside one (a test's or a migration's ``session_scope``)."""
    settings = session.info.get(SETTINGS_KEY)
    if settings is not None:
        return settings
    from yunque.bootstrap import default_settings

    return default_settings()
