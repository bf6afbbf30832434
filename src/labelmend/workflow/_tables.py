"""Helpers shared by the workflow modules: reading tables, ids, class names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._validation import check_unique, row_name
from labelmend.errors import InputError
from labelmend.io import encode_labels, read_table
from labelmend.storage.models import Dataset

TableSource = str | Path | pd.DataFrame
#: How pandas names a column whose header cell is empty (a saved row index, say).
UNNAMED = re.compile(r"Unnamed: \d+")


def read_source(
    source: TableSource, id_col: str, *, text_columns: Sequence[str] = ()
) -> tuple[pd.DataFrame, str]:
    """The table and a name for messages; a table without rows is refused.

    The id column and ``text_columns`` (class names, annotators…) of a file are read as
    text, so that ``007`` stays ``007``.
    """
    if isinstance(source, pd.DataFrame):
        table, name = source, "table"
    else:
        table, name = read_table(source, text_columns=[id_col, *text_columns]), str(source)
        unnamed = [i for i, c in enumerate(table.columns) if UNNAMED.fullmatch(str(c))]
        if unnamed:
            raise InputError(
                f"{name}: column {unnamed[0] + 1} has no name in the header (pandas reads it "
                f"as {table.columns[unnamed[0]]!r}: a row index saved with the table?); name "
                "it, or write the table without its index (to_csv(index=False))."
            )
    if table.empty:
        raise InputError(f"{name}: no rows; expected one row per sample under the header.")
    return table, name


def fingerprint(source: TableSource, table: pd.DataFrame) -> str:
    """SHA-256 of a file's bytes, or of a data frame's contents."""
    if isinstance(source, pd.DataFrame):
        digest = hashlib.sha256(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
        digest.update(",".join(map(str, table.columns)).encode())
        return digest.hexdigest()
    return file_hash(source)


def file_hash(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read 1 MiB at a time."""
    sha = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def sample_ids(table: pd.DataFrame, name: str, id_col: str) -> pd.Series:
    ids = table[id_col]
    if ids.isna().any():
        row = row_name(int(ids.isna().argmax()), name)
        raise InputError(f"{name}: column {id_col!r} is empty in {row}.")
    as_text = ids.astype(str)
    check_unique(f"{name}: sample ids in column {id_col!r}", as_text.to_numpy(dtype=str))
    return as_text


def class_codes(
    table: pd.DataFrame, name: str, label_col: str, dataset: Dataset
) -> npt.NDArray[np.intp]:
    """The class index of each row's ``label_col`` (class names of ``dataset``); an empty
    cell or an unknown name is refused, naming the table ``name``."""
    empty = table[label_col].isna()
    if empty.any():
        row = row_name(int(empty.argmax()), name)
        raise InputError(f"{name}: column {label_col!r} is empty in {row}.")
    try:
        return encode_labels(table[label_col].to_numpy(), dataset.classes)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


def match_samples(
    ids: pd.Series, samples: pd.DataFrame, dataset: Dataset, name: str, *, what: str
) -> npt.NDArray[np.intp]:
    """Row of ``samples`` (from :func:`~labelmend.storage.repository.sample_frame`) of each id.

    Every id must be a sample of ``dataset`` and every sample must have exactly one id;
    ``what`` names the rows in messages ("prediction", "feature").
    """
    position = pd.Index(samples["external_id"]).get_indexer(ids)
    if (position < 0).any():
        unknown = ids[position < 0]
        raise InputError(
            f"{name}: {unknown.size} {what} row(s) name ids that are not samples of "
            f"{dataset.name!r} (first {unknown.iloc[0]!r}); import those samples first."
        )
    if len(ids) != len(samples):
        absent = np.setdiff1d(samples["external_id"].to_numpy(), ids.to_numpy())
        raise InputError(
            f"{name}: has {len(ids)} rows but dataset {dataset.name!r} has {len(samples)} samples "
            f"(first without {what}s {absent[0]!r})."
        )
    return np.asarray(position, dtype=np.intp)


def with_class_names(
    frame: pd.DataFrame, classes: Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    lookup = np.asarray(classes, dtype=object)
    return frame.assign(**{c: lookup[frame[c].to_numpy(dtype=np.intp)] for c in columns})


def class_index(found: Dataset, label: str) -> int:
    if label not in found.classes:
        raise InputError(f"Unknown class name {label!r}; expected one of {found.classes}.")
    return found.classes.index(label)
