"""Decide labels from expert votes: the plurality protocol of active label cleaning.

The current label counts as one vote; a sample is decided when one class has more
votes than any other, and stays open on a tie (it needs another vote).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from labelmend._validation import check_labels, check_same_length
from labelmend.errors import InputError

#: Marks an undecided sample in :func:`plurality_vote`'s output.
UNDECIDED = -1


def vote_counts(
    sample_index: Any, votes: Any, *, n_samples: int, n_classes: int
) -> npt.NDArray[np.int64]:
    """(N, K) number of votes per sample and class from long-form votes.

    >>> vote_counts([0, 0, 1], [2, 2, 0], n_samples=2, n_classes=3)
    array([[0, 0, 2],
           [1, 0, 0]])
    """
    index = np.asarray(sample_index, dtype=np.intp)
    labels = check_labels(votes, n_classes=n_classes) if len(votes) else np.zeros(0, np.intp)
    check_same_length("sample_index", index.size, "votes", labels.size)
    if index.size and (index.min() < 0 or index.max() >= n_samples):
        raise InputError(f"sample_index must lie in [0, {n_samples}).")
    flat = np.bincount(index * n_classes + labels, minlength=n_samples * n_classes)
    return flat.reshape(n_samples, n_classes).astype(np.int64)


def plurality_vote(
    counts: npt.NDArray[np.integer[Any]], current_labels: Any | None = None
) -> npt.NDArray[np.intp]:
    """The class with strictly the most votes per sample, or :data:`UNDECIDED` on a tie.

    Parameters
    ----------
    counts : (N, K) int
        Expert votes per sample and class (see :func:`vote_counts`).
    current_labels : (N,) int, optional
        The label in place, counted as one more vote (the paper's protocol). Pass -1
        for a sample without one.

    Examples
    --------
    One expert disagreeing with the current label is a tie; a second settles it:

    >>> plurality_vote(np.array([[0, 1], [0, 2]]), current_labels=[0, 0])
    array([-1,  1])
    """
    totals = np.array(counts, dtype=np.int64, copy=True)
    if totals.ndim != 2:
        raise InputError(f"counts must have shape (N, K). Got {totals.shape}.")
    if current_labels is not None:
        current = np.asarray(current_labels, dtype=np.intp)
        check_same_length("current_labels", current.size, "counts", totals.shape[0])
        has = current >= 0
        totals[np.nonzero(has)[0], current[has]] += 1
    best = totals.argmax(axis=1)
    top = totals[np.arange(len(best)), best]
    unique = (totals == top[:, None]).sum(axis=1) == 1
    return np.where(unique & (top > 0), best, UNDECIDED)
