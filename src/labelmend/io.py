"""Read arrays and tables from files: the only place labelmend touches user files.

Supported: ``.npy`` (memory-mapped, never copied whole), ``.csv``, ``.parquet`` and
``.jsonl`` tables. Errors name the file, what was expected and what was found.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES

from labelmend._validation import check_flag, listing, require_columns
from labelmend.errors import InputError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".json")
#: The sample id column of every table read or written by default: imports, rankings,
#: shards and exports (the CLI's ``--id-col`` default and the library's alike).
ID_COLUMN = "sample_id"
ARRAY_SUFFIXES = (".npy", *TABLE_SUFFIXES)


def _suffix(path: Path, allowed: Sequence[str]) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise InputError(
            f"{path}: unsupported file type {suffix or '(none)'!r}; expected one of "
            f"{', '.join(allowed)}."
        )
    if not path.exists():
        raise InputError(f"{path}: no such file.")
    return suffix


def read_table(path: str | Path, *, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV, Parquet, JSON-lines (``.jsonl``) or JSON (``.json``: an array of
    records, or JSON lines) table.

    ``text_columns`` (ids, say) are read as text, so that ``007`` stays ``007``, and
    only their empty cells are missing: ``NA``, ``null`` or ``None`` there are values,
    which a CSV reader takes as missing in other columns.

    >>> read_table("missing.csv")
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: missing.csv: no such file.
    """
    path = Path(path)
    suffix = _suffix(path, TABLE_SUFFIXES)
    with _reading(path, suffix):
        if suffix == ".csv":
            return _read_csv(path, _csv_columns(path), text_columns)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return _read_json(path, dict.fromkeys(text_columns, str) or None)


def _read_json(path: Path, dtype: Mapping[str, type] | bool | None) -> pd.DataFrame:
    """Read a JSON table (an array of records, or JSON lines) with pandas' ``dtype``:
    None to type every column, a mapping for some columns' types, False for none."""
    return pd.read_json(path, orient="records", lines=not _is_json_array(path), dtype=dtype)


@contextmanager
def _reading(path: Path, suffix: str) -> Iterator[None]:
    """Turn pandas' errors reading ``path`` into one InputError naming the file."""
    try:
        yield
    except InputError:
        raise
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"{path}: the file is empty; expected a header row naming the columns, then the rows."
        ) from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: cannot read it as {suffix[1:]}: {first_line}") from exc


def _csv_columns(path: Path) -> list[str]:
    """The columns of a CSV as :func:`read_table` names them, from one read of its header.

    A header that names a column twice is refused (pandas would rename the second ``a``
    to ``a.1`` and read on). An empty header cell is named as pandas names it
    (``Unnamed: 0``), from pandas' own reading of the header (a second, rare read).
    """
    header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    names = pd.Series(header.iloc[0]) if len(header) else pd.Series(dtype=str)
    repeated = names[names.duplicated() & (names != "")]
    if not repeated.empty:
        raise InputError(
            f"{path}: the header names column {repeated.iloc[0]!r} twice; expected each "
            "column once."
        )
    if (names == "").any():
        return [str(c) for c in pd.read_csv(path, nrows=0).columns]
    return [str(name) for name in names]


def _read_csv(path: Path, columns: Sequence[str], text_columns: Sequence[str]) -> pd.DataFrame:
    """Read a CSV whose header names ``columns`` (see :func:`_csv_columns`)."""
    if not text_columns:
        return pd.read_csv(path)
    as_text = dict.fromkeys(text_columns, str)
    missing = {c: [""] if c in as_text else list(STR_NA_VALUES) for c in columns}
    return pd.read_csv(path, dtype=as_text, keep_default_na=False, na_values=missing)


