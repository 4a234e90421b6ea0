"""Builds the unit of work the services run in (cosmicpython's bootstrap): the one place that reads the
global settings and binds the database session factory to them.

The edges (Streamlit pages, Prefect flows, the CLI) call services without a unit of work and get this
default, built at each call from the settings of that moment; a test or an embedding passes its own
(other settings, another database, a session factory that fails) to any service.
"""

from __future__ import annotations

from functools import partial

from adapters.db import session_scope
from adapters.objectstore import ObjectStore
from services.unit_of_work import SessionFactory, UnitOfWork
from yunque.settings import Settings, get_settings


def default_settings() -> Settings:
    """The settings from the environment (cached; ``reset_settings`` forgets them)."""
    return get_settings()


def bootstrap(*, settings: Settings | None = None, session_factory: SessionFactory | None = None,
              store: ObjectStore | None = None) -> UnitOfWork:
    """A unit of work over ``settings`` (default: the environment's) whose transactions open on the database
    those settings name and whose files go to the evidence store they name, unless another
    ``session_factory`` or ``store`` is given."""
    settings = settings if settings is not None else default_settings()
    return UnitOfWork(settings=settings, session_factory=session_factory or partial(session_scope, settings.db_url),
                      object_store=store)
