"""``labelmend score``: rank the current labels with the ranking engine and store the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from labelmend.cleaner import DEFAULT_DIFFICULTY, DEFAULT_METHOD, rank_samples
from labelmend.errors import InputError
from labelmend.storage import repository as repo
from labelmend.storage.models import PredictionRun, ScoreRun
from labelmend.workflow._tables import with_class_names


@dataclass(frozen=True)
class ScoreResult:
    """A stored score run and the ranking it holds (labels as class names)."""

    run: ScoreRun
    ranking: pd.DataFrame


def score(
    session: Session,
    *,
    dataset: str | None = None,
    model: str | None = None,
    prediction_run: PredictionRun | None = None,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    progress: repo.ProgressCallback | None = None,
) -> ScoreResult:
    """Score the current labels against a model's newest stored probabilities and store it.

    ``prediction_run`` (one just fitted, say) is scored instead of ``model``'s newest.
    The ranking engine (:func:`labelmend.cleaner.rank_samples`) does the scoring.
    """
    found = repo.get_dataset(session, dataset, lock=True)
    if prediction_run is None:
        prediction_run = repo.latest_prediction_run(session, found, model)
    keys, probs = repo.load_probabilities(session, prediction_run, len(found.classes))
    samples = repo.sample_frame(session, found).set_index("id").loc[keys]
    ranking = rank_samples(
        samples["current_label"].to_numpy(),
        probs,
        method=method,
        difficulty=difficulty,
        sample_ids=samples["external_id"].to_numpy(),
    )
    key_of = pd.Series(keys, index=samples["external_id"].to_numpy())
    stored = ranking.assign(sample_id=key_of.loc[ranking["sample_id"]].to_numpy())
    run = repo.add_score_run(
        session,
        found,
        prediction_run,
        stored,
        method=method,
        difficulty=difficulty,
        progress=progress,
    )
    return ScoreResult(
        run, with_class_names(ranking, found.classes, ["given_label", "suggested_label"])
    )


def score_shards(
    session: Session,
    source: str | Path,
    *,
    dataset: str | None = None,
    scheduler: Any = None,
    top_k: int = 10_000,
    out: str | Path | None = None,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    id_col: str = "sample_id",
    label_col: str = "label",
    progress: Callable[[str, int, int], None] | None = None,
) -> ScoreResult:
    """Score a dataset kept as Parquet shards (on a Dask cluster with ``scheduler``).

    :func:`labelmend.scale.rank_dataset` scores every shard; the store receives the run
    (with the whole dataset's estimated errors) and its top ``top_k`` rows in bulk, while
    the per-sample scores stay in Parquet files under ``out``. The shards' own label
    column is what gets scored; every top id must be a sample of the dataset.

    Parameters
    ----------
    session : Session
        The caller's transaction.
    source : glob or directory of Parquet shards
        Each with ``id_col``, ``label_col`` and one probability column per class.
    dataset : str, optional
        Dataset name (optional when the store holds one).
    scheduler : None, "local", an address or a Dask Client
        Where the shards are scored (see :func:`labelmend.scale.rank_dataset`).
    top_k : int
        Rows of the global ranking stored (the queues are built from them).
    out : directory, optional
        Per-shard score files, recorded with the run.
    method, difficulty : str
        As :func:`labelmend.cleaner.rank_samples`.
    id_col, label_col : str
        The shards' sample-id and given-label columns.
    progress : callable(stage, done, total), optional

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> with open_store(url) as session:  # doctest: +SKIP
    ...     score_shards(session, "shards/*.parquet", scheduler="local", out="scores/")
    """
    from labelmend.scale import ShardLayout, rank_dataset

    found = repo.get_dataset(session, dataset, lock=True)
    result = rank_dataset(
        str(source),
        scheduler=scheduler,
        out=out,
        top_k=top_k,
        method=method,
        difficulty=difficulty,
        layout=ShardLayout(id_column=id_col, label_column=label_col),
        progress=progress,
    )
    if result.n_classes != len(found.classes):
        raise InputError(
            f"The shards have {result.n_classes} probability columns but dataset "
            f"{found.name!r} has {len(found.classes)} classes."
        )
    samples = repo.sample_frame(session, found)
    key_of = pd.Series(samples["id"].to_numpy(), index=samples["external_id"].to_numpy())
    top = result.top.assign(sample_id=result.top["sample_id"].astype(str))
    unknown = ~top["sample_id"].isin(key_of.index)
    if unknown.any():
        raise InputError(
            f"{int(unknown.sum())} top-ranked shard id(s) are not samples of dataset "
            f"{found.name!r} (first {top.loc[unknown, 'sample_id'].iloc[0]!r}); import them first."
        )
    run = repo.add_score_run(
        session,
        found,
        None,
        top.assign(sample_id=key_of.loc[top["sample_id"]].to_numpy()),
        method=method,
        difficulty=difficulty,
        estimated_errors=result.estimated_errors,
        source=str(source),
        score_files=[str(path) for path in result.score_files],
    )
    return ScoreResult(
        run, with_class_names(top, found.classes, ["given_label", "suggested_label"])
    )