def _is_json_array(path: Path) -> bool:
    """Whether the file's first non-blank character opens a JSON array."""
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(4096), b""):
            text = chunk.lstrip(b" \t\r\n\xef\xbb\xbf")
            if text:
                return text.startswith(b"[")
    return False


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV, Parquet, JSON lines (``.jsonl``) or a JSON array of records
    (``.json``), chosen by the file's suffix.

    The file's directory must exist (a typo never creates directories). A -0.0 is
    written 0.0.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(
            f"{path}: unsupported output type {suffix or '(none)'!r}; expected one of "
            f"{', '.join(TABLE_SUFFIXES)}."
        )
    if not path.parent.is_dir():
        problem = "is not a directory" if path.parent.exists() else "does not exist"
        raise InputError(
            f"{path}: {str(path.parent)!r} {problem}; create the directory first "
            f"(mkdir -p {path.parent}) or write elsewhere."
        )
    floats = frame.select_dtypes(include="float").columns
    if len(floats):
        frame = frame.copy(deep=False)  # the caller's frame is left as it is
        frame[floats] = frame[floats] + 0.0  # -0.0 + 0.0 is 0.0; every other value stays
    try:
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        elif suffix in (".parquet", ".pq"):
            frame.to_parquet(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=suffix == ".jsonl")
    except OSError as exc:
        raise InputError(f"{path}: cannot write it ({exc.strerror or exc}).") from exc
    return path


@contextmanager
def staged_directory(out: str | Path, *, name: str = "out") -> Iterator[Path]:
    """All or nothing for a command that writes several files into the folder ``out``.

    On entry, checks that ``out`` can be a directory (it and every existing folder above
    it are directories) and makes a new hidden folder in it (or, when it does not exist
    yet, in its nearest existing folder): a folder that cannot be written to is found
    before any work. Yields that folder. When the block ends without error, its files move
    into ``out`` (created with its parents), replacing files of the same names; when it
    raises (Ctrl-C too), the folder is removed and ``out`` is as it was.

    >>> folder = Path(tempfile.mkdtemp())
    >>> with staged_directory(folder / "new" / "out") as staging:
    ...     _ = (staging / "a.csv").write_text("x\\n1\\n")
    >>> sorted(p.name for p in (folder / "new" / "out").iterdir())
    ['a.csv']
    >>> with staged_directory(folder / "failed") as staging:
    ...     _ = (staging / "a.csv").write_text("x\\n")
    ...     raise OSError("disk full")
    Traceback (most recent call last):
    OSError: disk full
    >>> sorted(p.name for p in folder.iterdir())  # no folder "failed", nothing hidden
    ['new']
    """
    out = Path(out)
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"{name} {out}: {existing} is a file, not a directory.", inputs=(name,))
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name or 'out'}-", dir=existing))
    except OSError as exc:
        raise InputError(
            f"{name} {out}: cannot write in {existing} ({exc.strerror or exc}).", inputs=(name,)
        ) from exc
    try:
        yield staging
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted(staging.iterdir()):
            os.replace(path, out / path.name)
    except OSError as exc:  # name the file as the user knows it, not the hidden folder's
        if exc.filename and Path(exc.filename).is_relative_to(staging):
            exc.filename = str(out / Path(exc.filename).relative_to(staging))
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _read_npy(path: Path, *, mmap: bool) -> npt.NDArray[Any]:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"{path}: not a readable .npy array ({exc}).") from exc


def load_array(
    path: str | Path,
    *,
    what: str,
    ndim: Sequence[int] = (2,),
    mmap: bool = False,
    drop_columns: Sequence[str] = (),
    id_hint: str | None = None,
) -> tuple[npt.NDArray[Any], list[str] | None]:
    """Load a numeric array from a ``.npy`` file or a table: the one loader for matrices.

    Parameters
    ----------
    path : .npy, .csv, .parquet or .jsonl
    what : str
        What the array holds, for messages ("probabilities", "features", "counts").
    ndim : ints
        Dimensions a ``.npy`` array may have (a table is always 2-D).
    mmap : bool
        Memory-map a ``.npy`` file instead of reading it (it is never copied whole); True
        or False.
    drop_columns : str, ...
        Table columns that are not part of the array (an id column, say).
    id_hint : str, optional
        The caller's parameter that names such a column, for the message (which lists it
        in ``inputs``, so that the CLI names its flag instead).

    Returns
    -------
    (array, column names or None)
        A table gives float64 (rows, columns) and its headers; a ``.npy`` file gives
        its own dtype and None. Non-numeric table columns are rejected, never dropped.

    Examples
    --------
    >>> load_array("missing.npy", what="features")
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: missing.npy: no such file.
    """
    mmap = check_flag("mmap", mmap)
    path = Path(path)
    suffix = _suffix(path, ARRAY_SUFFIXES)
    if suffix == ".npy":
        array = _read_npy(path, mmap=mmap)
        if array.ndim not in ndim or array.dtype.kind not in "iuf":
            shapes = " or ".join(f"{n}-D" for n in ndim)
            raise InputError(
                f"{path}: expected a numeric {shapes} array of {what}; "
                f"got {array.dtype} of shape {array.shape}."
            )
        return array, None
    return _table_array(read_table(path), path, what, drop_columns, id_hint)


