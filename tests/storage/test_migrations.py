"""The packaged Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from labelmend.storage import Base, open_store
from labelmend.storage.migrate import MIGRATIONS, head_revision


def _alembic(url: str, *args: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(MIGRATIONS / "alembic.ini"),
            "-x",
            f"db={url}",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_upgrade_head_on_an_empty_database_matches_the_models(database_url):
    _alembic(database_url, "upgrade", "head")
    assert _differences(database_url) == []
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()
    engine.dispose()


@pytest.mark.slow
def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(database_url):
    _alembic(database_url, "upgrade", "head")
    _alembic(database_url, "downgrade", "base")
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    _alembic(database_url, "upgrade", "head")
    assert _differences(database_url) == []


def test_first_use_migrates_automatically(database_url):
    with open_store(database_url) as session:
        tables = set(inspect(session.connection()).get_table_names())
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    assert _differences(database_url) == []
