"""``labelmend fit`` and ``labelmend round``: out-of-fold models on the current labels.

``fit`` trains stratified out-of-fold models (:func:`labelmend.fitting.refit`, the step
the simulator's active mode uses too) on the samples' **current** labels and stores the
probabilities as a new prediction run, with its provenance: model, folds, seed, feature
set and the label snapshot it learnt from. ``round`` is one active round of the active
label cleaning protocol on the store: refit, rescore, queue the next unreviewed samples.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from labelmend.cleaner import DEFAULT_DIFFICULTY, DEFAULT_METHOD
from labelmend.fitting import DEFAULT_FOLDS, MODEL_KINDS, model_from_spec, refit
from labelmend.storage import repository as repo
from labelmend.storage.models import PredictionRun
from labelmend.workflow._tables import file_hash
from labelmend.workflow.features import feature_matrix
from labelmend.workflow.queue import QueueResult, check_new_queue, create_queue
from labelmend.workflow.score import ScoreResult, score
from labelmend.workflow.status import dataset_status


@dataclass(frozen=True)
class FitResult:
    """A fitted prediction run; ``created`` is False when the same fit was stored already.

    ``provenance`` holds model, model_sha256 (a model file's), folds, seed, features
    (name and id) and the label snapshot: labels_sha256 and label_change_id (the newest
    label change the model saw).
    """

    dataset: str
    model: str
    run: PredictionRun
    n_samples: int
    created: bool
    provenance: dict[str, Any]


def fit(
    session: Session,
    *,
    dataset: str | None = None,
    model: str = "logistic",
    name: str | None = None,
    features: str | None = None,
    n_folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    on_fold: Callable[[int], None] | None = None,
    progress: repo.ProgressCallback | None = None,
) -> FitResult:
    """Train out-of-fold models on the current labels and store their probabilities.

    Parameters
    ----------
    model : str
        ``logistic``, ``mlp`` or the path of a joblib-saved classifier with
        ``predict_proba`` (loading it runs its pickle: use files you trust).
    name : str, optional
        Model name of the stored run (what ``score --model`` takes); default the kind,
        or the model file's stem.
    features : str, optional
        Feature set name; default the dataset's only one.
    n_folds, seed : int
        Stratified folds (each class needs ≥ ``n_folds`` samples) and their seed.
    on_fold : callable, optional
        Called with each finished fold's index.

    The same model, seed, folds, features and labels give the same run: fitting again
    without a label change returns the stored run (``created`` False).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = [f"s{i}" for i in range(12)]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat"] * 6 + ["dog"] * 6})
    >>> x = [-3, -2.5, -2, -1.5, -1, 2.5, 1, 1.5, 2, 2.5, 3, 3.5]  # s5, a cat, among the dogs
    >>> with tempfile.TemporaryDirectory() as tmp, open_store("sqlite://") as session:
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     pd.DataFrame({"sample_id": ids, "x": x}).to_csv(f"{tmp}/x.csv", index=False)
    ...     _ = workflow.import_features(session, f"{tmp}/x.csv")
    ...     fitted = fit(session, n_folds=3)
    ...     top = workflow.score(session, prediction_run=fitted.run).ranking["sample_id"][0]
    ...     same = fit(session, n_folds=3)  # nothing changed: the stored run
    ...     _ = workflow.set_label(session, "s5", "dog", actor="ann")
    ...     refitted = fit(session, n_folds=3)  # the labels changed: a new run
    >>> fitted.model, fitted.n_samples, fitted.provenance["folds"], top
    ('logistic', 12, 3, 's5')
    >>> fitted.created, same.created, same.run.id == fitted.run.id, refitted.created
    (True, False, True, True)
    """
    found = repo.get_dataset(session, dataset, lock=True)
    samples = repo.sample_frame(session, found)
    keys = samples["id"].to_numpy(dtype=np.int64)
    labels = samples["current_label"].to_numpy(dtype=np.intp)
    estimator = model_from_spec(model, random_state=seed)
    feature_set, matrix = feature_matrix(session, found, keys, name=features)
    snapshot = hashlib.sha256(keys.astype("<i8").tobytes() + labels.astype("<i8").tobytes())
    provenance = {
        "model": model if model in MODEL_KINDS else str(Path(model).resolve()),
        "model_sha256": None if model in MODEL_KINDS else file_hash(model),
        "folds": n_folds,
        "seed": seed,
        "features": feature_set.name,
        "feature_set_id": feature_set.id,
        "labels_sha256": snapshot.hexdigest(),
        "label_change_id": repo.newest_label_change(session, found),
    }
    run_name = name or (model if model in MODEL_KINDS else Path(model).stem)
    digest = hashlib.sha256(json.dumps(provenance, sort_keys=True).encode()).hexdigest()
    existing = repo.find_prediction_run(session, found, run_name, digest)
    if existing is not None:
        return FitResult(found.name, run_name, existing, len(keys), False, provenance)
    probs = refit(
        matrix,
        labels,
        classes=found.classes,
        model=estimator,
        n_folds=n_folds,
        random_state=seed,
        on_fold=on_fold,
    )
    run = repo.add_prediction_run(
        session,
        found,
        model=run_name,
        file_hash=digest,
        sample_ids=keys,
        probs=probs,
        provenance=provenance,
        progress=progress,
    )
    return FitResult(found.name, run_name, run, len(keys), True, provenance)


@dataclass(frozen=True)
class RoundResult:
    """One active round: the refit, the rescore, the new queue and the errors left.

    ``estimated_errors_remaining`` is the status count, from the new scores.
    """

    fit: FitResult
    score: ScoreResult
    queue: QueueResult
    estimated_errors_remaining: float


def active_round(
    session: Session,
    queue: str,
    *,
    budget: int,
    dataset: str | None = None,
    model: str = "logistic",
    name: str | None = None,
    features: str | None = None,
    n_folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    method: str = DEFAULT_METHOD,
    difficulty: str = DEFAULT_DIFFICULTY,
    strategy: str = "top",
    on_fold: Callable[[int], None] | None = None,
    progress: repo.ProgressCallback | None = None,
) -> RoundResult:
    """Refit on the current labels (reviewed samples included), rescore, queue ``budget``.

    The queue leaves out samples already reviewed or waiting in another queue; the
    whole round is one transaction, so a failure at any step leaves the store as it was.
    A queue it could not create (its name taken, a budget below 1) is refused before the
    refit.

    Examples
    --------
    Two rounds of two samples; between them an expert relabels s5, the first sample of
    the first queue:

    >>> import tempfile, pandas as pd
    >>> from labelmend import workflow
    >>> from labelmend.storage import open_store
    >>> ids = [f"s{i}" for i in range(12)]
    >>> samples = pd.DataFrame({"sample_id": ids, "label": ["cat"] * 6 + ["dog"] * 6})
    >>> x = [-3, -2.5, -2, -1.5, -1, 2.5, 1, 1.5, 2, 2.5, 3, 3.5]  # s5, a cat, among the dogs
    >>> with tempfile.TemporaryDirectory() as tmp, open_store("sqlite://") as session:
    ...     _ = workflow.init_dataset(session, "pets", ["cat", "dog"])
    ...     _ = workflow.import_samples(session, samples)
    ...     pd.DataFrame({"sample_id": ids, "x": x}).to_csv(f"{tmp}/x.csv", index=False)
    ...     _ = workflow.import_features(session, f"{tmp}/x.csv")
    ...     first = active_round(session, "week-1", budget=2, n_folds=3)
    ...     _ = workflow.set_label(session, "s5", "dog", actor="ann")
    ...     second = active_round(session, "week-2", budget=2, n_folds=3)
    ...     queues = workflow.list_queues(session)
    >>> first.score.ranking["sample_id"][0], second.fit.created
    ('s5', True)
    >>> [(queue["queue"], queue["pending"], queue["resolved"]) for queue in queues]
    [('week-1', 1, 1), ('week-2', 2, 0)]
    >>> round(first.estimated_errors_remaining, 1), round(second.estimated_errors_remaining, 1)
    (1.6, 0.7)
    """
    check_new_queue(session, queue, dataset=dataset, budget=budget, strategy=strategy)
    fitted = fit(
        session,
        dataset=dataset,
        model=model,
        name=name,
        features=features,
        n_folds=n_folds,
        seed=seed,
        on_fold=on_fold,
        progress=progress,
    )
    scored = score(
        session,
        dataset=fitted.dataset,
        prediction_run=fitted.run,
        method=method,
        difficulty=difficulty,
        progress=progress,
    )
    queued = create_queue(session, queue, dataset=fitted.dataset, budget=budget, strategy=strategy)
    remaining = dataset_status(session, dataset=fitted.dataset).errors
    return RoundResult(fitted, scored, queued, 0.0 if remaining is None else remaining.expected)
