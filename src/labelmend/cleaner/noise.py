"""Estimate the class-conditional label noise with confident learning, in streaming passes.

Confident learning (Northcutt et al., JAIR 2021) counts, for each given class, how many
samples the model confidently places in each class: the *confident joint*. This module
computes the very same counts as :func:`cleanlab.count.compute_confident_joint` (a test
checks equality) but accumulates them block by block, and from per-block partial sums
that can be merged, so that memory-mapped and distributed inputs need no full copy.
cleanlab's function needs the whole (N, K) array and its boolean mask in memory.

Glossary: N samples, K classes, ``labels`` (N,), ``pred_probs`` (N, K).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

#: cleanlab compares probabilities with thresholds minus this tolerance.
THRESHOLD_TOLERANCE = 1e-6
#: Thresholds below this are raised to it (cleanlab's lower bound).
THRESHOLD_FLOOR = 2 * np.finfo(np.float64).eps
#: Pseudo-counts per true class with which the noise matrix is shrunk towards symmetric
#: noise at the same overall rate before it is used as a likelihood. Confident learning
#: sees few samples of rare confusions; a zero cell would make the posterior deny any
#: error between that pair of classes, however sure the model is. Shrinking towards
#: symmetric noise (rather than mixing in a uniform matrix) adds no noise mass, so
#: Σ p_error keeps confident learning's error rate, and the shrinkage fades as classes
#: grow: a class seen n times keeps weight n / (n + 30) on its own column. Chosen by
#: leave-one-set-out over the real-noise sets of benchmarks/quality.py.
NOISE_PRIOR_STRENGTH = 30.0

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
    zero_given : int
        Number of samples whose given label has probability exactly 0.
    """

    given_prob_sums: FloatArray
    label_counts: IntArray
    zero_given: int = 0

    def __add__(self, other: ThresholdStats) -> ThresholdStats:
        return ThresholdStats(
            self.given_prob_sums + other.given_prob_sums,
            self.label_counts + other.label_counts,
            self.zero_given + other.zero_given,
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
    n_classes = pred_probs.shape[1]
    given = pred_probs[np.arange(labels.size), labels]
    return ThresholdStats(
        np.bincount(labels, weights=given, minlength=n_classes).astype(np.float64),
        np.bincount(labels, minlength=n_classes).astype(np.int64),
        int(np.count_nonzero(given == 0)),
    )


def zero_cells(pred_probs: npt.NDArray[np.floating[Any]]) -> int:
    """Number of probabilities exactly 0 in a block (needed only when a given label has one).

    >>> zero_cells(np.array([[1.0, 0.0], [0.5, 0.5]]))
    1
    """
    return int(pred_probs.size - np.count_nonzero(pred_probs))


def confident_pairs(
    labels: npt.NDArray[np.intp],
    pred_probs: npt.NDArray[np.floating[Any]],
    thresholds: FloatArray,
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Second pass over one block: (given, true guess) of every confidently placed sample.

    A sample counts towards the class whose probability reaches that class's threshold;
    when several do, towards the most probable class (as in cleanlab). Four passes over
    the block: the comparison, the first confident class, the next one, and the argmax.

    >>> confident_pairs(np.array([0, 1]), np.array([[.9, .1], [.6, .4]]), np.array([.5, .5]))
    (array([0, 1]), array([0, 0]))
    """
    rows = np.arange(labels.size)
    confident = pred_probs >= (thresholds - THRESHOLD_TOLERANCE).astype(pred_probs.dtype)
    first = confident.argmax(axis=1)
    some = confident[rows, first]
    confident[rows, first] = False
    several = confident[rows, confident.argmax(axis=1)]
    guess = np.where(several, pred_probs.argmax(axis=1), first)
    return labels[some], guess[some]


def confident_counts(
    labels: npt.NDArray[np.intp],
    pred_probs: npt.NDArray[np.floating[Any]],
    thresholds: FloatArray,
) -> IntArray:
    """Raw confident-joint counts of one block, shape (K, K) [given, true].

    >>> confident_counts(np.array([0, 1]), np.array([[.9, .1], [.6, .4]]), np.array([.5, .5]))
    array([[1, 0],
           [1, 0]])
    """
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
    zero_floor : float
        Least probability a cell counts with when forming posteriors: the rate at which
        a cell the model put at exactly 0 holds the given label (samples given a label
        of probability 0 / cells of probability 0, the maximum-likelihood level for
        lifting zeros; at most 1 / K). 0 when no given label has probability 0. A model
        that puts zero mass on a given label is wrong there about this often, so such
        labels get p_error < 1, ordered by how strongly the other classes speak.
    """

    thresholds: FloatArray
    label_counts: IntArray
    confident_joint: FloatArray
    noise_matrix: FloatArray
    class_prior: FloatArray
    zero_floor: float = 0.0

    @property
    def n_classes(self) -> int:
        return int(self.thresholds.size)

    @property
    def confident_errors(self) -> float:
        """Confident learning's count of label errors: the calibrated joint's off-diagonal
        mass (not Σ p_error, which rankings and score runs call ``estimated_errors``)."""
        return float(self.confident_joint.sum() - np.trace(self.confident_joint))

    def likelihood(self, prior_strength: float = NOISE_PRIOR_STRENGTH) -> FloatArray:
        """(K, K) P(given = s | true = t) for posteriors, columns summing to 1.

        The confident joint plus ``prior_strength`` pseudo-counts per true class spread
        as symmetric noise at the joint's own error rate η (1 − η on the diagonal, η /
        (K − 1) elsewhere), normalised per column. η = (off-diagonal count + 1) / (N + 2)
        (Laplace's rule of succession), so a joint without off-diagonal counts does not
        rule errors out.

        >>> stats = ThresholdStats(np.array([1.6, 0.9]), np.array([2, 2]))
        >>> model = NoiseModel.from_counts(stats, np.array([[2, 0], [1, 1]]))
        >>> model.likelihood(0.0).round(2)
        array([[0.67, 0.  ],
               [0.33, 1.  ]])
        >>> model.likelihood(2.0).round(2)
        array([[0.67, 0.22],
               [0.33, 0.78]])
        """
        if prior_strength < 0:
            raise ValueError(f"prior_strength must be ≥ 0. Got {prior_strength}.")
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
        return counts

    @classmethod
    def from_counts(
        cls, stats: ThresholdStats, raw_joint: IntArray, zero_cells: int = 0
    ) -> NoiseModel:
        """Calibrate raw confident counts into a noise model (cleanlab's calibration).

        Every class keeps at least one confident sample of its own on the diagonal, rows
        are rescaled to the number of samples given each label, and the noise matrix is
        clipped as cleanlab does. ``zero_cells`` is the number of probabilities exactly
        0 (counted only when ``stats.zero_given`` > 0).
        """
        joint = raw_joint.astype(np.float64)
        np.fill_diagonal(joint, np.maximum(np.diagonal(joint), 1.0))
        row_sums = np.maximum(joint.sum(axis=1, keepdims=True), 1e-100)
        joint = joint / row_sums * stats.label_counts[:, None]
        joint *= stats.label_counts.sum() / max(joint.sum(), 1e-100)
        true_counts = np.maximum(joint.sum(axis=0), 1e-100)
        noise_matrix = _clip_noise_rates(joint / true_counts)
        prior = joint.sum(axis=0) / max(joint.sum(), 1e-100)
        floor = 0.0
        if stats.zero_given and zero_cells:
            floor = min(stats.zero_given / zero_cells, 1.0 / stats.label_counts.size)
        return cls(stats.thresholds, stats.label_counts, joint, noise_matrix, prior, floor)


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
