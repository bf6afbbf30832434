"""``labelmend import features``: a feature matrix per sample, for ``labelmend fit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cli._console import JsonOption, console, print_json
from labelmend.cli._store import DatasetOption, DbOption, store_with_progress
from labelmend.io import ID_COLUMN


def import_features(
    file: Annotated[
        Path,
        typer.Argument(help="A .csv, .parquet or .jsonl table (id + D numeric columns), or .npy."),
    ],
    ids: Annotated[
        Path | None,
        typer.Option(
            help="Sample ids, one per line (.txt) or a table: required for a .npy file, "
            "whose rows have no ids."
        ),
    ] = None,
    id_col: Annotated[str, typer.Option(help="Column holding the sample ids.")] = ID_COLUMN,
    name: Annotated[str, typer.Option(help="Name of the feature set.")] = "features",
    reference: Annotated[
        bool,
        typer.Option(help="Keep the values in the .parquet file (large D); store only its hash."),
    ] = False,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Store an N × D feature matrix keyed by sample id (or reference a Parquet file)."""
    with store_with_progress(db, f"Importing features from {file}") as (session, progress):
        done = workflow.import_features(
            session, file, dataset=dataset, name=name, id_col=id_col, ids=ids,
            reference=reference, progress=progress,
        )  # fmt: skip
    if json:
        print_json(done)
        return
    where = "referenced in place" if done.reference else "stored"
    if done.created:
        console.print(
            f"Features {done.name!r} ({done.n_samples:,} samples × {done.n_features:,}) {where} "
            f"(set {done.feature_set_id})."
        )
    else:
        console.print(
            f"This file was already imported as {done.name!r} (set {done.feature_set_id}); "
            "nothing changed."
        )
