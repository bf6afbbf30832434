"""The whole repair, measured: train, find the culprits, pick k, unlearn, compare.

"Repaired" follows Henn et al. (MICCAI 2021): high accuracy on *held-out* failures
(validation inputs the model got wrong that played no part in the repair) while keeping
the accuracy on inputs it already got right (retention), and on the test set. The
reference is retraining from scratch without the removed rows (the oracle).

The validation set (assumed correctly labelled) is split three ways: a *targeting* part
whose failures drive identification, a *selection* part that picks k, and a *held-out*
part that only measures. Once k is chosen, the final ranking is scored with the failures
of both the targeting and the selection parts (more failures, sharper scores; k itself
was settled out of sample).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._validation import (
    RandomState,
    check_choice,
    check_labels,
    check_random_state,
    check_same_length,
    check_unique,
)
from labelmend.errors import InputError
from labelmend.repair.identify import (
    HARM_METHODS,
    HARM_PRIORS,
    USES_OUT_OF_FOLD,
    Dataset,
    as_classifier,
    check_dataset,
    find_harmful_examples,
    out_of_fold_probs,
)
from labelmend.repair.models import MODEL_KINDS, TorchClassifier, make_classifier, to_sklearn
from labelmend.repair.unlearning import DEFAULT_UNLEARN, UNLEARN_METHODS, unlearn

#: Fractions of the training set tried as k when no budget is given.
K_GRID_FRACTIONS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3)
#: Keys every :attr:`RepairResult.report` has (the test-set ones when a test set is given).
REPORT_KEYS = (
    "k_removed",
    "test_accuracy_before",
    "test_accuracy_after",
    "heldout_failure_accuracy_before",
    "heldout_failure_accuracy_after",
    "retention",
    "seconds_identify",
    "seconds_unlearn",
    "seconds_retrain",
)
#: Stages reported to ``progress``, in order.
STAGES = ("train", "identify", "select_k", "unlearn", "retrain")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ValidationSplit:
    """Row indices of the three parts of the validation set."""

    targeting: npt.NDArray[np.intp]
    selection: npt.NDArray[np.intp]
    heldout: npt.NDArray[np.intp]


def split_validation(
    n_samples: int,
    *,
    selection_fraction: float = 0.3,
    heldout_fraction: float = 0.3,
    random_state: RandomState = 0,
) -> ValidationSplit:
    """Shuffle validation rows into targeting / selection / held-out parts.

    >>> split = split_validation(10, random_state=0)
    >>> len(split.targeting), len(split.selection), len(split.heldout)
    (4, 3, 3)
    """
    if (
        selection_fraction < 0
        or heldout_fraction <= 0
        or selection_fraction + heldout_fraction >= 1
    ):
        raise InputError(
            "selection_fraction ≥ 0 and heldout_fraction > 0 must sum to less than 1. "
            f"Got {selection_fraction} and {heldout_fraction}."
        )
    order = check_random_state(random_state).permutation(n_samples)
    n_heldout = round(heldout_fraction * n_samples)
    n_selection = round(selection_fraction * n_samples)
    return ValidationSplit(
        targeting=np.sort(order[n_heldout + n_selection :]),
        selection=np.sort(order[n_heldout : n_heldout + n_selection]),
        heldout=np.sort(order[:n_heldout]),
    )


def _accuracy(model: TorchClassifier, features: Any, labels: npt.NDArray[np.intp]) -> float:
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(model.predict(features) == labels))


def evaluate_repair(
    before: Any,
    after: Any,
    heldout: Dataset,
    *,
    test: Dataset | None = None,
    oracle: Any = None,
) -> dict[str, float]:
    """Accuracy of the model before and after repair (and of the oracle) where it matters.

    Parameters
    ----------
    before, after : TorchClassifier or fitted sklearn LogisticRegression
    heldout : (features (M, D), correct labels (M,))
        Validation rows not used by the repair. Its *failures* are the rows ``before``
        gets wrong; the rest are *previously correct*.
    test : (features, labels), optional
    oracle : model, optional
        Retrained from scratch without the removed rows.

    Returns
    -------
    dict
        ``heldout_failure_accuracy_{before,after[,oracle]}`` (0 before, by definition),
        ``retention[_oracle]`` (accuracy on previously correct rows), ``heldout_accuracy_*``,
        ``test_accuracy_*`` and ``gap_to_oracle`` (test accuracy after minus oracle's),
        ``n_heldout_failures``. NaN where there is nothing to measure.
    """
    features, labels = np.asarray(heldout[0], dtype=np.float64), np.asarray(heldout[1])
    models = {"before": before, "after": after}
    if oracle is not None:
        models["oracle"] = oracle
    classifiers = {name: as_classifier(m, 1) for name, m in models.items()}
    for name, classifier in classifiers.items():
        check_dataset(f"heldout ({name})", (features, labels), classifier)
    failed = classifiers["before"].predict(features) != labels
    report: dict[str, float] = {"n_heldout_failures": float(failed.sum())}
    for name, classifier in classifiers.items():
        report[f"heldout_failure_accuracy_{name}"] = _accuracy(
            classifier, features[failed], labels[failed]
        )
        report[f"heldout_accuracy_{name}"] = _accuracy(classifier, features, labels)
        if name != "before":
            suffix = "" if name == "after" else "_oracle"
            report[f"retention{suffix}"] = _accuracy(classifier, features[~failed], labels[~failed])
    if test is not None:
        test_x, test_y = np.asarray(test[0], dtype=np.float64), np.asarray(test[1])
        for name, classifier in classifiers.items():
            check_dataset(f"test ({name})", (test_x, test_y), classifier)
            report[f"test_accuracy_{name}"] = _accuracy(classifier, test_x, test_y)
        if oracle is not None:
            report["gap_to_oracle"] = report["test_accuracy_after"] - report["test_accuracy_oracle"]
    return report


def k_grid(n_samples: int, *, max_fraction: float = K_GRID_FRACTIONS[-1]) -> npt.NDArray[np.intp]:
    """Candidate numbers of rows to remove: 0 and a geometric-ish grid up to ``max_fraction``.

    >>> k_grid(1000, max_fraction=0.05).tolist()
    [0, 5, 10, 20, 30, 50]
    """
    fractions = [f for f in K_GRID_FRACTIONS if f <= max_fraction + 1e-12]
    candidates = np.round(np.asarray(fractions) * n_samples).astype(np.intp)
    return np.unique(np.concatenate([[0], candidates[candidates < n_samples]]))


def select_k(
    model: Any,
    train: Dataset,
    scores: npt.NDArray[np.float64],
    selection: Dataset,
    *,
    grid: Iterable[int] | None = None,
    unlearn_method: str = DEFAULT_UNLEARN,
) -> tuple[int, pd.DataFrame]:
    """Pick how many top-scored rows to remove: lowest log-loss on a selection split.

    For each k of ``grid`` the top-k rows are unlearned and the result scored on
    ``selection`` (correctly labelled rows not used for identification). The lowest
    log-loss wins (ties: the smaller k): on a few hundred rows it is a much smoother
    criterion than accuracy, which moves in steps of 1/M.

    Returns
    -------
    (k, DataFrame with columns k, selection_accuracy, selection_log_loss)
    """
    labels = np.asarray(train[1])
    check_same_length("scores", len(scores), "train labels", len(labels))
    ks = k_grid(len(labels)) if grid is None else np.asarray(list(grid), dtype=np.intp)
    order = np.argsort(-np.asarray(scores), kind="stable")
    sel_x = np.asarray(selection[0], dtype=np.float64)
    sel_y = np.asarray(selection[1], dtype=np.intp)
    rows = []
    for k in ks:
        repaired = model if k == 0 else unlearn(model, train, order[:k], method=unlearn_method)
        probs = as_classifier(repaired, len(labels)).predict_proba(sel_x)
        picked = probs[np.arange(len(sel_y)), sel_y]
        rows.append(
            {
                "k": int(k),
                "selection_accuracy": float(np.mean(probs.argmax(axis=1) == sel_y)),
                "selection_log_loss": float(-np.mean(np.log(np.clip(picked, 1e-12, None)))),
            }
        )
    curve = pd.DataFrame(rows)
    best = curve.sort_values(["selection_log_loss", "k"]).iloc[0]
    return int(best["k"]), curve


@dataclass(frozen=True)
class RepairResult:
    """Everything :func:`repair_model` produced.

    Attributes
    ----------
    before, after, oracle : models (trained, repaired, retrained without the removed rows)
    scores : (N,) harm scores, higher = more harmful
    removed : (N,) bool, the rows unlearned
    k_curve : DataFrame (k, selection_accuracy, selection_log_loss) or None with a budget
    report : dict of metrics (see :func:`evaluate_repair`) and wall times
    """

    before: Any
    after: Any
    oracle: Any
    scores: npt.NDArray[np.float64]
    removed: npt.NDArray[np.bool_]
    k_curve: pd.DataFrame | None
    report: dict[str, float]


def repair_model(
    train: Dataset,
    validation: Dataset,
    *,
    model: Any = "linear",
    test: Dataset | None = None,
    method: str = "default",
    unlearn_method: str = DEFAULT_UNLEARN,
    budget: int | None = None,
    selection_fraction: float = 0.3,
    heldout_fraction: float = 0.3,
    random_state: RandomState = 0,
    progress: Progress | None = None,
) -> RepairResult:
    """Train (or take) a model, find what makes it fail, unlearn it, and prove the repair.

    Parameters
    ----------
    train : (features (N, D), labels (N,)), labels possibly noisy
    validation : (features (M, D), correct labels (M,))
        Its failures (rows the model gets wrong) drive the repair; see
        :func:`split_validation` for how it is split.
    model : {"linear", "mlp"}, TorchClassifier or fitted LogisticRegression
        A kind is trained on ``train`` here; a model must already be trained on it.
    test : (features, labels), optional
    method : str
        Identification method (:data:`~labelmend.repair.identify.HARM_METHODS`).
    unlearn_method : str
        Unlearning method (:data:`~labelmend.repair.unlearning.UNLEARN_METHODS`).
    budget : int, optional
        Remove exactly this many rows; otherwise k is chosen on the selection part
        (which then is not used for targeting).
    selection_fraction, heldout_fraction : float
        Parts of the validation set used to pick k and to measure.
    random_state : int, Generator or None
        Model initialisation, validation split, folds.
    progress : callable, optional
        Called with each stage's name (:data:`STAGES`) as it starts.

    Returns
    -------
    RepairResult
    """
    rng = check_random_state(random_state)
    notify = progress or (lambda stage: None)
    train_y = np.asarray(train[1])
    n_train = len(train_y)
    if budget is not None and not 0 <= budget < n_train:
        raise InputError(
            f"budget must lie in [0, {n_train}) (the training set has {n_train} rows). "
            f"Got {budget}."
        )
    check_choice("method", method, HARM_METHODS, where="repair_model")
    check_choice("unlearn_method", unlearn_method, UNLEARN_METHODS, where="repair_model")
    notify("train")
    if isinstance(model, str):
        if model not in MODEL_KINDS:
            raise InputError(f"model must be one of {list(MODEL_KINDS)} or a model. Got {model!r}.")
        n_classes = max(int(check_labels(train_y).max()) + 1, 2)
        model = make_classifier(model, train[0], n_classes=n_classes, random_state=rng)
        model.fit(*check_dataset("train", train, model))
    before = as_classifier(model, n_train)
    train_x, train_t = check_dataset("train", train, before)
    val_x, val_t = check_dataset("validation", validation, before)
    if test is not None:
        check_dataset("test", test, before)
    train_pair = (train_x.numpy(), train_t.numpy())
    val_features, val_labels = val_x.numpy(), val_t.numpy()
    split = split_validation(
        len(val_labels),
        selection_fraction=0.0 if budget is not None else selection_fraction,
        heldout_fraction=heldout_fraction,
        random_state=rng,
    )
    predicted = before.predict(val_features)

    def failures(rows: npt.NDArray[np.intp]) -> Dataset:
        wrong = rows[predicted[rows] != val_labels[rows]]
        return val_features[wrong], val_labels[wrong]

    if method not in HARM_PRIORS and len(failures(split.targeting)[1]) == 0:
        raise InputError(
            f"The model gets all {len(split.targeting)} targeting validation rows right: "
            f"no failures to repair (the harm priors {list(HARM_PRIORS)} need none)."
        )

    notify("identify")
    started = time.perf_counter()
    pred_probs = (
        out_of_fold_probs(before, train_pair, random_state=rng)
        if method in USES_OUT_OF_FOLD
        else None
    )

    def identify(rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        return find_harmful_examples(
            before,
            train_pair,
            failures(rows),
            method=method,
            pred_probs=pred_probs,
            random_state=rng,
        )

    scores = identify(split.targeting)
    seconds_identify = time.perf_counter() - started

    notify("select_k")
    started = time.perf_counter()
    k_curve = None
    if budget is None:
        selection = (val_features[split.selection], val_labels[split.selection])
        k, k_curve = select_k(before, train_pair, scores, selection, unlearn_method=unlearn_method)
        seconds_select_k = time.perf_counter() - started
        # k is settled out of sample; the final ranking uses every non-held-out failure.
        started = time.perf_counter()
        scores = identify(np.concatenate([split.targeting, split.selection]))
        seconds_identify += time.perf_counter() - started
    else:
        k = int(budget)
        seconds_select_k = 0.0
    order = np.argsort(-scores, kind="stable")
    removed = np.zeros(n_train, dtype=bool)
    removed[order[:k]] = True

    notify("unlearn")
    started = time.perf_counter()
    after = unlearn(before, train_pair, removed, method=unlearn_method)
    seconds_unlearn = time.perf_counter() - started

    notify("retrain")
    started = time.perf_counter()
    oracle = unlearn(before, train_pair, removed, method="retrain")
    seconds_retrain = time.perf_counter() - started

    heldout = (val_features[split.heldout], val_labels[split.heldout])
    report = evaluate_repair(before, after, heldout, test=test, oracle=oracle)
    report.update(
        k_removed=float(k),
        n_targeting_failures=float(len(failures(split.targeting)[1])),
        seconds_identify=seconds_identify,
        seconds_select_k=seconds_select_k,
        seconds_unlearn=seconds_unlearn,
        seconds_retrain=seconds_retrain,
    )
    if isinstance(model, TorchClassifier):
        before_out, after_out, oracle_out = before, after, oracle
    else:
        before_out, after_out, oracle_out = (
            model,
            to_sklearn(after, model),
            to_sklearn(oracle, model),
        )
    return RepairResult(before_out, after_out, oracle_out, scores, removed, k_curve, report)


def summarize_runs(reports: Iterable[Mapping[str, float]]) -> pd.DataFrame:
    """Mean ± standard deviation of each metric over runs (seeds).

    >>> summarize_runs([{"acc": 0.9}, {"acc": 0.8}]).round(3).to_dict("records")
    [{'metric': 'acc', 'mean': 0.85, 'sd': 0.071, 'runs': 2}]
    """
    frame = pd.DataFrame(list(reports))
    if frame.empty:
        raise InputError("summarize_runs needs at least one report.")
    return pd.DataFrame(
        {
            "metric": frame.columns,
            "mean": frame.mean().to_numpy(),
            "sd": frame.std(ddof=1).fillna(0.0).to_numpy() if len(frame) > 1 else 0.0,
            "runs": frame.count().to_numpy(),
        }
    )


def relabel_queue(
    scores: Any,
    labels: Any,
    *,
    sample_ids: Any = None,
    suggested_labels: Any = None,
    removed: Any = None,
    top: int | None = None,
) -> pd.DataFrame:
    """The suspects as a relabel queue: a plain DataFrame, most harmful first.

    Suspects may be right and merely hard; sending them to annotators instead of (or as
    well as) unlearning them is the safe choice.

    Parameters
    ----------
    scores : (N,) harm scores, higher = more harmful
    labels : (N,) given labels
    sample_ids : (N,), optional, unique (default: row positions)
    suggested_labels : (N,), optional, e.g. the repaired model's predictions
    removed : (N,) bool, optional, rows that were unlearned
    top : int, optional, keep only the first ``top`` rows

    Returns
    -------
    DataFrame with columns ``sample_id, given_label, suggested_label, harm_score,
    priority, rank, removed`` (priority in [0, 1]: 1 for the most harmful; rank 1 first).

    Examples
    --------
    >>> relabel_queue([0.1, 0.9, 0.5], [0, 1, 1])[["sample_id", "rank"]].values.tolist()
    [[1, 1], [2, 2], [0, 3]]
    """
    scores = np.asarray(scores, dtype=np.float64)
    given = np.asarray(labels)
    n = len(scores)
    check_same_length("labels", len(given), "scores", n)
    ids = np.arange(n) if sample_ids is None else np.asarray(sample_ids)
    check_same_length("sample_ids", len(ids), "scores", n)
    check_unique("sample_ids", ids)
    suggested = given if suggested_labels is None else np.asarray(suggested_labels)
    check_same_length("suggested_labels", len(suggested), "scores", n)
    flags = np.zeros(n, dtype=bool) if removed is None else np.asarray(removed, dtype=bool)
    check_same_length("removed", len(flags), "scores", n)
    order = np.lexsort((ids, -scores))
    ranks = np.empty(n, dtype=np.intp)
    ranks[order] = np.arange(1, n + 1)
    frame = pd.DataFrame(
        {
            "sample_id": ids[order],
            "given_label": given[order],
            "suggested_label": suggested[order],
            "harm_score": scores[order],
            "priority": 1.0 - (ranks[order] - 1) / max(n - 1, 1),
            "rank": ranks[order],
            "removed": flags[order],
        }
    )
    return frame if top is None else frame.head(top)
