"""The experts' reliability per row, learnt from their answers so far (active rounds).

The default priority's fixability takes experts to answer like the labelling process,
class by class (:func:`~labelmend.cleaner.scores.fix_table`). Real experts are surer on
rows the model is sure of than on hard rows of the same class pair, which one confusion
per class pair cannot carry. Once answers exist, :func:`fit_expert_reliability` fits how
much surer (or less sure) than that confusion they are as a function of the model's
:func:`confidence`, and :meth:`ExpertReliability.fixability` moves each row's column of
the confusion to that accuracy. The truth is never used: each reviewed row's true class
is weighed by its posterior given the model and the answers. Chosen leave one group of
data sets out in benchmarks/simulation.py (docs/simulator.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelmend._numeric import logistic, logit
from labelmend.cleaner.cost import COST_TERMS, row_fix_probabilities
from labelmend.errors import InputError

FloatArray = npt.NDArray[np.float64]

#: Pseudo-answers, right at the class-level rate, that pool the fit towards the shipped
#: class-level fixability. Chosen leave one group out over {30, 100, 300, 1000} in
#: benchmarks/simulation.py: both folds and every set together choose 30.
RELIABILITY_STRENGTH = 30.0
#: The model's top probability is clipped to 1 − this in :func:`confidence` (≈ 13.8).
CONFIDENCE_FLOOR = 1e-6
#: Newton steps of the two-parameter fit (it converges in a handful).
_MAX_STEPS = 50


def confidence(probs: npt.NDArray[np.floating[Any]]) -> FloatArray:
    """(n,) log-odds of each row's top probability, clipped to [10⁻⁶, 1 − 10⁻⁶].

    >>> confidence(np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])).round(2)
    array([ 0.  ,  2.2 , 13.82])
    """
    top = np.asarray(probs, dtype=np.float64).max(axis=1)
    top = np.clip(top, CONFIDENCE_FLOOR, 1.0 - CONFIDENCE_FLOOR)
    return logit(top)


def answer_posterior(
    confusion: npt.NDArray[np.floating[Any]],
    probs: npt.NDArray[np.floating[Any]],
    votes: npt.NDArray[np.floating[Any]],
) -> tuple[npt.NDArray[np.intp], FloatArray]:
    """The reviewed rows and their true class's posterior given the model and answers.

    π(t) ∝ p(t | x) Π_s confusion[s, t]^votes[s], for the rows of ``votes`` (N, K;
    expert answers per class, the current label not counted) with any answer;
    ``confusion[s, t]`` = P(an expert answers s | true t). Returns (R,) row indices and
    (R, K) π.

    >>> rows, post = answer_posterior(np.array([[0.8, 0.2], [0.2, 0.8]]),
    ...                               np.full((2, 2), 0.5), np.array([[0, 0], [2, 0]]))
    >>> rows, post.round(3)
    (array([1]), array([[0.941, 0.059]]))
    """
    reviewed = np.nonzero(votes.sum(axis=1) > 0)[0]
    counts = np.asarray(votes, dtype=np.float64)[reviewed]
    log_post = np.log(np.maximum(probs[reviewed], 1e-12)) + counts @ np.log(
        np.maximum(confusion, 1e-12)
    )
    posterior = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    return reviewed, posterior / posterior.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ExpertReliability:
    """Experts answering a row of true class t from column t of ``confusion`` (K, K)
    with the accuracy's log-odds moved by α + β (z − ``centre``), z the row's
    :func:`confidence` clipped to [``low``, ``high``] (the reviewed rows' range).

    Examples
    --------
    Experts surer than the labellers (α = 1) and the more so the surer the model (β = 0.5),
    around a confidence of 2; the sure row's z = 4.6 is clipped to ``high`` = 4:

    >>> experts = ExpertReliability(np.array([[0.8, 0.2], [0.2, 0.8]]),
    ...                             alpha=1.0, beta=0.5, centre=2.0, low=0.0, high=4.0)
    >>> probs = np.array([[0.5, 0.5], [0.9, 0.1], [0.99, 0.01]])
    >>> experts.shift(probs).round(2)
    array([0. , 1.1, 2. ])
    >>> experts.fixability(probs, np.array([0, 0, 0]), np.array([1, 1, 1])).round(2)
    array([0.64, 0.85, 0.94])

    The first row, with no shift, keeps the class-level fixability.
    """

    confusion: FloatArray
    alpha: float
    beta: float
    centre: float
    low: float
    high: float

    def shift(self, probs: npt.NDArray[np.floating[Any]]) -> FloatArray:
        """(n,) the log-odds shift of each row's expert accuracy."""
        z = np.clip(confidence(probs), self.low, self.high)
        return self.alpha + self.beta * (z - self.centre)

    def fixability(
        self,
        probs: npt.NDArray[np.floating[Any]],
        labels: npt.NDArray[np.intp],
        alternative: npt.NDArray[np.intp],
    ) -> FloatArray:
        """(n,) P(a review settles on ``alternative`` if it is the true class t), the
        experts answering from column t with its accuracy a moved to σ(logit a +
        shift) and the other answers rescaled in proportion (towards the diagonal for a
        positive shift). A zero shift gives the class-level fixability.

        >>> experts = ExpertReliability(np.array([[0.8, 0.2], [0.2, 0.8]]),
        ...                             np.log(9 / 4), 0.0, 0.0, 0.0, 0.0)
        >>> experts.fixability(np.full((1, 2), 0.5), np.array([0]), np.array([1]))
        array([0.81])
        """
        columns = self.confusion[:, alternative]  # (K, n)
        rows = np.arange(alternative.size)
        own = columns[alternative, rows]
        accuracy = logistic(logit(own) + self.shift(probs))
        columns = columns * ((1.0 - accuracy) / (1.0 - own))[None, :]
        columns[alternative, rows] = accuracy
        return row_fix_probabilities(columns, labels, alternative, max_terms=COST_TERMS)


def fit_expert_reliability(
    confusion: npt.NDArray[np.floating[Any]],
    probs: npt.NDArray[np.floating[Any]],
    votes: npt.ArrayLike,
    strength: float = RELIABILITY_STRENGTH,
) -> ExpertReliability | None:
    """Fit how much surer than the labellers' confusion the experts are, by confidence.

    logit P(an answer is right | true t, row) = logit C[t, t] + α + β (z − z̄), C =
    ``confusion`` (K, K), ``[s, t]`` = P(an expert answers s | true t): the one the
    fixability reads (:func:`~labelmend.cleaner.scores.expert_confusion`); z the
    model's :func:`confidence` in the row and z̄ its mean over the answers. Each
    reviewed row counts ``votes[t]`` answers right and the rest wrong with weight π(t)
    (:func:`answer_posterior`), plus ``strength`` pseudo-answers right at the rate
    C[t, t], spread over the reviewed rows like the answers, which pool (α, β) towards
    (0, 0). Maximum likelihood by Newton's method.

    Parameters
    ----------
    probs : (N, K) array
        The model's probabilities (without the answers folded in).
    votes : (N, K) array
        Expert answers collected per sample and class, the current label not counted.

    Returns
    -------
    ExpertReliability, or None when there are no answers yet.

    Examples
    --------
    Sure rows, 9 answers of 10 right: the experts' accuracy 0.8 moves to 0.9 without
    pooling, to (9 + 10 · 0.8) / 20 = 0.85 with 10 pseudo-answers:

    >>> confusion = np.array([[0.8, 0.2], [0.2, 0.8]])
    >>> probs, votes = np.tile([1.0, 0.0], (10, 1)), np.tile([1, 0], (10, 1))
    >>> votes[0] = [0, 1]
    >>> def accuracy(fit):
    ...     return round(float(1 / (1 + 0.25 * np.exp(-fit.alpha))), 3)
    >>> accuracy(fit_expert_reliability(confusion, probs, votes, strength=0.0))
    0.9
    >>> accuracy(fit_expert_reliability(confusion, probs, votes, strength=10.0))
    0.85
    """
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise InputError(f"probs must have shape (N, K). Got {probs.shape}.", inputs=("probs",))
    if not np.isfinite(probs).all():
        raise InputError("probs contains NaN or infinite values.", inputs=("probs",))
    if probs.size and (probs.min() < 0 or probs.max() > 1):
        raise InputError(
            "probs must hold probabilities in [0, 1]; found values from "
            f"{probs.min()} to {probs.max()}.",
            inputs=("probs",),
        )
    matrix = np.asarray(confusion, dtype=np.float64)
    k = probs.shape[1]
    if matrix.shape != (k, k):
        raise InputError(
            f"confusion must have shape ({k}, {k}), one row and column per class of probs. "
            f"Got {matrix.shape}.",
            inputs=("confusion",),
        )
    votes = np.asarray(votes, dtype=np.float64)
    if votes.shape != probs.shape:
        raise InputError(
            f"votes must have the shape of probs {probs.shape}. Got {votes.shape}.",
            inputs=("votes", "probs"),
        )
    if not np.isfinite(votes).all() or (votes < 0).any():
        raise InputError("votes must be finite non-negative answer counts.", inputs=("votes",))
    if strength < 0:
        raise InputError(f"strength must be >= 0. Got {strength}.")
    reviewed, posterior = answer_posterior(matrix, probs, votes)
    if reviewed.size == 0:
        return None
    counts = votes[reviewed]
    z = confidence(probs[reviewed])
    answers = counts.sum(axis=1)
    centre = float(np.average(z, weights=answers))
    pooling = strength / answers.sum()
    diagonal = np.diagonal(matrix)
    offset = logit(diagonal)
    # Soft binomial data per (reviewed row, true class): weight π, right of trials.
    right = counts + pooling * answers[:, None] * diagonal[None, :]
    trials = (answers * (1.0 + pooling))[:, None]
    design = np.stack([np.ones_like(z), z - centre])  # (2, R)
    alpha, beta = _maximise_likelihood(offset, design, posterior, right, trials)
    return ExpertReliability(matrix, alpha, beta, centre, float(z.min()), float(z.max()))


def _maximise_likelihood(
    offset: FloatArray,
    design: FloatArray,
    posterior: FloatArray,
    right: FloatArray,
    trials: FloatArray,
) -> tuple[float, float]:
    """(α, β) of :func:`fit_expert_reliability` by Newton's method on its soft binomial
    data: per reviewed row r and true class t, weight ``posterior[r, t]`` (R, K),
    ``right[r, t]`` (R, K) of ``trials[r]`` (R, 1) answers right, each at logistic(
    ``offset[t]`` + α + β (z_r − z̄)), ``design`` (2, R) the rows of 1 and z − z̄.

    >>> ones = np.ones((1, 1))
    >>> alpha, beta = _maximise_likelihood(np.zeros(1), np.array([[1.0], [0.0]]), ones,
    ...                                    9 * ones, 10 * ones)
    >>> round(alpha, 3), beta  # logit 0.9
    (2.197, 0.0)
    """

    def log_likelihood(theta: FloatArray) -> float:
        logits = offset[None, :] + (theta @ design)[:, None]
        # log σ(η) and log(1 − σ(η)), overflow-free.
        right_log, wrong_log = -np.logaddexp(0.0, -logits), -np.logaddexp(0.0, logits)
        return float((posterior * (right * right_log + (trials - right) * wrong_log)).sum())

    theta: FloatArray = np.zeros(2)
    current = log_likelihood(theta)
    for _ in range(_MAX_STEPS):
        logits = offset[None, :] + (theta @ design)[:, None]
        rate = logistic(logits)
        gradient = design @ (posterior * (right - trials * rate)).sum(axis=1)
        curvature = (posterior * trials * rate * (1.0 - rate)).sum(axis=1)
        # A tiny ridge keeps the step defined when every reviewed row has the same z.
        hessian = (design * curvature) @ design.T + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        # Halve a step that lowers the likelihood: a full Newton step from far away can
        # overshoot on few answers (21 rows gave α ≈ 2·10⁹ without this).
        for _ in range(60):
            proposed = log_likelihood(theta + step)
            if proposed >= current:
                break
            step = step / 2.0
        else:
            break
        theta, current = theta + step, proposed
        if np.abs(step).max() < 1e-10:
            break
    return float(theta[0]), float(theta[1])
