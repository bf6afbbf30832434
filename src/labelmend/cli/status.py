"""``labelmend status``: how healthy a dataset's labels are and how far relabelling got."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from labelmend import workflow
from labelmend.cli._console import console, frame_table
from labelmend.cli._store import DatasetOption, DbOption, store


def _estimate(value: float | None) -> str:
    return "(no scores yet: run `labelmend score`)" if value is None else f"{value:,.1f}"


def print_status(report: workflow.DatasetStatus) -> None:
    """Print a dataset's status as two rich tables."""
    table = Table(title=f"Dataset {report.dataset!r}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("samples", f"{report.n_samples:,}")
    table.add_row("classes", str(report.n_classes))
    table.add_row("samples reviewed", f"{report.reviewed:,}")
    table.add_row("labels changed so far", f"{report.labels_changed:,}")
    table.add_row("estimated label errors remaining", _estimate(report.estimated_errors_remaining))
    table.add_row(
        f"expected errors in the next {report.batch_size:,}",
        _estimate(report.next_batch_expected_errors),
    )
    console.print(table)
    if not report.queues.empty:
        progress = report.queues.pivot_table(
            index="queue", columns="status", values="items", fill_value=0, aggfunc="sum"
        ).reset_index()
        progress.columns.name = None
        console.print(frame_table(progress, title="Queue progress"))


def status(
    batch: Annotated[int, typer.Option(min=1, help="Size of the next batch to estimate.")] = 100,
    dataset: DatasetOption = None,
    db: DbOption = None,
) -> None:
    """Samples, estimated label errors remaining, labels changed, queue progress."""
    with store(db, "Reading the store…") as session:
        report = workflow.dataset_status(session, dataset=dataset, batch_size=batch)
    print_status(report)
