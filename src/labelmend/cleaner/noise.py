"""Estimate the class-conditional label noise with confident learning, in streaming passes.

Confident learning (Northcutt et al., JAIR 2021) counts, for each given class, how many
samples the model confidently places in each class: the *confident joint*. This module
computes the very same counts as :func:`cleanlab.count.compute_confident_joint` (a test
checks equality) but accumulates them block by block, and from per-block partial sums
that can be merged, so that memory-mapped and distributed inputs need no full copy.
cleanlab's function needs the whole (N, K) array and its boolean mask in memory.

The confident joint gives the *shape* of the noise (:meth:`NoiseModel.likelihood`); its
amount comes from the rest of the module: the labels' share of errors
(:func:`flip_rate`, :func:`anchor_error_rate`, :func:`pooled_error_rate`), the noise
scale at which Σ p_error matches it (:func:`matching_scale`) and the temperature of the
model's evidence (:func:`fit_temperature`).
:func:`labelmend.cleaner.ranking.fit_noise_model_in_parts` runs the passes.

Glossary: N samples, K classes, ``labels`` (N,), ``pred_probs`` (N, K).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from labelmend._numeric import softmax_rows
from labelmend._validation import check_number, check_same_length
from labelmend.cleaner.count import Z_95

#: cleanlab compares probabilities with thresholds minus this tolerance.
THRESHOLD_TOLERANCE = 1e-6
#: Thresholds below this are raised to it (cleanlab's lower bound).
THRESHOLD_FLOOR = 2 * np.finfo(np.float64).eps
#: Pseudo-counts per true class with which the noise matrix is shrunk towards symmetric
#: noise before it is used as a likelihood. Confident learning sees few samples of rare
#: confusions; a zero cell would make the posterior deny any error between that pair of
#: classes, however sure the model is. The shrinkage changes where the noise goes, not
#: how much there is (that is :attr:`NoiseModel.scale`), and fades as classes grow: a
#: class seen n times keeps weight n / (n + 300) on its own confusions. Chosen by
#: leave-one-group-out over the real-noise sets of benchmarks/quality.py: the CIFAR-10
#: sets and the music sets each choose 300 from {10, 30, 100, 300, 1000} when held out.
NOISE_PRIOR_STRENGTH = 300.0
#: Edges of the log10 bins in which self-confidences p[y] are counted for the noise-rate
#: fit (bin 0 holds exact zeros, the last bin ends at 1). Per-bin sums keep each bin's
#: exact mean, so 0.05-decade bins change the fitted rate by less than 1e-4.
CONFIDENCE_EDGES = np.linspace(-12.0, 0.0, 241, dtype=np.float64)
#: Edges of the log10 bins of 1 − max p, per most probable class, for the anchors.
ANCHOR_EDGES = np.linspace(-8.0, 0.0, 65, dtype=np.float64)
#: Most rows read (in evenly spaced blocks) to match Σ p_error to the error rate.
SCALE_ROWS = 65536
#: The anchors of class j are the most confident ANCHOR_SHARE of the rows whose most
#: probable class is j: Patrini et al. (CVPR 2017) take each class's 97th percentile of
#: p(j | x), which at K = 10 balanced classes is the top 30 % of a class's rows. Taken
#: from the paper, not tuned here.
ANCHOR_SHARE = 0.3
#: Pseudo-rows of the prior on the share of wrong labels (:func:`pooled_error_rate`):
#: below this many rows confident learning's amount weighs more than the labels' own
#: estimate. Chosen by leave-one-group-out over {0, 300, 1000, 3000} in
#: benchmarks/quality.py, with Σ p_error on subsamples (100 to 3,000 rows) among the
#: targets: the CIFAR-10 and music groups choose 1000 when held out, the injected-noise
#: group 300, all groups together 1000.
RATE_PRIOR_ROWS = 1000.0
#: Most probability cells (rows × K) read, in evenly spread blocks, to fit the
#: temperature of the evidence (:func:`fit_temperature`): all 10,000 rows of CIFAR-10,
#: about 130 rows at K = 1,000. A cost bound (time and memory: the EM holds about ten
#: arrays of that size), not tuned on any benchmark.
TEMPERATURE_CELLS = 2**17

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ThresholdStats:
    """Per-class sums of the probability of the given label, and label counts; mergeable.

    Attributes
    ----------
    given_prob_sums : (K,) float
        Σ over samples labelled k of ``pred_probs[i, k]``.
    label_counts : (K,) int
        Number of samples labelled k.
    zero_given : (K,) int
        Per class k, the samples labelled k whose probability of k is exactly 0; empty
        (shape (0,)) when none was counted.
    confidence_histogram : (2, B) float
        Count and sum of the self-confidences p[y] in the bins of
        :data:`CONFIDENCE_EDGES` (bin 0: exact zeros); empty (shape (2, 0)) when unknown.
    """

    given_prob_sums: FloatArray
    label_counts: IntArray
    zero_given: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    confidence_histogram: FloatArray = field(default_factory=lambda: np.zeros((2, 0)))

    def __add__(self, other: ThresholdStats) -> ThresholdStats:
        return ThresholdStats(
            self.given_prob_sums + other.given_prob_sums,
            self.label_counts + other.label_counts,
            _add_counts(self.zero_given, other.zero_given),
            _add_counts(self.confidence_histogram, other.confidence_histogram),
        )

    @property
    def thresholds(self) -> FloatArray:
        """(K,) per-class confident thresholds: the mean self-confidence of each class.

        A class nobody was given gets a threshold of 2 (no probability reaches it).
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            means = self.given_prob_sums / self.label_counts
        means = np.where(self.label_counts > 0, means, 2.0)
        return np.maximum(means, THRESHOLD_FLOOR)


