"""``labelmend queue create|list|show|export|delete``: relabel queues from the newest scores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from labelmend import workflow
from labelmend.cleaner import EXPECTED_ERRORS
from labelmend.cli._console import QUEUE_COLUMNS, JsonOption, console, frame_table, print_json
from labelmend.cli._store import DatasetOption, DbOption, StrategyOption, reader, store
from labelmend.storage.schema import QUEUE_COUNTS

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

queue_app = typer.Typer(help="Create, list, show, export and delete relabel queues.")

QueueName = Annotated[str, typer.Argument(help="Queue name.")]


def queue_table(items: pd.DataFrame, *, title: str, extra: str) -> Table:
    """Queue items (:func:`~labelmend.workflow.queue_items`' columns) as a table: the
    :data:`~labelmend.cli._console.QUEUE_COLUMNS` of a ranking and the column ``extra``."""
    return frame_table(
        items,
        title=title,
        columns=[*QUEUE_COLUMNS, extra],
        formats={"p_error": ".3f"},
    )


def queue_created(result: workflow.QueueResult) -> dict[str, object]:
    """A new queue for ``--json``: the queue by name and its score run (as ``queue list``
    names them), its items (``n_items``, named as ``queue list`` names the count) and
    expected_errors."""
    return {
        "queue": result.queue.name,
        "score_run": result.queue.score_run_id,
        "items": result.n_items,
        "expected_errors": result.expected_errors,
    }


@queue_app.command("create")
def create(
    name: QueueName,
    budget: Annotated[
        int | None,
        typer.Option(min=1, help="Number of samples; required unless --fraction is given."),
    ] = None,
    fraction: Annotated[
        float | None,
        typer.Option(
            help="Share of the dataset, in (0, 1] (0.05: 5%); required unless --budget is given."
        ),
    ] = None,
    strategy: StrategyOption = "top",
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Queue the next samples to relabel, skipping those queued or reviewed before."""
    with store(db, "Creating the queue…") as session:
        result = workflow.create_queue(
            session, name, dataset=dataset, budget=budget, fraction=fraction, strategy=strategy
        )
    if json:
        print_json(queue_created(result))
        return
    console.print(
        f"Queue {result.queue.name!r}: {result.n_items:,} samples, "
        f"{EXPECTED_ERRORS} among them {result.expected_errors:.1f}."
    )


@queue_app.command("list")
def list_queues(
    dataset: DatasetOption = None, db: DbOption = None, json: JsonOption = False
) -> None:
    """Every queue of the dataset with its item counts: items, open (pending, sent or
    annotated: waiting for a decision), then pending, sent, annotated, resolved, skipped."""
    with reader(db, "Reading the queues…") as connection:
        queues = workflow.list_queues(connection, dataset=dataset)
    if json:
        print_json(queues)
    elif not queues:
        console.print("No queues yet; create one with `labelmend queue create NAME --budget 100`.")
    else:
        shown = ["queue", "strategy", *QUEUE_COUNTS]
        counts = dict.fromkeys(QUEUE_COUNTS, ",")
        console.print(frame_table(queues, title="Queues", columns=shown, formats=counts))


@queue_app.command("show")
def show(
    name: QueueName,
    limit: Annotated[int, typer.Option(min=1, help="Rows to show.")] = 20,
    all_items: Annotated[
        bool, typer.Option("--all", help="Include resolved and skipped items.")
    ] = False,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """The next items of a queue: rank, sample_id, given_label, suggested_label, p_error,
    reason, status."""
    with store(db, "Reading the queue…", read_only=True) as session:
        items = workflow.queue_items(
            session, name, dataset=dataset, limit=limit, open_only=not all_items
        )
    if json:
        print_json(items)
        return
    if items.empty:  # never with --all: a queue is created with at least one item
        console.print(f"Queue {name!r} has no open items; --all lists every item.")
        return
    title = f"Queue {name!r}: next {len(items):,} {'items' if all_items else 'open items'}"
    console.print(queue_table(items, title=title, extra="status"))


@queue_app.command("export")
def export(
    name: QueueName,
    file: Annotated[Path, typer.Argument(help="Output .csv, .parquet or .jsonl.")],
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Write every item of a queue, with its scores and status, to a file."""
    with store(db, "Exporting the queue…", read_only=True) as session:
        n_rows = workflow.export_queue(session, name, file, dataset=dataset)
    if json:
        print_json({"queue": name, "items": n_rows, "path": str(file)})
        return
    console.print(f"{n_rows:,} items of queue {name!r} written to {file}.")


@queue_app.command("delete")
def delete(
    name: QueueName,
    force: Annotated[
        bool, typer.Option("--force", help="Delete even with annotated or resolved items.")
    ] = False,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Remove a queue; its answers and the label history stay."""
    with store(db, "Deleting the queue…") as session:
        removed = workflow.delete_queue(session, name, dataset=dataset, force=force)
    if json:
        print_json({"queue": name, "items": removed})
        return
    console.print(f"Queue {name!r} deleted ({removed:,} items); answers and history kept.")
