"""``labelmend rank``: score a dataset from files and list the labels most likely wrong.

Plain files are ranked in memory (memory-mapped ``.npy`` streams); a directory or glob
of Parquet shards, or ``--scheduler``, goes through :func:`labelmend.scale.rank_dataset`
(both behind :func:`labelmend.jobs.rank_files`).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from labelmend.cleaner import (
    AUDIT_METHOD,
    ERRORS_REMAINING,
    EXPECTED_ERRORS,
    DifficultyName,
    ErrorCount,
    MethodName,
    count_errors,
)
from labelmend.cli._console import (
    DIFFICULTY_HELP,
    METHOD_HELP,
    QUEUE_COLUMNS,
    JsonOption,
    console,
    frame_table,
    print_json,
    stage_progress,
)
from labelmend.io import ID_COLUMN
from labelmend.jobs import rank_files


def _print_queue(
    top: pd.DataFrame, n_samples: int, n_classes: int, errors: ErrorCount, method: str, json: bool
) -> None:
    if json:
        print_json({"n_samples": n_samples, "n_classes": n_classes, "errors": asdict(errors),
                    "top": top})  # fmt: skip
        return
    console.print(
        frame_table(
            top,
            title=f"Most suspicious labels (top {len(top):,} of {n_samples:,}, order {method})",
            columns=QUEUE_COLUMNS,
            formats={"p_error": ".3f"},
        )
    )
    console.print(
        f"N={n_samples:,}  K={n_classes:,}  {ERRORS_REMAINING}: {errors}"
        f"  {EXPECTED_ERRORS} in the top {len(top):,}: {top['p_error'].sum():.1f}"
    )


def rank(
    pred_probs: Annotated[
        list[Path],
        typer.Option(
            help="Predicted probabilities (N×K); repeat for an ensemble. A directory or "
            "glob of Parquet shards (id, label, one column per class) ranks at scale."
        ),
    ],
    labels: Annotated[
        Path | None,
        typer.Option(
            help="Given labels: .npy, .csv, .parquet or .jsonl; required unless --pred-probs are "
            "Parquet shards, which carry their labels."
        ),
    ] = None,
    method: Annotated[MethodName, typer.Option(help=METHOD_HELP)] = AUDIT_METHOD,
    difficulty: Annotated[DifficultyName, typer.Option(help=DIFFICULTY_HELP)] = "entropy",
    classes: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated class names, in column order (default: the probability "
            "tables' headers; class indices for .npy)."
        ),
    ] = None,
    label_col: Annotated[
        str | None,
        typer.Option(
            "--label-col", help="Label column in a table (default: its one column but --id-col)."
        ),
    ] = None,
    id_col: Annotated[
        str,
        typer.Option(
            "--id-col", help="Sample id column of probability tables and shards (not a class)."
        ),
    ] = ID_COLUMN,
    top: Annotated[int, typer.Option(min=0, help="Rows of the ranking to print.")] = 20,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Also write the whole ranking to this file (.csv/.parquet), or a directory "
            "for shards (default: print only)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Rank on Dask: 'local' (two local processes) or tcp://HOST:8786 (default: "
            "in this process, shard by shard)."
        ),
    ] = None,
    normalize: Annotated[bool, typer.Option(help="Rescale rows to sum to 1.")] = False,
    from_logits: Annotated[bool, typer.Option(help="Inputs are logits: apply softmax.")] = False,
    json: JsonOption = False,
) -> None:
    """Rank every sample by how likely its label is wrong (--method posterior, the
    default; errors_per_annotation orders a relabelling queue); print the top."""
    with stage_progress() as progress:
        result = rank_files(
            labels,
            pred_probs,
            classes=[c.strip() for c in classes.split(",") if c.strip()] if classes else None,
            label_col=label_col,
            id_col=id_col,
            method=method,
            difficulty=difficulty,
            normalize=normalize,
            from_logits=from_logits,
            out=out,
            scheduler=scheduler,
            top_k=max(top, 1),
            progress=progress,
        )
    ranking = result.ranking
    # Shards bring back only their top rows: the rest is known by its total.
    n_rest = result.n_samples - len(ranking)
    stored = float(ranking["p_error"].sum())
    errors = count_errors(
        ranking["p_error"].to_numpy(),
        rest_sum=min(max(result.estimated_errors - stored, 0.0), n_rest),
        n_rest=n_rest,
    )
    _print_queue(ranking.head(top), result.n_samples, result.n_classes, errors, method, json)
    if out is not None and not json:
        console.print(f"Scores written to {out}")
