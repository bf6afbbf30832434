"""The whole repair, measured: train, find the culprits, pick k, unlearn, compare.

The validation set (assumed correctly labelled) is split in two: a *targeting* part whose
failures drive identification, and a *held-out* part that only measures
(:mod:`labelmend.repair.metrics`). Without a budget, k comes from the ranking engine's
expected number of label errors, counted again on the rows kept
(:func:`~labelmend.repair.k_selection.removal_rounds`), less the removed rows a model
trained on the rows kept gives their label (:func:`~labelmend.repair.k_selection.readmit`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelmend import fitting
from labelmend._validation import (
    RandomState,
    check_choice,
    check_interval,
    check_labels,
    check_random_state,
    check_row_count,
)
from labelmend.errors import InputError
from labelmend.repair.identify import (
    HARM_METHODS,
    HARM_PRIORS,
    USES_OUT_OF_FOLD,
    XY,
    as_classifier,
    check_dataset,
    find_harmful_examples,
)
from labelmend.repair.k_selection import (
    EXPECTED_ERRORS_SHRINK,
    SHRINK_LIMIT,
    choose_k,
    readmit,
    removal_rounds,
)
from labelmend.repair.metrics import evaluate_repair
from labelmend.repair.models import (
    MODEL_KINDS,
    TorchClassifier,
    check_pair,
    make_classifier,
    to_sklearn,
)
from labelmend.repair.unlearning import DEFAULT_UNLEARN, UNLEARN_METHODS, unlearn

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
STAGES = (
    "Training the model",
    "Scoring training examples",
    "Choosing how many to unlearn",
    "Unlearning",
    "Retraining from scratch (reference)",
)

#: ``progress(stage, done, total)``: called as each stage starts (done 0) and ends.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ValidationSplit:
    """Row indices of the two parts of the validation set.

    Examples
    --------
    >>> split = split_validation(10, random_state=0)  # M = 10 validation rows
    >>> split.targeting.shape, split.heldout.shape  # (7,) targeting, (3,) held out
    ((7,), (3,))
    >>> sorted([*split.targeting, *split.heldout]) == list(range(10))
    True
    """

    targeting: npt.NDArray[np.intp]
    heldout: npt.NDArray[np.intp]


def split_validation(
    n_samples: int, *, heldout_fraction: float = 0.3, random_state: RandomState = 0
) -> ValidationSplit:
    """Shuffle validation rows into a targeting and a held-out part.

    Examples
    --------
    >>> split = split_validation(10, random_state=0)
    >>> len(split.targeting), len(split.heldout)
    (7, 3)
    """
    check_interval("heldout_fraction", heldout_fraction, 0.0, 1.0)
    order = check_random_state(random_state).permutation(n_samples)
    n_heldout = round(heldout_fraction * n_samples)
    return ValidationSplit(targeting=np.sort(order[n_heldout:]), heldout=np.sort(order[:n_heldout]))


def trained_model(model: Any, train: XY, *, random_state: RandomState = 0) -> Any:
    """``model`` as is when it is a model; a new ``"linear"`` / ``"mlp"`` head trained on
    ``train`` when it is a kind.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]])
    >>> trained_model("linear", (X, [0, 0, 1, 1])).predict(X).tolist()
    [0, 0, 1, 1]
    """
    if not isinstance(model, str):
        return model
    if model not in MODEL_KINDS:
        raise InputError(
            f"model must be one of {list(MODEL_KINDS)} or a model. Got {model!r}.",
            inputs=("model",),
        )
    n_classes = max(int(check_labels(train[1], name="train labels").max()) + 1, 2)
    head = make_classifier(model, train[0], n_classes=n_classes, random_state=random_state)
    return head.fit(*check_dataset("train", train, head))


def check_out_of_fold_rows(labels: npt.NDArray[np.intp]) -> None:
    """Every class of the training ``labels`` has the rows that the out-of-fold
    probabilities behind ``p_error`` and k need, one per fold
    (:data:`~labelmend.fitting.DEFAULT_FOLDS`); the message names the rarest class (often
    a stray label).

    >>> check_out_of_fold_rows(np.array([0] * 5 + [1] * 5 + [2]))
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: train labels have 1 row of class 2; k and p_error come from 5-fold out-of-fold probabilities, which need at least 5 rows of every class.
    """
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    rarest = int(present[np.argmin(counts[present])])
    if counts[rarest] < fitting.DEFAULT_FOLDS:
        rows = f"{counts[rarest]} row{'s' if counts[rarest] > 1 else ''}"
        raise InputError(
            f"train labels have {rows} of class {rarest}; k and p_error come from "
            f"{fitting.DEFAULT_FOLDS}-fold out-of-fold probabilities, which need at least "
            f"{fitting.DEFAULT_FOLDS} rows of every class.",
            inputs=("train labels",),
        )


class _Stages:
    """Tells ``progress`` as each of :data:`STAGES` starts and ends."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.current: str | None = None

    def start(self, index: int) -> None:
        self.finish()
        self.current = STAGES[index]
        if self.progress is not None:
            self.progress(self.current, 0, 1)

    def finish(self) -> None:
        if self.current is not None and self.progress is not None:
            self.progress(self.current, 1, 1)
        self.current = None


