"""Count the label errors left: one estimate, with a 95 % interval.

Each sample's label is wrong with some probability: its ``p_error`` from the ranking
engine, or, once an expert has decided the label, the decision's own uncertainty (0 for
one trusted expert). The number of wrong labels is then a sum of independent Bernoulli
variables (Poisson-binomial): its mean is Σ p and its variance Σ p (1 − p). The interval
is the normal approximation, mean ± 1.96 · sd, clipped to [0, N].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelmend.errors import InputError

#: The name every command, the demo and the report give the estimate.
ERRORS_REMAINING = "estimated label errors remaining"
#: z of a two-sided 95 % normal interval.
Z_95 = 1.959963984540054


@dataclass(frozen=True)
class ErrorCount:
    """Expected number of wrong labels and a 95 % interval.

    Attributes
    ----------
    expected : float
        Σ p over the samples.
    low, high : float
        The 95 % interval, ``expected ± 1.96 · sqrt(Σ p (1 − p))`` clipped to [0, N].
    decided : int
        Samples counted by an expert's decision instead of their ``p_error``.
    """

    expected: float
    low: float
    high: float
    decided: int

    def __str__(self) -> str:
        return f"{self.expected:,.1f} (95% interval {self.low:,.1f}–{self.high:,.1f})"


def count_errors(
    p_error: Any,
    *,
    decided: Any | None = None,
    decided_p_wrong: Any | None = None,
    rest_sum: float = 0.0,
    n_rest: int = 0,
) -> ErrorCount:
    """Estimate how many labels are still wrong.

    Parameters
    ----------
    p_error : (N,) float
        Each sample's probability that its scored label is wrong.
    decided : (N,) bool, optional
        Samples whose current label an expert decided after the predictions were made;
        their ``p_error`` no longer applies.
    decided_p_wrong : (N,) float, optional
        For decided samples, the probability the decision is wrong (default 0).
    rest_sum, n_rest : float, int
        Σ p_error of ``n_rest`` further samples known only as a total (the rows a sharded
        run did not store). Their variance is bounded by the total (p (1 − p) ≤ p), so
        the interval stays conservative.

    Examples
    --------
    >>> count = count_errors([0.9, 0.5, 0.1, 0.8], decided=[True, False, False, False])
    >>> round(count.expected, 2), count.decided
    (1.4, 1)
    >>> str(count_errors([0.0, 1.0]))
    '1.0 (95% interval 1.0–1.0)'
    """
    p = np.asarray(p_error, dtype=np.float64).ravel().copy()
    if p.size and not (np.isfinite(p).all() and p.min() >= 0.0 and p.max() <= 1.0):
        raise InputError("p_error must hold probabilities in [0, 1].")
    mask = np.zeros(p.size, bool) if decided is None else np.asarray(decided, dtype=bool)
    if mask.shape != p.shape:
        raise InputError(f"decided has shape {mask.shape} but p_error has shape {p.shape}.")
    if decided_p_wrong is None:
        p[mask] = 0.0
    else:
        p[mask] = np.asarray(decided_p_wrong, dtype=np.float64).ravel()[mask]
    if not 0.0 <= rest_sum <= max(n_rest, 0):
        raise InputError(f"rest_sum must lie in [0, n_rest={n_rest}]. Got {rest_sum}.")
    expected = float(p.sum()) + rest_sum
    spread = Z_95 * float(np.sqrt((p * (1.0 - p)).sum() + rest_sum))
    n = p.size + n_rest
    return ErrorCount(
        expected=expected,
        low=max(0.0, expected - spread),
        high=min(float(n), expected + spread),
        decided=int(mask.sum()),
    )
