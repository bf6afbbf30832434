"""One simulated relabelling run: a selector spends a budget of expert annotations.

Static runs rank once; active runs re-rank after every batch of ``batch_size``
annotations, with the model probabilities combined with the votes collected so far
and, when features are given, with a model retrained out-of-fold on the current labels.
The whole run is a list of review events; the accuracy curve over the annotation grid
is cumulative sums over those events (no loop per annotation or per sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._validation import (
    check_choice,
    check_count,
    check_labels,
    check_probability_block,
    check_same_length,
)
from labelmend.cleaner import (
    DEFAULT_METHOD,
    STOP_THRESHOLD,
    TRADE_OFF,
    expected_error_rate,
    score_samples,
)
from labelmend.errors import InputError
from labelmend.fitting import DEFAULT_FOLDS
from labelmend.simulator.annotators import AnnotatorModel
from labelmend.simulator.relabel import draw_streams, relabel
from labelmend.simulator.selectors import MODEL_FREE, SELECTORS, Ranking, SelectorState

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Fractions of N annotations at which studies are summarised.
CHECKPOINTS = (0.05, 0.10, 0.20)
#: Spacing of the annotation grid of a curve, as a fraction of N.
GRID_STEP = 0.005

CURVE_COLUMNS = (
    "annotations",
    "reviewed",
    "accuracy",
    "noise_fixed",
    "clean_broken",
    "fixed",
    "broken",
    "accuracy_ambiguous",
    "accuracy_clear",
    "predicted_rate",
    "test_accuracy",
)


@dataclass(frozen=True)
class Features:
    """Features for retraining between batches, with optional held-out test data.

    Attributes
    ----------
    train : (N, D) float
    test, test_labels : (T, D) float and (T,) int, optional
    model : the model to retrain (see :func:`labelmend.fitting.out_of_fold_probs`);
        default a logistic regression
    n_folds : folds of the out-of-fold refit
    """

    train: FloatArray
    test: FloatArray | None = None
    test_labels: IntArray | None = None
    model: Any = None
    n_folds: int = DEFAULT_FOLDS


@dataclass(frozen=True)
class RunResult:
    """A run's curve (one row per grid point, columns :data:`CURVE_COLUMNS`) and stop."""

    curve: pd.DataFrame
    stop_annotations: float
    best_annotations: float
    stop_regret: float


def annotation_grid(n_samples: int, budget: int) -> IntArray:
    """Annotation counts at which a curve is read: every 0.5% of N, the checkpoints, the end.

    >>> annotation_grid(1000, 120).tolist()[:4], annotation_grid(1000, 120)[-1]
    ([0, 5, 10, 15], np.int64(120))
    """
    check_count("n_samples", n_samples, minimum=1)
    check_count("budget", budget)
    step = max(1, round(GRID_STEP * n_samples))
    points = np.arange(0, budget + 1, step)
    marks = np.round(np.array(CHECKPOINTS) * n_samples).astype(np.int64)
    return np.unique(np.concatenate([points, marks[marks <= budget], [budget]])).astype(np.intp)


def _with_votes(pred_probs: FloatArray, votes: FloatArray, accuracy: float) -> FloatArray:
    """Posterior of the true class given the model and the collected votes (N, K).

    Each vote is taken to be right with probability ``accuracy`` and otherwise any other
    class uniformly.
    """
    k = pred_probs.shape[1]
    log_right, log_wrong = np.log(accuracy), np.log((1.0 - accuracy) / (k - 1))
    log_like = votes * log_right + (votes.sum(axis=1, keepdims=True) - votes) * log_wrong
    log_like -= log_like.max(axis=1, keepdims=True)
    joint = np.maximum(pred_probs, 1e-12) * np.exp(log_like)
    return joint / joint.sum(axis=1, keepdims=True)


