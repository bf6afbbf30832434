"""Shared fixtures: real data from ../shared/data and the servers policy.

Tests that need ``../shared/data`` skip when it is absent. Tests marked ``server`` skip
when their server is not configured, unless ``LABELMEND_REQUIRE_SERVERS=1`` (set by
``.ci/run``), where a skipped server test fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def label_studio() -> Generator[Any]:
    """A real Label Studio server (one per test session); skips when not configured."""
    from tests.servers.label_studio import BIN_VARIABLE, start_server

    executable = os.environ.get(BIN_VARIABLE)
    if not executable:
        pytest.skip(f"{BIN_VARIABLE} is not set: no Label Studio server to test against")
    server = start_server(executable)
    try:
        yield server
    finally:
        server.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[Any]:
    """With LABELMEND_REQUIRE_SERVERS=1, a skipped ``server`` test counts as a failure."""
    outcome = yield
    report = outcome.get_result()
    required = os.environ.get("LABELMEND_REQUIRE_SERVERS") == "1"
    if required and report.skipped and item.get_closest_marker("server") is not None:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid}: server test skipped although LABELMEND_REQUIRE_SERVERS=1 "
            f"({report.longrepr})"
        )


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
        pytest.skip(f"{POSTGRES_URL_VAR} is not set (no PostgreSQL server)")
    from labelmend.storage.engine import scratch_database

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
