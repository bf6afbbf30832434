"""``labelmend import samples|predictions``: bring tables into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cli._console import JsonOption, console, print_json
from labelmend.cli._store import DatasetOption, DbOption, store_with_progress
from labelmend.cli.features import import_features
from labelmend.io import ID_COLUMN

import_app = typer.Typer(
    help="Import samples, model predictions or features (CSV / Parquet / JSONL)."
)

FileArgument = Annotated[Path, typer.Argument(help="A .csv, .parquet or .jsonl table.")]
IdColumn = Annotated[str, typer.Option(help="Column holding the sample ids.")]


@import_app.command("samples")
def import_samples(
    file: FileArgument,
    id_col: IdColumn = ID_COLUMN,
    label_col: Annotated[str, typer.Option(help="Column holding the given labels.")] = "label",
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Add samples (id, label, other columns kept as metadata); re-running is a no-op."""
    with store_with_progress(db, f"Importing samples from {file}") as (session, progress):
        done = workflow.import_samples(
            session, file, dataset=dataset, id_col=id_col, label_col=label_col, progress=progress
        )
    if json:
        print_json(done)
        return
    kept = (
        f"; {done.other_metadata:,} were already stored with other metadata, kept as stored "
        "(an import never changes a stored sample)"
        if done.other_metadata
        else ""
    )
    console.print(
        f"{done.inserted:,} samples added to {done.dataset!r}; "
        f"{done.unchanged:,} were already stored unchanged{kept}."
    )


@import_app.command("predictions")
def import_predictions(
    file: FileArgument,
    model: Annotated[str, typer.Option(help="Name of the model that made the predictions.")],
    id_col: IdColumn = ID_COLUMN,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Store a model's probabilities: the id column and one column per class, matched by id."""
    with store_with_progress(db, f"Importing predictions from {file}") as (session, progress):
        done = workflow.import_predictions(
            session, file, model=model, dataset=dataset, id_col=id_col, progress=progress
        )
    if json:
        print_json(done)
        return
    if done.created:
        console.print(
            f"Predictions of {done.model!r} for {done.n_samples:,} samples stored "
            f"(run {done.run_id})."
        )
    else:
        console.print(
            f"This file was already imported for {done.model!r} (run {done.run_id}); nothing changed."
        )


# ``import features`` lives beside ``labelmend fit``, which reads what it stores.
import_app.command("features")(import_features)
