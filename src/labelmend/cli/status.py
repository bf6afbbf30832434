"""``labelmend status`` and ``labelmend datasets``: how healthy a dataset's labels are."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cleaner import DECIDED, ERRORS_REMAINING, EXPECTED_ERRORS, ErrorCount
from labelmend.cli._console import JsonOption, console, frame_table, new_table, print_json
from labelmend.cli._store import DatasetOption, DbOption, reader
from labelmend.storage.schema import QUEUE_COUNTS

NO_SCORES = "(no scores yet: run `labelmend score`)"


def error_count_line(errors: ErrorCount, raw_p_error_sum: float, run_id: int) -> str:
    """The one sentence ``score``, ``status`` and the demo print about errors left."""
    return (
        f"{ERRORS_REMAINING.capitalize()}: {errors} "
        f"(raw Σ p_error of score run {run_id}, before expert decisions: {raw_p_error_sum:,.1f})."
    )


def print_status(report: workflow.DatasetStatus) -> None:
    """Print a dataset's status as two tables and the error count."""
    table = new_table(f"Dataset {report.dataset!r}", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("samples", f"{report.n_samples:,}")
    table.add_row("classes", f"{report.n_classes:,}")
    table.add_row(DECIDED, f"{report.decided:,}")
    table.add_row("annotated (waiting for another vote)", f"{report.annotated:,}")
    table.add_row("labels changed so far", f"{report.labels_changed:,}")
    table.add_row(ERRORS_REMAINING, NO_SCORES if report.errors is None else str(report.errors))
    if report.next_batch_expected_errors is not None:
        table.add_row(
            f"{EXPECTED_ERRORS} in the next {report.batch_size:,}",
            f"{report.next_batch_expected_errors:,.1f}",
        )
    console.print(table)
    if report.errors is not None and report.score_run_id is not None:
        raw = report.raw_p_error_sum or 0.0
        console.print(error_count_line(report.errors, raw, report.score_run_id))
    if report.unscored:
        console.print(
            f"{report.unscored:,} of {report.n_samples:,} samples have no score in score run "
            f"{report.score_run_id} (imported after it); the {ERRORS_REMAINING} leave them "
            "out. Import predictions for every sample and run `labelmend score`."
        )
    if report.stale:
        console.print(
            f"{report.stale:,} of {report.n_samples:,} samples have a p_error in score run "
            f"{report.score_run_id} scored on a label `label undo` took back since; the "
            f"{ERRORS_REMAINING} and new queues leave them out. Run `labelmend score`."
        )
    if report.queues:
        shown = ["queue", *QUEUE_COUNTS]  # the columns of `queue list`, but the strategy
        console.print(
            frame_table(
                report.queues,
                title="Queue progress",
                columns=shown,
                formats=dict.fromkeys(QUEUE_COUNTS, ","),
            )
        )


def status(
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch",
            min=1,
            help="Samples in the next batch whose expected label errors are shown.",
        ),
    ] = 100,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Estimated label errors remaining, samples decided, labels changed, queue progress.

    The estimate is the undecided samples' summed p_error. Its 95% interval adds
    p_error's own error, measured on real-noise sets where every label's truth is known,
    to the labels' chance. Noise the model has learnt with the labels (one class
    relabelled as another throughout, probabilities from the same crowd) is not counted:
    see docs/ranking.md, "The 95% interval of the error count".
    """
    with reader(db, "Reading the store…") as connection:
        report = workflow.dataset_status(connection, dataset=dataset, batch_size=batch_size)
    if json:
        print_json(asdict(report))
    else:
        print_status(report)


def datasets(db: DbOption = None, json: JsonOption = False) -> None:
    """The datasets in the store: classes, samples, queues, newest score run."""
    with reader(db, "Reading the store…") as connection:
        found = workflow.list_datasets(connection)
    if json:
        print_json(found)
    elif not found:
        console.print("The store holds no dataset yet; create one with `labelmend init NAME`.")
    else:
        counts = dict.fromkeys(("classes", "samples", "queues", "score_runs"), ",")
        console.print(frame_table(found, title="Datasets", formats=counts))
