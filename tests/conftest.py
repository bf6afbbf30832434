"""Shared fixtures and the policy for what a test needs: servers, real data, optional packages.

A test whose prerequisite is missing (a server not configured, ``../shared/data`` absent,
torch or distributed not installed) skips locally. Under ``LABELMEND_REQUIRE_SERVERS=1``
(set by ``.ci/run``) nothing may be missing: the same test fails instead. Every such
prerequisite goes through :func:`skip_or_fail`; optional packages through
:func:`require_module`, never ``pytest.importorskip``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Generator
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REQUIRE_VARIABLE = "LABELMEND_REQUIRE_SERVERS"


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test for ``reason``; fail it instead under ``LABELMEND_REQUIRE_SERVERS=1``."""
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{reason}, and {REQUIRE_VARIABLE}=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


def require_module(name: str) -> ModuleType:
    """Import an optional dependency a test needs (see :func:`skip_or_fail`)."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        skip_or_fail(f"{name} is not installed ({error})")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data, for tests marked ``realdata`` (see :func:`skip_or_fail`)."""
    if not SHARED_DATA.is_dir():
        skip_or_fail(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run a test that reads ../shared/data without the ``realdata`` marker."""
    unmarked = [
        item.nodeid
        for item in items
        if "shared_data" in getattr(item, "fixturenames", ())
        and item.get_closest_marker("realdata") is None
    ]
    if unmarked:
        raise pytest.UsageError(f"These tests read ../shared/data; mark them realdata: {unmarked}")


@pytest.fixture(scope="session")
def label_studio() -> Generator[Any]:
    """A real Label Studio server (one per test session; see :func:`skip_or_fail`)."""
    from tests.servers.label_studio import BIN_VARIABLE, start_server

    executable = os.environ.get(BIN_VARIABLE)
    if not executable:
        skip_or_fail(f"{BIN_VARIABLE} is not set: no Label Studio server to test against")
    server = start_server(executable)
    try:
        yield server
    finally:
        server.stop()


POSTGRES_URL_VAR = "LABELMEND_TEST_POSTGRES_URL"


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Generator[str]:
    """URL of an empty database: a SQLite file, or a new database on the PostgreSQL server
    named by ``LABELMEND_TEST_POSTGRES_URL`` (``.ci/run`` starts one)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = os.environ.get(POSTGRES_URL_VAR)
    if not base:
        skip_or_fail(f"{POSTGRES_URL_VAR} is not set (no PostgreSQL server)")
    from tests.databases import scratch_database

    with scratch_database(base) as url:
        yield url


def table_contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the store at ``url``, in primary-key order."""
    from sqlalchemy import create_engine, select

    from labelmend.storage import Base

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: [
                    tuple(row)
                    for row in connection.execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                ]
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def snapshot() -> Any:
    """``snapshot(url)``: the store's whole contents, to compare before and after a failure."""
    return table_contents
