"""Dawid–Skene with item difficulty: annotators whose errors pile up on hard items.

Plain Dawid–Skene (:func:`labelmend.cleaner.dawid_skene`) gives each annotator one
confusion matrix for every item of a class, so simulated answers spread their errors
evenly over the items. Real annotators do not: on a hard item (a cat that looks like a
dog) many of them give the same wrong answer, so the majority is wrong more often than
independent errors allow. :func:`fit_crowd` adds to each item a latent difficulty level
d and an attractor class j (in the spirit of GLAD's item easiness, Whitehill et al.
2009, with the direction of the pull as well as its strength). Annotator m answers

    P(s | true t, level d, attractor j, m) = (1 − ρ_d) · C_m[t, s] + ρ_d · [s = j],

from their own confusion C_m, or, with probability ρ_d, the item's attractor: the true
class for an item easier than its class, another class for a confusing one. Level 0 has
ρ = 0 (plain Dawid–Skene, so one level is Dawid–Skene itself); the attractor of an item
of class t is drawn from ``attractor_prior[t]``. Fitted by expectation maximisation over
each item's joint latent (true class, level, attractor); every step is closed-form.

Glossary: N items, K classes, M annotators, D levels, A answers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from labelmend._validation import RandomState, check_labels, check_random_state, check_same_length
from labelmend.cleaner.aggregate import CONFUSION_SMOOTHING, long_form
from labelmend.errors import InputError
from labelmend.simulator.annotators import _categorical

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
#: Smallest probability inside logarithms.
_TINY = 1e-300


@dataclass(frozen=True)
class CrowdModel:
    """Annotators' confusions, and how strongly each item pulls their answers.

    Attributes
    ----------
    confusions : (M, K, K) float
        ``confusions[m, t, s]`` = P(annotator m answers s | true t) when not pulled.
    pulls : (D,) float
        ρ_d, increasing from ``pulls[0] = 0``: the share of answers on an item of level
        d that go to the item's attractor.
    level_prior : (D,) float
        Share of items at each level.
    attractor_prior : (K, K) float
        ``[t, j]`` = P(attractor j | true t), rows sum to 1.
    class_prior : (K,) float
    label_counts : (M,) int
        Answers given by each annotator.
    log_likelihood : float
        Per answer, on the data the model was fitted on.

    Examples
    --------
    >>> model = CrowdModel(np.array([[[0.8, 0.2], [0.2, 0.8]]]), np.array([0.0, 0.5]),
    ...                    np.array([0.5, 0.5]), np.full((2, 2), 0.5), np.array([0.5, 0.5]),
    ...                    np.array([10]), 0.0)
    >>> model.answer_probs([0, 0, 0], levels=[0, 1, 1], attractors=[0, 0, 1])
    array([[0.8, 0.2],
           [0.9, 0.1],
           [0.4, 0.6]])
    """

    confusions: FloatArray
    pulls: FloatArray
    level_prior: FloatArray
    attractor_prior: FloatArray
    class_prior: FloatArray
    label_counts: npt.NDArray[np.int64]
    log_likelihood: float

    @property
    def n_levels(self) -> int:
        return int(self.pulls.size)

    @property
    def n_classes(self) -> int:
        return int(self.confusions.shape[1])

    def answer_probs(
        self, true_labels: Any, *, levels: Any, attractors: Any, annotators: Any = None
    ) -> FloatArray:
        """(N, K) answer distribution per item of one annotator.

        Parameters
        ----------
        true_labels, levels, attractors : (N,) int
            Each item's true class, difficulty level and attractor class.
        annotators : (N,) int, optional
            Who answers each item; by default a random one of the M annotators, drawn in
            proportion to how many answers each gave.
        """
        k = self.n_classes
        truth = check_labels(true_labels, n_classes=k)
        level = check_labels(levels, n_classes=self.n_levels)
        attractor = check_labels(attractors, n_classes=k)
        check_same_length("levels", level.size, "true_labels", truth.size)
        check_same_length("attractors", attractor.size, "true_labels", truth.size)
        if annotators is None:
            share = self.label_counts / self.label_counts.sum()
            confusion = np.einsum("m,mts->ts", share, self.confusions)[truth]
        else:
            worker = check_labels(annotators, n_classes=len(self.confusions))
            check_same_length("annotators", worker.size, "true_labels", truth.size)
            confusion = self.confusions[worker, truth]
        pull = self.pulls[level][:, None]
        return (1.0 - pull) * confusion + pull * np.eye(k)[attractor]

    def log_likelihood_of(self, annotations: Any, true_labels: Any) -> float:
        """Log-likelihood per answer of ``annotations`` (N, M) of items of known class,
        e.g. items held out of the fit (to choose the number of levels)."""
        answers = _answers(annotations, self.n_classes)
        truth = check_labels(true_labels, n_classes=self.n_classes)
        check_same_length("true_labels", truth.size, "annotations", answers.n_items)
        _, totals = _posterior(answers, self, truth)
        return float(totals.sum()) / answers.item.size

    def draw_items(
        self, true_labels: Any, *, annotations: Any = None, random_state: RandomState = None
    ) -> tuple[IntArray, IntArray]:
        """(levels, attractors), each (N,): drawn for items of known true class.

        From the prior, or, with ``annotations`` (N, M) as in :func:`fit_crowd` (by the
        same annotators), from the posterior given each item's answers and true class.

        Examples
        --------
        >>> model = fit_crowd(np.array([[0, 0, 1], [1, 1, 1], [0, 0, 0], [1, 0, 1]]), [0, 1, 0, 1])
        >>> levels, attractors = model.draw_items([0, 1, 0, 1], random_state=0)
        >>> levels.shape, attractors.shape
        ((4,), (4,))
        """
        truth = check_labels(true_labels, n_classes=self.n_classes)
        if annotations is None:
            posterior = _normalise(_log_prior(self, truth))
        else:
            answers = _answers(annotations, self.n_classes)
            check_same_length("true_labels", truth.size, "annotations", answers.n_items)
            posterior, _ = _posterior(answers, self, truth)
        states = _categorical(posterior, check_random_state(random_state))
        hard = states > 0
        levels = np.where(hard, 1 + (states - 1) // self.n_classes, 0).astype(np.intp)
        attractors = np.where(hard, (states - 1) % self.n_classes, truth).astype(np.intp)
        return levels, attractors


@dataclass(frozen=True)
class _Answers:
    """Long-form answers of an (N, M) annotation matrix."""

    item: IntArray
    worker: IntArray
    answer: IntArray
    n_items: int
    n_workers: int
    n_classes: int

    @property
    def per_item(self) -> sparse.csr_matrix:
        """(N, A) ones: sums a per-answer quantity over each item's answers."""
        return self._ones(self.item, self.n_items)

    @property
    def per_item_and_answer(self) -> sparse.csr_matrix:
        """(N·K, A) ones: sums over the answers of each item that say each class."""
        return self._ones(self.item * self.n_classes + self.answer, self.n_items * self.n_classes)

    def _ones(self, rows: IntArray, n_rows: int) -> sparse.csr_matrix:
        size = self.item.size
        return sparse.csr_matrix((np.ones(size), (rows, np.arange(size))), shape=(n_rows, size))


