"""The relabelling protocol, vectorised over samples.

A relabel (Bernhardt et al., Nature Comms 2022): the current label counts as one vote;
experts answer one at a time until one class has more votes than any other. Every tie
on the way has exactly one vote per class seen so far, so the review stops at the first
answer for a class already seen, after at most K answers; that class is the new label.
Answers are drawn in advance, K per review (:func:`draw_streams`), so the outcome and
cost of reviewing any set of samples is one vectorised pass (:func:`relabel`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from labelmend._validation import (
    RandomState,
    check_count,
    check_labels,
    check_matrix,
    check_probability_block,
    check_random_state,
    check_same_length,
)
from labelmend.errors import InputError

IntArray = npt.NDArray[np.intp]


def draw_streams(probs: npt.NDArray[np.float64], *, n_reviews: int, rng: RandomState) -> IntArray:
    """Pre-draw expert answers: (N, n_reviews, K) ints, K answers per review and sample.

    ``probs`` (N, K): each sample's answer distribution (rows sum to 1, as
    :attr:`~labelmend.simulator.annotators.AnnotatorModel.probs`); ``n_reviews`` ≥ 1;
    ``rng`` a Generator (or an int seed).

    >>> streams = draw_streams(np.array([[1.0, 0.0]]), n_reviews=2, rng=np.random.default_rng(0))
    >>> streams.tolist()
    [[[0, 0], [0, 0]]]
    """
    probs = check_matrix("probs", probs)
    check_probability_block(probs, rescale_hint=False, name="probs")
    check_count("n_reviews", n_reviews, minimum=1)
    rng = check_random_state(rng, name="rng")
    n, k = probs.shape
    cdf = np.cumsum(probs, axis=1)
    uniforms = rng.random((n, n_reviews, k)) * cdf[:, -1, None, None]
    draws = np.empty((n, n_reviews, k), dtype=np.intp)
    for review in range(n_reviews):
        # (N, K answers, K classes) comparisons, one review at a time to bound memory.
        draws[:, review] = (uniforms[:, review, :, None] >= cdf[:, None, :]).sum(axis=2)
    return np.minimum(draws, k - 1, out=draws)


def relabel(current: IntArray, answers: IntArray) -> tuple[IntArray, IntArray]:
    """Outcome of reviewing each sample: (new label, annotations spent), both (n,).

    Parameters
    ----------
    current : (n,) int
        Labels in place, counted as one vote each.
    answers : (n, K) int
        Pre-drawn answers of successive experts for each sample.

    Examples
    --------
    A confirmed label costs one answer; a fix costs at least two:

    >>> relabel(np.array([0, 0, 1]), np.array([[0, 2, 1], [1, 1, 0], [2, 0, 0]]))
    (array([0, 1, 0]), array([1, 2, 3]))
    """
    answers = np.asarray(answers)
    if answers.ndim != 2:
        raise InputError(f"answers must have shape (n, K). Got {answers.shape}.")
    n, k = answers.shape
    check_same_length("current", len(current), "answers", n)
    if n:  # the checked labels (ints, whatever was given) are the ones used
        current = check_labels(current, n_classes=k, name="current")
        answers = check_labels(answers.ravel(), n_classes=k, name="answers").reshape(n, k)
    else:
        current = np.zeros(0, dtype=np.intp)
    rows = np.arange(n)
    seen = np.zeros((n, k), dtype=bool)
    seen[rows, current] = True
    outcome = current.copy()
    cost = np.full(n, k, dtype=np.intp)
    open_ = np.ones(n, dtype=bool)
    for step in range(k):
        answer = answers[:, step]
        hit = open_ & seen[rows, answer]
        outcome[hit] = answer[hit]
        cost[hit] = step + 1
        open_ &= ~hit
        seen[rows, answer] = True
    return outcome, cost


#: Classes other than the current one tracked exactly by :func:`outcome_probabilities`;
#: beyond this, the least probable classes are dropped (2^11 states per sample).
EXACT_OTHER_CLASSES = 11


def outcome_probabilities(
    probs: npt.NDArray[np.float64], current: IntArray
) -> npt.NDArray[np.float64]:
    """Exact distribution of a review's outcome, (N, K): P(new label = c).

    A review stops at the first answer for a class already seen, starting from the set
    {current}. Summing over the sets S that can be seen, P(outcome = c) = q_c · Σ_{S ∋ c}
    P(reach S), with P(reach S) built up over subsets in increasing order: a dynamic
    programme over 2^(K-1) subsets, vectorised over samples.

    Examples
    --------
    >>> outcome_probabilities(np.array([[0.5, 0.5]]), np.array([0]))
    array([[0.75, 0.25]])
    """
    n, k = probs.shape
    # Columns reordered so that the current label comes first.
    columns = np.argsort(np.arange(k)[None, :] != current[:, None], axis=1, kind="stable")
    q = np.take_along_axis(probs, columns, axis=1)
    if k - 1 > EXACT_OTHER_CLASSES:
        keep = np.argsort(-q[:, 1:], axis=1, kind="stable")[:, :EXACT_OTHER_CLASSES] + 1
        columns = np.take_along_axis(columns, keep, axis=1)
        columns = np.concatenate([current[:, None], columns], axis=1)
        q = np.take_along_axis(probs, columns, axis=1)
        q /= q.sum(axis=1, keepdims=True)
    n_other = q.shape[1] - 1
    reach = np.zeros((1 << n_other, n))
    reach[0] = 1.0
    outcome = np.zeros_like(q)
    for subset in range(1 << n_other):
        mass = reach[subset]
        if not mass.any():
            continue
        members = [0] + [j + 1 for j in range(n_other) if subset >> j & 1]
        outcome[:, members] += mass[:, None] * q[:, members]
        for j in range(n_other):
            if not subset >> j & 1:
                reach[subset | 1 << j] += mass * q[:, j + 1]
    result = np.zeros((n, k))
    np.put_along_axis(result, columns, outcome, axis=1)
    return result
