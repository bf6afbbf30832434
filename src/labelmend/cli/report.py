"""``labelmend report``: one self-contained HTML page about a dataset, from the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labelmend.cleaner import EXPECTED_ERRORS, STOP_THRESHOLD
from labelmend.cli._console import JsonOption, console, print_json, spinner
from labelmend.cli._store import DatasetOption, DbOption
from labelmend.report import write_dataset_report


def report(
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
    images: Annotated[
        Path | None,
        typer.Option(
            help="Folder that relative image paths in sample metadata start from "
            "(default: the working directory)."
        ),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch",
            min=1,
            help="Samples per batch of the stopping rule: the budget curve stops where the "
            f"next batch holds fewer than {STOP_THRESHOLD:g} {EXPECTED_ERRORS} per sample.",
        ),
    ] = 100,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Write an HTML report of a dataset: noise, suspects, budget curve, progress, agreement.

    Reads the store only (never creates or changes it); the page opens offline.
    """
    with spinner("Reading the store and drawing the report…"):
        path = write_dataset_report(
            out, db=db, dataset=dataset, batch_size=batch_size, images=images
        )
    if json:
        print_json({"path": str(path)})
        return
    console.print(f"Wrote {path}")