def _fit_predict(
    features: Features, labels: IntArray, n_classes: int, rng: np.random.Generator
) -> tuple[FloatArray, float]:
    """Out-of-fold probabilities on the current labels and the held-out test accuracy.

    The refit is :func:`labelmend.fitting.refit`, the same step as ``labelmend round``.
    """
    from labelmend.fitting import fit_model, refit

    probs = refit(
        features.train,
        labels,
        classes=[str(c) for c in range(n_classes)],
        model=features.model,
        n_folds=features.n_folds,
        random_state=rng,
    )
    test_accuracy = np.nan
    if features.test is not None and features.test_labels is not None:
        model = fit_model(features.train, labels, model=features.model)
        test_accuracy = float(np.mean(model.predict(features.test) == features.test_labels))
    return probs, test_accuracy


def check_model_inputs(
    annotators: AnnotatorModel,
    pred_probs: Any,
    features: Features | None,
    selectors: Sequence[str],
) -> FloatArray | None:
    """Check that ``pred_probs`` (N, K) are probabilities and ``features`` have N rows,
    N and K the experts', and that selectors ranking with a model have one; return
    ``pred_probs`` as float64 (None when not given)."""
    n, k = annotators.probs.shape
    probs = None
    if pred_probs is not None:
        probs = np.asarray(pred_probs, dtype=np.float64)
        if probs.ndim != 2 or probs.shape[1] != k:
            raise InputError(
                f"pred_probs must have shape (N, {k}). Got shape {probs.shape}.",
                inputs=("pred_probs",),
            )
        check_same_length("pred_probs", len(probs), "counts", n)
        check_probability_block(probs, rescale_hint=False)
    if features is not None:
        check_same_length("features", len(features.train), "counts", n)
    needs_model = [name for name in selectors if name not in MODEL_FREE]
    if needs_model and probs is None and features is None:
        named = (
            f"Selector {needs_model[0]!r} ranks"
            if len(needs_model) == 1
            else f"Selectors {needs_model} rank"
        )
        raise InputError(
            f"{named} with a model: give pred_probs or features "
            f"(only {sorted(MODEL_FREE)} rank without one).",
            inputs=("pred_probs", "features"),
        )
    return probs


