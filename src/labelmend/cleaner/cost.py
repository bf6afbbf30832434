"""Expected cost of relabelling a sample under the plurality protocol.

Protocol (Bernhardt et al., Nature Comms 2022): the current label counts as one vote;
experts are asked one at a time until one class has more votes than any other. Every
tie on the way has exactly one vote per class seen so far, so the process stops at the
first vote for a class already seen. With q = the annotator distribution without the
current label's class, the probability of needing more than r + 1 votes is
(r + 1)! e_{r+1}(q), where e_r is the r-th elementary symmetric polynomial. Hence

    E[annotations] = 1 + Σ_{r=1}^{K-1} r! · e_r(q),

computed here from power sums with Newton's identities, vectorised over samples.
"""

from __future__ import annotations

from math import factorial
from typing import Any

import numpy as np
import numpy.typing as npt

from labelmend._numeric import row_sums
from labelmend._validation import (
    check_count,
    check_labels,
    check_matrix,
    check_probability_block,
    check_same_length,
)
from labelmend.errors import InputError

#: Cells of the fix table computed at once (bounds its temporaries to a few MB).
FIX_TABLE_CELLS = 1 << 16
#: Terms of the expected-annotations series used for priorities: exact while at most
#: four classes other than the given one have probability mass.
COST_TERMS = 4


def expected_annotations(
    probs: npt.NDArray[np.floating[Any]],
    current_labels: npt.NDArray[np.intp],
    *,
    max_terms: int | None = None,
) -> npt.NDArray[np.float64]:
    """Expected number of annotations to reach a unique plurality, per sample.

    Parameters
    ----------
    probs : (N, K) array
        Distribution of one annotator's answer for each sample.
    current_labels : (N,) int array
        The label already in place, which counts as one vote.
    max_terms : int, optional
        Keep the first ``max_terms`` terms of the series (all K - 1 when None). Later
        terms matter only for distributions spread over more than ``max_terms``
        classes, which are costly either way.

    Returns
    -------
    (N,) float array, each value in [1, K].

    Examples
    --------
    A clean, clear sample needs one vote; a clear error needs two:

    >>> expected_annotations(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0, 0]))
    array([1., 2.])
    """
    array = np.asarray(probs)
    if array.ndim != 2:
        raise InputError(f"probs must have shape (N, K). Got {array.shape}.", inputs=("probs",))
    n_samples, n_classes = array.shape
    check_same_length("current_labels", len(current_labels), "probs", n_samples)
    if not n_samples:
        return np.zeros(0)
    array = check_matrix("probs", array) if array.dtype.kind != "f" else array
    check_probability_block(array, rescale_hint=False, name="probs")
    labels = check_labels(current_labels, n_classes=n_classes, name="current_labels")
    if max_terms is not None:
        check_count("max_terms", max_terms, minimum=1)
    return compute_expected_annotations(array, labels, max_terms=max_terms)


def compute_expected_annotations(
    probs: npt.NDArray[np.floating[Any]],
    current_labels: npt.NDArray[np.intp],
    *,
    max_terms: int | None = None,
) -> npt.NDArray[np.float64]:
    """:func:`expected_annotations` of inputs already checked (the engine's blocks):
    (N, K) probabilities, (N,) labels in [0, K), ``max_terms`` None or ≥ 1."""
    n_samples, n_classes = probs.shape
    terms = _series_terms(n_classes, max_terms)
    work_dtype = np.result_type(probs.dtype, np.float32)
    block = probs.astype(work_dtype, copy=False)
    given = block[np.arange(n_samples), current_labels].astype(np.float64)
    # Power sums s_r = Σ_{j≠y} p_j^r: every class's, minus the current label's term.
    # Sums run in the input's precision (float32 for float32 input), then widen; up to
    # r = 4 they take one product and four reductions.
    totals = [row_sums(block)]
    if terms >= 2:
        power = np.square(block)
        totals.append(row_sums(power))
    if terms >= 3:
        totals.append(np.einsum("ij,ij->i", power, block))
    if terms >= 4:
        totals.append(np.einsum("ij,ij->i", power, power))
    if terms >= 5:
        power *= power
        for _ in range(5, terms + 1):
            totals.append(np.einsum("ij,ij->i", power, block))
            power *= block
    power_sums = [
        total.astype(np.float64) - given**order for order, total in enumerate(totals, start=1)
    ]
    return np.clip(_plurality_series(power_sums), 1.0, float(n_classes))


def _series_terms(n_classes: int, max_terms: int | None) -> int:
    """Terms of the plurality series kept: all K − 1, or at most ``max_terms``."""
    return n_classes - 1 if max_terms is None else min(max_terms, n_classes - 1)


