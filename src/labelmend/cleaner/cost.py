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
    # Power sums s_k = Σ_{j≠y} p_j^k: every class's, minus the current label's term.
    power_sums = [block.sum(axis=1, dtype=np.float64) - given]
    if terms > 1:
        power = block * block
        power_sums.append(power.sum(axis=1, dtype=np.float64) - given**2)
        for k in range(3, terms + 1):
            power_sums.append(np.einsum("ij,ij->i", power, block).astype(np.float64) - given**k)
            if k < terms:
                power *= block
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
