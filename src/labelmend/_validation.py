"""Input checks shared by every public function: one place, one wording.

Public functions validate once at the boundary and then call private ``_compute_*``
helpers that trust their inputs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from pathlib import PurePath
from typing import Any

import numpy as np
import numpy.typing as npt

from labelmend._numeric import row_sums
from labelmend._rows import row_name
from labelmend.errors import InputError

#: How many names a message lists before it says how many more there are.
LISTED = 8

#: How far a row of probabilities may be from summing to one (float32 rounding).
ROW_SUM_TOLERANCE = 1e-3

RandomState = int | np.random.Generator | None


def is_number(value: Any) -> bool:
    """A real number, Python's or numpy's (any precision), and not a bool.

    >>> is_number(np.float32(0.5)), is_number("0.5"), is_number(True)
    (True, False, False)
    """
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def check_random_state(
    random_state: RandomState, *, name: str = "random_state"
) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`; never global seeding.
    ``name``: what the message calls it (``rng``). A bool is not a seed (True is not 1).

    >>> int(check_random_state(0).integers(10)) == int(check_random_state(0).integers(10))
    True
    >>> check_random_state(True)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: random_state must be an int, a numpy.random.Generator or None. Got bool instead.
    """
    if isinstance(random_state, bool) or not isinstance(
        random_state, int | np.integer | np.random.Generator | None
    ):
        raise InputError(
            f"{name} must be an int, a numpy.random.Generator or None. "
            f"Got {type(random_state).__name__} instead.",
            inputs=(name,),
        )
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is not None and random_state < 0:  # numpy refuses it
        raise InputError(
            f"{name} must be a non-negative int, a numpy.random.Generator or None. "
            f"Got {random_state}.",
            inputs=(name,),
        )
    return np.random.default_rng(random_state)


def check_choice(name: str, value: str, choices: Collection[str]) -> str:
    """Check that ``value`` of the parameter ``name`` is one of ``choices``; the message
    lists them.

    >>> check_choice("method", "margin", {"margin"})
    'margin'
    """
    if value not in choices:
        listed = ", ".join(repr(c) for c in sorted(choices))
        raise InputError(
            f"{name} must be one of {{{listed}}}. Got {value!r} instead.", inputs=(name,)
        )
    return value


