"""File-to-result jobs behind the stateless CLI commands: read files, run, write files.

Each function here is what one CLI command calls; the command only parses options
and prints. Files are read with :mod:`labelmend.io`; the maths stays in
:mod:`labelmend.cleaner` and :mod:`labelmend.simulator`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labelmend.cleaner import DEFAULT_DIFFICULTY, DEFAULT_METHOD, rank_samples
from labelmend.errors import InputError
from labelmend.io import load_features, load_labels, load_pred_probs, write_table
from labelmend.simulator.annotators import AnnotatorModel
from labelmend.simulator.report import StudyFiles, write_study
from labelmend.simulator.simulation import Features
from labelmend.simulator.study import NoiseLevel, StudyResult, run_study


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
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    normalize: bool = False,
    from_logits: bool = False,
    out: str | Path | None = None,
) -> FileRanking:
    """Rank samples from a labels file and one probability file per model (an ensemble).

    Class names come from ``classes`` or the probability tables' headers; labels may be
    names or indices. With ``out``, the full ranking is written as CSV/Parquet/JSONL.
    """
    if not pred_probs_paths:
        raise InputError("Give at least one predicted-probabilities file.")
    loaded = [load_pred_probs(path) for path in pred_probs_paths]
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


def simulate_files(
    counts: Path,
    *,
    out: Path,
    pred_probs: Path | None = None,
    features: Path | None = None,
    temperature: float | None = None,
    noise_rate: float | None = None,
    selectors: Sequence[str] = ("random", "oracle", "default"),
    seeds: int = 10,
    budget: float = 0.3,
    batch_sizes: Sequence[int | None] = (None,),
    max_reviews: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[StudyResult, StudyFiles]:
    """Load a study's inputs from files, run it, and write its outputs into ``out``.

    Parameters
    ----------
    counts : path
        Annotator votes per sample and class, (N, K): ``.npy`` or a table of numeric
        columns (one per class).
    out : directory
        Receives ``results.csv``, ``runs.csv``, ``summary.md`` and ``curves.png``.
    pred_probs : path, optional
        Out-of-sample model probabilities (N, K), for the model-based selectors.
    features : path, optional
        Features (N, D) to retrain a model on between batches instead.
    temperature, noise_rate : float, optional
        How the initial noisy labels are drawn (at most one; default temperature 2).
    selectors, seeds, budget, batch_sizes, max_reviews, scheduler :
        As :func:`labelmend.simulator.study.run_study`.
    progress : callable(done, total), optional
        Called as runs finish.

    Returns
    -------
    (StudyResult, StudyFiles)

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "counts.npy"
    ...     np.save(path, np.tile([[9, 1], [2, 8]], (20, 1)))
    ...     study, files = simulate_files(path, out=Path(tmp) / "study",
    ...                                   selectors=["random", "oracle"], seeds=1)
    ...     sorted(p.name for p in Path(tmp, "study").iterdir())
    ['curves.png', 'report.html', 'results.csv', 'runs.csv', 'summary.md']
    """
    if temperature is not None and noise_rate is not None:
        raise InputError("Give at most one of temperature and noise_rate.")
    noise = (
        NoiseLevel(noise_rate=noise_rate)
        if noise_rate is not None
        else NoiseLevel(temperature=2.0 if temperature is None else temperature)
    )
    annotators = AnnotatorModel.from_counts(load_features(counts, what="counts"))
    probs = None if pred_probs is None else load_pred_probs(pred_probs)[0]
    train = None if features is None else Features(load_features(features))
    study = run_study(
        annotators,
        pred_probs=probs,
        features=train,
        selectors=selectors,
        noise_levels=[noise],
        seeds=seeds,
        budget=budget,
        batch_sizes=batch_sizes,
        max_reviews=max_reviews,
        scheduler=scheduler,
        progress=progress,
    )
    return study, write_study(study, out)
