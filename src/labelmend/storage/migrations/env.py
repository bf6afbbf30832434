"""Alembic environment: migrate the connection handed in, or the URL from ``-x db=``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, text

from labelmend.storage.engine import create_store_engine, resolve_url
from labelmend.storage.migrate import MIGRATION_LOCK_KEY
from labelmend.storage.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    if connection.dialect.name == "postgresql":
        # Two processes opening a fresh database at once: the second waits, then finds
        # the schema already at head.
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"))
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = create_store_engine(
        resolve_url(context.get_x_argument(as_dictionary=True).get("db")), migrate=False
    )
    with engine.connect() as connection:
        _run(connection)
        connection.commit()
    engine.dispose()