def _table_array(
    table: pd.DataFrame,
    path: Path,
    what: str,
    drop_columns: Sequence[str],
    id_hint: str | None,
) -> tuple[npt.NDArray[Any], list[str]]:
    """A table's numeric columns but ``drop_columns`` as float64, and their names."""
    table = table.drop(columns=list(drop_columns), errors="ignore")
    non_numeric = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        advice = f"name the id column with {id_hint}" if id_hint else "drop them"
        raise InputError(
            f"{path}: every column must be numeric ({what}); non-numeric columns "
            f"{listing(non_numeric)}: {advice}.",
            inputs=(id_hint,) if id_hint else (),
        )
    return table.to_numpy(dtype=np.float64), [str(c) for c in table.columns]


def load_pred_probs(
    path: str | Path, *, drop_columns: Sequence[str] = (), id_hint: str = "drop_columns"
) -> tuple[npt.NDArray[np.floating[Any]], list[str] | None]:
    """Load an (N, K) array of probabilities or logits, with class names when the file has them.

    ``.npy`` files are memory-mapped and may hold an ensemble (M, N, K). In a table,
    every column except ``drop_columns`` (an id column, say) is one class, named by its
    header; a text column is refused with advice to name it with ``id_hint`` (the
    caller's parameter for the id column).

    Returns
    -------
    (array (N, K) or (M, N, K), class names or None)
    """
    return load_array(
        path,
        what="probabilities",
        ndim=(2, 3),
        mmap=True,
        drop_columns=drop_columns,
        id_hint=id_hint,
    )


def load_pred_probs_with_ids(
    path: str | Path, *, id_col: str | None, id_hint: str = "id_col"
) -> tuple[npt.NDArray[np.floating[Any]], list[str] | None, npt.NDArray[np.str_] | None]:
    """:func:`load_pred_probs` with ``id_col`` dropped, and the ids it holds (as
    :func:`table_ids` gives them), from one read of the file.

    Returns
    -------
    (array, class names or None, ids or None: a ``.npy`` file, or a table without ``id_col``)
    """
    path = Path(path)
    if _suffix(path, ARRAY_SUFFIXES) == ".npy" or not id_col:
        drop = [id_col] if id_col else []
        return (*load_pred_probs(path, drop_columns=drop, id_hint=id_hint), None)
    table = read_table(path, text_columns=[id_col])
    array, names = _table_array(table, path, "probabilities", [id_col], id_hint)
    return array, names, _unique_ids(table, id_col, path)


def table_ids(path: str | Path, column: str) -> npt.NDArray[np.str_] | None:
    """The sample ids in ``column`` of a table, as text; None for a ``.npy`` file or a
    table without that column.

    Raises
    ------
    InputError
        The ids repeat (rows could not be matched by id).
    """
    if _suffix(Path(path), ARRAY_SUFFIXES) == ".npy":
        return None
    return _unique_ids(read_table(path, text_columns=[column]), column, path)


def _unique_ids(table: pd.DataFrame, column: str, path: str | Path) -> npt.NDArray[np.str_] | None:
    """The ids in ``column`` of ``table`` (read from ``path``) as text, None without it;
    repeated ids are refused (see :func:`table_ids`)."""
    if column not in table.columns:
        return None
    ids = table[column].astype(str)
    repeated = ids[ids.duplicated()]
    if not repeated.empty:
        raise InputError(
            f"{path}: {column} {repeated.iloc[0]!r} appears more than once "
            f"({repeated.nunique()} repeated ids); ids must be unique."
        )
    return ids.to_numpy(dtype=str)


