"""Alembic environment: migrates the database whose URL ``adapters.migrations`` put in the config (``yunque db
upgrade`` passes the settings' YUNQUE_DATABASE_URL); without one, the settings' database."""

from alembic import context
from sqlmodel import SQLModel

import models.registry  # noqa: F401  (imports every table module)
from adapters.db import get_engine
from yunque.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = get_engine(url or get_settings().db_url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
