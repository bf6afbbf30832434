"""Bulk SQL on the session's own connection: fast inserts and cursor reads.

PostgreSQL gets COPY, SQLite ``executemany``; reads bypass the ORM's row objects. Both
run inside the caller's transaction (they use the session's connection), so a failure
rolls them back with everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import SelectBase
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import pandas as pd

#: Rows sent to the database per statement (or per COPY chunk) in a bulk insert.
CHUNK_ROWS = 100_000
#: After a bulk insert of this many rows PostgreSQL re-reads the table's statistics, so
#: that the next query in the same transaction is planned for the table's real size.
ANALYZE_ROWS = 50_000

#: ``progress(rows_done, rows_total)``, called as a bulk insert advances.
ProgressCallback = Callable[[int, int], None]


def _is_binary(column: pd.Series) -> bool:
    return column.dtype == object and len(column) > 0 and isinstance(column.iloc[0], bytes)


def bulk_insert(
    session: Session,
    table: str,
    frame: pd.DataFrame,
    *,
    progress: ProgressCallback | None = None,
) -> None:
    """Insert a frame's rows fast, inside the session's transaction.

    PostgreSQL gets COPY (CSV text, or row by row for binary columns); SQLite gets
    ``executemany``, :data:`CHUNK_ROWS` rows at a time. ``table`` and the frame's column
    names are trusted names from the models, never user input. Missing values become NULL.
    """
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    names = ", ".join(frame.columns)
    total = len(frame)
    report = progress or (lambda _done, _total: None)
    cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if not postgres:
            marks = ", ".join("?" * frame.shape[1])
            for start in range(0, total, CHUNK_ROWS):
                chunk = frame.iloc[start : start + CHUNK_ROWS]
                rows = chunk.astype(object).where(chunk.notna(), None)
                cursor.executemany(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})",
                    rows.itertuples(index=False, name=None),
                )
                report(start + len(chunk), total)
        elif any(_is_binary(frame[c]) for c in frame.columns):
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for done, row in enumerate(frame.itertuples(index=False, name=None), 1):
                    copy.write_row(row)
                    report(done, total)
        else:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv)") as copy:
                for start in range(0, total, CHUNK_ROWS):
                    chunk = frame.iloc[start : start + CHUNK_ROWS]
                    copy.write(chunk.to_csv(header=False, index=False))
                    report(start + len(chunk), total)
        if postgres and total >= ANALYZE_ROWS:
            cursor.execute(f"ANALYZE {table}")
    finally:
        cursor.close()


def read_frame(session: Session, query: SelectBase) -> pd.DataFrame:
    """Run ``query`` on the session's connection and return its rows as a DataFrame.

    The columns are named by the query's selected columns (``.label(...)`` renames).
    Goes through the driver's cursor: building a million SQLAlchemy rows costs more
    than the query. JSON columns come back as text on SQLite.
    """
    connection = session.connection()
    compiled = query.compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = compiled.construct_params()
    arguments: Any = (
        tuple(params[name] for name in compiled.positiontup or ())
        if compiled.positional
        else params
    )
    cursor: Any = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), arguments)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    columns = [column.key for column in query.selected_columns]
    import pandas as pd

    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)
