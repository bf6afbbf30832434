"""``labelmend queue create|show|export``: relabel queues drawn from the newest scores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
import typer
from rich.table import Table

from labelmend import workflow
from labelmend.cli._console import console, frame_table
from labelmend.cli._store import DatasetOption, DbOption, store

queue_app = typer.Typer(help="Create, show and export relabel queues.")

QueueName = Annotated[str, typer.Argument(help="Queue name.")]


def queue_table(items: pd.DataFrame, *, title: str, extra: str) -> Table:
    """Queue items as a table narrow enough for 80 columns: rank, id, given, suggested,
    p_error, reason and the column ``extra``."""
    short = {"position": "rank", "given_label": "given", "suggested_label": "suggested"}
    return frame_table(
        items.rename(columns=short),
        title=title,
        columns=["rank", "id", "given", "suggested", "p_error", "reason", extra],
        formats={"p_error": ".3f"},
    )


@queue_app.command("create")
def create(
    name: QueueName,
    budget: Annotated[int | None, typer.Option(min=0, help="Number of samples.")] = None,
    fraction: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Fraction of the dataset.")
    ] = None,
    strategy: Annotated[
        Literal["top", "balanced"],
        typer.Option(help="top: rank order; balanced: at most budget/K per given label."),
    ] = "top",
    dataset: DatasetOption = None,
    db: DbOption = None,
) -> None:
    """Queue the next samples to relabel, skipping those queued or reviewed before."""
    with store(db, "Creating the queue…") as session:
        result = workflow.create_queue(
            session, name, dataset=dataset, budget=budget, fraction=fraction, strategy=strategy
        )
    console.print(
        f"Queue {result.queue.name!r}: {result.n_items:,} samples, "
        f"expected label errors among them {result.expected_errors:.1f}."
    )


@queue_app.command("show")
def show(
    name: QueueName,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
    all_items: Annotated[
        bool, typer.Option("--all", help="Include resolved and skipped items.")
    ] = False,
    dataset: DatasetOption = None,
    db: DbOption = None,
) -> None:
    """The next items of a queue: rank, id, given, suggested, p_error, reason."""
    with store(db, "Reading the queue…") as session:
        items = workflow.queue_items(
            session, name, dataset=dataset, limit=limit, open_only=not all_items
        )
    title = f"Queue {name!r}: next {len(items)} {'items' if all_items else 'open items'}"
    console.print(queue_table(items, title=title, extra="status"))


@queue_app.command("export")
def export(
    name: QueueName,
    file: Annotated[Path, typer.Argument(help="Output .csv, .parquet or .jsonl.")],
    dataset: DatasetOption = None,
    db: DbOption = None,
) -> None:
    """Write every item of a queue, with its scores and status, to a file."""
    with store(db, "Exporting the queue…") as session:
        n_rows = workflow.export_queue(session, name, file, dataset=dataset)
    console.print(f"{n_rows:,} items of queue {name!r} written to {file}.")
