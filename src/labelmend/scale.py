"""Rank datasets kept as Parquet shards, in one process or on a Dask cluster.

Passes over the shards, each a map of a pure function over files followed by a small
reduction on the client: per-class threshold sums, confident-joint counts (and the rest
of the noise model's fit), the answered rows' probabilities when experts have answered
(the experts' reliability, as :func:`labelmend.cleaner.learn_from_answers` fits it), then
scoring with the same :func:`labelmend.cleaner.score_samples` as the in-memory engine.
Each scoring task writes its shard's per-sample scores next to the output and returns
only its own top-k rows, so the client never collects the whole table; the global
top-k is the best k of the merged per-shard top-ks.

Shards hold a sample id column, a given-label column (integer class indices) and the
probabilities: one numeric column per class, or one list column.

    ranking = rank_dataset("shards/*.parquet", scheduler="local", out="scores/")
    ranking.top.head()
"""

from __future__ import annotations

import functools
import glob
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._executor import Workers
from labelmend._validation import (
    check_choice,
    check_count,
    check_labels,
    listing,
    require_columns,
)
from labelmend.cleaner import (
    DEFAULT_DIFFICULTY,
    DEFAULT_METHOD,
    DIFFICULTY_METHODS,
    RANKING_COLUMNS,
    RANKING_METHODS,
    ExpertReliability,
    NoiseModel,
    ProbabilitySource,
    expert_confusion,
    fit_expert_reliability,
    fit_noise_model_in_parts,
    ranking_order,
    score_samples,
    vote_counts_by_id,
)
from labelmend.errors import InputError
from labelmend.io import ID_COLUMN

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ShardLayout:
    """Which columns of a shard hold what."""

    id_col: str = ID_COLUMN
    label_col: str = "label"


@dataclass(frozen=True)
class ShardedRanking:
    """Result of :func:`rank_dataset`.

    Attributes
    ----------
    top : DataFrame
        The global top-k rows, columns as :func:`labelmend.cleaner.rank_samples`.
    n_samples, n_classes : int
    estimated_errors : float
        Σ p_error over every sample.
    noise_model : NoiseModel
    score_files : list of Path
        One Parquet file of per-sample scores per input shard (empty without ``out``).
    """

    top: pd.DataFrame
    n_samples: int
    n_classes: int
    estimated_errors: float
    noise_model: NoiseModel
    score_files: list[Path]


def find_shards(source: str | Path | Sequence[str | Path]) -> list[Path]:
    """Expand a glob, a directory of ``*.parquet`` files or a list of paths, sorted.

    >>> find_shards("/nonexistent/*.parquet")
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: No Parquet shards match '/nonexistent/*.parquet'.
    """
    if isinstance(source, str | Path):
        text = str(source)
        path = Path(text)
        if path.is_dir():
            files = sorted(path.glob("*.parquet"))
        elif any(ch in text for ch in "*?["):
            files = sorted(Path(p) for p in glob.glob(text))
        else:
            files = [path] if path.exists() else []
    else:
        files = sorted(Path(p) for p in source)
    if not files:
        raise InputError(f"No Parquet shards match {str(source)!r}.")
    return files


