"""Count the label errors left: one estimate, with a 95 % interval.

Each sample's label is wrong with some probability: its ``p_error`` from the ranking
engine, or, once an expert has decided the label, the decision's own uncertainty (0 for
one trusted expert). Were those probabilities exact, the number of wrong labels would be
a sum of independent Bernoulli variables (Poisson-binomial): mean Σ p, variance
Σ p (1 − p). They are estimates, and that chance is the smaller part of the uncertainty:
on the real-noise sets of ``benchmarks/error_interval.py`` (every label's truth known;
20 seeds) Σ p_error was 17 % below to 9 % above the true count on the CIFAR and music
sets and up to 57 % below with 5 % random flips on 284 rows, and an interval of chance
alone held the truth in 105 of 260 runs. So the variance adds the estimate's own error: a
variance of :data:`ERROR_VARIANCE_PER_ERROR` per expected error, which dominates on
small sets, and a relative standard deviation :data:`ESTIMATE_RELATIVE_SD` of the whole
count, which dominates on large ones (both on Σ p_error of the rows no expert decided).
The interval is the normal approximation, mean ± 1.96 · sd, clipped to [0, N].

Two sums need no numpy: the standard library's exactly rounded :func:`math.fsum` does them
at C speed, so ``labelmend status``, which prints this count, starts without importing
numpy (docs/store.md, "Start-up").
"""

from __future__ import annotations

import math
import numbers
import operator
import reprlib
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress
from typing import Any

from labelmend._rows import row_name
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
#: The estimate's own error, added to the interval's chance: a variance per expected
#: error and a relative standard deviation of the count. The pair whose 95 % interval is
#: narrowest among those that hold the truth in 95 % of the runs of
#: ``benchmarks/error_interval.py`` (real annotator noise on CIFAR-10 and music, random
#: flips on digits and breast cancer; 20 seeds), with its leave-one-group-out numbers in
#: docs/ranking.md. Left out of the choice, and not covered: noise no count from labels
#: and probabilities can see.
ERROR_VARIANCE_PER_ERROR = 1.6
ESTIMATE_RELATIVE_SD = 0.04


@dataclass(frozen=True)
class ErrorCount:
    """Expected number of wrong labels and a 95 % interval.

    Attributes
    ----------
    expected : float
        Σ p over the samples.
    low, high : float
        The 95 % interval, ``expected ± 1.96 · sqrt(Σ p (1 − p) + a · E + (s · E)²)``
        clipped to [0, N], E the Σ p_error of the rows no expert decided, a and s the
        ``variance_per_error`` and ``relative_sd`` of :func:`count_errors`.
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
    variance_per_error: float = ERROR_VARIANCE_PER_ERROR,
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
    variance_per_error, relative_sd : float
        The estimate's own error: with E = Σ p_error of the rows not decided +
        ``rest_sum``, a variance of ``variance_per_error`` · E + (``relative_sd`` · E)²
        joins the chance's. Both 0 leave the chance in the labels alone, as if p_error
        were exact.

    Examples
    --------
    >>> count = count_errors([0.9, 0.5, 0.1, 0.8], decided=[True, False, False, False])
    >>> round(count.expected, 2), count.decided
    (1.4, 1)
    >>> str(count_errors([0.0, 1.0]))
    '1.0 (95% interval 0.0–2.0)'
    >>> str(count_errors([0.0, 1.0], variance_per_error=0.0, relative_sd=0.0))  # chance
    '1.0 (95% interval 1.0–1.0)'
    """
    p = _floats(p_error, "p_error")
    decided_at: list[int] = []
    if decided is not None:
        mask = list(_values(decided))
        if len(mask) != len(p):
            raise InputError(f"decided has {len(mask)} entries but p_error has {len(p)}.")
        _check_booleans(mask, "decided")
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
    try:
        total = math.fsum(p)  # NaN or infinite if any value is
        valid = math.isfinite(total) and not (p and (min(p) < 0.0 or max(p) > 1.0))
    except TypeError:  # a missing value: None (a masked entry) or pandas' NA
        valid = False
    if not valid:
        row = next(i for i, value in enumerate(p) if not _is_probability(value))
        name = "decided_p_wrong" if row in set(decided_at) else "p_error"
        raise InputError(
            f"{name} must hold probabilities in [0, 1]; found {p[row]!r} at {row_name(row)}.",
            inputs=(name,),
        )
    if isinstance(n_rest, bool) or not isinstance(n_rest, numbers.Integral) or n_rest < 0:
        raise InputError(f"n_rest must be an integer ≥ 0. Got {n_rest!r}.", inputs=("n_rest",))
    if not _is_real(rest_sum) or not 0.0 <= rest_sum <= n_rest:
        raise InputError(
            f"rest_sum must lie in [0, n_rest={n_rest}]. Got {rest_sum!r}.", inputs=("rest_sum",)
        )
    for name, value in (("variance_per_error", variance_per_error), ("relative_sd", relative_sd)):
        if not _is_real(value) or not 0.0 <= value < math.inf:
            raise InputError(f"{name} must be a finite number ≥ 0. Got {value!r}.", inputs=(name,))
    expected = total + rest_sum
    variance = total - sum(map(operator.mul, p, p))  # Σ p (1 − p)
    estimated = total - math.fsum(p[index] for index in decided_at) + rest_sum
    own = variance_per_error * estimated + (relative_sd * estimated) ** 2
    spread = Z_95 * math.sqrt(max(variance, 0.0) + rest_sum + own)
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


def _is_real(value: Any) -> bool:
    """A real number (Python's or numpy's, any precision), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_probability(value: Any) -> bool:
    return _is_real(value) and 0.0 <= value <= 1.0


def _check_booleans(mask: list[Any], name: str) -> None:
    """Refuse a mask holding anything but True/False (or 1/0): any truthy value, "no" say,
    would count as True."""
    try:
        booleans = set(mask) <= {0, 1}
    except TypeError:  # unhashable entries
        booleans = False
    if not booleans:
        found = next(v for v in mask if not isinstance(v, numbers.Real) or v not in (0, 1))
        raise InputError(
            f"{name} must be booleans (True/False or 1/0); found {found!r}.", inputs=(name,)
        )
