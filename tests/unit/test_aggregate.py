"""Plurality decisions with the current label as one vote."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelmend.cleaner import UNDECIDED, plurality_vote, vote_counts
from labelmend.errors import InputError


@given(
    arrays(np.int64, st.tuples(st.integers(1, 20), st.integers(2, 5)), elements=st.integers(0, 4))
)
def test_decided_class_has_strictly_most_votes(counts):
    decided = plurality_vote(counts)
    for row, label in zip(counts, decided, strict=True):
        if label == UNDECIDED:
            assert row.max() == 0 or (row == row.max()).sum() > 1
        else:
            assert (row[label] > np.delete(row, label)).all()


def test_current_label_counts_as_one_vote():
    counts = vote_counts([0, 1, 1, 2], [1, 1, 1, 0], n_samples=3, n_classes=2)
    decided = plurality_vote(counts, current_labels=[0, 0, 0])
    assert decided.tolist() == [UNDECIDED, 1, 0]


def test_bad_votes_are_refused():
    with pytest.raises(InputError, match=r"labels must lie in \[0, 2\)"):
        vote_counts([0], [5], n_samples=1, n_classes=2)
    with pytest.raises(InputError, match="sample_index must lie"):
        vote_counts([3], [0], n_samples=1, n_classes=2)