def read_shard(
    path: Path, layout: ShardLayout
) -> tuple[npt.NDArray[Any], npt.NDArray[np.intp], npt.NDArray[np.floating[Any]]]:
    """Read one shard: ``(ids (n,), labels (n,), probs (n, K))``, validated."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read it as Parquet ({exc}).") from exc
    require_columns(str(path), frame.columns, {layout.id_col: None, layout.label_col: None})
    prob_columns = [c for c in frame.columns if c not in (layout.id_col, layout.label_col)]
    if len(prob_columns) == 1 and frame[prob_columns[0]].dtype == object:
        probs = np.stack(list(frame[prob_columns[0]]))
    else:
        non_numeric = [c for c in prob_columns if not pd.api.types.is_numeric_dtype(frame[c])]
        if non_numeric:
            raise InputError(
                f"{path}: probability columns must be numeric; {listing(non_numeric)} are not."
            )
        probs = frame[prob_columns].to_numpy()
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise InputError(f"{path}: expected at least 2 probability columns; got {probs.shape}.")
    try:
        labels = check_labels(frame[layout.label_col].to_numpy(), n_classes=probs.shape[1])
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
    return frame[layout.id_col].to_numpy(), labels, probs


def _on_shard(
    path: Path,
    *,
    layout: ShardLayout,
    function: Callable[[npt.NDArray[np.intp], ProbabilitySource], Any],
) -> Any:
    """``function(labels, source)`` on one shard; its errors name the shard."""
    _, labels, probs = read_shard(path, layout)
    try:
        return function(labels, ProbabilitySource(probs))
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc


def _answered_rows(
    path: Path, *, layout: ShardLayout, answered: frozenset[str]
) -> tuple[list[str], npt.NDArray[np.floating[Any]]]:
    """One shard's rows that experts answered: (ids as strings, probabilities (R, K))."""
    ids, _, probs = read_shard(path, layout)
    keys = pd.Index(ids).astype(str)
    rows = keys.isin(answered)
    return keys[rows].tolist(), probs[rows]


def _expert_reliability(
    answers: pd.DataFrame, answered_rows: list[tuple[list[str], Any]], noise_model: NoiseModel
) -> ExpertReliability | None:
    """The experts' reliability from ``answers`` (sample_id, label) and the answered rows'
    probabilities gathered from the shards (the rows without an answer weigh nothing in
    :func:`~labelmend.cleaner.fit_expert_reliability`)."""
    ids = [key for keys, _ in answered_rows for key in keys]
    if not ids:
        return None
    probs = np.concatenate([part for _, part in answered_rows])
    votes = vote_counts_by_id(
        ids, answers["sample_id"], answers["label"], n_classes=noise_model.n_classes
    )
    return fit_expert_reliability(expert_confusion(noise_model), probs, votes)


def _score_shard(
    shard: tuple[Path, Path | None],
    *,
    layout: ShardLayout,
    noise_model: NoiseModel,
    reliability: ExpertReliability | None,
    method: str,
    difficulty: str,
    top_k: int,
) -> tuple[pd.DataFrame, int, float]:
    """Score one shard, write its per-sample scores, return (its top-k, rows, Σ p_error)."""
    path, out_file = shard
    ids, labels, probs = read_shard(path, layout)
    scores = score_samples(
        labels,
        probs,
        method=method,
        difficulty=difficulty,
        noise_model=noise_model,
        reliability=reliability,
        n_jobs=1,
    )
    frame = scores.frame(ids)
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(out_file, index=False)
    order = ranking_order(scores.priority, scores.p_error, ids)[:top_k]
    return frame.iloc[order].reset_index(drop=True), len(ids), float(scores.p_error.sum())


