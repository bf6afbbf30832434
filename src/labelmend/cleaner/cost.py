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
    n_samples, n_classes = probs.shape
    terms = n_classes - 1 if max_terms is None else min(max_terms, n_classes - 1)
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
    power_sums = [np.maximum(sums, 0.0) for sums in power_sums]
    # Newton's identities: k e_k = Σ_{i=1}^{k} (-1)^{i-1} e_{k-i} s_i.
    elementary: list[npt.NDArray[np.float64]] = [np.ones(n_samples)]
    total: npt.NDArray[np.float64] = np.ones(n_samples)
    for k in range(1, terms + 1):
        e_k: npt.NDArray[np.float64] = np.zeros(n_samples)
        for i in range(1, k + 1):
            e_k += (-1) ** (i - 1) * elementary[k - i] * power_sums[i - 1]
        e_k = np.maximum(e_k / k, 0.0).astype(np.float64)
        elementary.append(e_k)
        total += factorial(k) * e_k
    return np.clip(total, 1.0, float(n_classes))