@dataclass(frozen=True)
class RepairResult:
    """Everything :func:`repair_model` produced.

    Attributes
    ----------
    before, after, oracle : models (trained, repaired, retrained without the removed rows)
    scores : (N,) harm scores, higher = more harmful
    removed : (N,) bool, the rows unlearned
    rounds : tuple of (N,) bool, the rows removed after each round of
        :func:`~labelmend.repair.k_selection.removal_rounds` (``removed`` is the last
        less the rows :func:`~labelmend.repair.k_selection.readmit` gives back; one mask,
        ``removed``, with a budget)
    report : dict of metrics (see :func:`evaluate_repair`), ``k_removed``,
        ``expected_errors`` (Σ p_error), ``k_first_round`` (the top-scored rows removed
        first) and ``k_readmitted`` (removed by the rounds, given back) when k is chosen,
        ``rounds`` and wall times

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (30, 2)), rng.normal(3, 1, (30, 2))]  # N = 60, D = 2
    >>> y = np.r_[np.zeros(30, int), np.ones(30, int)]
    >>> result = repair_model((X, y), (X + 0.1, y), method="loss", budget=2)
    >>> result.scores.shape, result.removed.shape, int(result.removed.sum()), len(result.rounds)
    ((60,), (60,), 2, 1)
    >>> result.report["k_removed"], result.after.predict(X).shape
    (2, (60,))
    """

    before: Any
    after: Any
    oracle: Any
    scores: npt.NDArray[np.float64]
    removed: npt.NDArray[np.bool_]
    rounds: tuple[npt.NDArray[np.bool_], ...]
    report: dict[str, float]


