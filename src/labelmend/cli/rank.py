"""``labelmend rank``: score a dataset from files and show the top of the relabel queue."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from labelmend.cleaner import (
    DifficultyName,
    MethodName,
    rank_samples,
)
from labelmend.cli._console import console, frame_table
from labelmend.errors import InputError
from labelmend.io import load_labels, load_pred_probs, write_table

MethodOption = Annotated[MethodName, typer.Option(help="Ranking method.")]
DifficultyOption = Annotated[DifficultyName, typer.Option(help="Difficulty score.")]


def _class_names(classes: str | None, from_files: list[list[str] | None]) -> list[str] | None:
    if classes:
        return [name.strip() for name in classes.split(",") if name.strip()]
    headers = [names for names in from_files if names is not None]
    if headers and any(names != headers[0] for names in headers):
        raise InputError("The probability files name different classes in their headers.")
    return headers[0] if headers else None


def rank(
    labels: Annotated[Path, typer.Option(help="Given labels: .npy, .csv, .parquet or .jsonl.")],
    pred_probs: Annotated[
        list[Path],
        typer.Option(help="Predicted probabilities (N×K); repeat for an ensemble."),
    ],
    method: MethodOption = "errors_per_annotation",
    difficulty: DifficultyOption = "entropy",
    classes: Annotated[
        str | None, typer.Option(help="Comma-separated class names, in column order.")
    ] = None,
    label_col: Annotated[str | None, typer.Option(help="Label column in a table.")] = None,
    top: Annotated[int, typer.Option(min=0, help="Rows of the queue to print.")] = 20,
    out: Annotated[
        Path | None, typer.Option(help="Write the full ranking (.csv/.parquet).")
    ] = None,
    normalize: Annotated[bool, typer.Option(help="Rescale rows to sum to 1.")] = False,
    from_logits: Annotated[bool, typer.Option(help="Inputs are logits: apply softmax.")] = False,
) -> None:
    """Rank every sample by how likely its label is wrong; print the top of the queue."""
    loaded = [load_pred_probs(path) for path in pred_probs]
    names = _class_names(classes, [header for _, header in loaded])
    given = load_labels(labels, column=label_col, classes=names)
    arrays = [array for array, _ in loaded]
    ranking = rank_samples(
        given,
        arrays if len(arrays) > 1 else arrays[0],
        method=method,
        difficulty=difficulty,
        normalize=normalize,
        from_logits=from_logits,
    )
    n_samples, n_classes = len(ranking), arrays[0].shape[-1]
    if names is not None:
        if len(names) != n_classes:
            raise InputError(
                f"--classes names {len(names)} classes but pred_probs has {n_classes}."
            )
        lookup = np.asarray(names, dtype=object)
        ranking["given_label"] = lookup[ranking["given_label"].to_numpy()]
        ranking["suggested_label"] = lookup[ranking["suggested_label"].to_numpy()]
    if out is not None:
        write_table(ranking, out)
    shown = ranking.head(top)
    console.print(
        frame_table(
            shown,
            title=f"Relabel queue (top {len(shown)} of {n_samples:,}, method {method})",
            columns=[
                "rank",
                "sample_id",
                "given_label",
                "suggested_label",
                "p_error",
                "correctness",
                "difficulty",
                "reason",
            ],
            formats={"p_error": ".3f", "correctness": ".3f", "difficulty": ".3f"},
        )
    )
    expected_top = float(ranking["p_error"].head(top).sum())
    console.print(
        f"N={n_samples:,}  K={n_classes}  estimated label errors={ranking['p_error'].sum():,.1f}"
        f"  expected errors in top {min(top, n_samples)}={expected_top:.1f}"
        + (f"  ranking written to {out}" if out is not None else "")
    )