def threshold_stats(
    labels: npt.NDArray[np.intp], pred_probs: npt.NDArray[np.floating[Any]]
) -> ThresholdStats:
    """First pass over one block: the partial sums behind the confident thresholds.

    >>> stats = threshold_stats(np.array([0, 1, 1]), np.array([[.8, .2], [.4, .6], [.2, .8]]))
    >>> stats.thresholds
    array([0.8, 0.7])
    """
    check_same_length("labels", labels.size, "pred_probs", len(pred_probs))
    n_classes = pred_probs.shape[1]
    given = pred_probs[np.arange(labels.size), labels]
    return ThresholdStats(
        np.bincount(labels, weights=given, minlength=n_classes).astype(np.float64),
        np.bincount(labels, minlength=n_classes).astype(np.int64),
        np.bincount(labels[given == 0], minlength=n_classes).astype(np.int64),
        _log_histogram(given, CONFIDENCE_EDGES),
    )


def _add_counts(first: npt.NDArray[Any], second: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Sum of two mergeable counts, an empty one (size 0) adding nothing."""
    if first.size == 0:
        return second
    if second.size == 0:
        return first
    return first + second


def _log_histogram(
    values: npt.NDArray[np.floating[Any]],
    edges: FloatArray,
    groups: npt.NDArray[np.intp] | None = None,
    n_groups: int = 1,
    weights: tuple[npt.NDArray[Any], ...] | None = None,
) -> FloatArray:
    """(1 + len(weights), n_groups · (len(edges) + 1)) count and sums of each of
    ``weights`` (default: ``values`` alone) in log10 bins of ``values``.

    Bin 0 of a group holds the values ≤ 10^edges[0] (exact zeros, and values below 0:
    1 − max p of a row that sums to 1 within tolerance), bin b those in
    (10^edges[b-1], 10^edges[b]] (the last bin, above 10^edges[-1], stays empty for
    probabilities when edges end at 0). ``groups`` (n,) puts each value in a group
    (default: one group); group g's bins start at g · (len(edges) + 1).

    >>> _log_histogram(np.array([0.0, 0.5, 1.0]), np.array([-1.0, 0.0]))
    array([[1. , 2. , 0. ],
           [0. , 1.5, 0. ]])
    """
    width = edges.size + 1
    with np.errstate(divide="ignore"):
        logs = np.log10(np.maximum(np.asarray(values, dtype=np.float64), 0.0))
    index = np.searchsorted(edges, logs, side="left")
    if groups is not None:
        index += groups * width
    size = n_groups * width
    sums = [np.bincount(index, weights=w, minlength=size) for w in (weights or (values,))]
    return np.stack([np.bincount(index, minlength=size).astype(np.float64), *sums])


def anchor_histogram(
    pred_probs: npt.NDArray[np.floating[Any]],
    top: npt.NDArray[np.intp],
    labels: npt.NDArray[np.intp],
) -> FloatArray:
    """(2, K · W) rows and given labels other than the most probable class, in log10
    bins of 1 − max p, per most probable class ``top`` (n,); W = len(ANCHOR_EDGES) + 1.

    The most confident rows of each class are its anchors (:func:`anchor_error_rate`).

    >>> anchor_histogram(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 1]),
    ...                  np.array([0, 0])).sum(axis=1)
    array([2., 1.])
    """
    missing = 1.0 - pred_probs[np.arange(top.size), top].astype(np.float64)
    differs = (labels != top).astype(np.float64)
    return _log_histogram(missing, ANCHOR_EDGES, top, pred_probs.shape[1], (differs,))


def flip_rate(histogram: FloatArray, n_classes: int, floor: float = 0.0) -> float:
    """Maximum-likelihood rate η at which the given labels flip away from the model.

    Each given label is taken to be drawn from the model's probabilities and then,
    with probability η, replaced by one of the other K − 1 classes uniformly:
    P(given = y | x) = (1 − η) p[y] + η (1 − p[y]) / (K − 1). The log-likelihood is
    concave in η; its maximum over [0, (K − 1) / K] is found by bisection on the
    derivative, from the binned self-confidences (``confidence_histogram``), each
    counted as at least ``floor`` (:attr:`NoiseModel.zero_floor`, averaged over the
    given labels of probability 0).
    This is the label noise *beyond* what the model's probabilities already explain:
    about 0 when the model was fitted on these labels and is calibrated (its
    probabilities then hold the noise: :func:`anchor_error_rate`).

    >>> rng = np.random.default_rng(0)
    >>> p = np.full(20000, 0.9)  # the model: 90% on the true class, K = 2
    >>> flipped = rng.random(20000) < 0.2  # labels flipped at 20%
    >>> confidence = np.where(flipped ^ (rng.random(20000) < 0.1), 0.1, 0.9)
    >>> round(flip_rate(_log_histogram(confidence, CONFIDENCE_EDGES), 2), 2)
    0.2
    """
    counts, sums = histogram
    if n_classes < 2 or counts.sum() == 0:
        return 0.0
    seen = counts > 0
    counts, means = counts[seen], np.maximum(sums[seen] / counts[seen], floor)
    k = float(n_classes)

    def slope(eta: float) -> float:
        likelihood = (1.0 - eta * k / (k - 1.0)) * means + eta / (k - 1.0)
        with np.errstate(divide="ignore"):
            return float(np.sum(counts * (1.0 - k * means) / np.maximum(likelihood, 0.0)))

    low, high = 0.0, (k - 1.0) / k
    if slope(low) <= 0:
        return 0.0
    if slope(high) >= 0:
        return high
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if slope(middle) > 0 else (low, middle)
    return (low + high) / 2


def anchor_error_rate(histogram: FloatArray, n_classes: int) -> float:
    """Share of given labels that differ from the model where it is surest: its anchors.

    On the rows a model is surest of (Patrini et al. 2017) its most probable class is
    the truth, so a given label that differs there is a label error. This sees the
    noise even when the model's probabilities already hold it (a model fitted on the
    noisy labels: its flip rate is about 0). It is low where people err mostly on hard
    rows, and it counts the model's own mistakes among the anchors. For each class, the
    most confident :data:`ANCHOR_SHARE` of the rows the model assigns to it
    (:func:`anchor_histogram`); the share of them whose given label differs.

    >>> probs = np.array([[0.7, 0.3]] * 10 + [[0.2, 0.8]] * 10)
    >>> labels = np.array([0] * 10 + [1] * 9 + [0])
    >>> round(anchor_error_rate(anchor_histogram(probs, probs.argmax(1), labels), 2), 3)
    0.05
    """
    counts, differing = (part.reshape(n_classes, -1) for part in histogram)
    rows = counts.sum(axis=1)
    if rows.sum() == 0:
        return 0.0
    wanted = ANCHOR_SHARE * rows
    before = np.cumsum(counts, axis=1) - counts
    taken = np.clip(wanted[:, None] - before, 0.0, counts)
    share = taken / np.where(counts > 0, counts, 1.0)
    return min(1.0, float((share * differing).sum() / wanted.sum()))


def scale_terms(
    labels: npt.NDArray[np.intp],
    pred_probs: npt.NDArray[np.floating[Any]],
    likelihood: npt.NDArray[np.floating[Any]],
    floor: FloatArray,
) -> FloatArray:
    """(3, n) what p_error needs of each row to be recomputed for any noise scale s.

    Rows: a = Σ_{j≠y} q[j] T[y, j], q[y] and 1 − T[y, y], with q = :func:`floored`
    p (``floor`` (K,), or empty for none) and T
    the unscaled likelihood (pass it in the probabilities' dtype); under
    T_s = I + s (T − I), p_error = s a / (s a + q[y] (1 − s (1 − T[y, y])))
    (:func:`matching_scale`).

    >>> likelihood = np.array([[0.8, 0.1], [0.2, 0.9]])
    >>> scale_terms(np.array([0]), np.array([[0.5, 0.5]]), likelihood, np.zeros(2))
    array([[0.05],
           [0.5 ],
           [0.2 ]])
    """
    rows = np.arange(labels.size)
    lifted = floored(pred_probs, floor)
    own = lifted[rows, labels].astype(np.float64)
    diagonal = np.diagonal(likelihood)[labels].astype(np.float64)
    weighted = np.einsum("ij,ij->i", np.take(likelihood, labels, axis=0), lifted)
    weighted = weighted.astype(np.float64)
    return np.stack([weighted - own * diagonal, own, 1.0 - diagonal])


def floored(
    pred_probs: npt.NDArray[np.floating[Any]], floor: FloatArray
) -> npt.NDArray[np.floating[Any]]:
    """``pred_probs`` (n, K) with column k at least ``floor[k]``
    (:attr:`NoiseModel.zero_floor`); the array itself when no floor is positive.

    >>> floored(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.5, 0.1]))
    array([[1. , 0.1],
           [0.5, 1. ]])
    """
    if not np.any(floor > 0):
        return pred_probs
    return np.maximum(pred_probs, np.asarray(floor, dtype=pred_probs.dtype)[None, :])


def p_error_sum(terms: FloatArray, scale: float, temperature: float = 1.0) -> float:
    """Σ p_error over the rows of ``terms`` (:func:`scale_terms`) at noise scale
    ``scale`` and evidence ``temperature`` τ (:attr:`NoiseModel.temperature`).

    With a = Σ_{j≠y} q[j] T[y, j], p_error = s a^β / (s a^β + q[y]^β (1 − s (1 −
    T[y, y]))), β = 1 / τ: the posterior odds s (a / q[y])^β / T_s[y, y].

    >>> round(p_error_sum(np.array([[0.05], [0.5], [0.2]]), 1.0), 3)
    0.111
    >>> round(p_error_sum(np.array([[0.05], [0.5], [0.2]]), 1.0, temperature=2.0), 3)
    0.283
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return _p_error_totals(terms, temperature)(scale)


