"""``labelmend import features``: an (N, D) feature matrix per sample, for ``labelmend fit``.

Features are keyed by sample id, never by position. They are stored in blocks in the
database, or — for a large D — kept in their Parquet file, which the store references
(with its SHA-256, checked whenever the file is read again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.orm import Session

from labelmend._validation import check_flag, listing, require_columns
from labelmend.errors import InputError
from labelmend.io import ID_COLUMN, load_features, read_table
from labelmend.storage import repository as repo
from labelmend.storage.models import Dataset, FeatureSet
from labelmend.workflow._tables import (
    TableSource,
    file_hash,
    fingerprint,
    match_samples,
    read_source,
    sample_ids,
)

FloatArray = npt.NDArray[np.float64]
#: Rows read at once from a referenced Parquet file.
PARQUET_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class FeatureImport:
    """What ``import features`` did; ``created`` is False when the features were already stored."""

    dataset: str
    name: str
    feature_set_id: int
    n_samples: int
    n_features: int
    created: bool
    reference: bool


def import_features(
    session: Session,
    source: TableSource,
    *,
    dataset: str | None = None,
    name: str = "features",
    id_col: str = ID_COLUMN,
    ids: str | Path | None = None,
    reference: bool = False,
    progress: repo.ProgressCallback | None = None,
) -> FeatureImport:
    """Store an (N, D) feature matrix keyed by sample id, or a reference to a Parquet file.

    Parameters
    ----------
    source : path or pandas.DataFrame
        An (N, 1 + D) table — a file (.csv, .parquet, .jsonl) or a data frame — with the
        ``id_col`` column and D numeric columns, or an (N, D) ``.npy`` file whose row i
        belongs to the i-th id of ``ids``.
    ids : path, optional
        For a ``.npy`` source: a text file with one sample id per line, or a table with
        the ``id_col`` column. Not for a table or a data frame, which has its ids.
    reference : bool
        Keep the values in the Parquet file ``source`` (read in batches; its hash is
        stored and checked when ``fit`` reads it) instead of copying them into the
        database. Not for a data frame, whose values are always copied.

    Every sample of the dataset must have exactly one row, with finite values and D ≥ 1.
    Importing the same file, or a data frame with the same contents, under the same name
    again changes nothing.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from labelmend.storage import open_store
    >>> from labelmend.workflow import import_samples, init_dataset
    >>> with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/x.db") as s:
    ...     _ = init_dataset(s, "pets", ["cat", "dog"])
    ...     _ = import_samples(s, pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"]}))
    ...     path = pathlib.Path(tmp) / "f.csv"
    ...     pd.DataFrame({"sample_id": ["b", "a"], "x": [1.0, 0.0], "y": [2.0, 3.0]}).to_csv(path, index=False)
    ...     done = import_features(s, path)
    >>> done.n_samples, done.n_features, done.created
    (2, 2, True)

    A data frame is read as such a file; the same frame again changes nothing:

    >>> frame = pd.DataFrame({"sample_id": ["b", "a"], "x": [1.0, 0.0], "y": [2.0, 3.0]})
    >>> with open_store("sqlite://") as s:
    ...     _ = init_dataset(s, "pets", ["cat", "dog"])
    ...     _ = import_samples(s, pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"]}))
    ...     first = import_features(s, frame, name="embeddings")
    ...     again = import_features(s, frame.copy(), name="embeddings")
    >>> first.n_features, first.created, again.created, again.feature_set_id == first.feature_set_id
    (2, True, False, True)
    """
    check_flag("reference", reference)
    path = None if isinstance(source, pd.DataFrame) else Path(source)
    label = "table" if path is None else str(path)
    found = repo.get_dataset(session, dataset, lock=True)
    if reference:
        if path is None:
            raise InputError(
                f"{label}: reference=True keeps features in a .parquet file only; pass the "
                "file's path, or reference=False to copy a data frame's values into the store.",
                inputs=("reference",),
            )
        if path.suffix.lower() not in (".parquet", ".pq"):
            raise InputError(
                f"{label}: reference=True keeps features in a .parquet file only.",
                inputs=("reference",),
            )
        feature_ids, n_features = _scan_parquet(path, id_col)
        matrix = None
        digest = file_hash(path)
    else:
        feature_ids, matrix, digest = _read_features(source, id_col, ids)
        n_features = matrix.shape[1]
        _check_values(matrix, feature_ids, label)
    samples = repo.sample_frame(session, found)
    position = match_samples(feature_ids, samples, found, label, what="feature")
    existing = repo.find_feature_set(session, found, name, digest)
    if existing is not None:
        return FeatureImport(
            found.name, name, existing.id, existing.n_samples, n_features, False, reference
        )
    keys = samples["id"].to_numpy(dtype=np.int64)[position]
    order = np.argsort(keys, kind="stable")
    stored = repo.add_feature_set(
        session,
        found,
        name=name,
        file_hash=digest,
        sample_ids=keys[order],
        n_features=n_features,
        values=None if matrix is None else matrix[order],
        source=str(path.resolve()) if reference and path is not None else None,
        id_col=id_col if reference else None,
        progress=progress,
    )
    return FeatureImport(found.name, name, stored.id, len(keys), n_features, True, reference)


def feature_matrix(
    session: Session, dataset: Dataset, keys: npt.NDArray[np.int64], *, name: str | None = None
) -> tuple[FeatureSet, FloatArray]:
    """The newest feature set (called ``name``) and its (N, D) rows for the samples ``keys``.

    ``keys`` are sample primary keys in increasing order (as
    :func:`~labelmend.storage.repository.sample_frame` returns them); every one must
    have features.

    Examples
    --------
    The file lists b before a; the rows come back in sample-key order, a first:

    >>> import tempfile
    >>> from labelmend.storage import open_store, repository
    >>> from labelmend.workflow import import_samples, init_dataset
    >>> with tempfile.TemporaryDirectory() as tmp, open_store("sqlite://") as s:
    ...     pets = init_dataset(s, "pets", ["cat", "dog"])
    ...     _ = import_samples(s, pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"]}))
    ...     pd.DataFrame({"sample_id": ["b", "a"], "x": [1.0, 0.0], "y": [2.0, 3.0]}).to_csv(
    ...         f"{tmp}/f.csv", index=False)
    ...     _ = import_features(s, f"{tmp}/f.csv", name="embeddings")
    ...     keys = repository.sample_frame(s, pets)["id"].to_numpy()
    ...     feature_set, matrix = feature_matrix(s, pets, keys)
    >>> feature_set.name, matrix.shape
    ('embeddings', (2, 2))
    >>> matrix
    array([[0., 3.],
           [1., 2.]])
    """
    feature_set = repo.latest_feature_set(session, dataset, name)
    if feature_set.source is None:
        stored_keys, values = repo.load_feature_blocks(session, feature_set)
    else:
        stored_keys, values = _load_reference(session, dataset, feature_set)
    if stored_keys.size != keys.size or np.any(stored_keys != keys):
        missing = np.setdiff1d(keys, stored_keys)
        first = repo.sample_frame(session, dataset).set_index("id").loc[missing[0], "external_id"]
        raise InputError(
            f"{missing.size} sample(s) have no row in feature set {feature_set.name!r} "
            f"(first {first!r}); import features for every sample."
        )
    return feature_set, values


def _read_features(
    source: TableSource, id_col: str, ids: str | Path | None
) -> tuple[pd.Series, FloatArray, str]:
    """(ids, (N, D) values, SHA-256 of the file(s) or frame) of a table or a .npy and its ids."""
    if not isinstance(source, pd.DataFrame) and Path(source).suffix.lower() == ".npy":
        path = Path(source)
        if ids is None:
            raise InputError(
                f"{path}: a .npy file has no id column; pass ids, one per row (a .txt file "
                "or a table).",
                inputs=("ids",),
            )
        matrix = load_features(path)
        id_path = Path(ids)
        if id_path.suffix.lower() == ".txt":
            if not id_path.is_file():
                raise InputError(f"{id_path}: no such file.")
            id_table = pd.DataFrame({id_col: id_path.read_text().splitlines()})
        else:
            id_table = read_table(id_path, text_columns=[id_col])
            require_columns(str(id_path), id_table.columns, {id_col: "id_col"})
        feature_ids = sample_ids(id_table, str(id_path), id_col)
        if len(feature_ids) != matrix.shape[0]:
            raise InputError(
                f"{path}: has {matrix.shape[0]} rows but {id_path} has {len(feature_ids)} ids."
            )
        both = file_hash(path) + file_hash(id_path)
        return feature_ids, matrix, hashlib.sha256(both.encode()).hexdigest()
    if ids is not None:
        name = "table" if isinstance(source, pd.DataFrame) else str(source)
        raise InputError(
            f"{name}: ids is for .npy files; a table has its own {id_col!r}.", inputs=("ids",)
        )
    table, name = read_source(source, id_col)
    require_columns(name, table.columns, {id_col: "id_col"})
    feature_ids = sample_ids(table, name, id_col)
    values = table.drop(columns=[id_col])
    _check_numeric(values.dtypes, name, id_col)
    return feature_ids, values.to_numpy(dtype=np.float64), fingerprint(source, table)


def _check_numeric(dtypes: pd.Series, name: str | Path, id_col: str) -> None:
    if dtypes.empty:
        raise InputError(f"{name}: no feature columns besides {id_col!r}; expected D ≥ 1.")
    text = [str(c) for c, dtype in dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if text:
        raise InputError(
            f"{name}: every column but {id_col!r} must be a numeric feature; found {listing(text)}."
        )


def _check_values(values: FloatArray, ids: pd.Series, name: str) -> None:
    if values.ndim == 2 and values.shape[1] == 0:
        raise InputError(f"{name}: has no feature columns (shape {values.shape}); expected D ≥ 1.")
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        raise InputError(
            f"{name}: {int(bad.sum())} row(s) hold NaN or infinite values "
            f"(first id {ids.iloc[int(np.argmax(bad))]!r}); expected finite numbers."
        )


def _parquet_batches(path: Path, id_col: str) -> Iterator[tuple[pd.Series, FloatArray]]:
    """(ids, (rows, D) values) of a feature Parquet file, :data:`PARQUET_BATCH_ROWS` at a time."""
    import pyarrow.parquet as pq

    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    try:
        handle = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError(f"{path}: cannot read it as parquet ({type(exc).__name__}).") from exc
    schema = handle.schema_arrow
    require_columns(str(path), schema.names, {id_col: "id_col"})
    columns = [c for c in schema.names if c != id_col]
    _check_numeric(schema.empty_table().to_pandas().dtypes.drop(id_col), path, id_col)
    for batch in handle.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        frame = batch.to_pandas()
        ids = sample_ids(frame.astype({id_col: str}), str(path), id_col)
        yield ids, frame[columns].to_numpy(dtype=np.float64)


def _scan_parquet(path: Path, id_col: str) -> tuple[pd.Series, int]:
    """Check a referenced file batch by batch; return its ids and D (values not kept)."""
    parts = []
    n_features = 0
    for ids, values in _parquet_batches(path, id_col):
        _check_values(values, ids, str(path))
        parts.append(ids)
        n_features = values.shape[1]
    all_ids = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=str)
    sample_ids(pd.DataFrame({id_col: all_ids}), str(path), id_col)
    return all_ids, n_features


def _load_reference(
    session: Session, dataset: Dataset, feature_set: FeatureSet
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """A referenced set's (keys, values) in key order, read batch by batch into one matrix."""
    path = Path(feature_set.source or "")
    if not path.is_file() or file_hash(path) != feature_set.file_hash:
        raise InputError(
            f"{path}: the feature file referenced by {feature_set.name!r} is missing or changed "
            "since it was imported; import it again."
        )
    samples = repo.sample_frame(session, dataset)
    key_of = pd.Series(samples["id"].to_numpy(dtype=np.int64), index=samples["external_id"])
    keys = np.empty(feature_set.n_samples, dtype=np.int64)
    values = np.empty((feature_set.n_samples, feature_set.n_features))
    done = 0
    for ids, block in _parquet_batches(path, feature_set.id_column or ID_COLUMN):
        keys[done : done + len(ids)] = key_of.reindex(ids).fillna(-1).to_numpy(dtype=np.int64)
        values[done : done + len(ids)] = block
        done += len(ids)
    order = np.argsort(keys, kind="stable")
    return keys[order], values[order]
