"""Engines and transactions: the only place that opens a database connection.

The URL comes from ``--db`` or ``LABELMEND_DB`` and defaults to ``sqlite:///labelmend.db``
in the working directory. SQLite runs in WAL mode with foreign keys on, and every
transaction starts with ``BEGIN IMMEDIATE`` so that two processes writing at once queue
up instead of failing half-way. PostgreSQL is reached through ``postgresql+psycopg://``.

Migrations run automatically the first time a database is opened. Every database error
leaves as a :class:`~labelmend.errors.StorageError` naming the URL with its password
masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from labelmend.errors import InputError, StorageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_URL = "sqlite:///labelmend.db"
ENV_VAR = "LABELMEND_DB"
#: Seconds a SQLite writer waits for another process's transaction before giving up.
SQLITE_BUSY_TIMEOUT = 60.0
#: SQLite's page cache per connection; million-row indexes are built far faster in memory.
SQLITE_CACHE_KIB = 256 * 1024


def resolve_url(url: str | None = None) -> str:
    """The database URL: ``url``, else ``$LABELMEND_DB``, else ``sqlite:///labelmend.db``.

    >>> resolve_url("sqlite:///x.db")
    'sqlite:///x.db'
    """
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def mask_url(url: str | URL) -> str:
    """The URL with its password replaced by ``***``, for messages.

    >>> mask_url("postgresql+psycopg://ann:secret@db.example/labels")
    'postgresql+psycopg://ann:***@db.example/labels'
    >>> mask_url("ann:se@cret@db.example/labels")  # unparsable: shown, the password masked
    'ann:***@db.example/labels'
    """
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r":[^/]*@", ":***@", str(url))


def _first_line(exc: BaseException, secret: str | None) -> str:
    original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(original).strip().splitlines()
    line = text[0] if text else type(original).__name__
    return line.replace(secret, "***") if secret else line


def storage_error(exc: BaseException, url: str | URL, *, action: str) -> StorageError:
    """Wrap a database error into one line: what failed, where (password masked) and why."""
    secret = make_url(url).password if not isinstance(exc, ArgumentError) else None
    return StorageError(f"{action} {mask_url(url)} failed: {_first_line(exc, str(secret or ''))}")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_store_engine(
    url: str | None = None, *, migrate: bool = True, create: bool = True
) -> Engine:
    """An engine for ``url`` (see :func:`resolve_url`), migrated to the newest schema.

    ``create=False`` (for commands that only read) refuses a SQLite file that does not
    exist instead of creating it.

    Raises
    ------
    StorageError
        The URL is malformed, the database cannot be reached (or does not exist and
        ``create`` is False), or migrating failed.

    Examples
    --------
    An in-memory SQLite database, migrated to the newest schema:

    >>> from sqlalchemy import inspect
    >>> engine = create_store_engine("sqlite://")
    >>> {"datasets", "samples", "label_history"} <= set(inspect(engine).get_table_names())
    True
    >>> engine.dispose()
    >>> create_store_engine("sqlite:///no/such/store.db", create=False)
    Traceback (most recent call last):
    labelmend.errors.StorageError: No store at sqlite:///no/such/store.db: the file does not exist. Create one with `labelmend init NAME --classes A,B`, or pass the url of a store.
    >>> create_store_engine("labelmend.db")
    Traceback (most recent call last):
    labelmend.errors.StorageError: labelmend.db is not a usable database URL (Could not parse SQLAlchemy URL from given URL string); for the SQLite file labelmend.db write sqlite:///labelmend.db.
    """
    resolved = resolve_url(url)
    try:
        parsed = make_url(resolved)
        if parsed.get_backend_name() == "sqlite":
            _check_sqlite_file(parsed, resolved, create=create)
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
            _configure_sqlite(engine)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        expected = (
            f"for the SQLite file {resolved} write sqlite:///{resolved}"
            if "://" not in resolved and "@" not in resolved
            else "expected e.g. sqlite:///labelmend.db or postgresql+psycopg://user:pw@host/db"
        )
        raise StorageError(
            f"{mask_url(resolved)} is not a usable database URL ({_first_line(exc, None)}); "
            f"{expected}."
        ) from exc
    if migrate:
        from labelmend.storage.migrate import upgrade

        try:
            upgrade(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise storage_error(exc, resolved, action="Opening") from exc
    return engine


def _check_sqlite_file(url: URL, resolved: str, *, create: bool, name: str = "url") -> None:
    """Refuse a SQLite path that is a directory, and (unless ``create``) one that does
    not exist: one message each, naming the URL as given (password masked) and calling
    the parameter that gave it ``name``."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return
    path = Path(database)
    if path.is_dir():
        raise StorageError(
            f"No store at {mask_url(resolved)}: it is a directory, not a database file; pass "
            f"the {name} of a file in it (sqlite:///{path / 'labelmend.db'}).",
            inputs=(name,),
        )
    if not create and not path.is_file():
        raise StorageError(
            f"No store at {mask_url(resolved)}: the file does not exist. Create one "
            f"with `labelmend init NAME --classes A,B`, or pass the {name} of a store.",
            inputs=(name,),
        )


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any exception.

    A failure anywhere, including Ctrl-C, leaves the database exactly as it was.
    Database errors come out as :class:`StorageError`.

    A dataset created in a transaction that then fails is not in the store:

    >>> import tempfile
    >>> from sqlalchemy import select
    >>> from labelmend.storage import repository
    >>> from labelmend.storage.models import Dataset
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     engine = create_store_engine(f"sqlite:///{tmp}/x.db")
    ...     try:
    ...         with session_scope(engine) as session:
    ...             _ = repository.create_dataset(session, "pets", ["cat", "dog"])
    ...             raise KeyboardInterrupt
    ...     except KeyboardInterrupt:
    ...         pass
    ...     with session_scope(engine) as session:
    ...         print(session.scalars(select(Dataset.name)).all())
    ...     engine.dispose()
    []
    """
    from sqlalchemy.orm import Session

    session = Session(engine, expire_on_commit=False)
    # Bulk paths talk to the driver directly: its own errors are database errors too.
    database_errors = (SQLAlchemyError, engine.dialect.loaded_dbapi.Error)
    try:
        yield session
        session.commit()
    except database_errors as exc:
        session.rollback()
        raise storage_error(exc, engine.url, action="Writing to") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def open_store(url: str | None = None, *, create: bool = True) -> Iterator[Session]:
    """Open the database at ``url`` (migrating it if needed) and run one transaction.

    ``create=False`` refuses a SQLite file that does not exist (see
    :func:`create_store_engine`).

    >>> import tempfile, pathlib
    >>> from sqlalchemy import select
    >>> from labelmend.storage.models import Dataset
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with open_store(f"sqlite:///{pathlib.Path(tmp) / 'x.db'}") as session:
    ...         session.scalars(select(Dataset)).all()
    []
    """
    engine = create_store_engine(url, create=create)
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def read_connection(url: str | None = None) -> Iterator[Connection]:
    """Read an existing store without the ORM: a Core connection, rolled back at the end.

    For the reads of :mod:`labelmend.storage.reads`, so that ``labelmend status`` neither
    imports nor configures the ORM. Like :func:`open_store` with ``create=False``: a
    SQLite file that does not exist is refused, an older schema is upgraded. Database
    errors come out as :class:`StorageError`.

    >>> import tempfile
    >>> from sqlalchemy import text
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with open_store(f"sqlite:///{tmp}/x.db"):
    ...         pass
    ...     with read_connection(f"sqlite:///{tmp}/x.db") as connection:
    ...         connection.execute(text("SELECT count(*) FROM datasets")).scalar()
    0
    """
    engine = create_store_engine(url, create=False)
    try:
        with engine.connect() as connection:
            try:
                yield connection
            except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
                raise storage_error(exc, engine.url, action="Reading") from exc
            finally:
                connection.rollback()
    finally:
        engine.dispose()


@contextmanager
def read_store(url: str | None = None, *, name: str = "url") -> Iterator[Session]:
    """Open an existing store for reading: never creates a database, never migrates one.

    The transaction is rolled back at the end, so nothing read here can change the store.
    ``name``: what the messages call the URL (the caller's own parameter, ``db`` say).

    Raises
    ------
    InputError
        A SQLite file that does not exist, or a store whose schema is older than this
        version of labelmend (any writing command brings it up to date).
    StorageError
        The database cannot be reached.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, read_store(f"sqlite:///{tmp}/none.db"):
    ...     pass  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    labelmend.errors.InputError: No store at sqlite:///.../none.db: the file does not exist. Create one with `labelmend init NAME --classes A,B`, or pass the url of a store.
    """
    from labelmend.storage.migrate import current_revision, head_revision

    resolved = resolve_url(url)
    parsed = make_url(resolved) if "://" in resolved else None
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        try:
            _check_sqlite_file(parsed, resolved, create=False, name=name)
        except StorageError as exc:  # a missing file is the caller's input, not the server's
            raise InputError(str(exc), inputs=exc.inputs) from None
    engine = create_store_engine(resolved, migrate=False)
    try:
        try:
            found = current_revision(engine)
        except SQLAlchemyError as exc:
            raise storage_error(exc, resolved, action="Opening") from exc
        if found != head_revision():
            raise InputError(
                f"The store {mask_url(resolved)} has schema {found or 'none'}, expected "
                f"{head_revision()}; any writing command (e.g. `labelmend init`) upgrades it."
            )
        from sqlalchemy.orm import Session

        session = Session(engine)
        try:
            yield session
        except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
            raise storage_error(exc, resolved, action="Reading") from exc
        finally:
            session.rollback()
            session.close()
    finally:
        engine.dispose()