def check_labels(
    labels: Any, n_classes: int | None = None, *, name: str = "labels"
) -> npt.NDArray[np.intp]:
    """Return ``labels`` as a 1-D integer array, checking values lie in ``[0, n_classes)``.

    Floats are accepted only when every value is a whole number. ``name``: what the
    messages call the input (``votes``, ``current_labels``).

    >>> check_labels([0, 2, 1], n_classes=3)
    array([0, 2, 1])
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise InputError(
            f"{name} must be 1-D with shape (N,). Got shape {array.shape} instead.",
            inputs=(name,),
        )
    if array.size == 0:
        raise InputError(f"{name} is empty: expected at least one sample.", inputs=(name,))
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise InputError(
                f"{name} must be whole numbers; found non-integer values.", inputs=(name,)
            )
    elif array.dtype.kind not in "iu":
        raise InputError(
            f"{name} must be integers in [0, K). Got dtype {array.dtype} instead "
            "(map class names to indices first, e.g. with labelmend.io.encode_labels).",
            inputs=(name,),
        )
    as_int = array.astype(np.intp, copy=False)
    low, high = int(as_int.min()), int(as_int.max())
    if low < 0 or (n_classes is not None and high >= n_classes):
        bound = "" if n_classes is None else f", {n_classes})"
        raise InputError(
            f"{name} must lie in [0{bound or ', K)'}; found values from {low} to {high}.",
            inputs=(name,),
        )
    return as_int


def check_n_classes(n_classes: int) -> int:
    """Classification needs at least two classes."""
    if n_classes < 2:
        raise InputError(
            f"pred_probs must have at least 2 columns (classes). Got {n_classes}.",
            inputs=("pred_probs",),
        )
    return n_classes


def check_matrix(name: str, values: Any) -> npt.NDArray[np.float64]:
    """Return ``values`` as a float64 (N, K) array with N ≥ 1 rows and K ≥ 2 columns
    (classes); the message names ``name`` and the shape found.

    >>> check_matrix("probs", [0.5, 0.5])
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: probs must have shape (N, K) with N ≥ 1 and K ≥ 2. Got shape (2,).
    """
    array = np.asarray(values)
    if array.dtype.kind not in "fiub":
        raise InputError(f"{name} must be numeric. Got dtype {array.dtype}.", inputs=(name,))
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] < 2:
        raise InputError(
            f"{name} must have shape (N, K) with N ≥ 1 and K ≥ 2. Got shape {array.shape}.",
            inputs=(name,),
        )
    return array.astype(np.float64, copy=False)


def check_probability_block(
    block: npt.NDArray[np.floating[Any]],
    *,
    first_row: int = 0,
    rescale_hint: bool = True,
    name: str = "pred_probs",
    row: str = "row",
    source: str | PurePath | None = None,
) -> None:
    """Check one block of rows of predicted probabilities: finite, non-negative, rows sum to 1.

    ``first_row`` is the block's offset, so that messages name the row in the whole array;
    ``name``: what the messages call the input (``probs``, ``confusions[0]``); ``row``:
    what they call a row of ``block`` (``column`` when it is the transpose of the input);
    ``source``: the file the rows are in, in its order (see :func:`row_name`).
    ``rescale_hint=False`` leaves out the advice to pass ``normalize`` / ``from_logits``
    (for callers that have no such options). The messages name their inputs (see
    :class:`~labelmend.errors.InputError`), so the CLI shows its flags instead.
    Row sums (in the block's own precision) catch NaN and infinities in one pass; the slow
    search for the offending row runs only once something is wrong.
    """
    sums = row_sums(block)
    if not np.all(np.isfinite(sums)) and not np.all(np.isfinite(block)):
        first = first_row + int(np.nonzero(~np.isfinite(block).all(axis=1))[0][0])
        raise InputError(
            f"{name} contains NaN or infinite values "
            f"(first in {row_name(first, source, what=row)}).",
            inputs=(name,),
        )
    inputs = (name, "normalize", "from_logits") if rescale_hint else (name,)
    if block.size and block.min() < 0:
        first = first_row + int(np.nonzero((block < 0).any(axis=1))[0][0])
        hint = " (pass from_logits=True for logits)" if rescale_hint else ""
        raise InputError(
            f"{name} contains negative values (first in {row_name(first, source, what=row)}); "
            f"expected probabilities{hint}.",
            inputs=inputs,
        )
    deviation = np.abs(sums - 1.0)
    # The sum's own rounding (about K ulps) is not held against a row at the tolerance:
    # rows that sum to 0.999 are within 0.001 even where the sum comes out 0.0010000001 off.
    slack = block.shape[-1] * np.finfo(sums.dtype).eps if sums.dtype.kind == "f" else 0.0
    if deviation.size and deviation.max() > ROW_SUM_TOLERANCE + slack:
        worst = int(deviation.argmax())
        hint = (
            " Pass normalize=True to rescale rows, or from_logits=True for logits."
            if rescale_hint
            else ""
        )
        raise InputError(
            f"{name} {row}s must sum to 1 (within {ROW_SUM_TOLERANCE:g}); "
            f"{row_name(first_row + worst, source, what=row)} is off by {deviation[worst]:.4g}."
            f"{hint}",
            inputs=inputs,
        )


def check_flag(name: str, value: Any) -> bool:
    """Check that the flag ``name`` is True or False (Python's or numpy's); return it as
    a bool. Other values are refused, truthy or not: the string "no" is not False.

    >>> check_flag("normalize", np.True_)
    True
    >>> check_flag("normalize", "no")
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: normalize must be True or False. Got 'no'.
    """
    if not isinstance(value, bool | np.bool_):
        raise InputError(f"{name} must be True or False. Got {value!r}.", inputs=(name,))
    return bool(value)


def check_count(name: str, value: Any, *, minimum: int = 0) -> int:
    """Check that ``value`` of the parameter ``name`` is an integer ≥ ``minimum`` (a bool
    is not one); return it as an int.

    >>> check_count("n_reviews", 0, minimum=1)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: n_reviews must be an integer ≥ 1. Got 0.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError(f"{name} must be an integer ≥ {minimum}. Got {value!r}.", inputs=(name,))
    return int(value)


def check_row_count(name: str, count: Any, n_train: int) -> int:
    """``count`` as a number of training rows to unlearn (repair's ``budget``, a failure
    type's ``k``): a whole number in [0, N), one wording for each.

    >>> check_row_count("k", 3, 10)
    3
    >>> check_row_count("budget", 2.5, 10)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: budget must be a whole number of training rows in [0, 10). Got 2.5.
    """
    if (
        isinstance(count, bool)
        or not isinstance(count, int | np.integer)
        or not (0 <= count < n_train)
    ):
        shown = count.item() if isinstance(count, np.generic) else count
        raise InputError(
            f"{name} must be a whole number of training rows in [0, {n_train}). Got {shown!r}.",
            inputs=(name,),
        )
    return int(count)


def check_number(name: str, value: Any, *, low: float = 0.0, high: float = np.inf) -> float:
    """Check that ``value`` of the parameter ``name`` is a finite number in [low, high];
    return it as a float.

    >>> check_number("prior_strength", -1.0)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: prior_strength must be a finite number in [0, inf). Got -1.0.
    """
    number = value if isinstance(value, int | float | np.integer | np.floating) else None
    if (
        isinstance(value, bool)
        or number is None
        or not (np.isfinite(number) and low <= number <= high)
    ):
        bound = f"{high:g}]" if np.isfinite(high) else "inf)"
        raise InputError(
            f"{name} must be a finite number in [{low:g}, {bound}. Got {value!r}.", inputs=(name,)
        )
    return float(number)


def check_interval(
    name: str, value: Any, low: float, high: float, *, closed_high: bool = False
) -> float:
    """Check that ``value`` of the parameter ``name`` is a number in (low, high), or
    (low, high] with ``closed_high``; return it as a float.

    >>> check_interval("shrink", "1", 0.0, 2.0, closed_high=True)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: shrink must lie in (0, 2]. Got '1'.
    """
    if not (is_number(value) and low < value and (value <= high if closed_high else value < high)):
        interval = f"({low:g}, {high:g}" + ("]" if closed_high else ")")
        raise InputError(f"{name} must lie in {interval}. Got {value!r}.", inputs=(name,))
    return float(value)


def check_same_length(name_a: str, len_a: int, name_b: str, len_b: int) -> None:
    """Raise when two inputs describe different numbers of samples."""
    if len_a != len_b:
        raise InputError(
            f"{name_a} has {len_a} rows but {name_b} has {len_b}.", inputs=(name_a, name_b)
        )


def check_unique(name: str, values: Sequence[Any] | np.ndarray) -> None:
    """Raise when ``values`` (sample ids, say) repeat; name the first duplicate."""
    array = np.asarray(values)
    try:
        uniq, counts = np.unique(array, return_counts=True)
    except TypeError:  # ids of mixed types (an object column): they do not sort, but hash
        tally = Counter(array.tolist())
        repeated = {value: count for value, count in tally.items() if count > 1}
        if repeated:
            duplicate, count = next(iter(repeated.items()))
            raise InputError(
                f"{name} must be unique; {duplicate!r} appears {count} times.", inputs=(name,)
            ) from None
        return
    if uniq.size != array.size:
        duplicate = uniq[counts > 1][0].item()
        raise InputError(
            f"{name} must be unique; {duplicate!r} appears {counts.max()} times.", inputs=(name,)
        )


def listing(names: Sequence[Any], limit: int = LISTED) -> str:
    """The first ``limit`` of ``names`` quoted, and how many more: a message stays one
    readable line whatever the table's width.

    >>> listing(["id", "f0", "f1"], limit=2)
    "'id', 'f0' and 1 more"
    """
    shown = ", ".join(repr(str(name)) for name in names[:limit])
    rest = len(names) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def require_columns(name: str, found: Collection[Any], expected: Mapping[str, str | None]) -> None:
    """Raise unless every column of ``expected`` is in ``found`` (a table's columns).

    ``expected`` maps each column to the parameter that names it (None for a fixed
    name); the message says which columns were expected, by what, and the columns found.

    >>> require_columns("feats.csv", ["id", "f0"], {"sample_id": "id_col"})
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: feats.csv: expected a column 'sample_id' (id_col); found 2 columns: 'id', 'f0'.
    """
    missing = [column for column in expected if column not in found]
    if not missing:
        return
    named = [
        f"{column!r}" + (f" ({expected[column]})" if expected[column] else "") for column in missing
    ]
    wanted = f"a column {named[0]}" if len(named) == 1 else "columns " + ", ".join(named)
    columns = list(found)
    seen = {0: "no columns", 1: "1 column: "}.get(len(columns), f"{len(columns)} columns: ")
    raise InputError(
        f"{name}: expected {wanted}; found {seen}{listing(columns)}.",
        inputs=[p for p in (expected[column] for column in missing) if p],
    )
