"""Count the label errors left: one estimate, with a 95 % interval.

Each sample's label is wrong with some probability: its ``p_error`` from the ranking
engine, or, once an expert has decided the label, the decision's own uncertainty (0 for
one trusted expert). Were those probabilities exact, the number of wrong labels would be
a sum of independent Bernoulli variables (Poisson-binomial): mean Σ p, variance
Σ p (1 − p). They are estimates, and that chance is the smaller part of the uncertainty
on any large set: on the real-noise sets of ``benchmarks/error_interval.py`` (every
label's truth known) Σ p_error was 16 % below to 1 % above the true count on the CIFAR
and music sets, and an interval of chance alone held the truth in 24 of 65 runs of those
and of random flips (3 of 25 on the CIFAR sets). So the variance adds the estimate's own
error, a relative standard deviation :data:`ESTIMATE_RELATIVE_SD` of Σ p_error (of the
rows no expert decided). The interval is the normal approximation, mean ± 1.96 · sd,
clipped to [0, N].

Two sums need no numpy: the standard library's exactly rounded :func:`math.fsum` does them
at C speed, so ``labelmend status``, which prints this count, starts without importing
numpy (docs/store.md, "Start-up").
"""

from __future__ import annotations

import math
import operator
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress
from typing import Any

from labelmend.errors import InputError

#: The name every command, the demo and the report give the estimate.
ERRORS_REMAINING = "estimated label errors remaining"
#: The name every command and the report give Σ p_error of a set of samples: a queue,
#: the next batch a queue would take, the top k of a ranking.
EXPECTED_ERRORS = "expected label errors"
#: The name status and the report give the samples whose current label an expert decided
#: (changed or confirmed; a tie waiting for another vote is not decided).
DECIDED = "samples decided by an expert"
#: z of a two-sided 95 % normal interval.
Z_95 = 1.959963984540054
#: Relative standard deviation of Σ p_error against the true number of wrong labels, added
#: to the interval's chance: the least value whose 95 % interval covers the truth in 95 %
#: of the runs of ``benchmarks/error_interval.py`` (real annotator noise on CIFAR-10 and
#: music, random flips on digits and breast cancer; 5 seeds). Left out of its choice, and
#: not covered: noise no count from labels and probabilities can see (docs/store.md).
ESTIMATE_RELATIVE_SD = 0.10


@dataclass(frozen=True)
class ErrorCount:
    """Expected number of wrong labels and a 95 % interval.

    Attributes
    ----------
    expected : float
        Σ p over the samples.
    low, high : float
        The 95 % interval, ``expected ± 1.96 · sqrt(Σ p (1 − p) + (s · Σ p_error)²)``
        clipped to [0, N] (s = ``relative_sd`` of :func:`count_errors`).
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
    relative_sd: float = ESTIMATE_RELATIVE_SD,
) -> ErrorCount:
    """Estimate how many labels are still wrong.

    Parameters
    ----------
    p_error : (N,) float, a sequence or an array
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
    relative_sd : float
        The estimate's own relative standard deviation: s · (Σ p_error of the rows not
        decided + ``rest_sum``) joins the interval's standard deviation. 0 leaves only
        the chance in the labels, as if p_error were exact.

    Examples
    --------
    >>> count = count_errors([0.9, 0.5, 0.1, 0.8], decided=[True, False, False, False])
    >>> round(count.expected, 2), count.decided
    (1.4, 1)
    >>> str(count_errors([0.0, 1.0]))
    '1.0 (95% interval 0.8–1.2)'
    >>> str(count_errors([0.0, 1.0], relative_sd=0.0))  # chance alone
    '1.0 (95% interval 1.0–1.0)'
    """
    p = _floats(p_error, "p_error")
    decided_at: list[int] = []
    if decided is not None:
        mask = list(_values(decided))
        if len(mask) != len(p):
            raise InputError(f"decided has {len(mask)} entries but p_error has {len(p)}.")
        decided_at = list(compress(range(len(p)), mask))
        wrong = [0.0] * len(p)
        if decided_p_wrong is not None:
            wrong = _floats(decided_p_wrong, "decided_p_wrong")
            if len(wrong) != len(p):
                raise InputError(
                    f"decided_p_wrong has {len(wrong)} entries but p_error has {len(p)}."
                )
        for index in decided_at:
            p[index] = wrong[index]
    total = math.fsum(p)  # NaN or infinite if any value is
    if not math.isfinite(total) or (p and (min(p) < 0.0 or max(p) > 1.0)):
        raise InputError("p_error must hold probabilities in [0, 1].")
    if not 0.0 <= rest_sum <= max(n_rest, 0):
        raise InputError(f"rest_sum must lie in [0, n_rest={n_rest}]. Got {rest_sum}.")
    if not 0.0 <= relative_sd < math.inf:
        raise InputError(
            f"relative_sd must be a finite number ≥ 0. Got {relative_sd}.", inputs=("relative_sd",)
        )
    expected = total + rest_sum
    variance = total - sum(map(operator.mul, p, p))  # Σ p (1 − p)
    estimated = total - math.fsum(p[index] for index in decided_at) + rest_sum
    spread = Z_95 * math.sqrt(max(variance, 0.0) + rest_sum + (relative_sd * estimated) ** 2)
    n = len(p) + n_rest
    return ErrorCount(
        expected=expected,
        low=max(0.0, expected - spread),
        high=min(float(n), expected + spread),
        decided=len(decided_at),
    )


def _values(values: Any) -> Iterable[Any]:
    """The entries of a sequence, a 1-D numpy array or a pandas Series, as Python scalars."""
    return values.tolist() if hasattr(values, "tolist") else values


def _floats(values: Any, name: str) -> list[float]:
    """Numbers as a list: a 1-D array's own ``tolist`` (Python floats already), else
    floats; anything else is refused naming the input ``name``."""
    expected = f"{name} must be numbers of shape (N,)."
    if hasattr(values, "tolist"):
        if values.ndim != 1 or values.dtype.kind not in "biuf":
            raise InputError(
                f"{expected} Got an array of shape {values.shape} and dtype {values.dtype}.",
                inputs=(name,),
            )
        return values.tolist()
    try:
        return list(map(float, values))
    except (TypeError, ValueError):
        raise InputError(f"{expected} Got {reprlib.repr(values)}.", inputs=(name,)) from None
