"""File-to-result jobs behind the stateless CLI commands: read files, run, write files.

Each function here is what one CLI command calls; the command only parses options
and prints. Files are read with :mod:`labelmend.io`; the maths stays in
:mod:`labelmend.cleaner` and :mod:`labelmend.simulator`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labelmend._validation import check_flag
from labelmend.cleaner import AUDIT_METHOD, DEFAULT_DIFFICULTY, rank_samples
from labelmend.cleaner._source import ProbabilitySource
from labelmend.errors import InputError, UsageError
from labelmend.io import (
    ID_COLUMN,
    align_rows,
    decode_labels,
    load_features,
    load_pred_probs,
    load_pred_probs_with_ids,
    read_labels,
    staged_directory,
    write_table,
)
from labelmend.scale import ShardLayout, rank_dataset
from labelmend.simulator.annotators import AnnotatorModel
from labelmend.simulator.report import curves_figure, summary_markdown
from labelmend.simulator.simulation import Features
from labelmend.simulator.study import NoiseLevel, StudyResult, run_study

#: Annotations a simulated study spends when neither a count nor a share is given: 0.3 N.
DEFAULT_FRACTION = 0.3


@dataclass(frozen=True)
class FileRanking:
    """A ranking read from files.

    Attributes
    ----------
    ranking : DataFrame
        Columns as :func:`labelmend.cleaner.rank_samples` (class names applied when
        known): every sample in memory, the global top ``top_k`` for Parquet shards.
    n_samples, n_classes : int
    estimated_errors : float
        Σ p_error over every sample.
    class_names : list of str or None
    """

    ranking: pd.DataFrame
    n_samples: int
    n_classes: int
    estimated_errors: float
    class_names: list[str] | None


def is_sharded(paths: Sequence[str | Path]) -> bool:
    """True for one directory or glob (of Parquet shards) rather than plain files.

    >>> is_sharded(["shards/*.parquet"]), is_sharded(["probs.npy"])
    (True, False)
    """
    return len(paths) == 1 and (Path(paths[0]).is_dir() or any(ch in str(paths[0]) for ch in "*?["))


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
    labels_path: str | Path | None,
    pred_probs_paths: Sequence[str | Path],
    *,
    classes: Sequence[str] | None = None,
    label_col: str | None = None,
    id_col: str = ID_COLUMN,
    method: str = AUDIT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    normalize: bool = False,
    from_logits: bool = False,
    out: str | Path | None = None,
    scheduler: Any = None,
    top_k: int = 1000,
    progress: Callable[[str, int, int], None] | None = None,
) -> FileRanking:
    """Rank samples from files: a labels file and one probability file per model (an
    ensemble), or one directory / glob of Parquet shards (in process or on Dask).

    Parameters
    ----------
    labels_path : path or None
        Given labels (.npy, or a table column): names or indices. None for shards,
        which carry their labels.
    pred_probs_paths : paths
        (N, K) probabilities per model (.npy memory-mapped, or tables whose headers
        name the classes); or one directory or glob of Parquet shards.
    classes : class names, optional
        In column order; default: the probability tables' headers.
    label_col, id_col : str
        The label column of a labels table or shard; the id column of a shard or table.
        Tables that carry the id column are matched to the labels by id, never by
        position, and the ranking's ``sample_id`` holds those ids (positions otherwise).
    method, difficulty, normalize, from_logits :
        As :func:`labelmend.cleaner.rank_samples`; the method defaults to
        :data:`~labelmend.cleaner.scores.AUDIT_METHOD` (which labels are wrong).
        ``normalize`` and ``from_logits`` are for files: shards are refused with them.
    out : path, optional
        The full ranking as CSV/Parquet/JSONL; for shards, a directory of per-shard
        score files.
    scheduler : None, "local", an address or a Dask Client
        Rank shards on Dask (see :func:`labelmend.scale.rank_dataset`).
    top_k : int
        Rows of the global ranking gathered from shards.
    progress : callable(stage, done, total), optional
        Called per shard and pass (shards only).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/labels.npy", np.array([0, 0, 1, 1]))
    ...     np.save(f"{tmp}/probs.npy", np.array([[.9, .1], [.2, .8], [.3, .7], [.1, .9]]))
    ...     result = rank_files(f"{tmp}/labels.npy", [f"{tmp}/probs.npy"])
    >>> int(result.ranking["sample_id"].iloc[0]), result.n_samples
    (1, 4)
    """
    check_flag("normalize", normalize)
    check_flag("from_logits", from_logits)
    if scheduler is not None or is_sharded(pred_probs_paths):
        flag = "from_logits" if from_logits else "normalize" if normalize else None
        if flag is not None:  # rank_dataset reads shards as they are stored
            raise UsageError(
                f"{flag} is for probability files; Parquet shards are ranked as stored, "
                "rows of probabilities summing to 1. Write them so, or rank files.",
                inputs=(flag,),
            )
        if len(pred_probs_paths) != 1:
            raise InputError("Give one directory or glob of Parquet shards to rank on Dask.")
        sharded = rank_dataset(
            str(pred_probs_paths[0]),
            scheduler=scheduler,
            out=out,
            top_k=top_k,
            method=method,
            difficulty=difficulty,
            layout=ShardLayout(id_col=id_col, label_col=label_col or "label"),
            progress=progress,
        )
        return FileRanking(
            sharded.top, sharded.n_samples, sharded.n_classes, sharded.estimated_errors, None
        )
    if labels_path is None:
        raise UsageError(
            "labels is missing: give the file of each sample's given label (only Parquet "
            "shards carry their own).",
            inputs=("labels",),
        )
    if not pred_probs_paths:
        raise InputError("Give at least one predicted-probabilities file.")
    # Each file is read once: its ids come with its probabilities or labels.
    loaded = [load_pred_probs_with_ids(path, id_col=id_col) for path in pred_probs_paths]
    names = _class_names(classes, [header for _, header, _ in loaded])
    arrays = [array for array, _, _ in loaded]
    ids = [found for _, _, found in loaded]
    written, order = read_labels(labels_path, label_col=label_col, id_col=id_col)
    order = next((found for found in [order, *ids] if found is not None), None)
    for (array, header, _), path in zip(loaded, pred_probs_paths, strict=True):
        if header is not None:  # a table: its rows are checked in its own order
            _check_table_probs(array, path, normalize=normalize, from_logits=from_logits)
    if order is not None:
        arrays = [
            array if found is None else align_rows(array, found, order, path)
            for array, found, path in zip(arrays, ids, pred_probs_paths, strict=True)
        ]
    n_classes = arrays[0].shape[-1]
    if names is not None and len(names) != n_classes:
        raise InputError(
            f"classes gives {len(names)} names but pred_probs has {n_classes} columns.",
            inputs=("classes", "pred_probs"),
        )
    given = decode_labels(labels_path, written, names)
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
    if order is not None:
        ranking["sample_id"] = order[ranking["sample_id"].to_numpy()]
    if out is not None:
        write_table(ranking, out)
    return FileRanking(ranking, len(ranking), n_classes, float(ranking["p_error"].sum()), names)


def _check_table_probs(
    array: np.ndarray, path: Path | str, *, normalize: bool, from_logits: bool
) -> None:
    """Validate a probability table as the ranking will read it, before its rows are
    matched to the labels by id: a refusal names the file and its own row and line."""
    source = ProbabilitySource(
        array, normalize=normalize, from_logits=from_logits, name=str(path), source=str(path)
    )
    all(source.map_blocks(lambda _start, _block: True, validate=True, n_jobs=1))


@dataclass(frozen=True)
class StudyFiles:
    """Where a study was written."""

    results: Path
    runs: Path
    summary: Path
    curves: Path
    report: Path


def write_study(study: StudyResult, out: Path) -> StudyFiles:
    """Write ``results.csv``, ``runs.csv``, ``summary.md``, ``curves.png`` and the HTML
    page ``report.html`` into ``out``."""
    import matplotlib.pyplot as plt

    from labelmend.report.page import write_page
    from labelmend.report.study import study_page

    out.mkdir(parents=True, exist_ok=True)
    files = StudyFiles(
        out / "results.csv",
        out / "runs.csv",
        out / "summary.md",
        out / "curves.png",
        out / "report.html",
    )
    write_table(study.results, files.results)
    write_table(study.runs, files.runs)
    files.summary.write_text("# Relabelling study\n\n" + summary_markdown(study))
    figure = curves_figure(study.results)
    try:
        figure.savefig(files.curves, dpi=110)
    finally:
        plt.close(figure)
    write_page(study_page(study), files.report)
    return files


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
    budget: int | None = None,
    fraction: float | None = None,
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
        Receives ``results.csv``, ``runs.csv``, ``summary.md``, ``curves.png`` and
        ``report.html``, all or none of them (:func:`labelmend.io.staged_directory`).
    pred_probs : path, optional
        Out-of-sample model probabilities (N, K), for the model-based selectors.
    features : path, optional
        Features (N, D) to retrain a model on between batches instead.
    temperature, noise_rate : float, optional
        How the initial noisy labels are drawn (at most one; default temperature 2).
    budget : int, optional
        Annotations to spend, a count (``--budget``).
    fraction : float, optional
        Annotations to spend as a share of N (``--fraction``; above 1 when samples may be
        reviewed more than once). At most one of ``budget`` and ``fraction``; default
        :data:`DEFAULT_FRACTION`.
    selectors, seeds, batch_sizes, max_reviews, scheduler :
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
        raise UsageError(
            "Give at most one of temperature and noise_rate.", inputs=("temperature", "noise_rate")
        )
    if budget is not None and fraction is not None:
        raise UsageError(
            "Give budget (a count of annotations) or fraction (a share of N), not both.",
            inputs=("budget", "fraction"),
        )
    if budget is not None and (isinstance(budget, bool) or budget < 1):
        raise InputError(
            f"budget must be at least 1 annotation. Got {budget!r}.", inputs=("budget",)
        )
    if fraction is not None and not (math.isfinite(fraction) and fraction > 0):
        raise InputError(
            f"fraction must be above 0 (a share of N). Got {fraction}.", inputs=("fraction",)
        )
    noise = (
        NoiseLevel(noise_rate=noise_rate)
        if noise_rate is not None
        else NoiseLevel(temperature=2.0 if temperature is None else temperature)
    )
    with staged_directory(out) as staging:  # --out checked first, written all or nothing
        annotators = AnnotatorModel.from_counts(load_features(counts, what="counts"))
        if budget is not None:
            fraction = budget / annotators.n_samples
        probs = None if pred_probs is None else load_pred_probs(pred_probs)[0]
        train = None if features is None else Features(load_features(features))
        study = run_study(
            annotators,
            pred_probs=probs,
            features=train,
            selectors=selectors,
            noise_levels=[noise],
            seeds=seeds,
            budget=DEFAULT_FRACTION if fraction is None else fraction,
            batch_sizes=batch_sizes,
            max_reviews=max_reviews,
            scheduler=scheduler,
            progress=progress,
        )
        written = write_study(study, staging)
    files = StudyFiles(*(Path(out) / path.name for path in dataclasses.astuple(written)))
    return study, files
