"""One loader for numeric matrices: tables with a text column are refused, not trimmed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labelmend.errors import InputError
from labelmend.io import load_array, load_features, load_pred_probs, read_column
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


@pytest.fixture
def csv_reads(monkeypatch):
    """Every pandas.read_csv call: 'header' for one that reads a header only, 'table'."""
    calls: list[str] = []
    read_csv = pd.read_csv

    def counting(*args, **kwargs):
        calls.append("header" if kwargs.get("nrows") in (0, 1) else "table")
        return read_csv(*args, **kwargs)

    monkeypatch.setattr(pd, "read_csv", counting)
    return calls


def test_a_csv_is_read_once_with_its_header_read_once(tmp_path, csv_reads):
    """read_table read a CSV's header twice when columns were read as text (once for
    repeated names, once for the missing-value map), and read_column read a label table
    twice (without, then with its label column as text) when no column was named."""
    from labelmend.io import read_column, read_table

    path = tmp_path / "labels.csv"
    path.write_text("sample_id,label\n007,NA\n008,None\n")
    table = read_table(path, text_columns=["sample_id"])
    assert table["sample_id"].tolist() == ["007", "008"]
    assert csv_reads == ["header", "table"]
    csv_reads.clear()
    values = read_column(path, None, what="label", parameter="label_col", id_col="sample_id",
                         text=True)  # fmt: skip
    assert values.tolist() == ["NA", "None"]  # as text: the file's words, not missing
    assert csv_reads == ["header", "table"]
    # A header cell left empty is named as pandas names it (a second read of the header).
    path.write_text(",label\n0,cat\n")
    csv_reads.clear()
    assert list(read_table(path, text_columns=["label"]).columns) == ["Unnamed: 0", "label"]
    assert csv_reads == ["header", "header", "table"]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_a_json_label_table_is_read_once(tmp_path, monkeypatch, suffix):
    """read_column read a JSON table twice when no column was named and text was wanted:
    once to find the column, again with it as text (pandas types JSON columns on reading)."""
    import json

    from labelmend.io import read_column, read_table

    rows = [
        {"sample_id": "007", "label": "cat"},
        {"sample_id": "008", "label": None},
        {"sample_id": "009", "label": 3},
        {"sample_id": "010", "label": 1.0},
        {"sample_id": "011", "label": "None"},
        {"sample_id": "012", "label": True},
    ]
    path = tmp_path / f"labels{suffix}"
    text = json.dumps(rows) if suffix == ".json" else "\n".join(map(json.dumps, rows))
    path.write_text(text)
    expected = read_table(path, text_columns=["label"])["label"]  # the column named: as text
    calls = []
    read_json = pd.read_json

    def counting(*args, **kwargs):
        calls.append(args[0] if args else kwargs["path_or_buf"])
        return read_json(*args, **kwargs)

    monkeypatch.setattr(pd, "read_json", counting)
    found = read_column(path, None, what="label", parameter="label_col", id_col="sample_id",
                        text=True)  # fmt: skip
    assert len(calls) == 1
    pd.testing.assert_series_equal(pd.Series(found, name="label"), expected)
    assert [found[0], found[2], found[3], found[4]] == ["cat", "3", "1.0", "None"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_rank_files_reads_each_table_once(tmp_path, monkeypatch, suffix):
    """rank_files read the labels table twice (its ids, then its labels) and each
    probability table twice (its probabilities, then its ids)."""
    from labelmend.io import write_table
    from labelmend.jobs import rank_files

    ids = ["007", "008", "009", "010"]
    labels = pd.DataFrame({"sample_id": ids, "label": ["cat", "cat", "dog", "dog"]})
    probs = pd.DataFrame(
        {"sample_id": ids, "cat": [0.9, 0.2, 0.3, 0.1], "dog": [0.1, 0.8, 0.7, 0.9]}
    )
    write_table(labels, tmp_path / f"labels{suffix}")
    write_table(probs.iloc[::-1], tmp_path / f"probs{suffix}")  # matched by id, not position
    reads: list[str] = []
    for reader in ("read_csv", "read_json", "read_parquet"):
        real = getattr(pd, reader)

        def counting(path, *args, real=real, **kwargs):
            if kwargs.get("nrows") not in (0, 1):  # a CSV's header is read apart
                reads.append(Path(path).name)
            return real(path, *args, **kwargs)

        monkeypatch.setattr(pd, reader, counting)
    found = rank_files(tmp_path / f"labels{suffix}", [tmp_path / f"probs{suffix}"])
    assert sorted(reads) == [f"labels{suffix}", f"probs{suffix}"]
    assert found.ranking["sample_id"].tolist()[0] == "008"
    assert found.ranking.set_index("sample_id").loc["007", "given_label"] == "cat"


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl", ".json"])
def test_write_table_writes_no_negative_zero(tmp_path, suffix):
    """A -0.0 (a difference or negation of nothing) is written 0.0, in every format."""
    from labelmend.io import read_table, write_table

    frame = pd.DataFrame({"id": ["a", "b"], "gain": [-0.0, -0.5], "n": [0, -1]})
    path = write_table(frame, tmp_path / f"out{suffix}")
    if suffix == ".csv":
        assert path.read_text().splitlines()[1] == "a,0.0,0"
    back = read_table(path)
    assert not np.signbit(back["gain"].to_numpy()[0])
    assert back["gain"].tolist() == [0.0, -0.5]
    assert np.signbit(frame["gain"].to_numpy()[0])  # the caller's frame is left as it was


def _load_array(folder, mmap):
    return load_array(folder / "x.npy", what="features", mmap=mmap)


def _read_column(folder, text):
    return read_column(folder / "y.csv", "label", what="label", parameter="label_col", text=text)


@pytest.mark.parametrize(("load", "flag"), [(_load_array, "mmap"), (_read_column, "text")])
@pytest.mark.parametrize("value", ["no", 0, None])
def test_io_flags_must_be_true_or_false(tmp_path, load, flag, value):
    """mmap='no' memory-mapped and text='no' read the column as text: any truthy value
    was taken for True, any falsy one for False. Refused as from_logits and normalize are."""
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    (tmp_path / "y.csv").write_text("label\n1\n2\n")
    with pytest.raises(
        InputError, match=rf"^{flag} must be True or False\. Got {value!r}\.$"
    ) as raised:
        load(tmp_path, value)
    assert raised.value.inputs == (flag,)
    load(tmp_path, np.True_)  # numpy's bools are flags too