def _plurality_series(power_sums: list[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    """1 + Σ_{r=1}^{R} r! e_r from the power sums s_1..s_R of the classes not yet seen.

    Newton's identities: k e_k = Σ_{i=1}^{k} (-1)^{i-1} e_{k-i} s_i. Any array shape.
    """
    power_sums = [np.maximum(sums, 0.0) for sums in power_sums]
    shape = power_sums[0].shape
    elementary: list[npt.NDArray[np.float64]] = [np.ones(shape)]
    total: npt.NDArray[np.float64] = np.ones(shape)
    for k in range(1, len(power_sums) + 1):
        e_k: npt.NDArray[np.float64] = np.zeros(shape)
        for i in range(1, k + 1):
            e_k += (-1) ** (i - 1) * elementary[k - i] * power_sums[i - 1]
        e_k = np.maximum(e_k / k, 0.0).astype(np.float64)
        elementary.append(e_k)
        total += factorial(k) * e_k
    return total


def fix_probabilities(
    answers: npt.NDArray[np.floating[Any]], *, max_terms: int | None = None
) -> npt.NDArray[np.float64]:
    """P(a review settles on the true class), for every current label and true class.

    Experts answer a sample of true class t from column t of ``answers``. Starting from
    the current label y, the review ends on class t ≠ y when t has been answered once and
    is answered again: P = a_t · (E_y − E_{y,t}), where E_S = 1 + Σ r! e_r(a without the
    classes in S), the series of :func:`expected_annotations`; for t = y it ends on y
    with P = a_y · E_y (confirmed).

    Parameters
    ----------
    answers : (K, K) array
        ``answers[s, t]`` = P(an expert answers s | true class t); columns sum to 1
        (a noise model's likelihood, :meth:`~labelmend.cleaner.noise.NoiseModel.likelihood`).
    max_terms : int, optional
        Terms of the series, as in :func:`expected_annotations`.

    Returns
    -------
    (K, K) float array ``[current, true]`` with values in [0, 1].

    Examples
    --------
    Perfect experts always fix; experts answering at random fix a wrong binary label
    a quarter of the time (two answers for the other class in a row):

    >>> fix_probabilities(np.eye(2))
    array([[1., 1.],
           [1., 1.]])
    >>> fix_probabilities(np.full((2, 2), 0.5))
    array([[0.75, 0.25],
           [0.25, 0.75]])
    """
    columns = np.asarray(answers, dtype=np.float64)
    if columns.ndim != 2 or columns.shape[0] != columns.shape[1]:
        raise InputError(
            f"answers must have shape (K, K). Got {columns.shape}.", inputs=("answers",)
        )
    if not np.isfinite(columns).all():
        raise InputError("answers contains NaN or infinite values.", inputs=("answers",))
    n_classes = columns.shape[0]
    terms = _series_terms(n_classes, max_terms)
    fix = np.empty((n_classes, n_classes))
    # A few true classes at a time bound the (K, chunk) temporaries of the series.
    chunk = max(1, FIX_TABLE_CELLS // n_classes)
    for start in range(0, n_classes, chunk):
        true = np.arange(start, min(start + chunk, n_classes))
        fix[:, true] = _fix_columns(columns[:, true], true, terms)
    return fix


def row_fix_probabilities(
    columns: npt.NDArray[np.floating[Any]],
    current_labels: npt.NDArray[np.intp],
    true_labels: npt.NDArray[np.intp],
    *,
    max_terms: int | None = None,
) -> npt.NDArray[np.float64]:
    """(N,) P(a review settles on ``true_labels[i]``) from ``current_labels[i]``, the
    experts answering sample i from its own column ``columns[:, i]`` (K, N) of answer
    probabilities for that true class: :func:`fix_probabilities` row by row.

    >>> row_fix_probabilities(np.array([[0.1, 0.5], [0.9, 0.5]]), np.array([0, 0]),
    ...                       np.array([1, 1]))
    array([0.81, 0.25])
    """
    answers = np.asarray(columns, dtype=np.float64)
    n_classes, n_samples = answers.shape
    terms = _series_terms(n_classes, max_terms)
    fix = np.empty(n_samples)
    chunk = max(1, FIX_TABLE_CELLS // n_classes)
    for start in range(0, n_samples, chunk):
        rows = np.arange(start, min(start + chunk, n_samples))
        table = _fix_columns(answers[:, rows], true_labels[rows], terms)
        fix[rows] = table[current_labels[rows], rows - start]
    return fix


def _fix_columns(
    columns: npt.NDArray[np.float64], true: npt.NDArray[np.intp], terms: int
) -> npt.NDArray[np.float64]:
    """:func:`fix_probabilities` for the true classes ``true``, whose columns are given."""
    own = columns[true, np.arange(true.size)]  # a_t for each true class t
    other = np.arange(columns.shape[0])[:, None] != true[None, :]
    # Power sums of each column without the current label (row y), then also without t.
    without_current, without_both = [], []
    powers, own_powers = columns, own
    for _ in range(terms):
        sums = powers.sum(axis=0)[None, :] - powers
        without_current.append(sums)
        without_both.append(np.where(other, sums - own_powers[None, :], 0.0))
        powers, own_powers = powers * columns, own_powers * own
    settle_current = _plurality_series(without_current)
    reach_true = settle_current - _plurality_series(without_both)
    fix = own[None, :] * np.where(other, reach_true, settle_current)
    return np.clip(fix, 0.0, 1.0)
