"""Row-chunked access to predicted probabilities: one model, an ensemble, or logits.

The ranking engine reads its input several times (thresholds, confident joint, samples
for the noise scale and the temperature, scores), one block of rows at a time, so
memory-mapped ``.npy`` files and arrays larger than the free memory are scored with
bounded extra memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from labelmend._executor import Workers
from labelmend._numeric import row_sums, softmax_rows
from labelmend._validation import (
    check_count,
    check_flag,
    check_n_classes,
    check_probability_block,
    row_name,
)
from labelmend.errors import InputError

#: Bytes of probabilities handled per block; about the size of a large CPU cache.
DEFAULT_BLOCK_BYTES = 4 * 2**20

FloatArray = npt.NDArray[np.floating[Any]]
T = TypeVar("T")


#: What ``pred_probs`` may be, the start of every message about its shape.
SHAPES = "pred_probs must have shape (N, K), (M, N, K) or be a list of (N, K) arrays."


def _as_members(pred_probs: Any) -> list[np.ndarray]:
    """Split ``pred_probs`` into the 2-D arrays of its ensemble members (one for one model)."""
    if pred_probs is None or isinstance(pred_probs, str | bytes):  # a path is not an array
        found = type(pred_probs).__name__ + ("" if pred_probs is None else f" {pred_probs!r}")
        hint = " (load the file first, e.g. with numpy.load)" if pred_probs else ""
        raise InputError(f"{SHAPES} Got {found}{hint}.", inputs=("pred_probs",))
    dtypes = getattr(pred_probs, "dtypes", None)  # a pandas DataFrame: name the column
    if dtypes is not None and not isinstance(dtypes, np.dtype):
        for column, dtype in dtypes.items():
            if getattr(dtype, "kind", "O") not in "fiub":
                raise InputError(
                    f"pred_probs must be numeric; column {column!r} is not (dtype {dtype}): "
                    "pass the K probability columns only.",
                    inputs=("pred_probs",),
                )
    listed = isinstance(pred_probs, Sequence)
    if listed:
        if len(pred_probs) == 0:
            raise InputError(
                "pred_probs is an empty list: expected at least one model's array.",
                inputs=("pred_probs",),
            )
        members = [np.asarray(member) for member in pred_probs]
        if all(member.ndim == 0 for member in members):  # a flat list of numbers
            members, listed = [np.asarray(pred_probs)], False
        elif all(member.ndim == 1 for member in members) and len({m.shape for m in members}) == 1:
            members, listed = [np.stack(members)], False  # rows of numbers (a nested list)
    else:
        array = np.asarray(pred_probs)
        members = list(array) if array.ndim == 3 else [array]
    for index, member in enumerate(members):
        if member.ndim != 2:
            which = f" (member {index})" if listed else ""
            binary = (
                " For two classes, pass both columns: np.column_stack([1 - p, p])."
                if member.ndim == 1 and not listed
                else ""
            )
            raise InputError(
                f"{SHAPES} Got an array of shape {member.shape}{which}.{binary}",
                inputs=("pred_probs",),
            )
        if member.dtype.kind not in "fiub":
            raise InputError(
                f"pred_probs must be numeric. Got dtype {member.dtype}.", inputs=("pred_probs",)
            )
        if member.shape != members[0].shape:
            raise InputError(
                f"Every model in the ensemble must give the same shape; member 0 has "
                f"{members[0].shape} but member {index} has {member.shape}."
            )
    if members[0].shape[0] == 0:
        raise InputError(
            "pred_probs is empty: expected at least one sample (row).", inputs=("pred_probs",)
        )
    check_n_classes(members[0].shape[1])
    return members


class ProbabilitySource:
    """Blocks of rows of (averaged, validated) predicted probabilities.

    Parameters
    ----------
    pred_probs : array (N, K), array (M, N, K) or list of M arrays (N, K)
        One model's probabilities, or an ensemble's (averaged row by row). May be
        memory-mapped; it is never copied whole. A list of N rows of numbers (a nested
        list) is one model.
    from_logits : bool
        Treat the input as logits and apply a softmax to each row (after averaging).
    normalize : bool
        Rescale each row to sum to one instead of rejecting rows that do not.
    rescale_hint : bool
        Whether the validation messages advise ``normalize=True`` / ``from_logits=True``;
        False for a caller that has no such options (it passes the array on as it is).
    name, source :
        What the validation messages call the input, and the file its rows are in, in
        its order, for naming a row (:func:`~labelmend._validation.row_name`).

    Examples
    --------
    Two models of two samples, averaged:

    >>> source = ProbabilitySource([np.array([[.9, .1], [.2, .8]]), np.array([[.7, .3], [.4, .6]])])
    >>> source.n_samples, source.n_classes
    (2, 2)
    >>> next(source.map_blocks(lambda start, block: block))
    array([[0.8, 0.2],
           [0.3, 0.7]])
    """

    def __init__(
        self,
        pred_probs: Any,
        *,
        from_logits: bool = False,
        normalize: bool = False,
        rescale_hint: bool = True,
        name: str = "pred_probs",
        source: str | None = None,
    ):
        self._members = _as_members(pred_probs)
        self._name = name
        self._source = source
        self._from_logits = check_flag("from_logits", from_logits)
        self._normalize = check_flag("normalize", normalize)
        self._rescale_hint = rescale_hint
        self.n_samples, self.n_classes = self._members[0].shape
        # float32 stays float32 (half the memory); integers, float64 and anything wider
        # (np.longdouble, which the sums in float64 cannot take) are read as float64.
        dtype = np.result_type(*[m.dtype for m in self._members], np.float32)
        self.dtype = np.dtype(np.float32 if dtype == np.float32 else np.float64)

    @property
    def n_models(self) -> int:
        """How many models' probabilities are averaged (1 for one model)."""
        return len(self._members)

    def default_block_rows(self) -> int:
        """Rows per block so that one block is about :data:`DEFAULT_BLOCK_BYTES`."""
        return max(1, DEFAULT_BLOCK_BYTES // (self.n_classes * self.dtype.itemsize))

    def map_blocks(
        self,
        function: Callable[[int, FloatArray], T],
        *,
        block_rows: int | None = None,
        validate: bool = False,
        n_jobs: int | None = None,
        max_rows: int | None = None,
    ) -> Iterator[T]:
        """Yield ``function(first_row, block)`` for every block of rows, in order.

        ``block`` has shape (rows, K) and may be a read-only view of the input: never
        write into it. Each block is read (averaged, softmaxed or normalised), validated
        when ``validate`` is set, and passed to ``function`` by the same worker. With
        ``n_jobs`` > 1 that many threads share the blocks (numpy releases the GIL), with
        at most one block more than threads in flight, so memory stays bounded.
        ``n_jobs=None`` uses every core. ``max_rows``: read only about that many rows,
        in at least 64 blocks spread evenly over the input (a sample for estimates).

        >>> source = ProbabilitySource(np.full((5, 2), 0.5))
        >>> list(source.map_blocks(lambda start, block: block.shape, block_rows=2))
        [(2, 2), (2, 2), (1, 2)]
        >>> list(source.map_blocks(lambda start, block: start, block_rows=1, max_rows=2))
        [0, 2]
        """
        rows = self.default_block_rows() if block_rows is None else block_rows
        check_count("block_rows", rows, minimum=1)
        starts: Sequence[int] = range(0, self.n_samples, rows)
        if max_rows is not None and max_rows < self.n_samples:
            rows = max(1, min(rows, max_rows // 64))
            every = -(-self.n_samples // rows) / max(1, max_rows // rows)
            starts = sorted({int(i * every) * rows for i in range(max(1, max_rows // rows))})

        def work(start: int) -> T:
            block = self._read(start, min(start + rows, self.n_samples))
            if validate:
                check_probability_block(
                    block,
                    first_row=start,
                    rescale_hint=self._rescale_hint,
                    name=self._name,
                    source=self._source,
                )
            return function(start, block)

        with Workers(n_jobs=n_jobs) as workers:
            yield from workers.map(work, starts, window=workers.n_workers + 1)

    def _read(self, start: int, stop: int) -> FloatArray:
        if len(self._members) == 1:
            block = np.asarray(self._members[0][start:stop], dtype=self.dtype)
        else:
            block = np.mean(
                [np.asarray(m[start:stop], dtype=self.dtype) for m in self._members], axis=0
            )
        if self._from_logits:
            return _softmax(block)
        if self._normalize:
            return _normalize_rows(block, first_row=start, name=self._name, source=self._source)
        return block


def _softmax(logits: FloatArray) -> FloatArray:
    if not np.all(np.isfinite(logits)):
        raise InputError("logits contain NaN or infinite values.")
    return softmax_rows(logits)


def _normalize_rows(
    block: FloatArray, *, first_row: int, name: str, source: str | None
) -> FloatArray:
    sums = row_sums(block)[:, None]
    if not np.all(np.isfinite(sums)) or block.min() < 0:
        check_probability_block(block, first_row=first_row, name=name, source=source)
    zero = np.nonzero(sums[:, 0] <= 0)[0]
    if zero.size:
        raise InputError(
            f"{name} {row_name(first_row + int(zero[0]), source)} sums to 0; cannot normalize it.",
            inputs=(name,),
        )
    return block / sums
