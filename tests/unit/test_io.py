"""One loader for numeric matrices: tables with a text column are refused, not trimmed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmend.errors import InputError
from labelmend.io import load_features, load_pred_probs
from labelmend.jobs import simulate_files


def test_a_text_column_is_refused_by_every_matrix_loader(tmp_path):
    table = pd.DataFrame({"id": ["a", "b"], "cat": [3, 1], "dog": [0, 2]})
    path = tmp_path / "counts.csv"
    table.to_csv(path, index=False)
    for load in (load_features, lambda p: load_pred_probs(p)[0]):
        with pytest.raises(InputError, match=r"non-numeric columns 'id':"):
            load(path)
    with pytest.raises(InputError, match=r"counts.*non-numeric columns 'id':"):
        simulate_files(path, out=tmp_path / "out", seeds=1)
    probs, names = load_pred_probs(path, drop_columns=["id"])
    assert names == ["cat", "dog"]
    np.testing.assert_array_equal(probs, [[3, 0], [1, 2]])


def test_npy_matrices_are_checked_for_shape_and_type(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros(3))
    np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
    with pytest.raises(InputError, match=r"2-D array of features; got float64 of shape \(3,\)"):
        load_features(tmp_path / "flat.npy")
    with pytest.raises(InputError, match="numeric 2-D or 3-D array of probabilities"):
        load_pred_probs(tmp_path / "text.npy")


def test_a_folder_that_cannot_be_written_to_is_refused_on_entry(tmp_path, monkeypatch):
    # As a user without write permission on it (root, running the tests, has it always).
    import errno
    import tempfile

    from labelmend.io import staged_directory

    def denied(**kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", kwargs.get("dir"))

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    message = rf"^out {tmp_path}/new/study: cannot write in {tmp_path} \(Permission denied\)\.$"
    with (
        pytest.raises(InputError, match=message) as raised,
        staged_directory(tmp_path / "new" / "study"),
    ):
        raise AssertionError("the block ran")
    assert raised.value.inputs == ("out",)
    assert list(tmp_path.iterdir()) == []