def align_rows(
    array: npt.NDArray[Any],
    ids: npt.NDArray[np.str_],
    order: npt.NDArray[np.str_],
    path: str | Path,
) -> npt.NDArray[Any]:
    """The rows of ``array`` (one per id in ``ids``) reordered to the ids in ``order``.

    >>> align_rows(np.array([[1], [2]]), np.array(["b", "a"]), np.array(["a", "b"]), "p.csv")
    array([[2],
           [1]])
    """
    rows = pd.Index(ids).get_indexer(pd.Index(order))
    if (rows < 0).any():
        missing = order[rows < 0]
        raise InputError(
            f"{path}: no row for sample {str(missing[0])!r} ({missing.size} of {order.size} "
            "labelled samples missing); rows are matched by id."
        )
    if len(ids) != len(order):
        extra = np.setdiff1d(ids, order)
        raise InputError(
            f"{path}: rows for {extra.size} samples the labels do not have "
            f"(first {str(extra[0])!r}); rows are matched by id."
        )
    return array[rows]


def load_features(path: str | Path, *, what: str = "features") -> npt.NDArray[np.float64]:
    """Load an (N, D) float matrix with at least one row: features, or vote counts.

    >>> load_features("missing.npy")
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: missing.npy: no such file.
    """
    array, _ = load_array(path, what=what)
    if array.shape[0] == 0:
        raise InputError(f"{path}: expected at least one row of {what}; the file has none.")
    return np.asarray(array, dtype=np.float64)


def encode_labels(
    values: Sequence[Any] | npt.NDArray[Any], classes: Sequence[str]
) -> npt.NDArray[np.intp]:
    """Map class names to indices in ``classes``; unknown names raise, listing a few.

    >>> encode_labels(["cat", "dog", "cat"], ["cat", "dog"])
    array([0, 1, 0])
    """
    index = {str(name): position for position, name in enumerate(classes)}
    names = pd.Series(np.asarray(values)).astype(str)
    codes = names.map(index)
    unknown = names[codes.isna()].unique()
    if unknown.size:
        shown = ", ".join(repr(u) for u in unknown[:5])
        raise InputError(
            f"Unknown class names {shown}{' …' if unknown.size > 5 else ''} "
            f"({unknown.size} in all); expected one of {list(classes)}."
        )
    return np.asarray(codes.to_numpy(), dtype=np.intp)


def read_column(
    path: str | Path,
    column: str | None,
    *,
    what: str,
    parameter: str,
    id_col: str | None = None,
    text: bool = False,
) -> npt.NDArray[Any]:
    """The values of ``column`` of a table, or of its only column when ``column`` is None
    (its ``id_col`` aside); ``what`` the column holds and the caller's ``parameter``
    that names it, for messages. ``text`` reads a CSV or JSON-lines column as text, as
    the file writes it (see :func:`read_table`).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "labels.csv"
    ...     _ = path.write_text("sample_id,label\\na,cat\\nb,dog\\n")
    ...     read_column(path, None, what="label", parameter="label_col", id_col="sample_id")
    array(['cat', 'dog'], dtype=object)
    """
    text = check_flag("text", text)
    table, found = _column_table(
        Path(path), column, what=what, parameter=parameter, id_col=id_col, text=text, ids=False
    )
    return table[found].to_numpy()


def _column_table(
    path: Path,
    column: str | None,
    *,
    what: str,
    parameter: str,
    id_col: str | None,
    text: bool,
    ids: bool,
) -> tuple[pd.DataFrame, str]:
    """The table :func:`read_column` reads, read once, and the column it picks; with
    ``ids``, its ``id_col`` is read as text too (as :func:`table_ids` reads it)."""
    suffix = _suffix(path, TABLE_SUFFIXES)
    if suffix == ".csv":  # the header picks the column; the table is read once
        with _reading(path, suffix):
            columns = _csv_columns(path)
            column = _only_column(path, columns, column, what, parameter, id_col)
            extra = [id_col] if ids and id_col in columns and id_col != column else []
            table = _read_csv(path, columns, [*([column] if text else []), *extra])
    elif text and column is None and suffix not in (".parquet", ".pq"):
        # JSON: pandas types a column as it reads it, and the column is known only once
        # the table is read; so the table is read once untyped, and its column made text
        # as read_table's text_columns make it (pandas' astype(str) of the read values).
        with _reading(path, suffix):
            table = _read_json(path, dtype=False)
        column = _only_column(path, list(table.columns), column, what, parameter, id_col)
        table[column] = table[column].astype(str)
    else:
        as_text = [column] if text and column is not None else []
        table = read_table(path, text_columns=[*as_text, *([id_col] if ids and id_col else [])])
        column = _only_column(path, list(table.columns), column, what, parameter, id_col)
    require_columns(str(path), table.columns, {column: parameter})
    return table, column


