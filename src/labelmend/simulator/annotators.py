"""Annotator models: who answers what, per sample, and the initial noisy labels.

An :class:`AnnotatorModel` holds, for each of N samples, the distribution (N, K) of one
expert's answer. It comes from real vote counts (CIFAR-10H's ~51 labels per image), from
a class noise matrix, or from per-annotator confusion matrices fitted by Dawid–Skene on
real multi-annotator data (:func:`labelmend.cleaner.dawid_skene`). The true label is the majority of that
distribution unless given; a sample is *ambiguous* when the distribution's normalised
entropy is above 0.3 (the active label cleaning paper's threshold).

Glossary: N samples, K classes, M annotators.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from labelmend._validation import (
    RandomState,
    check_labels,
    check_matrix,
    check_probability_block,
    check_random_state,
    check_same_length,
    is_number,
    row_name,
)
from labelmend.cleaner import AMBIGUITY_THRESHOLD
from labelmend.cleaner.aggregate import DawidSkene
from labelmend.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def _normalized_entropy(probs: FloatArray) -> FloatArray:
    logs = np.log(np.where(probs > 0, probs, 1.0))
    return -np.einsum("ij,ij->i", probs, logs) / np.log(probs.shape[1])


@dataclass(frozen=True)
class AnnotatorModel:
    """The answer distribution of one expert annotator, per sample.

    Attributes
    ----------
    probs : (N, K) float
        ``probs[i, k]`` = probability that an expert labels sample i as class k.
    true_labels : (N,) int
        The ground truth (by default the majority of ``probs``).
    ambiguous : (N,) bool
        Normalised entropy of ``probs`` above 0.3.

    Examples
    --------
    >>> model = AnnotatorModel.from_counts([[9, 1], [5, 5], [0, 10]])
    >>> model.true_labels.tolist(), model.ambiguous.tolist()
    ([0, 0, 1], [True, True, False])
    """

    probs: FloatArray
    true_labels: IntArray
    ambiguous: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        """Check the three arrays agree: (N, K) answer distributions, N true labels in
        [0, K), N flags (the class methods build them so)."""
        probs = check_matrix("probs", self.probs)
        check_probability_block(probs, rescale_hint=False, name="probs")
        truth = check_labels(self.true_labels, n_classes=probs.shape[1], name="true_labels")
        check_same_length("true_labels", truth.size, "probs", len(probs))
        ambiguous = np.asarray(self.ambiguous)
        if ambiguous.dtype != np.bool_ or ambiguous.shape != truth.shape:
            raise InputError(
                f"ambiguous must be a bool array of shape ({len(probs)},). "
                f"Got {ambiguous.dtype} of shape {ambiguous.shape}.",
                inputs=("ambiguous",),
            )
        object.__setattr__(self, "probs", probs)
        object.__setattr__(self, "true_labels", truth)
        object.__setattr__(self, "ambiguous", ambiguous)

    @property
    def n_samples(self) -> int:
        return int(self.probs.shape[0])

    @property
    def n_classes(self) -> int:
        return int(self.probs.shape[1])

    @classmethod
    def from_probs(
        cls, probs: Any, *, true_labels: Any = None, name: str = "annotator probabilities"
    ) -> AnnotatorModel:
        """From a per-sample answer distribution (N, K); rows are rescaled to sum to 1.

        ``name`` is what errors call ``probs`` (``counts`` from :meth:`from_counts`).
        """
        array = check_matrix(name, probs)
        for bad, what in ((~np.isfinite(array), "NaN or infinite"), (array < 0, "negative")):
            if bad.any():
                row = int(np.flatnonzero(bad.any(axis=1))[0])
                raise InputError(
                    f"{name} hold {what} values (first in {row_name(row)}); "
                    "expected finite numbers ≥ 0.",
                    inputs=(name,),
                )
        totals = array.sum(axis=1)
        if np.any(totals <= 0):
            row = int(np.flatnonzero(totals <= 0)[0])
            raise InputError(
                f"{name} {row_name(row)} has no votes (all zero); every sample needs at least one.",
                inputs=(name,),
            )
        array = array / totals[:, None]
        if true_labels is None:
            truth = array.argmax(axis=1).astype(np.intp)
        else:
            truth = check_labels(true_labels, n_classes=array.shape[1], name="true_labels")
            check_same_length("true_labels", truth.size, name, len(array))
        return cls(array, truth, _normalized_entropy(array) > AMBIGUITY_THRESHOLD)

    @classmethod
    def from_counts(cls, counts: Any, *, true_labels: Any = None) -> AnnotatorModel:
        """From real vote counts (N, K), e.g. CIFAR-10H's ``cifar10h-counts.npy``."""
        return cls.from_probs(counts, true_labels=true_labels, name="counts")

    @classmethod
    def from_noise_matrix(cls, true_labels: Any, noise_matrix: Any) -> AnnotatorModel:
        """Every sample of true class t is answered from column t of ``noise_matrix``.

        ``noise_matrix[s, t]`` = P(answer = s | true = t) (columns sum to 1, cleanlab's
        convention).
        """
        matrix = check_matrix("noise_matrix", noise_matrix)
        if matrix.shape[0] != matrix.shape[1]:
            raise InputError(
                f"noise_matrix must be square (K, K). Got shape {matrix.shape}.",
                inputs=("noise_matrix",),
            )
        # Its columns are the distributions: a row-stochastic [true, answer] matrix would
        # otherwise be rescaled into other answer rates without a word.
        check_probability_block(matrix.T, rescale_hint=False, name="noise_matrix", row="column")
        truth = check_labels(true_labels, n_classes=matrix.shape[0], name="true_labels")
        return cls.from_probs(matrix.T[truth], true_labels=truth)

    @classmethod
    def from_dawid_skene(cls, fitted: DawidSkene, true_labels: Any = None) -> AnnotatorModel:
        """Annotators as fitted by Dawid–Skene, drawn in proportion to how many labels each
        gave in the data; the truth defaults to the fit's most probable classes."""
        truth = fitted.labels if true_labels is None else true_labels
        return cls.from_confusions(truth, fitted.confusions, weights=fitted.label_counts)

    @classmethod
    def from_confusions(
        cls, true_labels: Any, confusions: Any, *, weights: Any = None
    ) -> AnnotatorModel:
        """A random one of M annotators answers: a mixture of their confusion matrices.

        Parameters
        ----------
        true_labels : (N,) int
        confusions : (M, K, K) float
            ``confusions[m, t, s]`` = P(annotator m answers s | true = t) (rows sum to 1),
            as fitted by :func:`dawid_skene`.
        weights : (M,) float, optional
            How often each annotator is asked (default: equally often).
        """
        stack = np.asarray(confusions)
        if (
            stack.dtype.kind not in "fiub"
            or stack.ndim != 3
            or len(stack) == 0
            or stack.shape[1] != stack.shape[2]
        ):
            raise InputError(
                "confusions must be numbers of shape (M, K, K) with M ≥ 1. "
                f"Got {stack.dtype} of shape {stack.shape}.",
                inputs=("confusions",),
            )
        stack = stack.astype(np.float64, copy=False)
        for m, confusion in enumerate(stack):
            check_probability_block(confusion, rescale_hint=False, name=f"confusions[{m}]")
        share = np.ones(len(stack)) if weights is None else np.asarray(weights)
        if share.ndim != 1 or share.dtype.kind not in "fiub":
            raise InputError(
                f"weights must be numbers of shape (M,). Got {share.dtype} of shape {share.shape}.",
                inputs=("weights",),
            )
        check_same_length("weights", share.size, "confusions", len(stack))
        if not np.all(np.isfinite(share)) or share.min() < 0 or share.sum() <= 0:
            raise InputError(
                f"weights must be finite, ≥ 0 and not all 0. Got {share.tolist()}.",
                inputs=("weights",),
            )
        mixture = np.einsum("m,mts->ts", share / share.sum(), stack)
        return cls.from_noise_matrix(true_labels, mixture.T)

    def class_confusion(self) -> FloatArray:
        """(K, K) mean answer distribution per true class, as ``[answer, true]``."""
        k = self.n_classes
        sums = np.zeros((k, k))
        np.add.at(sums, self.true_labels, self.probs)
        counts = np.bincount(self.true_labels, minlength=k).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums / counts[:, None]
        mean[counts == 0] = np.eye(k)[counts == 0]
        return mean.T


