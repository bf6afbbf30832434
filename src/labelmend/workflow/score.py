"""``labelmend score``: rank the current labels with the ranking engine and store the run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import check_flag
from labelmend.cleaner import (
    DEFAULT_DIFFICULTY,
    DEFAULT_METHOD,
    ErrorCount,
    ExpertReliability,
    NoiseModel,
    learn_from_answers,
    rank_samples,
    vote_counts_by_id,
)
from labelmend.errors import InputError
from labelmend.io import ID_COLUMN
from labelmend.storage import repository as repo
from labelmend.storage.models import Dataset, PredictionRun, ScoreRun
from labelmend.workflow._tables import with_class_names
from labelmend.workflow.status import errors_remaining


@dataclass(frozen=True)
class ScoreResult:
    """A stored score run, the ranking it holds (labels as class names) and the
    estimated label errors remaining after it (see :func:`errors_remaining`)."""

    run: ScoreRun
    ranking: pd.DataFrame
    errors: ErrorCount


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
    The ranking engine (:func:`labelmend.cleaner.rank_samples`) does the scoring; once
    experts have answered (stored annotations), the default priority reads their
    reliability learnt from those answers (:func:`~labelmend.cleaner.learn_from_answers`).

    Examples
    --------
    Sample d is labelled cat, but the model is sure it is a dog:

    >>> import pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = ["a", "b", "c", "d"]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "cat"]})
    >>> probs = pd.DataFrame({"sample_id": ids, "cat": [.9, .8, .1, .1], "dog": [.1, .2, .9, .9]})
    >>> with open_store("sqlite://") as session:  # an in-memory store
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     _ = workflow.import_predictions(session, probs, model="resnet")
    ...     result = score(session, model="resnet")
    >>> print(result.ranking[["sample_id", "given_label", "suggested_label", "p_error", "rank"]]
    ...       .round(2))
      sample_id given_label suggested_label  p_error  rank
    0         d         cat             dog     0.82     1
    1         b         cat             cat     0.11     2
    2         c         dog             dog     0.05     3
    3         a         cat             cat     0.05     4
    >>> print(result.errors)  # estimated label errors remaining: the sum of p_error
    1.0 (95% interval 0.0–3.8)
    """
    found = repo.get_dataset(session, dataset, lock=True)
    if prediction_run is None:
        prediction_run = repo.latest_prediction_run(session, found, model)
    keys, probs = repo.load_probabilities(session, prediction_run, len(found.classes))
    samples = repo.sample_frame(session, found).set_index("id").loc[keys]
    labels = samples["current_label"].to_numpy()
    noise_model, reliability = _expert_reliability(session, found, keys, labels, probs)
    ranking = rank_samples(
        labels,
        probs,
        method=method,
        difficulty=difficulty,
        sample_ids=samples["external_id"].to_numpy(),
        noise_model=noise_model,
        reliability=reliability,
    )
    key_of = pd.Series(keys, index=samples["external_id"].to_numpy())
    return _store_ranking(
        session,
        found,
        prediction_run,
        ranking,
        key_of,
        method=method,
        difficulty=difficulty,
        progress=progress,
    )


def _expert_reliability(
    session: Session, found: Dataset, keys: np.ndarray, labels: np.ndarray, probs: np.ndarray
) -> tuple[NoiseModel | None, ExpertReliability | None]:
    """The noise model and the experts' reliability learnt from the stored answers
    (:func:`~labelmend.cleaner.learn_from_answers`), or (None, None) before any."""
    answers = repo.annotation_frame(session, found)
    votes = vote_counts_by_id(
        keys, answers["sample_id"], answers["label"], n_classes=probs.shape[1]
    )
    if not votes.any():
        return None, None
    return learn_from_answers(labels, probs, votes)


def _store_ranking(
    session: Session,
    found: Dataset,
    prediction_run: PredictionRun | None,
    ranking: pd.DataFrame,
    key_of: pd.Series,
    **run: Any,
) -> ScoreResult:
    """Store ``ranking`` (``sample_id`` = external ids, ``key_of`` maps them to primary
    keys) as a score run with the fields ``run`` (see :func:`repo.add_score_run`); the
    result with class names and the error count."""
    stored = ranking.assign(sample_id=key_of.loc[ranking["sample_id"]].to_numpy())
    score_run = repo.add_score_run(session, found, prediction_run, stored, **run)
    return ScoreResult(
        score_run,
        with_class_names(ranking, found.classes, ["given_label", "suggested_label"]),
        errors_remaining(session, found, score_run, stored),
    )


