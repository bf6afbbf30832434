"""``labelmend demo``: the whole relabelling loop on data that ships with scikit-learn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from labelmend.cleaner import ERRORS_REMAINING
from labelmend.cli._console import JsonOption, console, print_json, spinner
from labelmend.cli.queue import queue_table
from labelmend.cli.status import print_status
from labelmend.demo import run_demo


def demo(
    noise_rate: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="The share of the labels flipped (0.1: 10%).")
    ] = 0.1,
    budget: Annotated[int, typer.Option(min=1, help="Samples the expert reviews.")] = 250,
    top: Annotated[int, typer.Option(min=1, help="Rows of the queue to print.")] = 15,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    db: Annotated[
        str | None,
        typer.Option(help="Database URL to run on (default: a temporary SQLite file)."),
    ] = None,
    report: Annotated[Path, typer.Option(help="Where to write the dataset's HTML report.")] = Path(
        "report.html"
    ),
    json: JsonOption = False,
) -> None:
    """Inject label noise into scikit-learn's digits and run the whole loop on a database.

    init, import samples and out-of-fold predictions, score, queue the most suspicious
    samples, let a simulated expert answer them, rescore, and show what was found and fixed.
    """
    with spinner("Starting…") as status:
        result = run_demo(
            db=db,
            noise_rate=noise_rate,
            budget=budget,
            random_state=seed,
            report=report,
            on_step=lambda text: status.update(f"{text}…"),
        )
    if json:
        print_json(result)
        return
    console.print(
        queue_table(
            result.queue.head(top).rename(columns={"truly_wrong": "wrong"}),
            title=f"Top {top:,} of the {len(result.queue):,} digits queued for the expert",
            extra="wrong",
        )
    )
    console.print(
        f"{result.n_flipped:,} of {result.n_samples:,} labels were flipped on purpose. "
        f"The queue of {len(result.queue):,} held {result.found:,} of them "
        f"({result.found / max(result.n_flipped, 1):.0%}); the expert's answers fixed "
        f"{result.fixed:,} and broke {result.broken:,}. True errors left: {result.remaining_errors:,}."
    )
    console.print(
        f"Before the expert answered, {ERRORS_REMAINING}: {result.errors_before}. "
        f"Database: {result.database}."
    )
    print_status(result.status)
    console.print(f"Report: {result.report}")