def repair_model(
    train: XY,
    validation: XY,
    *,
    model: Any = "linear",
    test: XY | None = None,
    method: str = "default",
    unlearn_method: str = DEFAULT_UNLEARN,
    budget: int | None = None,
    shrink: float = EXPECTED_ERRORS_SHRINK,
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
        Remove exactly this many rows; otherwise the top round(shrink × Σ p_error),
        then more rows counted again on the rows kept, until a model trained on them
        gives back at least half of a round's rows
        (:func:`~labelmend.repair.k_selection.removal_rounds`), less those whose given
        label a model trained on the rows kept predicts
        (:func:`~labelmend.repair.k_selection.readmit`). Without a budget, unlearning
        starts from that model trained on the rows kept, which never saw the removed
        rows; with one, from the trained model.
    shrink : float
        The factor on the expected number of label errors when no budget is given.
    heldout_fraction : float
        Part of the validation set kept aside to measure the repair.
    random_state : int, Generator or None
        Model initialisation, validation split, folds.
    progress : callable ``(stage, done, total)``, optional
        Told as each stage of :data:`STAGES` starts (done 0) and ends (done 1, total 1).

    Returns
    -------
    RepairResult

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(0, 1, (80, 2)), rng.normal(3, 1, (80, 2))]
    >>> y = np.r_[np.zeros(80, int), np.ones(80, int)]
    >>> noisy = y.copy(); noisy[:8] = 1  # eight flipped labels
    >>> result = repair_model((X, noisy), (X + 0.1, y), random_state=0)
    >>> int(result.removed[:8].sum()) >= 6
    True
    """
    for name, data in (("train", train), ("validation", validation), ("test", test)):
        if data is not None:
            check_pair(name, data)
    check_interval("heldout_fraction", heldout_fraction, 0.0, 1.0)
    check_interval("shrink", shrink, 0.0, SHRINK_LIMIT, closed_high=True)
    rng = check_random_state(random_state)
    stages = _Stages(progress)
    n_train = len(np.asarray(train[1]))
    if budget is not None:
        budget = check_row_count("budget", budget, n_train)
    check_choice("method", method, HARM_METHODS)
    check_choice("unlearn_method", unlearn_method, UNLEARN_METHODS)
    stages.start(0)
    model = trained_model(model, train, random_state=rng)
    before = as_classifier(model, n_train)
    train_x, train_t = check_dataset("train", train, before)
    if method in USES_OUT_OF_FOLD or budget is None:
        check_out_of_fold_rows(train_t.numpy())
    val_x, val_t = check_dataset("validation", validation, before)
    if test is not None:
        check_dataset("test", test, before)
    train_pair = (train_x.numpy(), train_t.numpy())
    val_features, val_labels = val_x.numpy(), val_t.numpy()
    split = split_validation(len(val_labels), heldout_fraction=heldout_fraction, random_state=rng)
    targeting = split.targeting[
        before.predict(val_features[split.targeting]) != val_labels[split.targeting]
    ]
    failures = (val_features[targeting], val_labels[targeting])
    if method not in HARM_PRIORS and len(targeting) == 0:
        raise InputError(
            f"The model gets all {len(split.targeting)} targeting validation rows right: "
            f"no failures to repair (the harm priors {list(HARM_PRIORS)} need none)."
        )

    stages.start(1)
    started = time.perf_counter()
    pred_probs = None
    if method in USES_OUT_OF_FOLD or budget is None:
        pred_probs = fitting.out_of_fold_probs(
            *train_pair,
            model=lambda: before.clone(with_curvature=False),
            n_classes=before.n_classes,
            random_state=rng,
        )
    scores = find_harmful_examples(
        before, train_pair, failures, method=method, pred_probs=pred_probs, random_state=rng
    )
    seconds_identify = time.perf_counter() - started

    stages.start(2)
    started = time.perf_counter()
    extra: dict[str, float] = {}
    if budget is None:
        fitted: dict[bytes, Any] = {}

        def fit_kept(rows: npt.NDArray[np.intp]) -> Any:
            # One fit per set of kept rows: the last round's is the one re-admission reads
            # and unlearning starts from.
            key = rows.tobytes()
            if key not in fitted:
                fitted.clear()
                fitted[key] = before.clone(with_curvature=False).fit(
                    train_pair[0][rows], train_pair[1][rows]
                )
            return fitted[key]

        def again(
            rows: npt.NDArray[np.intp],
        ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
            # The kept rows scored by the same method, on a model trained on them and
            # its own targeting failures (the harm prior when it has none); its classes
            # for every row stop the rounds.
            kept = (train_pair[0][rows], train_pair[1][rows])
            probs = fitting.out_of_fold_probs(
                *kept,
                model=lambda: before.clone(with_curvature=False),
                n_classes=before.n_classes,
                random_state=rng,
            )
            retrained = fit_kept(rows)
            wrong = split.targeting[
                retrained.predict(val_features[split.targeting]) != val_labels[split.targeting]
            ]
            scoring = method if len(wrong) or method in HARM_PRIORS else "p_error"
            kept_scores = find_harmful_examples(
                retrained,
                kept,
                (val_features[wrong], val_labels[wrong]),
                method=scoring,
                pred_probs=probs,
                random_state=rng,
            )
            return probs, kept_scores, retrained.predict(train_pair[0])

        masks = removal_rounds(
            train_pair[1],
            scores,
            pred_probs,
            again,
            shrink=shrink,
        )
        extra["expected_errors"] = choose_k(train_pair[1], pred_probs, shrink=shrink)[1]
        extra["k_first_round"] = int(masks[0].sum())
        kept_model = fit_kept(np.flatnonzero(~masks[-1]))
        removed = readmit(train_pair[1], masks[-1], kept_model.predict(train_pair[0][masks[-1]]))
        extra["k_readmitted"] = int(masks[-1].sum() - removed.sum())
        # Unlearning starts from the rows-kept model: it never saw the removed rows, so
        # only the re-admitted ones are left to learn (docs/repair.md, "Where unlearning
        # starts").
        unlearn_from = kept_model
    else:
        unlearn_from = before
        removed = np.zeros(n_train, dtype=bool)
        removed[np.argsort(-scores, kind="stable")[: int(budget)]] = True
        masks = [removed]
    k = int(removed.sum())
    seconds_choose = time.perf_counter() - started

    stages.start(3)
    started = time.perf_counter()
    after = unlearn(unlearn_from, train_pair, removed, method=unlearn_method)
    seconds_unlearn = time.perf_counter() - started

    stages.start(4)
    started = time.perf_counter()
    oracle = unlearn(before, train_pair, removed, method="retrain")
    seconds_retrain = time.perf_counter() - started

    stages.finish()
    heldout = (val_features[split.heldout], val_labels[split.heldout])
    report = evaluate_repair(before, after, heldout, test=test, oracle=oracle)
    report.update(
        k_removed=k,
        **extra,
        n_targeting_failures=len(targeting),
        rounds=len(masks),
        seconds_identify=seconds_identify,
        seconds_choose_k=seconds_choose,
        seconds_unlearn=seconds_unlearn,
        seconds_retrain=seconds_retrain,
    )
    if isinstance(model, TorchClassifier):
        return RepairResult(before, after, oracle, scores, removed, tuple(masks), report)
    return RepairResult(
        model,
        to_sklearn(after, model),
        to_sklearn(oracle, model),
        scores,
        removed,
        tuple(masks),
        report,
    )