def simulate_run(
    annotators: AnnotatorModel,
    initial: IntArray,
    *,
    selector: str,
    budget: int,
    seed_sequence: np.random.SeedSequence,
    pred_probs: FloatArray | None = None,
    features: Features | None = None,
    batch_size: int | None = None,
    max_reviews: int = 1,
    annotator_accuracy: float = 0.9,
    stop_threshold: float = STOP_THRESHOLD,
    stop_window: int | None = None,
) -> RunResult:
    """Simulate one selector spending ``budget`` annotations.

    ``seed_sequence`` fixes the expert answers; every selector of a study sees the same
    answers for the same seed (common random numbers), and its own tie-breaking stream.
    ``batch_size`` None ranks once (static); b re-ranks after every b annotations.
    ``max_reviews`` > 1 lets a sample be reviewed again (its current label counts as one
    vote each time).
    The stopping rule (:func:`stopping`) reads the ranking's p_error: expected errors
    per sample among the next ``stop_window`` samples (default ``batch_size``, else 1% of
    N), stopping below ``stop_threshold``, as the report's :func:`~labelmend.cleaner.stopping_point`.

    Returns
    -------
    RunResult
        ``curve`` has one row per point of :func:`annotation_grid` and the columns
        :data:`CURVE_COLUMNS`.

    Examples
    --------
    >>> model = AnnotatorModel.from_counts(np.tile([[9, 1], [1, 9]], (20, 1)))
    >>> wrong = 1 - model.true_labels  # every label wrong
    >>> run = simulate_run(model, wrong, selector="oracle", budget=8,
    ...                    seed_sequence=np.random.SeedSequence(0))
    >>> run.curve[["annotations", "reviewed"]].iloc[-1].tolist()
    [8, 4]
    """
    n, k = annotators.probs.shape
    check_choice("selector", selector, SELECTORS)
    check_same_length("initial", len(initial), "counts", n)
    check_labels(initial, n_classes=k, name="initial")
    if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 0:
        raise InputError(f"budget must be a non-negative integer (annotations). Got {budget!r}.")
    check_count("max_reviews", max_reviews, minimum=1)
    check_model_inputs(annotators, pred_probs, features, (selector,))
    answers_rng, selector_rng, model_rng = (
        np.random.default_rng(s) for s in seed_sequence.spawn(3)
    )
    streams = draw_streams(annotators.probs, n_reviews=max_reviews, rng=answers_rng)
    truth, ambiguous = annotators.true_labels, annotators.ambiguous
    labels = initial.copy()
    reviews = np.zeros(n, dtype=np.intp)
    votes = np.zeros((n, k))  # expert answers collected (the initial label is ``labels``)
    answers = np.full((n, 1 + max_reviews * k), np.nan)
    answers[:, 0] = initial
    n_answers = np.ones(n, dtype=np.intp)
    window = stop_window or batch_size or max(1, round(0.01 * n))
    base_probs, test_accuracy = pred_probs, np.nan
    if features is not None:
        base_probs, test_accuracy = _fit_predict(features, labels, k, model_rng)
    events: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    marks: list[tuple[float, float, float]] = []  # (annotations, predicted rate, test accuracy)
    static_rate: FloatArray | None = None
    spent = 0
    while spent < budget:
        probs = None if base_probs is None else _with_votes(base_probs, votes, annotator_accuracy)
        state = SelectorState(labels, probs, answers, annotators, selector_rng, votes, base_probs)
        ranking: Ranking = SELECTORS[selector](state)
        order = ranking.order(selector_rng)
        order = order[reviews[order] < max_reviews]
        if order.size == 0:
            break
        p_error = ranking.p_error
        if p_error is None and probs is not None:
            p_error = score_samples(labels, probs, method=DEFAULT_METHOD, n_jobs=1).p_error
        rate = np.nan
        if p_error is not None:
            # The stopping rule's rate (the report's): expected errors per sample among
            # the next ``window`` samples in review order, from every position.
            rates = expected_error_rate(np.cumsum(p_error[order]), window=window)
            if batch_size is None:
                static_rate = rates
            else:
                rate = float(rates[0])
        marks.append((spent, rate, test_accuracy))
        room = budget - spent if batch_size is None else batch_size
        picked = order[: min(order.size, room)]
        outcome, cost = relabel(labels[picked], streams[picked, reviews[picked]])
        finished = np.cumsum(cost)
        keep = ((finished - cost) < room) & (finished <= budget - spent)
        picked, outcome, cost = picked[keep], outcome[keep], cost[keep]
        if picked.size == 0:
            break
        before = labels[picked].copy()
        drawn = streams[picked, reviews[picked]]
        used = np.arange(k)[None, :] < cost[:, None]
        rows = np.repeat(picked, cost)
        flat_answers = drawn[used]
        np.add.at(votes, (rows, flat_answers), 1.0)
        columns = n_answers[rows] + (np.cumsum(used, axis=1)[used] - 1)
        answers[rows, columns] = flat_answers
        n_answers[picked] += cost
        labels[picked] = outcome
        reviews[picked] += 1
        events.append((picked, cost, before, outcome))
        spent += int(cost.sum())
        if batch_size is None:
            break
        if features is not None and spent < budget:
            base_probs, test_accuracy = _fit_predict(features, labels, k, model_rng)
    if features is not None:
        marks.append((spent, np.nan, _fit_predict(features, labels, k, model_rng)[1]))
    curve = _curve(
        initial, truth, ambiguous, events, marks, static_rate, annotation_grid(n, budget)
    )
    stop, best, regret = stopping(curve, stop_threshold)
    return RunResult(curve, stop, best, regret)


