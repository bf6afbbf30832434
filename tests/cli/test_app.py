"""The application shell: fast start, --version, python -m, every command loads,
read-only commands never create a database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import Labelmend, app

runner = CliRunner()
HEAVY = ("pandas", "sqlalchemy", "sklearn", "torch", "dask", "label_studio_sdk", "cleanlab")


def _loaded(code: str) -> set[str]:
    """Top-level packages in sys.modules after running ``code`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint(' '.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    return {name.split(".")[0] for name in done.stdout.split()}


def test_the_app_and_its_help_import_nothing_heavy():
    loaded = _loaded("from labelmend.cli.app import app")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    loaded = _loaded(
        "from labelmend.cli.app import main\nimport sys\nsys.argv = ['labelmend', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["status"], ["estimated label errors remaining", "expected label errors in the next 100",
                      "Queue progress"]),
        (["datasets"], ["pets           2        6       1           1"]),
        (["queue", "list"], ["q      top           2     2        2     0"]),
    ],
    ids=" ".join,
)  # fmt: skip
def test_light_commands_read_a_scored_store_without_orm_numpy_pandas_or_model_libraries(
    tmp_path, snapshot, command, shown
):
    """``labelmend status``, ``datasets`` and ``queue list`` start fast because their path
    imports none of SQLAlchemy's ORM (nor the models mapped with it), numpy, pandas,
    Alembic, scikit-learn, SciPy or cleanlab: checked in a fresh interpreter on a scored
    store with a queue, so the error count and queue progress are really computed."""
    db = f"sqlite:///{tmp_path / 'pets.db'}"
    ids = [f"s{i}" for i in range(6)]
    pd.DataFrame({"sample_id": ids, "label": ["cat"] * 3 + ["dog"] * 3}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    cat = [0.9, 0.8, 0.1, 0.2, 0.1, 0.7]
    pd.DataFrame({"sample_id": ids, "cat": cat, "dog": [1 - p for p in cat]}).to_csv(
        tmp_path / "probs.csv", index=False
    )
    for setup in (
        ["init", "pets", "--classes", "cat,dog"],
        ["import", "samples", str(tmp_path / "samples.csv")],
        ["import", "predictions", str(tmp_path / "probs.csv"), "--model", "m"],
        ["score"],
        ["queue", "create", "q", "--budget", "2"],
    ):
        assert runner.invoke(app, [*setup, "--db", db]).exit_code == 0, setup
    before = snapshot(db)
    code = (
        "import sys\nfrom labelmend.cli.app import main\n"
        f"sys.argv = ['labelmend', *{command!r}, '--db', {db!r}]\n"
        "try:\n    main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nprint('MODULES', *sys.modules)"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    output, _, modules = done.stdout.partition("MODULES")
    for text in shown:
        assert text in output, output
    loaded = {name.split(".")[0] for name in modules.split()}
    assert "sqlalchemy" in loaded  # the check sees what the command imports
    heavy = {"numpy", "pandas", "alembic", "sklearn", "scipy", "cleanlab", "torch", "dask"}
    assert not loaded & heavy, sorted(loaded & heavy)
    orm = {"sqlalchemy.orm", "labelmend.storage.models", "labelmend.storage.repository"}
    assert not orm & set(modules.split()), sorted(orm & set(modules.split()))
    assert snapshot(db) == before


def test_version_and_python_dash_m(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "labelmend", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("labelmend ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", list(Labelmend.entries))
def test_every_listed_command_loads_and_has_help(name):
    result = runner.invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "completion" not in result.output  # offered once, by `labelmend --help`


def test_top_level_help_lists_every_command_and_offers_completion():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in Labelmend.entries:
        assert f"  {name} " in result.output
    assert "--install-completion" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["status"],
        ["datasets"],
        ["history", "a"],
        ["queue", "list"],
        ["queue", "show", "q"],
        ["sync", "status", "q"],
        ["export", "labels", "out.csv"],
    ],
)
def test_read_only_commands_never_create_a_database(tmp_path, command, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'typo.db'}"
    result = runner.invoke(app, [*command, "--db", db])
    assert result.exit_code == 1, result.output
    assert "the file does not exist" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == []
    # The advice works: init creates the store, and the command then reads it.
    assert runner.invoke(app, ["init", "pets", "--classes", "cat,dog", "--db", db]).exit_code == 0


@pytest.mark.parametrize(
    "command", [["status"], ["datasets"], ["report"], ["init", "pets", "--classes", "a,b"]]
)
def test_a_sqlite_path_that_is_a_directory_is_called_one(tmp_path, command):
    """--db sqlite:///a-folder said "the file does not exist" (reading commands) or
    "unable to open database file" (writing ones): it exists, and is a folder."""
    folder = tmp_path / "stores"
    folder.mkdir()
    result = runner.invoke(app, [*command, "--db", f"sqlite:///{folder}"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: No store at sqlite:///{folder}: it is a directory, not a database file; "
        f"pass the --db of a file in it (sqlite:///{folder}/labelmend.db)."
    ]
    assert list(folder.iterdir()) == []
