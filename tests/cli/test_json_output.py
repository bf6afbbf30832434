"""``--json`` on every command that prints a result, on SQLite and PostgreSQL: stdout is
the library's result as JSON, and its numbers are what the store now holds."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from labelmend import workflow
from labelmend.cli.app import app
from labelmend.storage import open_store
from labelmend.storage.models import FeatureSet, PredictionRun, Queue, Sample, ScoreRun
from labelmend.sync.service import sync_status
from tests.synthetic import noisy_problem

runner = CliRunner()
CLASSES = ["cat", "dog", "fox"]
N = 60


@pytest.fixture
def files(tmp_path):
    given, probs, _ = noisy_problem(N, 3, noise=0.15)
    ids = [f"s{i:03d}" for i in range(N)]
    pd.DataFrame({"sample_id": ids, "label": np.array(CLASSES)[given]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    predictions = pd.DataFrame(probs, columns=CLASSES)
    predictions.insert(0, "sample_id", ids)
    predictions.to_parquet(tmp_path / "predictions.parquet")
    rng = np.random.default_rng(0)
    features = pd.DataFrame(
        probs + rng.normal(scale=0.1, size=probs.shape), columns=["f0", "f1", "f2"]
    )
    features.insert(0, "sample_id", ids)
    features.to_csv(tmp_path / "features.csv", index=False)
    return tmp_path


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def as_json(*args: str) -> Any:
    """Run a command with ``--json``: its stdout is one JSON document and nothing else."""
    return json.loads(ok(*args, "--json"))


def count(url: str, model: type) -> int:
    with open_store(url) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def init(files: Path, db: list[str]) -> None:
    ok("init", "pets", "--classes", ",".join(CLASSES), *db)
    ok("import", "samples", str(files / "samples.csv"), *db)


def scored(files: Path, db: list[str]) -> None:
    init(files, db)
    ok("import", "predictions", str(files / "predictions.parquet"), "--model", "m", *db)
    ok("score", *db)


def queued(files: Path, db: list[str]) -> None:
    scored(files, db)
    ok("queue", "create", "q", "--budget", "8", *db)


def open_items(url: str) -> pd.DataFrame:
    with open_store(url) as session:
        return workflow.queue_items(session, "q")


def check_init(files: Path, url: str, db: list[str]) -> None:
    done = as_json("init", "pets", "--classes", ",".join(CLASSES), *db)
    with open_store(url) as session:
        [stored] = workflow.list_datasets(session)
    assert done == {"dataset": "pets", "classes": stored["classes"]}
    assert stored["classes"] == 3


def check_import_samples(files: Path, url: str, db: list[str]) -> None:
    ok("init", "pets", "--classes", ",".join(CLASSES), *db)
    done = as_json("import", "samples", str(files / "samples.csv"), *db)
    assert done == {"dataset": "pets", "inserted": N, "unchanged": 0, "other_metadata": 0}
    assert count(url, Sample) == done["inserted"]
    again = as_json("import", "samples", str(files / "samples.csv"), *db)
    assert (again["inserted"], again["unchanged"]) == (0, count(url, Sample))


def check_import_predictions(files: Path, url: str, db: list[str]) -> None:
    init(files, db)
    path = str(files / "predictions.parquet")
    done = as_json("import", "predictions", path, "--model", "m", *db)
    with open_store(url) as session:
        [run] = session.scalars(select(PredictionRun)).all()
    assert done == {
        "dataset": "pets", "model": run.model, "run_id": run.id, "n_samples": run.n_samples,
        "created": True,
    }  # fmt: skip
    assert run.n_samples == N
    again = as_json("import", "predictions", path, "--model", "m", *db)
    assert (again["run_id"], again["created"]) == (run.id, False)


def check_import_features(files: Path, url: str, db: list[str]) -> None:
    init(files, db)
    done = as_json("import", "features", str(files / "features.csv"), *db)
    with open_store(url) as session:
        [stored] = session.scalars(select(FeatureSet)).all()
    assert done == {
        "dataset": "pets", "name": stored.name, "feature_set_id": stored.id,
        "n_samples": stored.n_samples, "n_features": stored.n_features, "created": True,
        "reference": False,
    }  # fmt: skip
    assert (stored.n_samples, stored.n_features) == (N, 3)


def check_fit(files: Path, url: str, db: list[str]) -> None:
    init(files, db)
    ok("import", "features", str(files / "features.csv"), *db)
    done = as_json("fit", "--folds", "2", "--seed", "3", *db)
    with open_store(url) as session:
        [run] = session.scalars(select(PredictionRun)).all()
    assert (done["run_id"], done["model"], done["n_samples"]) == (run.id, run.model, N)
    assert done["created"] is True
    assert done["provenance"] == run.provenance
    assert (done["provenance"]["folds"], done["provenance"]["seed"]) == (2, 3)


def check_round(files: Path, url: str, db: list[str]) -> None:
    init(files, db)
    ok("import", "features", str(files / "features.csv"), *db)
    done = as_json("round", "--queue", "r1", "--budget", "5", "--folds", "2", *db)
    with open_store(url) as session:
        queue = session.scalars(select(Queue)).one()
        score_run = session.get(ScoreRun, queue.score_run_id)
        assert score_run is not None
        items = workflow.queue_items(session, "r1")
        status = workflow.dataset_status(session)
    assert done["fit"]["run_id"] == score_run.prediction_run_id
    assert done["score"]["score_run"] == score_run.id
    assert done["score"]["raw_p_error_sum"] == pytest.approx(score_run.estimated_errors)
    assert status.errors is not None
    assert done["score"]["errors"] == pytest.approx(asdict(status.errors))
    assert done["queue"]["queue"] == queue.name == "r1"
    assert done["queue"]["score_run"] == score_run.id
    assert done["queue"]["items"] == len(items) == 5
    assert done["queue"]["expected_errors"] == pytest.approx(items["p_error"].sum())
    assert set(done) == {"fit", "score", "queue"}  # errors.expected is the count left


def check_queue_create(files: Path, url: str, db: list[str]) -> None:
    scored(files, db)
    done = as_json("queue", "create", "q", "--budget", "8", *db)
    [listed] = as_json("queue", "list", *db)
    items = open_items(url)
    assert done == {
        "queue": "q", "score_run": listed["score_run"], "items": len(items),
        "expected_errors": pytest.approx(items["p_error"].sum()),
    }  # fmt: skip
    assert len(items) == 8


def check_label_set(files: Path, url: str, db: list[str]) -> None:
    init(files, db)
    samples = pd.read_csv(files / "samples.csv")
    first, given = samples.iloc[0]
    other = next(c for c in CLASSES if c != given)
    assert as_json("label", "set", first, other, *db) == {"decided": 1, "changed": 1}
    assert as_json("label", "set", first, other, *db) == {"decided": 1, "changed": 0}
    decisions = samples.iloc[1:6].assign(label=[CLASSES[0]] * 5)
    decisions.to_csv(files / "decisions.csv", index=False)
    done = as_json("label", "set", "--file", str(files / "decisions.csv"), *db)
    with open_store(url) as session:
        status = workflow.dataset_status(session)
    assert done == {"decided": 5, "changed": int((samples.iloc[1:6]["label"] != CLASSES[0]).sum())}
    assert status.labels_changed == 1 + done["changed"]


def check_label_undo(files: Path, url: str, db: list[str]) -> None:
    init(files, db)
    first, given = pd.read_csv(files / "samples.csv").iloc[0]
    other = next(c for c in CLASSES if c != given)
    ok("label", "set", first, other, *db)
    done = as_json("label", "undo", first, *db)
    with open_store(url) as session:
        newest = workflow.label_history(session, first).iloc[-1]
    assert done == {
        "restored": newest["new_label"],
        "replaced": newest["old_label"],
        "decided": False,
        "reopened": 0,
        "stale_run": None,
        "scored_label": None,
    }
    assert (done["restored"], done["replaced"]) == (given, other)


def check_import_annotations(files: Path, url: str, db: list[str]) -> None:
    queued(files, db)
    items = open_items(url)
    answers = pd.DataFrame(
        {"sample_id": items["sample_id"][:4], "annotator": "ann", "label": CLASSES[1]}
    )
    answers.to_csv(files / "answers.csv", index=False)
    done = as_json(
        "sync", "import-annotations", "q", str(files / "answers.csv"),
        "--aggregation", "single-expert", *db,
    )  # fmt: skip
    with open_store(url) as session:
        stage = sync_status(session, "q")
    assert (done["recorded"], done["repeated"], done["updated"]) == (stage.annotations, 0, 0)
    assert done["decisions"]["decided"] == stage.resolved == 4
    assert done["decisions"]["changed"] == int((items["given_label"][:4] != CLASSES[1]).sum())
    assert (done["decisions"]["ties"], done["rejected"]) == ([], [])  # a file is refused whole


def check_export_tasks(files: Path, url: str, db: list[str]) -> None:
    queued(files, db)
    path = files / "tasks.jsonl"
    done = as_json("sync", "export-tasks", "q", str(path), *db)
    with open_store(url) as session:
        stage = sync_status(session, "q")
    assert done == {"n_tasks": stage.open, "path": str(path)}
    assert len(pd.read_json(path, lines=True)) == stage.open == 8


def check_export_labels(files: Path, url: str, db: list[str]) -> None:
    init(files, db)
    path = files / "labels.csv"
    done = as_json("export", "labels", str(path), *db)
    assert done == {"n_rows": count(url, Sample), "path": str(path)}
    assert len(pd.read_csv(path)) == N


def check_simulate(files: Path, url: str, db: list[str]) -> None:
    rng = np.random.default_rng(1)
    truth = rng.integers(3, size=90)
    probs = np.full((90, 3), 0.1)
    probs[np.arange(90), truth] = 0.8
    np.save(files / "counts.npy", rng.multinomial(20, probs))
    np.save(files / "probs.npy", 0.7 * probs + 0.3 * rng.dirichlet(np.ones(3), size=90))
    done = as_json(
        "simulate", "--counts", str(files / "counts.npy"), "--pred-probs",
        str(files / "probs.npy"), "--out", str(files / "out"), "--seeds", "2",
        "--selectors", "random,default",
    )  # fmt: skip
    assert done["files"]["runs"] == str(files / "out" / "runs.csv")
    runs = pd.read_csv(done["files"]["runs"])
    summary = pd.DataFrame(done["summary"]).set_index("selector")
    means = runs.groupby("selector")["auc_gain"].mean()
    assert summary["auc_gain_mean"].to_dict() == pytest.approx(means.to_dict())
    assert sorted(summary.index) == ["default", "random"]


def check_queue_export(files: Path, url: str, db: list[str]) -> None:
    queued(files, db)
    path = files / "q.csv"
    done = as_json("queue", "export", "q", str(path), *db)
    assert done == {"queue": "q", "items": len(open_items(url)), "path": str(path)}
    assert len(pd.read_csv(path)) == done["items"] == 8


def check_queue_delete(files: Path, url: str, db: list[str]) -> None:
    queued(files, db)
    done = as_json("queue", "delete", "q", *db)
    assert done == {"queue": "q", "items": 8}
    assert count(url, Queue) == 0


def check_report(files: Path, url: str, db: list[str]) -> None:
    scored(files, db)
    path = files / "pets.html"
    done = as_json("report", "--out", str(path), *db)
    assert done == {"path": str(path)}
    assert path.read_text().startswith("<!doctype html>")


CHECKS: dict[str, Callable[[Path, str, list[str]], None]] = {
    "init": check_init,
    "import samples": check_import_samples,
    "import predictions": check_import_predictions,
    "import features": check_import_features,
    "fit": check_fit,
    "round": check_round,
    "queue create": check_queue_create,
    "label set": check_label_set,
    "label undo": check_label_undo,
    "sync import-annotations": check_import_annotations,
    "sync export-tasks": check_export_tasks,
    "export labels": check_export_labels,
    "simulate": check_simulate,
    "queue export": check_queue_export,
    "queue delete": check_queue_delete,
    "report": check_report,
}


@pytest.mark.parametrize("command", CHECKS)
def test_json_is_the_result_the_store_now_holds(command, files, database_url):
    CHECKS[command](files, database_url, ["--db", database_url])


@pytest.mark.parametrize(
    "command",
    [
        ["import", "samples", "{files}/missing.csv"],
        ["queue", "create", "q", "--budget", "3"],
        ["label", "undo", "s000"],
        ["sync", "import-annotations", "nope", "{files}/samples.csv"],
        ["round", "--queue", "r", "--budget", "3"],
        ["queue", "export", "nope", "{files}/nope.csv"],
        ["queue", "delete", "nope"],
        ["report", "--out", "{files}/r.html", "--dataset", "nope"],
    ],
    ids=" ".join,
)
def test_an_error_with_json_leaves_stdout_empty(command, files, database_url):
    init(files, ["--db", database_url])
    args = [part.format(files=files) for part in command]
    result = runner.invoke(app, [*args, "--json", "--db", database_url])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("Error: ")


def test_demo_json_is_its_report(tmp_path):
    """The demo's result (the library's DemoReport) under its field names; the store it
    ran on holds what it says."""
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    out = tmp_path / "demo.html"
    done = as_json("demo", "--budget", "40", "--db", db, "--report", str(out))
    assert set(done) == {
        "database", "n_samples", "n_flipped", "queue", "found", "fixed", "broken",
        "remaining_errors", "errors_before", "status", "report",
    }  # fmt: skip
    assert (done["database"], done["report"]) == (db, str(out))
    assert len(done["queue"]) == 40
    assert set(done["errors_before"]) >= {"expected", "low", "high"}
    [listed] = as_json("datasets", "--db", db)
    assert done["n_samples"] == listed["samples"] == done["status"]["n_samples"]
    result = runner.invoke(app, ["demo", "--db", f"sqlite:///{tmp_path}", "--json"])
    assert (result.exit_code, result.stdout) == (1, "")


def test_every_command_takes_json():
    """queue export, queue delete, report and demo had no --json: a script could not
    read their result. Every command (lazy ones loaded) takes it now."""
    import typer.main

    from tests.cli.test_flag_names import _commands

    without = [
        " ".join(path)
        for path, command in _commands(typer.main.get_command(app))
        if not any("--json" in param.opts for param in command.params)
    ]
    assert without == []
