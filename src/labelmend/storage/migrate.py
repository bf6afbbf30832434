"""Run the packaged Alembic migrations: automatically on first use, or by hand.

``alembic -c src/labelmend/storage/migrations/alembic.ini -x db=URL upgrade head`` does
the same from a shell.

Alembic itself is imported only when a database needs upgrading: checking that a store
is at the newest schema (every command, reads included) compares the ``alembic_version``
row with the head revision read from the migration files themselves, which keeps
``labelmend status`` quick to start.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

from labelmend.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

#: The packaged Alembic environment and revisions.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: Key of the PostgreSQL advisory lock held while migrating, so two first uses don't race.
MIGRATION_LOCK_KEY = 7_215_003
#: Alembic's bookkeeping table (its default name; env.py does not change it).
VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    """An Alembic configuration pointing at the migrations shipped in the package."""
    from alembic.config import Config

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _revision_ids(path: Path) -> tuple[str, str | None]:
    """A migration file's ``revision`` and ``down_revision`` (module-level literals)."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = ast.literal_eval(value)
    revision, down = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
        raise StorageError(f"{path.name}: expected string revision and down_revision literals.")
    return revision, down


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the packaged migrations (read once per process).

    The one revision no other migration names as its ``down_revision``, read from the
    files in ``migrations/versions`` without importing Alembic.

    >>> head_revision() is not None
    True
    """
    chain = dict(_revision_ids(path) for path in sorted((MIGRATIONS / "versions").glob("*.py")))
    heads = set(chain) - set(chain.values())
    if len(heads) > 1:
        raise StorageError(f"The packaged migrations have several heads: {sorted(heads)}.")
    return heads.pop() if heads else None


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        found = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        versions = list(found)
    if len(versions) > 1:
        raise StorageError(f"The store records several schema versions: {sorted(versions)}.")
    return versions[0] if versions else None


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there."""
    if current_revision(engine) == head_revision():
        return
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
