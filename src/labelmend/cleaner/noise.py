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
from cleanlab.internal.util import clip_noise_rates

#: cleanlab compares probabilities with thresholds minus this tolerance.
THRESHOLD_TOLERANCE = 1e-6
#: Thresholds below this are raised to it (cleanlab's lower bound).
THRESHOLD_FLOOR = 2 * np.finfo(np.float64).eps
#: Weight of a uniform component mixed into the noise matrix before it is used as a
#: likelihood. Confident learning sees few samples of rare confusions; a zero cell would
#: make the posterior deny any error between that pair of classes, however sure the
#: model is. On the label-errors CIFAR-10 and MNIST sets, validated errors found in the
#: top k and 2k are flat for weights from 0.1 to 0.2 (benchmarks/label_errors.py).
NOISE_SMOOTHING = 0.15

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
    """

    given_prob_sums: FloatArray
    label_counts: IntArray

    def __add__(self, other: ThresholdStats) -> ThresholdStats:
        return ThresholdStats(
            self.given_prob_sums + other.given_prob_sums, self.label_counts + other.label_counts
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
    )


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
    """

    thresholds: FloatArray
    label_counts: IntArray
    confident_joint: FloatArray
    noise_matrix: FloatArray
    class_prior: FloatArray

    @property
    def n_classes(self) -> int:
        return int(self.thresholds.size)

    @property
    def estimated_errors(self) -> float:
        """Confident learning's estimate of the number of label errors (off-diagonal mass)."""
        return float(self.confident_joint.sum() - np.trace(self.confident_joint))

    def likelihood(self, smoothing: float = NOISE_SMOOTHING) -> FloatArray:
        """(K, K) P(given = s | true = t) mixed with a uniform distribution, for posteriors."""
        return (1.0 - smoothing) * self.noise_matrix + smoothing / self.n_classes

    @classmethod
    def from_counts(cls, stats: ThresholdStats, raw_joint: IntArray) -> NoiseModel:
        """Calibrate raw confident counts into a noise model (cleanlab's calibration).

        Every class keeps at least one confident sample of its own on the diagonal, rows
        are rescaled to the number of samples given each label, and the noise matrix is
        clipped as cleanlab does.
        """
        joint = raw_joint.astype(np.float64)
        np.fill_diagonal(joint, np.maximum(np.diagonal(joint), 1.0))
        row_sums = np.maximum(joint.sum(axis=1, keepdims=True), 1e-100)
        joint = joint / row_sums * stats.label_counts[:, None]
        joint *= stats.label_counts.sum() / max(joint.sum(), 1e-100)
        true_counts = np.maximum(joint.sum(axis=0), 1e-100)
        noise_matrix = clip_noise_rates(joint / true_counts)
        prior = joint.sum(axis=0) / max(joint.sum(), 1e-100)
        return cls(stats.thresholds, stats.label_counts, joint, noise_matrix, prior)