def rank_dataset(
    source: str | Path | Sequence[str | Path],
    *,
    scheduler: Any = None,
    out: str | Path | None = None,
    top_k: int = 1000,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    layout: ShardLayout | None = None,
    answers: pd.DataFrame | None = None,
    progress: Progress | None = None,
) -> ShardedRanking:
    """Rank every sample of a sharded dataset; return the global top-k.

    Parameters
    ----------
    source : glob, directory or list of Parquet files
        Each shard has an id column, a label column and K probability columns (or one
        list column). Every shard must have the same K.
    scheduler : None, "local", an address such as "tcp://host:8786", or a Client
        None runs in this process shard by shard; "local" starts a two-process
        ``LocalCluster``.
    out : directory, optional
        Where to write one Parquet file of per-sample scores per input shard.
    top_k : int
        Rows of the global ranking to gather to the client.
    method, difficulty : str
        As :func:`labelmend.cleaner.rank_samples`.
    answers : DataFrame, optional
        Experts' answers so far, one row each: ``sample_id`` (as the shards' ids, compared
        as strings) and ``label`` (class index); answers for ids in no shard are ignored.
        With them, the default priority reads the experts' reliability learnt from them,
        as :func:`labelmend.cleaner.learn_from_answers` fits it in memory.
    progress : callable(stage, done, total), optional
        Called after every shard of every pass.

    Returns
    -------
    ShardedRanking
        ``top`` equals the first ``top_k`` rows of ``rank_samples`` on the concatenated
        shards with the same sample ids (with ``answers``: given the noise model and
        reliability :func:`~labelmend.cleaner.learn_from_answers` fits on them).

    Examples
    --------
    >>> import tempfile
    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for part in (0, 1):
    ...         rows = slice(3 * part, 3 * part + 3)
    ...         pd.DataFrame({"sample_id": np.arange(6)[rows], "label": [0, 0, 0, 1, 1, 1][rows],
    ...                       "p0": probs[rows, 0], "p1": probs[rows, 1]}
    ...                      ).to_parquet(f"{tmp}/part{part}.parquet")
    ...     result = rank_dataset(tmp, top_k=2)
    >>> result.top["sample_id"].tolist(), result.n_samples
    ([5, 1], 6)
    """
    check_choice("method", method, RANKING_METHODS)
    check_choice("difficulty", difficulty, DIFFICULTY_METHODS)
    check_count("top_k", top_k, minimum=1)
    if answers is not None:  # checked before the first pass over the shards
        if not isinstance(answers, pd.DataFrame):
            raise InputError(
                "answers must be a DataFrame with columns 'sample_id' and 'label'. "
                f"Got {type(answers).__name__}.",
                inputs=("answers",),
            )
        require_columns("answers", answers.columns, {"sample_id": None, "label": None})
    layout = layout or ShardLayout()
    files = find_shards(source)
    out_dir = Path(out) if out is not None else None
    with Workers(scheduler=scheduler) as workers:

        def stage(name: str) -> Callable[[int, int], None] | None:
            return None if progress is None else functools.partial(progress, name)

        def map_shards(name: str, function: Callable[..., Any]) -> list[Any]:
            return list(
                workers.map(
                    _on_shard, files, progress=stage(name), layout=layout, function=function
                )
            )

        noise_model = fit_noise_model_in_parts(map_shards, n_jobs=1)
        reliability = None
        if answers is not None and len(answers):
            answers = answers.assign(sample_id=answers["sample_id"].astype(str))
            answered_rows = workers.map(
                _answered_rows,
                files,
                progress=stage("answers"),
                layout=layout,
                answered=frozenset(answers["sample_id"]),
            )
            reliability = _expert_reliability(answers, list(answered_rows), noise_model)
        out_files = [
            out_dir / f"scores-{index:05d}.parquet" if out_dir is not None else None
            for index in range(len(files))
        ]
        scored = list(
            workers.map(
                _score_shard,
                list(zip(files, out_files, strict=True)),
                progress=stage("scoring"),
                layout=layout,
                noise_model=noise_model,
                reliability=reliability,
                method=method,
                difficulty=difficulty,
                top_k=top_k,
            )
        )
    tops = pd.concat([top for top, _, _ in scored], ignore_index=True)
    order = ranking_order(
        tops["priority"].to_numpy(), tops["p_error"].to_numpy(), tops["sample_id"].to_numpy()
    )[:top_k]
    top = tops.iloc[order].reset_index(drop=True)
    top.insert(RANKING_COLUMNS.index("rank"), "rank", np.arange(1, len(top) + 1))
    return ShardedRanking(
        top=top,
        n_samples=sum(n for _, n, _ in scored),
        n_classes=noise_model.n_classes,
        estimated_errors=sum(e for _, _, e in scored),
        noise_model=noise_model,
        score_files=[f for f in out_files if f is not None],
    )