def sharpened(probs: FloatArray, temperature: float) -> FloatArray:
    """Rows of ``probs`` raised to 1 / ``temperature`` and renormalised (N, K).

    >>> sharpened(np.array([[0.8, 0.2]]), 2.0).round(3)
    array([[0.667, 0.333]])
    """
    if not (is_number(temperature) and temperature > 0):
        raise InputError(f"temperature must be positive. Got {temperature!r}.")
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise InputError(f"probs must have shape (N, K). Got {probs.shape}.", inputs=("probs",))
    if not np.isfinite(probs).all():
        raise InputError("probs contains NaN or infinite values.", inputs=("probs",))
    if probs.size and probs.min() < 0:
        raise InputError(f"probs must hold values ≥ 0; found {probs.min()}.", inputs=("probs",))
    powered = np.power(probs, 1.0 / temperature)
    return powered / powered.sum(axis=1, keepdims=True)


def _categorical(probs: FloatArray, rng: np.random.Generator) -> IntArray:
    """One draw per row of ``probs`` (N, K) by inverse CDF."""
    cdf = np.cumsum(probs, axis=1)
    uniforms = rng.random(len(probs)) * cdf[:, -1]
    draws = (uniforms[:, None] >= cdf).sum(axis=1)
    return np.minimum(draws, probs.shape[1] - 1).astype(np.intp)


