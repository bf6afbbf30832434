"""``labelmend label set|undo``, ``labelmend history`` and ``labelmend export labels``."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cli._console import JsonOption, console, frame_table, print_json
from labelmend.cli._store import DatasetOption, DbOption, store

label_app = typer.Typer(
    help="Set or undo labels by hand (set with the same label confirms it; kept in the label "
    "history)."
)
export_app = typer.Typer(help="Export the store's contents.")

SampleId = Annotated[str, typer.Argument(help="Sample id.")]
ActorOption = Annotated[str | None, typer.Option(help="Who decides (default: your user name).")]
ReasonOption = Annotated[
    str | None, typer.Option(help="Why, kept in the label history (optional).")
]


@label_app.command("set")
def set_label(
    sample_id: Annotated[str | None, typer.Argument(help="Sample id.")] = None,
    label: Annotated[str | None, typer.Argument(help="Class name.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            help="Many decisions at once: a table with columns sample_id, label; instead of "
            "SAMPLE_ID LABEL (optional)."
        ),
    ] = None,
    reason: ReasonOption = None,
    actor: ActorOption = None,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Decide a sample's label (the same label confirms it); who and why enter the history."""
    if (file is None) == (sample_id is None or label is None):
        raise typer.BadParameter("give SAMPLE_ID LABEL, or --file with columns sample_id, label.")
    who = actor or getpass.getuser()
    with store(db, "Recording the decisions…") as session:
        if file is not None:
            done = workflow.set_labels(session, file, dataset=dataset, reason=reason, actor=who)
        else:
            change = workflow.set_label(
                session, str(sample_id), str(label), dataset=dataset, reason=reason, actor=who
            )
    if json:  # one decision is reported as a file of one row is
        print_json(done if file is not None else {"decided": 1, "changed": int(change.changed)})
    elif file is not None:
        console.print(
            f"{done.decided:,} decisions recorded from {file}: {done.changed:,} labels changed, "
            f"{done.decided - done.changed:,} confirmed."
        )
    elif change.changed:
        console.print(f"Sample {sample_id!r} relabelled as {label!r}.")
    else:
        console.print(f"Sample {sample_id!r} confirmed as {label!r} (recorded in its history).")


@label_app.command("undo")
def undo(
    sample_id: SampleId,
    reason: ReasonOption = None,
    actor: ActorOption = None,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Take back the sample's newest decision: its label before it is put back.

    Recorded in the history, never erased; undo again to take back the decision before.

    With none left the sample is undecided: counted by p_error, its queue items open again."""
    with store(db, "Undoing…") as session:
        undone = workflow.undo_label(
            session, sample_id, dataset=dataset, actor=actor or getpass.getuser(), reason=reason
        )
    if json:
        print_json(undone)
        return
    if undone.decided:
        left = "an earlier decision of it stands"
    else:
        items = f"; {undone.reopened} queue item(s) open again" if undone.reopened else ""
        left = f"it is undecided again{items}"
    console.print(
        f"Sample {sample_id!r} is back to {undone.restored!r} (was {undone.replaced!r}); {left}."
    )
    if undone.stale_run is not None:
        console.print(
            f"Its p_error in the newest scores no longer counts: score run {undone.stale_run} "
            f"scored it as {undone.scored_label!r}. The estimated label errors remaining and "
            "new queues leave it out until `labelmend score` scores its label again."
        )


def history(
    sample_id: SampleId,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Every label decision of a sample: when, old -> new, source, who, why."""
    with store(db, "Reading the history…", read_only=True) as session:
        changes = workflow.label_history(session, sample_id, dataset=dataset)
    if json:
        print_json(changes)
    elif changes.empty:
        console.print(f"Sample {sample_id!r} still has its given label; no decisions recorded.")
    else:
        shown = ["at", "old_label", "new_label", "source", "actor", "reason"]
        frame = changes.assign(at=changes["at"].map(lambda t: f"{t:%Y-%m-%d %H:%M}"))
        console.print(frame_table(frame.fillna(""), title=f"Label history of {sample_id!r}",
                                  columns=shown))  # fmt: skip


@export_app.command("labels")
def export_labels(
    file: Annotated[Path, typer.Argument(help="Output .csv, .parquet or .jsonl.")],
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Current labels with provenance: changed?, by whom, when, why."""
    with store(db, "Exporting labels…", read_only=True) as session:
        n_rows = workflow.export_labels(session, file, dataset=dataset)
    if json:
        print_json({"n_rows": n_rows, "path": file})
        return
    console.print(f"{n_rows:,} labels written to {file}.")
