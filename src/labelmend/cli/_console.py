"""Shared terminal output for the CLI: consoles, tables, progress, the error edge."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pandas as pd
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
from typer.core import TyperGroup

from labelmend.errors import LabelmendError

#: --method help shared by `rank` and `score`.
METHOD_HELP = (
    "Ranking order. errors_per_annotation (default): where the next expert annotation "
    "fixes most (error weight × chance the review fixes it / expected annotations), "
    "for relabelling queues. posterior: which labels are most likely wrong (p_error "
    "alone), for auditing or filtering without a relabelling budget."
)


console = Console()

#: Help of the ``--method`` option of ``rank`` and ``score``: which order answers what.
METHOD_HELP = (
    "Ranking method. Default errors_per_annotation: label errors fixed per expert "
    "annotation, for a relabelling queue. posterior: p_error alone, to find which labels "
    "are wrong (it finds at least as many true errors in the top k as cleanlab's best "
    "score on every real-noise set of docs/ranking.md; the default trails on 2 of 7)."
)


def fail(message: str) -> None:
    """Print one line to stderr and exit 1."""
    sys.stderr.write(f"Error: {message}\n")
    raise SystemExit(1)


class ErrorHandlingGroup(TyperGroup):
    """A command group that turns labelmend's errors into one line on stderr and exit 1.

    Usage errors keep click's exit code 2; Ctrl-C exits 130.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LabelmendError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            sys.stderr.write("Interrupted.\n")
            raise SystemExit(130) from None


def frame_table(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    formats: dict[str, str] | None = None,
    columns: Sequence[str] | None = None,
) -> Table:
    """A rich table of ``frame``'s rows; numbers right-aligned, floats formatted."""
    formats = formats or {}
    shown = list(columns or frame.columns)
    table = Table(title=title, header_style="bold")
    for column in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(column, justify="right" if numeric else "left")
    for row in frame[shown].itertuples(index=False):
        cells = []
        for column, value in zip(shown, row, strict=True):
            fmt = formats.get(column)
            cells.append(format(value, fmt) if fmt else str(value))
        table.add_row(*cells)
    return table


@contextmanager
def stage_progress(*stages: str) -> Iterator[Callable[[str, int, int | None], None]]:
    """The CLI's progress bars: one per stage of a job; yields ``progress(stage, done, total)``.

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
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {name: bar.add_task(name, total=None) for name in stages}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress
