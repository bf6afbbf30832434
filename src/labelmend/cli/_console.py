"""Shared terminal output for the CLI: the console, tables, JSON, progress bars."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from numbers import Number
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd
    from rich.status import Status

console = Console()
# Piped output stays one line per message, for grep and scripts; tables keep 80 columns.
console.soft_wrap = not console.is_terminal
#: Progress bars and spinners draw on stderr: `labelmend score --json > scores.json`
#: keeps its bar, `labelmend status --json > status.json` its spinner.
progress_console = Console(stderr=True)
#: Columns never shortened in a table: ids are copied into other commands.
ID_COLUMNS = ("sample_id", "id", "queue", "dataset")
#: The columns of a ranking or a queue that fit 80 columns (rank, score, queue show);
#: --json and the files carry every score.
QUEUE_COLUMNS = ["rank", "sample_id", "given_label", "suggested_label", "p_error", "reason"]

JsonOption = Annotated[
    bool, typer.Option("--json", help="Write the result as JSON on stdout instead of tables.")
]
#: Help of the ``--method`` option of ``rank``, ``score``, ``fit`` and ``round``: which
#: order answers what (each command shows its own default).
METHOD_HELP = (
    "Ranking order. posterior (rank's default): p_error alone, which labels are most "
    "likely wrong, to audit or filter; it finds at least as many true errors in the top "
    "k as cleanlab's best score on 8 of the 10 full-truth sets of docs/ranking.md. "
    "errors_per_annotation (the default of round and score): label errors fixed "
    "per expert annotation, for relabelling queues; it trails posterior at finding "
    "errors on the music sets."
)

DIFFICULTY_HELP = (
    "The label-blind difficulty column, normalised entropy or margin of the probabilities; "
    "above the ambiguity threshold a sample's reason is 'ambiguous'. It does not change the "
    "order."
)


def new_table(title: str | None = None, *, show_header: bool = True) -> Table:
    """A table with lines on a terminal and plain aligned text when output is piped."""
    return Table(
        title=title,
        header_style="bold",
        show_header=show_header,
        box=box.SQUARE if console.is_terminal else None,
    )


def print_json(payload: Any) -> None:
    """Write ``payload`` as JSON on stdout (a library result's dataclasses as objects with
    their field names, data frames as lists of records, NaN as null, paths as text, times
    in ISO 8601 with their offset: ``2026-01-31T09:30:00.123456+00:00``)."""
    import dataclasses
    import json
    import os

    def plain(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # field by field, not asdict: asdict deep-copies every data frame first
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value

    def encode(value: Any) -> Any:
        if hasattr(value, "to_json"):  # a data frame: a list of records
            times = value.select_dtypes(include=["datetime", "datetimetz"]).columns
            as_text = {c: value[c].map(lambda t: encode(t) if t == t else None) for c in times}
            return json.loads(value.assign(**as_text).to_json(orient="records"))
        if isinstance(value, datetime):  # to the microsecond, whole seconds too
            return value.isoformat(timespec="microseconds")
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if hasattr(value, "item"):
            return value.item()
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        raise TypeError(f"cannot write {type(value).__name__} as JSON")

    text = json.dumps(plain(payload), default=encode, indent=2, ensure_ascii=False)
    sys.stdout.write(text + "\n")


def frame_table(
    rows: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    title: str | None = None,
    formats: dict[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> Table:
    """A rich table of ``rows`` (a data frame, or row dicts such as the store's reads
    return, which need no pandas); numbers right-aligned, floats formatted."""
    records = rows.to_dict("records") if hasattr(rows, "to_dict") else list(rows)
    formats = formats or {}
    shown = list(columns or (rows.columns if hasattr(rows, "columns") else records[0]))
    table = new_table(title)
    for column in shown:
        values = [record[column] for record in records]
        numeric = all(isinstance(value, Number) for value in values)
        widest = max([len(column), *(len(str(value)) for value in values)])
        table.add_column(
            column,
            justify="right" if numeric else "left",
            no_wrap=column in ID_COLUMNS,
            min_width=widest if column in ID_COLUMNS else None,
        )
    for record in records:
        cells = []
        for column in shown:
            fmt = formats.get(column)
            cells.append(format(record[column], fmt) if fmt else str(record[column]))
        table.add_row(*cells)
    return table


def spinner(activity: str) -> Status:
    """A spinner saying what is happening (``with spinner("Reading…") as status:``,
    ``status.update(text)``), on stderr beside the progress bars, when it is a terminal."""
    return progress_console.status(activity)


@contextmanager
def stage_progress(*stages: str) -> Iterator[Callable[[str, int, int | None], None]]:
    """The CLI's progress bars, on stderr when it is a terminal: one per stage of a job;
    yields ``progress(stage, done, total)``.

    Stages named here show (spinning) from the start; others appear on their first
    call. A job with one stage passes ``functools.partial(progress, stage)`` on as its
    ``progress(done, total)`` callback.
    """
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns,
        console=progress_console,
        transient=True,
        disable=not progress_console.is_terminal,
        redirect_stdout=False,  # the command's output stays on stdout
    ) as bar:
        tasks: dict[str, TaskID] = {name: bar.add_task(name, total=None) for name in stages}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress
