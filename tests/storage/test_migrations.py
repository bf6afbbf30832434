"""The packaged Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from labelmend.storage import Base, open_store, reads
from labelmend.storage import repository as repo
from labelmend.storage.migrate import MIGRATIONS, alembic_config, current_revision, head_revision


def _alembic(url: str, *args: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "alembic",
            "-c",
            str(MIGRATIONS / "alembic.ini"),
            "-x",
            f"db={url}",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
    )


def _differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_upgrade_head_on_an_empty_database_matches_the_models(database_url):
    _alembic(database_url, "upgrade", "head")
    assert _differences(database_url) == []
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()
    engine.dispose()


@pytest.mark.slow
def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(database_url):
    _alembic(database_url, "upgrade", "head")
    _alembic(database_url, "downgrade", "base")
    engine = create_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    _alembic(database_url, "upgrade", "head")
    assert _differences(database_url) == []


def test_first_use_migrates_automatically(database_url):
    with open_store(database_url) as session:
        tables = set(inspect(session.connection()).get_table_names())
    assert {table.name for table in Base.metadata.sorted_tables} <= tables
    assert _differences(database_url) == []


def _execute(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run SQL statements in one transaction; the last one's rows (if it returns any)."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                result = connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


HISTORY = "SELECT sample_id, old_label, new_label, source, actor FROM label_history ORDER BY id"


def test_0005_keeps_the_history_and_allows_only_what_labelmend_writes(database_url):
    _alembic(database_url, "upgrade", "0004")
    _execute(
        database_url,
        "INSERT INTO datasets (name, classes) VALUES ('pets', '[\"cat\", \"dog\"]')",
        "INSERT INTO samples (dataset_id, external_id, given_label, current_label) "
        "VALUES (1, 's1', 0, 1), (1, 's2', 0, 0)",
        "INSERT INTO label_history (sample_id, old_label, new_label, source, actor) "
        "VALUES (1, 0, 1, 'annotation', 'plurality'), (2, 0, 0, 'manual', 'ann')",
    )
    rows = _execute(database_url, HISTORY)
    _alembic(database_url, "upgrade", "head")
    assert _execute(database_url, HISTORY) == rows
    assert _execute(database_url, "SELECT p_wrong FROM label_history") == [(None,), (None,)]
    assert _differences(database_url) == []
    refused = [
        "(sample_id, old_label, new_label, source) VALUES (1, 1, 0, 'model')",
        "(sample_id, old_label, new_label, source) VALUES (1, 1, 0, 'import')",
        "(sample_id, new_label, source) VALUES (1, 0, 'manual')",
        "(sample_id, old_label, new_label, source, p_wrong) VALUES (1, 1, 0, 'manual', 1.5)",
    ]
    for values in refused:
        with pytest.raises(IntegrityError):
            _execute(database_url, f"INSERT INTO label_history {values}")
    # Rows stored before the uncertainty was count as sure decisions, as they did.
    with open_store(database_url) as session:
        assert reads.decisions(session, repo.get_dataset(session)) == {1: 0.0, 2: 0.0}
    _alembic(database_url, "downgrade", "0004")
    assert _execute(database_url, HISTORY) == rows
    _execute(database_url, f"INSERT INTO label_history {refused[0]}")  # the old schema


def test_0005_refuses_rows_no_labelmend_command_writes(database_url):
    _alembic(database_url, "upgrade", "0004")
    _execute(
        database_url,
        "INSERT INTO datasets (name, classes) VALUES ('pets', '[\"cat\", \"dog\"]')",
        "INSERT INTO samples (dataset_id, external_id, given_label, current_label) "
        "VALUES (1, 's1', 0, 0)",
        "INSERT INTO label_history (sample_id, new_label, source) VALUES (1, 0, 'import')",
    )
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _alembic(database_url, "upgrade", "head")
    assert "label_history holds 1 row(s) with source 'import' or 'model'" in failed.value.stderr
    assert _execute(database_url, "SELECT source FROM label_history") == [("import",)]


def test_revisions_are_read_without_alembic_as_alembic_reads_them(database_url):
    """The start-up check (no Alembic import) agrees with Alembic on the packaged head and
    on the database's revision: none, an older one, and head after the automatic upgrade."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = create_engine(database_url)
    try:
        assert current_revision(engine) is None
        _alembic(database_url, "upgrade", "0003")
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0003"
        assert current_revision(engine) == "0003"
        with open_store(database_url):
            pass
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_0008_keeps_the_history_and_undoes_a_decision_recorded_before(database_url):
    """A store at 0007 with decisions, an old-style undo (a 'manual' row), a queue item
    resolved by a decision and an answer: upgraded, every row is as it was, the old undo
    still counts as a decision, and ``label undo`` takes back a decision recorded before
    the upgrade, reopening its item."""
    _alembic(database_url, "upgrade", "0007")
    _execute(
        database_url,
        "INSERT INTO datasets (name, classes) VALUES ('pets', '[\"cat\", \"dog\"]')",
        "INSERT INTO samples (dataset_id, external_id, given_label, current_label) "
        "VALUES (1, 's1', 0, 1), (1, 's2', 0, 0)",
        "INSERT INTO prediction_runs (dataset_id, model, file_hash, n_samples) "
        "VALUES (1, 'm', 'h', 2)",
        "INSERT INTO score_runs (dataset_id, prediction_run_id, method, difficulty, "
        "estimated_errors) VALUES (1, 1, 'self_confidence', 'none', 0.5)",
        "INSERT INTO queues (dataset_id, name, score_run_id, strategy) VALUES (1, 'q', 1, 'top')",
        "INSERT INTO queue_items (queue_id, sample_id, position, status, external_task_id) "
        "VALUES (1, 1, 1, 'resolved', '41')",
        "INSERT INTO annotations (sample_id, queue_item_id, annotator, label, tool, "
        "external_id) VALUES (1, 1, 'ann', 1, 'label-studio', 'a1')",
        "INSERT INTO label_history (sample_id, old_label, new_label, source, actor, p_wrong) "
        "VALUES (1, 0, 1, 'annotation', 'ann via plurality', 0.0), "
        "(2, 0, 1, 'manual', 'bob', NULL)",
        "INSERT INTO label_history (sample_id, old_label, new_label, source, actor, "
        "external_ref) VALUES (2, 1, 0, 'manual', 'bob', 'undo:2')",
    )
    tables = ("label_history", "queue_items", "annotations", "samples")
    before = {t: _execute(database_url, f"SELECT * FROM {t} ORDER BY id") for t in tables}
    _alembic(database_url, "upgrade", "head")
    after = {t: _execute(database_url, f"SELECT * FROM {t} ORDER BY id") for t in tables}
    assert {t: [row[: len(before[t][0])] for row in after[t]] for t in tables} == before
    assert _execute(database_url, "SELECT undoes FROM label_history") == [(None,)] * 3
    assert _differences(database_url) == []
    with open_store(database_url) as session:
        assert reads.decisions(session, repo.get_dataset(session)) == {1: 0.0, 2: 0.0}
    from labelmend import workflow

    with open_store(database_url) as session:
        done = workflow.undo_label(session, "s1", actor="cy")
    assert (done.restored, done.replaced, done.decided, done.reopened) == ("cat", "dog", False, 1)
    assert _execute(database_url, "SELECT status FROM queue_items") == [("annotated",)]
    assert _execute(database_url, "SELECT source, undoes FROM label_history WHERE id = 4") == [
        ("undo", 1)
    ]
    with open_store(database_url) as session:
        assert reads.decisions(session, repo.get_dataset(session)) == {2: 0.0}
    refused = [
        "(sample_id, old_label, new_label, source) VALUES (1, 0, 0, 'undo')",
        "(sample_id, old_label, new_label, source, undoes) VALUES (1, 0, 0, 'manual', 2)",
        "(sample_id, old_label, new_label, source, undoes) VALUES (1, 0, 0, 'undo', 1)",
    ]
    for values in refused:  # an undo names its decision; a decision is taken back once
        with pytest.raises(IntegrityError):
            _execute(database_url, f"INSERT INTO label_history {values}")
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _alembic(database_url, "downgrade", "0007")
    assert "label_history holds 1 undo row(s)" in failed.value.stderr
