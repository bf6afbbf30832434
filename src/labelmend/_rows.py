"""How messages name a row of an input: one rule, kept free of numpy so that the
light modules (``cleaner.count``) can use it; :mod:`labelmend._validation` re-exports it."""

from __future__ import annotations

from pathlib import PurePath

#: Lines above a table's first row, by file type: the header line of a CSV; JSON-lines
#: files have none. Other inputs (arrays, data frames, Parquet, .npy) have no lines.
LINES_ABOVE_FIRST_ROW = {".csv": 1, ".jsonl": 0}


def row_name(position: int, source: str | PurePath | None = None, *, what: str = "row") -> str:
    """How every message names one row of an input: the one rule.

    Rows are counted from 1, the first row under a table's header being row 1, as a user
    counts them in an editor or a spreadsheet; then where the row is: its line in a CSV
    (the header is line 1) or JSON-lines ``source`` file, its 0-based ``position`` (the
    index numpy and pandas use) in anything else. ``what``: ``column`` for a column.

    >>> row_name(2, "samples.csv"), row_name(2, "answers.jsonl"), row_name(2)
    ('row 3 (line 4)', 'row 3 (line 3)', 'row 3 (index 2)')
    """
    suffix = PurePath(source).suffix.lower() if source is not None else ""
    above = LINES_ABOVE_FIRST_ROW.get(suffix) if what == "row" else None
    where = f"index {position}" if above is None else f"line {position + 1 + above}"
    return f"{what} {position + 1} ({where})"