def _only_column(
    path: Path,
    columns: Sequence[Any],
    column: str | None,
    what: str,
    parameter: str,
    id_col: str | None,
) -> str:
    """``column``, or the table's only column besides ``id_col`` when it is None."""
    if column is not None:
        return column
    candidates = [str(c) for c in columns if c != id_col]
    if len(candidates) != 1:
        besides = f" besides {id_col!r}" if id_col in columns else ""
        raise InputError(
            f"{path}: expected one column{besides} or the {what} column named ({parameter}); "
            f"found {len(columns)} columns: {listing(list(columns))}.",
            inputs=(parameter,),
        )
    return candidates[0]


def load_labels(
    path: str | Path,
    *,
    label_col: str | None = None,
    classes: Sequence[str] | None = None,
    id_col: str | None = None,
) -> npt.NDArray[Any]:
    """Load given labels: ints, or class names mapped through ``classes``.

    A ``.npy`` file holds the labels; a table holds them in ``label_col`` (or its only
    column besides ``id_col``). Names need ``classes`` (for example the probability
    file's headers). A CSV or JSON-lines column is read as the file writes it: when
    every label is one of ``classes`` it is a class name, even one that looks like a
    number (ratings '1'-'5', a class 'None'); otherwise integers are class indices.
    """
    path = Path(path)
    if _suffix(path, ARRAY_SUFFIXES) == ".npy":
        values = _read_npy(path, mmap=False)
    else:
        values = read_column(
            path, label_col, what="label", parameter="label_col", id_col=id_col, text=True
        )
    return decode_labels(path, values, classes)


def read_labels(
    path: str | Path, *, label_col: str | None = None, id_col: str | None = None
) -> tuple[npt.NDArray[Any], npt.NDArray[np.str_] | None]:
    """The labels as the file writes them (see :func:`load_labels`), and the ids in its
    ``id_col`` (as :func:`table_ids` gives them; None for ``.npy`` or no such column),
    from one read of the file. :func:`decode_labels` turns the labels into indices."""
    path = Path(path)
    if _suffix(path, ARRAY_SUFFIXES) == ".npy":
        return _read_npy(path, mmap=False), None
    table, column = _column_table(
        path, label_col, what="label", parameter="label_col", id_col=id_col, text=True, ids=True
    )
    return table[column].to_numpy(), _unique_ids(table, id_col, path) if id_col else None


def decode_labels(
    path: str | Path, values: npt.NDArray[Any], classes: Sequence[str] | None
) -> npt.NDArray[Any]:
    """Labels read from ``path`` (:func:`read_labels`) as ints: class indices, or names
    mapped through ``classes`` (see :func:`load_labels`)."""
    if values.dtype.kind not in "iuf":
        written = pd.Series(values, dtype=object)
        if classes is not None and written.isin(list(classes)).all():
            return encode_labels(values, classes)
        numbers = pd.to_numeric(written, errors="coerce")
        if numbers[written.notna()].notna().all():
            values = numbers.to_numpy()
    if values.dtype.kind in "iuf":
        return values
    if classes is None:
        raise InputError(
            f"{path}: labels are class names; give classes (their names in column order) "
            "or a probability table whose headers are the class names.",
            inputs=("classes",),
        )
    try:
        return encode_labels(values, classes)
    except InputError as exc:  # name the file: a command may read several label files
        raise InputError(f"{path}: {exc}") from exc