def _check_shard_labels(
    session: Session,
    found: Dataset,
    shards: list[Path],
    id_col: str,
    label_col: str,
    use_shard_labels: bool,
) -> None:
    """Refuse shard ids the store lacks, and shard labels that differ from the store's."""
    import pyarrow.parquet as pq

    try:
        parts = [pq.read_table(path, columns=[id_col, label_col]).to_pandas() for path in shards]
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"Cannot read columns {[id_col, label_col]} of the shards: {exc}") from exc
    shard = pd.concat(parts, ignore_index=True)
    store = repo.sample_frame(session, found).set_index("external_id")["current_label"]
    ids = shard[id_col].astype(str)
    unknown = ~ids.isin(store.index)
    if unknown.any():
        raise InputError(
            f"{int(unknown.sum())} shard id(s) are not samples of dataset {found.name!r} "
            f"(first {ids[unknown].iloc[0]!r}); import them first with `labelmend import samples`."
        )
    current = store.loc[ids].to_numpy()
    differs = current != shard[label_col].to_numpy()
    if differs.any() and not use_shard_labels:
        first = int(differs.argmax())
        given = shard[label_col].iloc[first]
        name = found.classes[given] if 0 <= given < len(found.classes) else given
        raise InputError(
            f"{int(differs.sum())} sample(s) have another label in the shards than in the "
            f"store (first {ids.iloc[first]!r}: shards {name!r}, store "
            f"{found.classes[int(current[first])]!r}). Write the shards again with the "
            "store's labels (`labelmend export labels`), or pass use_shard_labels=True to score "
            "the shards' labels anyway.",
            inputs=("use_shard_labels",),
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
    id_col: str = ID_COLUMN,
    label_col: str = "label",
    use_shard_labels: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> ScoreResult:
    """Score a dataset kept as Parquet shards (on a Dask cluster with ``scheduler``).

    :func:`labelmend.scale.rank_dataset` scores every shard; the store receives the run
    (with the whole dataset's estimated errors) and its top ``top_k`` rows in bulk, while
    the per-sample scores stay in Parquet files under ``out``. The shards' label column
    is what gets scored, so it must hold the store's current labels: every shard id must
    be a sample of the dataset, and a shard label that differs from the store's (an
    expert changed it since the shards were written) is refused unless
    ``use_shard_labels``. Once experts have answered, the default priority reads their
    reliability learnt from the stored answers, as :func:`score` does.

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
    use_shard_labels : bool
        Score the shards' labels even where they differ from the store's current ones.
    progress : callable(stage, done, total), optional

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> with open_store(url) as session:  # doctest: +SKIP
    ...     score_shards(session, "shards/*.parquet", scheduler="local", out="scores/")
    """
    check_flag("use_shard_labels", use_shard_labels)
    from labelmend.scale import ShardLayout, find_shards, rank_dataset

    found = repo.get_dataset(session, dataset, lock=True)
    _check_shard_labels(
        session, found, find_shards(str(source)), id_col, label_col, use_shard_labels
    )
    samples = repo.sample_frame(session, found)
    stored = repo.annotation_frame(session, found)
    external_id = samples.set_index("id")["external_id"]
    answers = pd.DataFrame(
        {
            "sample_id": external_id.loc[stored["sample_id"]].to_numpy(),
            "label": stored["label"].to_numpy(),
        }
    )
    result = rank_dataset(
        str(source),
        scheduler=scheduler,
        out=out,
        top_k=top_k,
        method=method,
        difficulty=difficulty,
        layout=ShardLayout(id_col=id_col, label_col=label_col),
        answers=answers,
        progress=progress,
    )
    if result.n_classes != len(found.classes):
        raise InputError(
            f"The shards have {result.n_classes} probability columns but dataset "
            f"{found.name!r} has {len(found.classes)} classes."
        )
    key_of = pd.Series(samples["id"].to_numpy(), index=samples["external_id"].to_numpy())
    return _store_ranking(
        session,
        found,
        None,
        result.top.assign(sample_id=result.top["sample_id"].astype(str)),
        key_of,
        method=method,
        difficulty=difficulty,
        estimated_errors=result.estimated_errors,
        source=str(source),
        score_files=[str(path) for path in result.score_files],
    )
