"""File-to-result jobs behind the stateless CLI commands: read, call the engine, return.

Each function here is what one CLI command calls; the command only parses options
and prints. The maths stays in :mod:`labelmend.cleaner`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelmend.cleaner import DEFAULT_DIFFICULTY, DEFAULT_METHOD, rank_samples
from labelmend.errors import InputError
from labelmend.io import load_labels, load_pred_probs, write_table


@dataclass(frozen=True)
class FileRanking:
    """A ranking read from files: the table (class names applied when known) and K."""

    ranking: pd.DataFrame
    n_classes: int
    class_names: list[str] | None


def _class_names(
    classes: Sequence[str] | None, headers: list[list[str] | None]
) -> list[str] | None:
    if classes:
        return list(classes)
    named = [names for names in headers if names is not None]
    if named and any(names != named[0] for names in named):
        raise InputError("The probability files name different classes in their headers.")
    return named[0] if named else None


def rank_files(
    labels_path: str | Path,
    pred_probs_paths: Sequence[str | Path],
    *,
    classes: Sequence[str] | None = None,
    label_column: str | None = None,
    id_column: str | None = None,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    normalize: bool = False,
    from_logits: bool = False,
    out: str | Path | None = None,
) -> FileRanking:
    """Rank samples from a labels file and one probability file per model (an ensemble).

    Class names come from ``classes`` or the probability tables' headers (every column
    but ``id_column``); labels may be names or indices. With ``out``, the full ranking is written as CSV/Parquet/JSONL.
    """
    if not pred_probs_paths:
        raise InputError("Give at least one predicted-probabilities file.")
    drop = [id_column] if id_column else []
    loaded = [load_pred_probs(path, drop_columns=drop) for path in pred_probs_paths]
    names = _class_names(classes, [header for _, header in loaded])
    arrays = [array for array, _ in loaded]
    n_classes = arrays[0].shape[-1]
    if names is not None and len(names) != n_classes:
        raise InputError(f"{len(names)} class names given but pred_probs has {n_classes} columns.")
    given = load_labels(labels_path, column=label_column, classes=names)
    ranking = rank_samples(
        given,
        arrays if len(arrays) > 1 else arrays[0],
        method=method,
        difficulty=difficulty,
        normalize=normalize,
        from_logits=from_logits,
    )
    if names is not None:
        lookup = np.asarray(names, dtype=object)
        ranking["given_label"] = lookup[ranking["given_label"].to_numpy()]
        ranking["suggested_label"] = lookup[ranking["suggested_label"].to_numpy()]
    if out is not None:
        write_table(ranking, out)
    return FileRanking(ranking, n_classes, names)