def _p_error_totals(terms: FloatArray, temperature: float) -> Callable[[float], float]:
    """``scale -> p_error_sum(terms, scale, temperature)`` for many scales, to the last
    bit: the same operations in the same order, but the powers taken once, the
    buffers reused and NaN looked for only when the sum is NaN (a sum without NaN had
    none to drop). Call it under ``np.errstate(invalid="ignore", divide="ignore")``."""
    other, own, lost = terms
    # NaN rows add nothing: 0 / 0, and at τ ≠ 1 an ``other`` that float32 input rounded
    # below 0 (no real power).
    if temperature != 1.0:
        other, own = other ** (1.0 / temperature), own ** (1.0 / temperature)
    dtype = np.result_type(other, own, lost, 1.0)
    odds, rest = np.empty(other.shape, dtype), np.empty(other.shape, dtype)

    def total(scale: float) -> float:
        # p_error = odds / (odds + own (1 − scale lost)), odds = scale · other.
        np.multiply(scale, other, out=odds)
        np.multiply(scale, lost, out=rest)
        np.subtract(1.0, rest, out=rest)
        np.multiply(own, rest, out=rest)
        np.add(odds, rest, out=rest)
        np.divide(odds, rest, out=odds)
        result = odds.sum()
        if np.isnan(result):  # np.nansum's way: NaN set to 0, then the same sum
            np.copyto(odds, 0.0, where=np.isnan(odds))
            result = odds.sum()
        return float(result)

    return total