def _answers(annotations: Any, n_classes: int | None) -> _Answers:
    item, worker, answer, k = long_form(annotations, n_classes)
    n, m = np.shape(annotations)
    return _Answers(item, worker, answer, n, m, k)


def _normalise(log_probs: FloatArray) -> FloatArray:
    """Rows of exp(``log_probs``) (N, H) rescaled to sum to one."""
    shifted = np.exp(log_probs - log_probs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _log(values: Any) -> FloatArray:
    return np.log(np.maximum(values, _TINY))


def _log_prior(model: CrowdModel, truth: IntArray) -> FloatArray:
    """(N, H) log P(state | true class) per item.

    States h: 0 = level 0; 1 + (d − 1)·K + j = level d ≥ 1 with attractor j.
    """
    levels = _log(model.level_prior)
    attractors = _log(model.attractor_prior)[truth]  # (N, K) [i, j]
    hard = (levels[None, 1:, None] + attractors[:, None, :]).reshape(truth.size, -1)
    return np.concatenate([np.full((truth.size, 1), levels[0]), hard], axis=1)


def _log_answers(answers: _Answers, model: CrowdModel, truth: IntArray) -> FloatArray:
    """(N, H) Σ over each item's answers of log P(answer | true class, state)."""
    n, k = answers.n_items, answers.n_classes
    plain = model.confusions[answers.worker, truth[answers.item], answers.answer]  # (A,)
    base = answers.per_item @ _log(plain)  # (N,)
    counts = answers.per_item @ np.ones(answers.item.size)
    blocks = [base[:, None]]
    for pull in model.pulls[1:]:
        # Every answer is (1 − ρ)·C; those that say the attractor j gain ρ on top.
        gain = _log((1.0 - pull) * plain + pull) - _log((1.0 - pull) * plain)
        by_class = (answers.per_item_and_answer @ gain).reshape(n, k)
        blocks.append((base + counts * np.log1p(-pull))[:, None] + by_class)
    return np.concatenate(blocks, axis=1)


def _posterior(
    answers: _Answers, model: CrowdModel, truth: IntArray
) -> tuple[FloatArray, FloatArray]:
    """(N, H) P(state | the item's answers, its class) and (N,) log P(the answers)."""
    log_joint = _log_answers(answers, model, truth) + _log_prior(model, truth)
    top = log_joint.max(axis=1, keepdims=True)
    joint = np.exp(log_joint - top)
    totals = joint.sum(axis=1, keepdims=True)
    return joint / totals, (np.log(totals) + top)[:, 0]


def fit_crowd(
    annotations: Any,
    true_labels: Any,
    *,
    n_classes: int | None = None,
    n_levels: int = 2,
    max_iter: int = 200,
    tol: float = 1e-6,
) -> CrowdModel:
    """Fit Dawid–Skene with ``n_levels`` item difficulty levels by EM, given the truth.

    The true classes are needed: without them a unanimous wrong answer cannot be told
    from a right one, so an unsupervised fit takes the hardest items for easy items of
    another class.

    Parameters
    ----------
    annotations : (N, M) int array
        ``annotations[i, m]`` = annotator m's label for item i, -1 where m did not label
        i (the layout of :func:`~labelmend.cleaner.dawid_skene`).
    true_labels : (N,) int
        Gold labels.
    n_classes : int, optional
        K (default: largest label + 1).
    n_levels : int
        D ≥ 1; with 1 the model is Dawid–Skene's confusions counted against the truth.
    max_iter, tol : EM stops after ``max_iter`` rounds or when the log-likelihood per
        answer gains less than ``tol``.

    Examples
    --------
    A third of the items pull every answer to one wrong class, the rest are answered by
    a 90%-right annotator; the fit finds both:

    >>> rng = np.random.default_rng(0)
    >>> truth = rng.integers(0, 3, size=3000)
    >>> votes = np.where(rng.random((3000, 5)) < 0.9, truth[:, None], rng.integers(0, 3, (3000, 5)))
    >>> votes[:1000] = (truth[:1000, None] + 1) % 3
    >>> model = fit_crowd(votes, truth, n_levels=2)
    >>> model.pulls.round(2).tolist(), model.confusions[0].diagonal().round(2).tolist()
    ([0.0, 1.0], [0.93, 0.93, 0.92])
    >>> levels, attractors = model.draw_items(truth, annotations=votes, random_state=0)
    >>> pulled_wrong = (levels == 1) & (attractors != truth)
    >>> float(pulled_wrong[:1000].mean()), float(pulled_wrong[1000:].mean())
    (1.0, 0.0)
    """
    if not 1 <= n_levels <= 20:
        raise InputError(f"n_levels must lie in [1, 20]. Got {n_levels}.")
    answers = _answers(annotations, n_classes)
    k, n, m = answers.n_classes, answers.n_items, answers.n_workers
    truth = check_labels(true_labels, n_classes=k)
    check_same_length("true_labels", truth.size, "annotations", n)
    # The flat index of each answer's confusion cell, C[worker, true, answer].
    cells = (answers.worker * k + truth[answers.item]) * k + answers.answer
    # Start from Dawid–Skene's confusions, levels spread evenly over [0, 1) and
    # attractors anywhere.
    model = CrowdModel(
        _confusions(np.ones(answers.item.size), cells, m, k),
        np.arange(n_levels) / n_levels,
        np.full(n_levels, 1.0 / n_levels),
        np.full((k, k), 1.0 / k),
        np.bincount(truth, minlength=k) / n,
        np.bincount(answers.worker, minlength=m).astype(np.int64),
        -np.inf,
    )
    for _ in range(max_iter):
        updated = _em_step(answers, model, truth, cells)
        converged = updated.log_likelihood - model.log_likelihood < tol
        model = updated
        if converged:
            break
    order = np.argsort(model.pulls, kind="stable")
    return dataclasses.replace(
        model, pulls=model.pulls[order], level_prior=model.level_prior[order]
    )


def _em_step(answers: _Answers, model: CrowdModel, truth: IntArray, cells: IntArray) -> CrowdModel:
    """One E-step (each item's posterior over its states) and M-step (closed form)."""
    n, k, m = answers.n_items, answers.n_classes, answers.n_workers
    posterior, totals = _posterior(answers, model, truth)
    log_likelihood = float(totals.sum()) / answers.item.size
    # Each answer counts towards its annotator's confusion, less the part the attractor
    # explains when the answer says the attractor.
    plain = model.confusions.reshape(-1)[cells]  # (A,)
    weights = np.ones(answers.item.size)
    counts = answers.per_item @ np.ones(answers.item.size)  # (N,)
    hard = posterior[:, 1:].reshape(n, -1, k)  # (N, D − 1, K) [i, level, j]
    pulls, pulled_levels = model.pulls.copy(), hard.sum(axis=2)  # (N, D − 1)
    for level, pull in enumerate(model.pulls[1:]):
        said = hard[answers.item, level, answers.answer]  # (A,) P(level, j = s)
        pulled = said * pull / ((1.0 - pull) * plain + pull)
        weights -= pulled
        pulls[level + 1] = pulled.sum() / max(float(counts @ pulled_levels[:, level]), _TINY)
    attractors = np.zeros((k, k))
    np.add.at(attractors, truth, hard.sum(axis=1))
    attractors += 1e-3
    return CrowdModel(
        _confusions(weights, cells, m, k),
        np.clip(pulls, 0.0, 1.0 - 1e-9),
        np.concatenate([[posterior[:, 0].sum()], pulled_levels.sum(axis=0)]) / n,
        attractors / attractors.sum(axis=1, keepdims=True),
        model.class_prior,
        model.label_counts,
        log_likelihood,
    )


def _confusions(weights: FloatArray, cells: IntArray, m: int, k: int) -> FloatArray:
    """(M, K, K) confusions from each answer's weight (A,) in its cell, smoothed."""
    counts = (
        np.bincount(cells, weights=weights, minlength=m * k * k).reshape(m, k, k)
        + CONFUSION_SMOOTHING
    )
    return counts / counts.sum(axis=2, keepdims=True)
