"""``labelmend label set``, ``labelmend history`` and ``labelmend export labels``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cli._console import console, frame_table
from labelmend.cli._store import DatasetOption, DbOption, store

label_app = typer.Typer(help="Change labels by hand (recorded in the label history).")
export_app = typer.Typer(help="Export the store's contents.")

SampleId = Annotated[str, typer.Argument(help="Sample id.")]


@label_app.command("set")
def set_label(
    sample_id: SampleId,
    label: Annotated[str, typer.Argument(help="New class name.")],
    reason: Annotated[str | None, typer.Option(help="Why the label changes.")] = None,
    actor: Annotated[
        str | None, typer.Option(help="Who changes it (default: your user name).")
    ] = None,
    dataset: DatasetOption = None,
    db: DbOption = None,
) -> None:
    """Set a sample's label; the change, its author and reason enter the history."""
    with store(db, "Changing the label…") as session:
        change = workflow.set_label(
            session,
            sample_id,
            label,
            dataset=dataset,
            reason=reason,
            actor=actor or getpass.getuser(),
        )
    if change is None or change.changed:
        console.print(f"Sample {sample_id!r} relabelled as {label!r}.")
    else:
        console.print(f"Sample {sample_id!r} confirmed as {label!r} (recorded in its history).")


def history(
    sample_id: SampleId,
    dataset: DatasetOption = None,
    db: DbOption = None,
) -> None:
    """Every label change of a sample: when, old -> new, source, who, why."""
    with store(db, "Reading the history…") as session:
        changes = workflow.label_history(session, sample_id, dataset=dataset)
    if changes.empty:
        console.print(f"Sample {sample_id!r} still has its given label; no changes recorded.")
        return
    console.print(frame_table(changes.fillna(""), title=f"Label history of {sample_id!r}"))


@export_app.command("labels")
def export_labels(
    file: Annotated[Path, typer.Argument(help="Output .csv, .parquet or .jsonl.")],
    dataset: DatasetOption = None,
    db: DbOption = None,
) -> None:
    """Current labels with provenance: changed?, by whom, when, why."""
    with store(db, "Exporting labels…") as session:
        n_rows = workflow.export_labels(session, file, dataset=dataset)
    console.print(f"{n_rows:,} labels written to {file}.")
