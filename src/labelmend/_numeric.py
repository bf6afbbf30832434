"""Small numeric kernels shared by the validation and the ranking engine."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


def row_sums(block: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """(n,) sum of each row of an (n, K) array, in the array's own precision.

    ``einsum`` sums rows of a C-ordered array with wide SIMD lanes, 3–4× faster than
    ``block.sum(axis=1)`` (pairwise, strided); the error for float32 stays around K·1e-7
    of the row's total, far below every tolerance used on probabilities.

    >>> row_sums(np.array([[0.25, 0.75], [1.0, 2.0]]))
    array([1., 3.])
    """
    return np.einsum("ij->i", block)


def logit(p: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Log-odds log(p / (1 − p)) of probabilities in (0, 1), elementwise.

    >>> logit(np.array([0.5, 0.9])).round(3)
    array([0.   , 2.197])
    """
    return np.log(p) - np.log1p(-p)


def logistic(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The logistic function 1 / (1 + e^−x), elementwise, without overflow for any x.

    >>> logistic(np.array([0.0, 2000.0, -2000.0]))
    array([0.5, 1. , 0. ])
    """
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def softmax_rows(
    logits: npt.NDArray[Any], *, row_max: npt.NDArray[Any] | None = None
) -> npt.NDArray[Any]:
    """(n, K) softmax of each row of (n, K) ``logits``, in a new array.

    ``row_max`` (n,): each row's largest logit, when the caller has it already.

    >>> softmax_rows(np.log(np.array([[1.0, 3.0], [2.0, 2.0]]))).round(2)
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    top = logits.max(axis=1) if row_max is None else row_max
    shifted = logits - top[:, None]
    np.exp(shifted, out=shifted)
    shifted /= row_sums(shifted)[:, None]
    return shifted