def initial_labels(
    annotators: AnnotatorModel,
    *,
    temperature: float | None = None,
    noise_rate: float | None = None,
    random_state: RandomState = None,
) -> IntArray:
    """Draw the initial noisy labels (N,).

    Exactly one of ``temperature`` (one draw per sample from p^(1/T) renormalised; T = 2
    gives η ≈ 13% on CIFAR-10H) or ``noise_rate`` (one draw from the annotators' class
    confusion with its off-diagonal part rescaled so that a ``noise_rate`` fraction of
    labels is expected wrong).

    Examples
    --------
    >>> model = AnnotatorModel.from_counts(np.tile([[8, 2]], (1000, 1)))
    >>> labels = initial_labels(model, noise_rate=0.1, random_state=0)
    >>> round(float((labels != model.true_labels).mean()), 2)
    0.1
    """
    if not isinstance(annotators, AnnotatorModel):
        raise InputError(
            "annotators must be an AnnotatorModel (AnnotatorModel.from_counts(counts) builds "
            f"one from vote counts). Got {type(annotators).__name__}.",
            inputs=("annotators",),
        )
    if (temperature is None) == (noise_rate is None):
        raise InputError("Give exactly one of temperature and noise_rate.")
    rng = check_random_state(random_state)
    if noise_rate is None:
        return _categorical(sharpened(annotators.probs, temperature), rng)  # type: ignore[arg-type]
    if not (is_number(noise_rate) and 0.0 <= noise_rate < 1.0):
        raise InputError(f"noise_rate must lie in [0, 1). Got {noise_rate!r}.")
    return _categorical(_noise_at_rate(annotators, noise_rate).T[annotators.true_labels], rng)


def _noise_at_rate(annotators: AnnotatorModel, noise_rate: float) -> FloatArray:
    """(K, K) [given, true] noise matrix shaped like the annotators' confusion, at a rate."""
    k = annotators.n_classes
    off = annotators.class_confusion() * (1.0 - np.eye(k))
    totals = off.sum(axis=0)
    uniform = (1.0 - np.eye(k)) / (k - 1)
    # A class its annotators never confuse takes its errors uniformly.
    shape = np.where(totals > 0, off / np.where(totals > 0, totals, 1.0), uniform)
    return (1.0 - noise_rate) * np.eye(k) + noise_rate * shape
