"""Options shared by the commands that work on the store: ``--db`` and ``--dataset``."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from labelmend.cli._console import spinner, stage_progress

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from labelmend.storage.bulk import ProgressCallback

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="LABELMEND_DB",
        show_envvar=True,
        help="Database URL (default sqlite:///labelmend.db; postgresql+psycopg://… for teams).",
    ),
]
StrategyOption = Annotated[
    Literal["top", "balanced"],
    typer.Option(help="top: rank order; balanced: at most budget/K per given label."),
]
DatasetOption = Annotated[
    str | None,
    typer.Option("--dataset", "-d", help="Dataset name (optional when the store holds one)."),
]


@contextmanager
def db_flag() -> Iterator[None]:
    """The store's errors name the URL by ``open_store``'s parameter, ``url``; here it is
    ``--db``."""
    from labelmend.errors import StorageError

    try:
        yield
    except StorageError as exc:
        exc.args = (exc.renamed({"url": "--db"}),)
        raise


@contextmanager
def store(db: str | None, activity: str, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction on the store while a spinner says what is happening.

    ``read_only`` commands never create a database file.
    """
    from labelmend.storage import open_store

    with db_flag(), spinner(activity), open_store(db, create=not read_only) as session:
        yield session


@contextmanager
def reader(db: str | None, activity: str) -> Iterator[Connection]:
    """A read of the store without the ORM while a spinner says what is happening: for
    the commands whose reads are all in :mod:`labelmend.storage.reads` (``status``,
    ``datasets``, ``queue list``). Never creates a database file."""
    from labelmend.storage import read_connection

    with db_flag(), spinner(activity), read_connection(db) as connection:
        yield connection


@contextmanager
def store_with_progress(
    db: str | None, activity: str
) -> Iterator[tuple[Session, ProgressCallback]]:
    """One transaction on the store and a progress bar for the rows it writes.

    Yields the session and the ``progress(done, total)`` callback to hand to the
    workflow function; the bar spins until the first rows are written.
    """
    from labelmend.storage import open_store

    with db_flag(), stage_progress(activity) as progress, open_store(db) as session:
        yield session, functools.partial(progress, activity)
