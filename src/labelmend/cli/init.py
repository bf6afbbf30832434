"""``labelmend init``: create a dataset with its ordered class names."""

from __future__ import annotations

from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cli._console import JsonOption, console, print_json
from labelmend.cli._store import DbOption, store


def init(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    classes: Annotated[
        str, typer.Option(help="Class names in order: 'a,b,c', or a file with one per line.")
    ],
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Create a dataset in the store (the database is created and migrated on first use)."""
    names = workflow.parse_classes(classes)
    with store(db, "Creating the dataset…") as session:
        dataset = workflow.init_dataset(session, name, names)
    if json:  # named as ``datasets --json`` names them: classes is K
        print_json({"dataset": dataset.name, "classes": len(dataset.classes)})
        return
    console.print(f"Dataset {dataset.name!r} created with {len(dataset.classes):,} classes.")