def matching_scale(
    terms: FloatArray, errors: float, largest: float, temperature: float = 1.0
) -> float:
    """The noise scale s in [0, ``largest``] at which Σ p_error over the rows of
    ``terms`` (:func:`scale_terms`) at ``temperature`` equals ``errors``; ``largest``
    if it cannot.

    Each row's p_error rises with s, so the sum does too: bisection.

    >>> terms = np.array([[0.05, 0.05], [0.5, 0.5], [0.2, 0.2]])
    >>> round(matching_scale(terms, 0.2, 4.0), 3)
    0.909
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        total = _p_error_totals(terms, temperature)
        if total(largest) <= errors:
            return largest
        low, high = 0.0, largest
        for _ in range(50):
            middle = (low + high) / 2
            below = total(middle) < errors
            low, high = (middle, high) if below else (low, middle)
    return (low + high) / 2


def fit_temperature(
    labels: npt.NDArray[np.intp],
    pred_probs: npt.NDArray[np.floating[Any]],
    likelihood: FloatArray,
    floor: FloatArray,
    error_rate: float,
    largest_scale: float,
) -> float:
    """The temperature τ ≥ 1 of the model's probabilities against the *true* labels,
    by expectation–maximisation over a sample of rows (labels (n,), pred_probs (n, K)).

    The model: the true class is drawn from the tempered probabilities
    q_τ ∝ :func:`floored` (p, floor)^(1/τ), the given label from it through the noise likelihood
    T_s = I + s (T − I) (``likelihood`` is T, unscaled), with s matched so that the
    posterior's Σ p_error is ``error_rate`` · n, capped at ``largest_scale``
    (the amount of noise is the labels' estimate; τ does not change it). E-step: each
    row's posterior over the true class. M-step: the temperature that maximises the
    expected log-probability of those true classes (temperature scaling, Guo et al.
    2017, against the posterior's soft labels instead of the noisy given labels,
    which would count the label noise as over-confidence). Repeated until β = 1/τ moves
    less than 1e-4, at most 100 times (on labels that are mostly noise the EM may still
    be moving at the cap; τ is then its 100th step).
    A model trained on other, cleaner labels than the given ones is over-confident
    against the truth (the label-errors study's CIFAR-10 probabilities: τ ≈ 1.4 here
    and 1.5 against the true labels); a model fitted on these very labels is not
    (τ = 1: it is never sharpened, its noise is the anchors' business,
    :func:`anchor_error_rate`).

    >>> rng = np.random.default_rng(0)
    >>> truth = rng.dirichlet(np.full(4, 0.3), size=4000)  # calibrated probabilities
    >>> labels = (rng.random((4000, 1)) > truth.cumsum(axis=1)).sum(axis=1)
    >>> sharp = truth**2 / (truth**2).sum(axis=1, keepdims=True)  # over-confident, τ = 2
    >>> T = np.full((4, 4), 0.01) + 0.96 * np.eye(4)
    >>> round(fit_temperature(labels, sharp, T, np.zeros(4), 0.01, 10.0), 1)
    2.0
    >>> fit_temperature(labels, truth, T, np.zeros(4), 0.01, 10.0) < 1.05
    True
    """
    # One row order whatever the input's, so that the sums below round the same way.
    order = np.lexsort(np.vstack([pred_probs.T, labels]))
    labels, probs = labels[order], np.asarray(pred_probs, dtype=np.float64)[order]
    n = labels.size
    rows = np.arange(n)
    logs = np.log(np.maximum(floored(probs, floor), np.finfo(np.float64).tiny))
    evidence = _Evidence(logs)
    given_row = np.take(likelihood, labels, axis=0)  # (n, K) T[y, j]
    lost = 1.0 - np.diagonal(likelihood)[labels]
    beta = 1.0
    for _ in range(100):
        tempered = evidence.tempered(beta)
        scale = matching_scale(
            scale_terms(labels, tempered, likelihood, np.zeros(0)), error_rate * n, largest_scale
        )
        posterior = tempered * given_row * scale
        posterior[rows, labels] = tempered[rows, labels] * (1.0 - scale * lost)
        posterior /= posterior.sum(axis=1, keepdims=True)
        new = _temperature_step(posterior, logs, beta, evidence=evidence, weights=tempered)
        converged = abs(new - beta) < 1e-4
        beta = new
        if converged:
            break
    return 1.0 / beta


class _Evidence:
    """The model's log-probabilities ``logs`` (n, K) and what every temperature step
    reads of them: each row's largest and the squares, computed once."""

    def __init__(self, logs: FloatArray) -> None:
        self.logs = logs
        self.top = logs.max(axis=1)
        self.squares = logs**2

    def tempered(self, beta: float) -> FloatArray:
        """``softmax_rows(beta * logs)`` to the last bit (for β > 0, the largest of a
        row of β · logs is β times the row's largest, rounded: rounding keeps order)."""
        return softmax_rows(beta * self.logs, row_max=beta * self.top)


def _temperature_step(
    posterior: FloatArray,
    logs: FloatArray,
    beta: float,
    *,
    evidence: _Evidence | None = None,
    weights: FloatArray | None = None,
) -> float:
    """The β = 1 / τ in [0.001, 1] maximising Σ_i Σ_j posterior[i, j] log softmax(β logs[i])_j.

    The objective is concave in β; Newton's method inside a shrinking bracket.
    ``evidence`` (:class:`_Evidence` of ``logs``) and ``weights`` (softmax(β logs) at
    the starting β) may be passed when the caller has them.

    >>> logs = np.log(np.array([[0.9, 0.1], [0.9, 0.1]]))
    >>> round(_temperature_step(np.array([[0.8, 0.2], [0.8, 0.2]]), logs, 1.0), 3)
    0.631
    """
    if evidence is None:
        evidence = _Evidence(logs)
    target = float(np.einsum("ij,ij->", posterior, logs))
    low, high = 1e-3, 1.0
    for _ in range(50):
        if weights is None:
            weights = evidence.tempered(beta)
        mean = np.einsum("ij,ij->i", weights, logs)
        slope = target - float(mean.sum())
        curvature = float((np.einsum("ij,ij->i", weights, evidence.squares) - mean**2).sum())
        weights = None
        if slope > 0:
            low = beta
        else:
            high = beta
        if beta == high == 1.0 and slope >= 0:
            return 1.0
        step = beta + slope / curvature if curvature > 0 else np.inf
        new = step if low < step < high else (low + high) / 2
        # To the last digits: a looser stop (1e-7) left β to the rounding, which the
        # classes' order changes, and a slow EM carried that into p_error (6e-8).
        if abs(new - beta) < 1e-14:
            return new
        beta = new
    return beta


def pooled_error_rate(
    label_rate: float, counted_rate: float, n_samples: int, prior_rows: float = RATE_PRIOR_ROWS
) -> float:
    """The share of wrong labels: the labels' own estimate shrunk towards confident
    learning's amount, (N · ``label_rate`` + m · ``counted_rate``) / (N + m), m =
    ``prior_rows``.

    ``label_rate`` (:attr:`NoiseModel.error_rate` from :meth:`NoiseModel.from_counts`)
    beats confident learning's amount on large data, but it rests on few rows in small
    data (the anchors are 30 % of them) and swings from one draw to the next;
    ``counted_rate`` (Σ p_error / N under the unscaled likelihood) is steadier there.
    A Beta prior centred on ``counted_rate`` with ``prior_rows`` pseudo-rows gives this
    posterior mean: the labels' estimate takes over as N grows.

    >>> pooled_error_rate(0.02, 0.10, 100, prior_rows=300)
    0.08
    >>> round(pooled_error_rate(0.02, 0.10, 30000, prior_rows=300), 4)
    0.0208
    """
    return (n_samples * label_rate + prior_rows * counted_rate) / (n_samples + prior_rows)


def zero_cells(pred_probs: npt.NDArray[np.floating[Any]]) -> IntArray:
    """(K,) probabilities exactly 0 in each column of a block (n, K) (needed only when a
    given label has one).

    >>> zero_cells(np.array([[1.0, 0.0], [0.5, 0.0], [0.0, 1.0]]))
    array([1, 2])
    """
    return (pred_probs.shape[0] - np.count_nonzero(pred_probs, axis=0)).astype(np.int64)


def confident_pairs(
    labels: npt.NDArray[np.intp],
    pred_probs: npt.NDArray[np.floating[Any]],
    thresholds: FloatArray,
    top: npt.NDArray[np.intp] | None = None,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Second pass over one block: (given, true guess) of every confidently placed sample.

    A sample counts towards the class whose probability reaches that class's threshold;
    when several do, towards the most probable class (as in cleanlab). Four passes over
    the block: the comparison, the first confident class, the next one, and the argmax
    (``top``, each row's most probable class, when the caller has it already).

    >>> confident_pairs(np.array([0, 1]), np.array([[.9, .1], [.6, .4]]), np.array([.5, .5]))
    (array([0, 1]), array([0, 0]))
    """
    rows = np.arange(labels.size)
    confident = pred_probs >= (thresholds - THRESHOLD_TOLERANCE).astype(pred_probs.dtype)
    first = confident.argmax(axis=1)
    some = confident[rows, first]
    confident[rows, first] = False
    several = confident[rows, confident.argmax(axis=1)]
    if top is None:
        top = pred_probs.argmax(axis=1)
    guess = np.where(several, top, first)
    return labels[some], guess[some]


def confident_counts(
    labels: npt.NDArray[np.intp],
    pred_probs: npt.NDArray[np.floating[Any]],
    thresholds: FloatArray,
) -> IntArray:
    """Raw confident-joint counts of one block, shape (K, K) [given, true]: its
    :func:`confident_pairs` counted (the fit adds the pairs of every block into one
    count instead, which costs no (K, K) array per block).

    >>> confident_counts(np.array([0, 1]), np.array([[.9, .1], [.6, .4]]), np.array([.5, .5]))
    array([[1, 0],
           [1, 0]])
    """
    check_same_length("labels", labels.size, "pred_probs", len(pred_probs))
    n_classes = pred_probs.shape[1]
    given, guess = confident_pairs(labels, pred_probs, thresholds)
    flat = given * n_classes + guess
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


@dataclass(frozen=True)
class NoiseModel:
    """Confident-learning estimate of how labels were corrupted.

    Attributes
    ----------
    thresholds : (K,) float
        Per-class confident thresholds.
    label_counts : (K,) int
        Samples per given class.
    confident_joint : (K, K) float
        Calibrated confident joint, rows = given label, columns = true label; it sums to N.
    noise_matrix : (K, K) float
        ``noise_matrix[s, t]`` = P(given = s | true = t); columns sum to 1 (cleanlab's
        convention).
    class_prior : (K,) float
        Estimated distribution of the true classes.
    zero_floor : (K,) float
        Least probability a cell of column k counts with when forming posteriors: the
        rate at which a cell the model put at exactly 0 holds the given label, class by
        class (samples given k with probability 0 of k / cells of column k that are 0,
        the maximum-likelihood level for lifting zeros; at most 1 / K), or the rate
        pooled over the classes where a class's own does not clearly differ from it
        (:func:`_zero_floor`). All 0 when no given label has probability 0; empty for a
        model built without counting zeros. A model that puts zero mass on a given label
        is wrong there about this often, so such labels get p_error < 1, ordered by how
        strongly the other classes speak. Per class because the rates differ: where the
        probabilities are other labellers' answers, a rare class the others all deny is
        wrong far more often than a common one (benchmarks/quality.py, product-1ann:
        0.16 against 0.48).
    error_rate : float or None
        Estimated share of wrong labels, from two estimates that each see the noise
        from one side: the flip rate beyond the model's probabilities
        (:func:`flip_rate`, maximum likelihood of the given labels; about 0 when the
        model was fitted on these labels and holds the noise itself), replaced by the
        share of given labels that differ from the model where it is surest
        (:func:`anchor_error_rate`) when that share is larger by more than 1.96 of its
        standard errors; at least 1 / (N + 2) (Laplace's rule of succession: no data
        set is declared certainly clean). A full fit
        (:func:`labelmend.cleaner.ranking.fit_noise_model_in_parts`) then pools it with
        confident learning's amount (:func:`pooled_error_rate`), which weighs more in
        small data. None for a model built from counts alone.
    scale : float or None
        The factor s of the likelihood's noise, T = I + s (T_cl − I), chosen so that
        Σ p_error of the plain posterior (temperature 1) over the data equals
        ``error_rate`` × N (:func:`matching_scale`). None keeps confident learning's
        own noise.
    prior_strength : float
        Pseudo-counts of the shrinkage towards symmetric noise (:meth:`likelihood`).
    temperature : float
        τ ≥ 1, the power 1 / τ on the model's evidence against the given label in
        p_error, a power posterior: with a = Σ_{j≠y} p[j] T[y, j] (T unscaled),
        odds(wrong) = t (a / p[y])^(1/τ) / T_t[y, y] (:func:`p_error_sum`), t =
        :attr:`tempered_scale`, so p_error keeps its order within a given class and
        Σ p_error its amount. τ is the model's temperature against the true labels,
        fitted by EM (:func:`fit_temperature`); 1 keeps the plain posterior.
    tempered_scale : float or None
        The noise scale t at which Σ p_error at :attr:`temperature` equals
        ``error_rate`` × N (:attr:`scale` is the same at temperature 1; the
        likelihood and the queue's error weight use that one).

    Examples
    --------
    Fitted by :func:`~labelmend.cleaner.fit_noise_model`: the last sample is labelled 1
    but looks like a 0, so a quarter of the true 0s carry label 1:

    >>> from labelmend.cleaner import fit_noise_model
    >>> probs = np.array([[.9, .1], [.8, .2], [.85, .15], [.1, .9], [.2, .8], [.95, .05]])
    >>> model = fit_noise_model([0, 0, 0, 1, 1, 1], probs)
    >>> model.n_classes, model.confident_errors, model.class_prior.round(2)
    (2, 1.0, array([0.67, 0.33]))
    >>> model.noise_matrix  # [given, true], columns sum to 1
    array([[0.75, 0.  ],
           [0.25, 1.  ]])
    >>> model.likelihood().round(2)  # shrunk to symmetric noise, scaled to the error rate
    array([[0.75, 0.25],
           [0.25, 0.75]])
    """

    thresholds: FloatArray
    label_counts: IntArray
    confident_joint: FloatArray
    noise_matrix: FloatArray
    class_prior: FloatArray
    zero_floor: FloatArray = field(default_factory=lambda: np.zeros(0))
    error_rate: float | None = None
    scale: float | None = None
    prior_strength: float = NOISE_PRIOR_STRENGTH
    temperature: float = 1.0
    tempered_scale: float | None = None

    @property
    def n_classes(self) -> int:
        """K, the number of classes."""
        return int(self.thresholds.size)

    @property
    def confident_errors(self) -> float:
        """Confident learning's count of label errors: the calibrated joint's off-diagonal
        mass (not Σ p_error, which rankings and score runs call ``estimated_errors``)."""
        return float(self.confident_joint.sum() - np.trace(self.confident_joint))

    def likelihood(self) -> FloatArray:
        """(K, K) P(given = s | true = t) for posteriors, columns summing to 1.

        The confident joint plus :attr:`prior_strength` pseudo-counts per true class spread
        as symmetric noise at the joint's own error rate η (1 − η on the diagonal, η /
        (K − 1) elsewhere), normalised per column. η = (off-diagonal count + 1) / (N + 2)
        (Laplace's rule of succession), so a joint without off-diagonal counts does not
        rule errors out. That is the *shape* of the noise (which classes are confused
        with which); when :attr:`scale` is known, its amount is then set by it,
        T = I + s (T − I), so that Σ p_error equals the estimated error count.
        Confident learning's own amount is not used: it counts every confident
        disagreement, and a model that errs more often than the labels do (a strong
        model on nearly clean labels) makes it count model mistakes as label errors.

        >>> stats = ThresholdStats(np.array([1.6, 0.9]), np.array([2, 2]))
        >>> model = NoiseModel.from_counts(stats, np.array([[2, 0], [1, 1]]), prior_strength=0)
        >>> model.likelihood().round(2)
        array([[0.67, 0.  ],
               [0.33, 1.  ]])
        >>> dataclasses.replace(model, prior_strength=2.0).likelihood().round(2)
        array([[0.67, 0.22],
               [0.33, 0.78]])
        >>> dataclasses.replace(model, prior_strength=2.0, scale=0.5).likelihood().round(2)
        array([[0.83, 0.11],
               [0.17, 0.89]])
        """
        prior_strength = self.prior_strength
        k = self.n_classes
        joint = self.confident_joint
        # Rule of succession: a joint with no off-diagonal count still allows errors.
        error_rate = (joint.sum() - np.trace(joint) + 1.0) / (joint.sum() + 2.0)
        # One K × K array, filled in place (8 MB at K = 1,000).
        counts = np.full((k, k), prior_strength * error_rate / max(k - 1, 1))
        np.fill_diagonal(counts, prior_strength * (1.0 - error_rate))
        counts += joint
        totals = counts.sum(axis=0)
        empty = totals <= 0
        counts /= np.where(empty, 1.0, totals)
        # A class with neither counts nor prior keeps its label.
        counts[:, empty] = 0.0
        counts[empty, empty] = 1.0
        if self.scale is not None:
            diagonal = 1.0 - self.scale * (1.0 - np.diagonal(counts))
            counts *= self.scale
            np.fill_diagonal(counts, diagonal)
        return counts

    @property
    def largest_scale(self) -> float:
        """The largest noise scale :attr:`scale` may take.

        Two bounds: every diagonal cell of the likelihood keeps at least 1 / K (a label
        is never less likely right than a uniform guess), and the likelihood's own
        share of wrong labels stays at most 1 − (1 − η)², with η = :attr:`error_rate`:
        the noise counted twice, once inside probabilities fitted on the noisy labels
        and once more by the likelihood, never more. Without the second bound,
        probabilities that do not support the estimated count (an under-confident
        model, whose clean rows would have to carry the missing errors) would blow the
        noise up to nonsense.

        >>> stats = ThresholdStats(np.array([1.6, 0.9]), np.array([2, 2]))
        >>> model = NoiseModel.from_counts(stats, np.array([[2, 0], [1, 1]]), prior_strength=0)
        >>> round(model.largest_scale, 2)  # a diagonal of 2/3 may fall to 1/2: (1/2) / (1/3)
        1.5
        >>> # At η = 0.1 at most 1 − 0.9² = 0.19 of the labels may be lost, 0.25 at s = 1:
        >>> round(dataclasses.replace(model, error_rate=0.1).largest_scale, 2)
        0.76
        """
        lost = 1.0 - np.diagonal(dataclasses.replace(self, scale=None).likelihood())
        largest = (1.0 - 1.0 / self.n_classes) / max(float(lost.max()), 1e-12)
        if self.error_rate is not None:
            twice = 1.0 - (1.0 - self.error_rate) ** 2
            largest = min(largest, twice / max(float(self.class_prior @ lost), 1e-12))
        return largest

    @classmethod
    def from_counts(
        cls,
        stats: ThresholdStats,
        raw_joint: IntArray,
        zero_cells: IntArray | None = None,
        anchors: FloatArray | None = None,
        *,
        prior_strength: float = NOISE_PRIOR_STRENGTH,
    ) -> NoiseModel:
        """Calibrate raw confident counts into a noise model (cleanlab's calibration).

        Every class keeps at least one confident sample of its own on the diagonal, rows
        are rescaled to the number of samples given each label, and the noise matrix is
        clipped as cleanlab does. ``zero_cells`` (K,) is the number of probabilities
        exactly 0 per column (:func:`zero_cells`, counted only when some
        ``stats.zero_given`` is positive). ``anchors`` is the summed
        :func:`anchor_histogram`; with it and ``stats.confidence_histogram`` the model
        gets its :attr:`error_rate` (its :attr:`scale` needs one more pass over the
        data: :func:`labelmend.cleaner.ranking.fit_noise_model_in_parts`).

        >>> stats = ThresholdStats(np.array([1.6, 0.9]), np.array([2, 2]))
        >>> model = NoiseModel.from_counts(stats, np.array([[2, 0], [1, 1]]))
        >>> model.noise_matrix.round(2), model.class_prior
        (array([[0.67, 0.  ],
               [0.33, 1.  ]]), array([0.75, 0.25]))
        """
        check_number("prior_strength", prior_strength)
        joint = raw_joint.astype(np.float64)
        np.fill_diagonal(joint, np.maximum(np.diagonal(joint), 1.0))
        row_sums = np.maximum(joint.sum(axis=1, keepdims=True), 1e-100)
        # Each row now sums to its label's count (every row keeps its diagonal ≥ 1).
        joint = joint / row_sums * stats.label_counts[:, None]
        true_counts = np.maximum(joint.sum(axis=0), 1e-100)
        noise_matrix = _clip_noise_rates(joint / true_counts)
        prior = joint.sum(axis=0) / max(joint.sum(), 1e-100)
        k = stats.label_counts.size
        floor: FloatArray = np.zeros(k)
        if zero_cells is not None and np.any(stats.zero_given):
            floor = np.minimum(_zero_floor(stats.zero_given, zero_cells), 1.0 / k).astype(
                np.float64
            )
        rate = None
        if anchors is not None and stats.confidence_histogram.size:
            rate = _labels_error_rate(stats, anchors, floor)
        return cls(
            stats.thresholds,
            stats.label_counts,
            joint,
            noise_matrix,
            prior,
            floor,
            rate,
            prior_strength=prior_strength,
        )


def _labels_error_rate(stats: ThresholdStats, anchors: FloatArray, floor: FloatArray) -> float:
    """The labels' own estimate of the share of wrong labels (:attr:`NoiseModel.error_rate`
    before a full fit pools it): the :func:`flip_rate` of ``stats.confidence_histogram``,
    or the :func:`anchor_error_rate` of ``anchors`` where that is clearly larger; at
    least 1 / (N + 2). ``floor`` is the model's (K,) :attr:`NoiseModel.zero_floor`.

    Four labels the model agrees with: no sign of an error, so the floor 1 / 6.

    >>> probs, labels = np.array([[.9, .1], [.8, .2], [.3, .7], [.4, .6]]), np.array([0, 0, 1, 1])
    >>> anchors = anchor_histogram(probs, probs.argmax(axis=1), labels)
    >>> round(_labels_error_rate(threshold_stats(labels, probs), anchors, np.zeros(2)), 3)
    0.167
    """
    k = stats.label_counts.size
    n = float(stats.label_counts.sum())
    # The zero bin's rows each count at their own class's floor: on average this.
    lifted = float(floor @ stats.zero_given / stats.zero_given.sum()) if np.any(floor) else 0.0
    flips = flip_rate(stats.confidence_histogram, k, lifted)
    anchored = anchor_error_rate(anchors, k)
    # The anchors' share replaces the flip rate only when it is clearly larger (beyond
    # 1.96 standard errors of a share of ANCHOR_SHARE · N rows): in small data the larger
    # of two noisy estimates would be biased upwards.
    spread = Z_95 * np.sqrt(anchored * (1.0 - anchored) / (ANCHOR_SHARE * n))
    rate = anchored if anchored - spread > flips else flips
    # Laplace's rule of succession as a floor: data never prove labels clean.
    return max(rate, 1.0 / (n + 2.0))


def _zero_floor(zero_given: IntArray, zero_cells: IntArray) -> FloatArray:
    """(K,) the share of column k's zero cells that hold the given label, where it
    differs from the share pooled over all columns by more than 1.96 of the pooled
    share's standard errors on that column's cells; the pooled share elsewhere.

    >>> _zero_floor(np.array([3, 30]), np.array([10, 100])).round(2)  # one rate
    array([0.3, 0.3])
    >>> _zero_floor(np.array([8, 30]), np.array([10, 100])).round(2)  # 0.8 stands out
    array([0.8 , 0.35])
    """
    pooled = zero_given.sum() / zero_cells.sum()
    cells = np.maximum(zero_cells, 1)
    shares = zero_given / cells
    spread = Z_95 * np.sqrt(pooled * (1.0 - pooled) / cells)
    return np.where((zero_cells > 0) & (np.abs(shares - pooled) > spread), shares, pooled)


def _clip_noise_rates(noise_matrix: FloatArray) -> FloatArray:
    """Off-diagonal rates clipped to [0, 0.9999], columns rescaled to sum to one.

    The same as cleanlab's internal ``clip_noise_rates`` (a test checks it), kept here so
    that no private cleanlab API is imported.

    >>> _clip_noise_rates(np.array([[0.7, -0.1], [0.3, 1.1]]))
    array([[0.7, 0. ],
           [0.3, 1. ]])
    """
    clipped = np.clip(noise_matrix, 0.0, 0.9999)
    np.fill_diagonal(clipped, np.diagonal(noise_matrix))
    return clipped / np.maximum(clipped.sum(axis=0), 1e-100)