def _curve(
    initial: IntArray,
    truth: IntArray,
    ambiguous: npt.NDArray[np.bool_],
    events: list[tuple[IntArray, IntArray, IntArray, IntArray]],
    marks: list[tuple[float, float, float]],
    static_rate: FloatArray | None,
    grid: IntArray,
) -> pd.DataFrame:
    n = initial.size
    if events:
        sample, cost, before, after = (np.concatenate(parts) for parts in zip(*events, strict=True))
    else:
        sample = cost = before = after = np.zeros(0, dtype=np.intp)
    gain = (after == truth[sample]).astype(np.int64) - (before == truth[sample])
    was_wrong = initial[sample] != truth[sample]
    done = np.searchsorted(np.cumsum(cost), grid, side="right")

    def running(values: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        return np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])[done]

    wrong0 = int((initial != truth).sum())
    correct0 = initial == truth
    fixed, broken = running(gain * was_wrong), running(-gain * ~was_wrong)  # never -0.0
    amb = ambiguous[sample]
    n_amb = max(int(ambiguous.sum()), 1)
    n_clear = max(n - int(ambiguous.sum()), 1)
    frame = pd.DataFrame(
        {
            "annotations": grid,
            "reviewed": done,
            "accuracy": (correct0.sum() + running(gain)) / n,
            "noise_fixed": (fixed - broken) / max(wrong0, 1),
            "clean_broken": broken / max(n - wrong0, 1),
            "fixed": fixed,
            "broken": broken,
            "accuracy_ambiguous": (correct0[ambiguous].sum() + running(gain * amb)) / n_amb,
            "accuracy_clear": (correct0[~ambiguous].sum() + running(gain * ~amb)) / n_clear,
        }
    )
    if static_rate is not None:
        # The rate after the reviewed prefix of the static order at each grid point.
        frame["predicted_rate"] = static_rate[np.minimum(done, static_rate.size - 1)]
    else:
        mark = pd.DataFrame(marks, columns=["annotations", "predicted_rate", "test_accuracy"])
        mark = mark.drop_duplicates("annotations", keep="last")
        at = np.searchsorted(mark["annotations"].to_numpy(), grid, side="right") - 1
        frame["predicted_rate"] = mark["predicted_rate"].to_numpy()[np.maximum(at, 0)]
    frame["test_accuracy"] = np.nan
    if marks and not np.all(np.isnan([m[2] for m in marks])):
        mark = pd.DataFrame(marks, columns=["annotations", "predicted_rate", "test_accuracy"])
        mark = mark.drop_duplicates("annotations", keep="last")
        at = np.searchsorted(mark["annotations"].to_numpy(), grid, side="right") - 1
        frame["test_accuracy"] = mark["test_accuracy"].to_numpy()[np.maximum(at, 0)]
    return frame


def stopping(curve: pd.DataFrame, threshold: float = STOP_THRESHOLD) -> tuple[float, float, float]:
    """Where the stopping rule stops, the best point, and the regret between them in labels.

    The rule stops at the first grid point whose ``predicted_rate`` (expected errors per
    sample among the next batch, :func:`labelmend.cleaner.expected_error_rate`) falls
    below ``threshold``; at the end when it never does. The best point maximises net fixes
    − :data:`~labelmend.cleaner.TRADE_OFF` × annotations (an annotation is worth spending
    while it fixes at least TRADE_OFF labels); the regret is that utility lost by stopping
    where the rule stops.

    Parameters
    ----------
    curve : DataFrame
        A run's curve (:attr:`RunResult.curve`): ``annotations``, ``fixed``, ``broken``
        and ``predicted_rate`` per grid point.
    threshold : float
        The rule's threshold (:data:`~labelmend.cleaner.STOP_THRESHOLD`).

    Returns
    -------
    (stop annotations, best annotations, regret); stop and regret are NaN when the run
    has no predicted rate (a selector without a model).

    Examples
    --------
    >>> curve = pd.DataFrame({"annotations": [0, 10, 20, 30], "fixed": [0, 5, 7, 7],
    ...                       "broken": [0, 0, 0, 0], "predicted_rate": [.5, .3, .05, 0]})
    >>> stopping(curve)  # stops at 20; best at 20 (7 − 2 beats 5 − 1 and 7 − 3)
    (20.0, 20.0, 0.0)
    >>> stopping(curve, threshold=0.4)  # stops at 10: 1 label lost
    (10.0, 20.0, 1.0)
    """
    net = (curve["fixed"] - curve["broken"]).to_numpy()
    spent = curve["annotations"].to_numpy(dtype=np.float64)
    utility = net - TRADE_OFF * spent
    best = int(np.argmax(utility))
    rate = curve["predicted_rate"].to_numpy()
    if np.all(np.isnan(rate)):
        return np.nan, float(spent[best]), np.nan
    below = np.nonzero(rate < threshold)[0]
    stop = int(below[0]) if below.size else len(curve) - 1
    return float(spent[stop]), float(spent[best]), float(utility[best] - utility[stop])
