"""Options shared by the commands that work on the store: ``--db`` and ``--dataset``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from labelmend.cli._console import console
from labelmend.storage import open_store

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="LABELMEND_DB",
        show_envvar=True,
        help="Database URL (default sqlite:///labelmend.db; postgresql+psycopg://… for teams).",
    ),
]
DatasetOption = Annotated[
    str | None,
    typer.Option("--dataset", "-d", help="Dataset name (optional when the store holds one)."),
]


@contextmanager
def store(db: str | None, activity: str) -> Iterator[Session]:
    """One transaction on the store while a spinner says what is happening."""
    with console.status(activity), open_store(db) as session:
        yield session
