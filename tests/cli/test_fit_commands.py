"""``import features``, ``fit`` and ``round`` through typer's CliRunner, on SQLite and PostgreSQL."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.naive_bayes import GaussianNB
from sklearn.preprocessing import StandardScaler
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from labelmend.cli.app import app
from labelmend.fitting import refit
from labelmend.storage import open_store
from labelmend.storage import repository as repo
from labelmend.storage.models import PredictionRun, Queue, QueueItem, Sample, ScoreRun

runner = CliRunner()
CLASSES = ["cat", "dog", "fox"]
N = 90


@pytest.fixture
def files(tmp_path):
    """90 samples in three well-separated classes, the first 9 labels flipped."""
    rng = np.random.default_rng(0)
    true = np.repeat([0, 1, 2], N // 3)
    features = rng.normal(scale=0.6, size=(N, 4))
    features[:, :3] += 2.5 * np.eye(3)[true]
    given = true.copy()
    given[::10] = (given[::10] + 1) % 3
    ids = [f"s{i:03d}" for i in range(N)]
    pd.DataFrame({"sample_id": ids, "label": np.array(CLASSES)[given]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    table = pd.DataFrame(features, columns=[f"f{j}" for j in range(4)])
    table.insert(0, "sample_id", ids)
    table.iloc[::-1].to_csv(tmp_path / "features.csv", index=False)  # order must not matter
    table.to_parquet(tmp_path / "features.parquet", index=False)
    np.save(tmp_path / "features.npy", features)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    (tmp_path / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    pd.DataFrame({"sample_id": ids, "truth": np.array(CLASSES)[true]}).to_csv(
        tmp_path / "truth.csv", index=False
    )
    return tmp_path


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())  # rich wraps at the terminal's width


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


def store_with_samples(files, url: str) -> list[str]:
    db = ["--db", url]
    ok("init", "pets", "--classes", str(files / "classes.txt"), *db)
    ok("import", "samples", str(files / "samples.csv"), *db)
    return db


def rows(url: str, query):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(query).all()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_fit_score_queue_answers_round(files, database_url):
    db = store_with_samples(files, database_url)
    assert "90 samples × 4" in ok("import", "features", str(files / "features.csv"), *db)
    out = ok("fit", "--model", "logistic", "--folds", "5", *db)
    assert "for 90 samples stored (run 1)" in out
    assert "nothing changed" in ok("fit", *db)  # same labels, same settings: the same run
    out = ok("score", "--model", "logistic", *db)
    ok("queue", "create", "first", "--budget", "12", *db)
    first = rows(database_url, select(Sample.external_id).join(QueueItem).order_by(QueueItem.id))
    queued = [r[0] for r in first]
    # The model trained out-of-fold finds the flipped labels: they lead the queue.
    flipped = {f"s{i:03d}" for i in range(0, N, 10)}
    assert len(flipped & set(queued)) >= 8
    truth = pd.read_csv(files / "truth.csv").set_index("sample_id")["truth"]
    for sample in queued:
        ok("label", "set", sample, truth[sample], "--reason", "expert", "--actor", "ann", *db)
    out = ok("round", "--queue", "second", "--budget", "10", *db)
    assert "'logistic' refit (run 2)" in out
    assert "queue 'second': 10 samples" in out
    runs = rows(
        database_url, select(PredictionRun.id, PredictionRun.provenance).order_by(PredictionRun.id)
    )
    first_run, second_run = (provenance for _, provenance in runs)
    assert (second_run["folds"], second_run["seed"]) == (5, 0)
    assert (second_run["model"], second_run["features"]) == ("logistic", "features")
    assert first_run["label_change_id"] is None
    assert second_run["label_change_id"] is not None
    assert first_run["labels_sha256"] != second_run["labels_sha256"]
    # The new queue takes nothing reviewed; its scores are the refit's.
    second = rows(
        database_url,
        select(Sample.external_id)
        .join(QueueItem, QueueItem.sample_id == Sample.id)
        .join(Queue, Queue.id == QueueItem.queue_id)
        .where(Queue.name == "second"),
    )
    assert not {r[0] for r in second} & set(queued)
    score_runs = rows(
        database_url, select(ScoreRun.id, ScoreRun.prediction_run_id).order_by(ScoreRun.id)
    )
    assert score_runs[-1][1] == 2
    remaining = float(out.split("Estimated label errors remaining:")[1].split()[0].rstrip("."))
    status = ok("status", *db)
    assert f"{remaining:.1f}" in status


@pytest.mark.parametrize(
    ("source", "extra"),
    [
        ("features.npy", ["--ids", "ids.txt"]),
        ("features.parquet", []),
        ("features.parquet", ["--reference"]),
    ],
)
def test_every_feature_format_gives_the_same_fit(files, database_url, source, extra):
    db = store_with_samples(files, database_url)
    options = [str(files / e) if e.endswith(".txt") else e for e in extra]
    ok("import", "features", str(files / source), *options, *db)
    ok("fit", *db)
    ok("import", "features", str(files / "features.csv"), "--name", "csv", *db)
    ok("fit", "--features", "csv", "--name", "from-csv", *db)
    stored = rows(database_url, select(PredictionRun.model).order_by(PredictionRun.id))
    assert [model for (model,) in stored] == ["logistic", "from-csv"]
    with open_store(database_url) as session:
        found = repo.get_dataset(session)
        first, second = (
            repo.load_probabilities(session, repo.find_prediction_run(session, found, name), 3)
            for name in ("logistic", "from-csv")
        )
    # Same values, labels, folds and seed whatever the file: the same probabilities, those
    # of the refit the simulator's active mode makes.
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_allclose(first[1], second[1], rtol=1e-12)
    features = np.load(files / "features.npy")
    labels = pd.read_csv(files / "samples.csv")["label"].map(CLASSES.index).to_numpy()
    np.testing.assert_allclose(first[1], refit(features, labels, classes=CLASSES), rtol=1e-12)


def test_mlp_and_a_joblib_classifier(files, database_url, tmp_path):
    db = store_with_samples(files, database_url)
    ok("import", "features", str(files / "features.csv"), *db)
    assert "'mlp' (3 folds" in ok("fit", "--model", "mlp", "--folds", "3", *db)
    joblib.dump(GaussianNB(), tmp_path / "bayes.joblib")
    out = ok("fit", "--model", str(tmp_path / "bayes.joblib"), *db)
    assert "'bayes'" in out
    provenance = rows(database_url, select(PredictionRun.provenance).order_by(PredictionRun.id))[
        -1
    ][0]
    assert len(provenance["model_sha256"]) == 64


def test_bad_input_is_one_line_exit_1_and_leaves_the_store_unchanged(
    files, database_url, snapshot, tmp_path
):
    db = store_with_samples(files, database_url)
    table = pd.read_csv(files / "features.csv", dtype={"sample_id": str})
    bad = {
        "unknown.csv": table.replace({"sample_id": {"s000": "nope"}}),
        "short.csv": table.iloc[1:],
        "nan.csv": table.assign(f1=table["f1"].where(table.index != 5, np.nan)),
        "inf.csv": table.assign(f2=table["f2"].where(table.index != 7, np.inf)),
        "no_columns.csv": table[["sample_id"]],
        "text.csv": table.assign(f3="x"),
    }
    for name, frame in bad.items():
        frame.to_csv(tmp_path / name, index=False)
    joblib.dump(StandardScaler(), tmp_path / "scaler.joblib")
    (tmp_path / "garbage.joblib").write_bytes(b"not a pickle")
    before = snapshot(database_url)
    messages = {
        "unknown.csv": "1 feature row(s) name ids that are not samples of 'pets' (first 'nope')",
        "short.csv": "has 89 rows but dataset 'pets' has 90 samples",
        "nan.csv": "1 row(s) hold NaN or infinite values (first id 's084')",
        "inf.csv": "1 row(s) hold NaN or infinite values (first id 's082')",
        "no_columns.csv": "no feature columns besides 'sample_id'; expected D ≥ 1",
        "text.csv": "must be a numeric feature; found 'f3'",
    }
    for name, message in messages.items():
        assert message in fails("import", "features", str(tmp_path / name), *db), name
    assert "pass --ids" in fails("import", "features", str(files / "features.npy"), *db)
    out = fails("import", "features", str(files / "features.csv"), "--reference", *db)
    assert "--reference keeps features in a .parquet file only" in out
    assert "has no features; run `labelmend import features FILE`" in fails("fit", *db)
    assert snapshot(database_url) == before

    ok("import", "features", str(files / "features.csv"), *db)
    before = snapshot(database_url)
    out = fails("fit", "--model", str(tmp_path / "scaler.joblib"), *db)
    assert "expected a classifier with fit and predict_proba; found a StandardScaler" in out
    assert "not a joblib-saved model" in fails(
        "fit", "--model", str(tmp_path / "garbage.joblib"), *db
    )
    assert "--model must be one of logistic, mlp or a .joblib file" in fails(
        "fit", "--model", "resnet", *db
    )
    # Three labels flipped out of each class and three into it: 30 samples per class; the
    # first (in class order) is named by its name, not its index (it said 'class 0').
    assert (
        "Error: --folds=31 needs at least 31 samples of every class; class 'cat' has 30"
        in fails("fit", "--folds", "31", *db)
    )
    out = fails("round", "--queue", "q", "--budget", "5", "--folds", "31", *db)
    assert "Error: --folds=31 needs at least 31 samples of every class; class 'cat' has 30" in out
    assert snapshot(database_url) == before


def test_a_class_absent_from_the_current_labels_is_named(files, database_url, snapshot):
    db = ["--db", database_url]
    (files / "four.txt").write_text("cat\ndog\nfox\nowl\n")
    ok("init", "pets", "--classes", str(files / "four.txt"), *db)
    ok("import", "samples", str(files / "samples.csv"), *db)
    ok("import", "features", str(files / "features.csv"), *db)
    before = snapshot(database_url)
    out = fails("fit", *db)
    assert "No sample has the label 'owl' now" in out
    assert snapshot(database_url) == before


def test_a_referenced_file_that_changed_is_refused(files, database_url, snapshot):
    db = store_with_samples(files, database_url)
    ok("import", "features", str(files / "features.parquet"), "--reference", *db)
    table = pd.read_parquet(files / "features.parquet")
    table.assign(f0=table["f0"] + 1).to_parquet(files / "features.parquet", index=False)
    before = snapshot(database_url)
    assert "missing or changed since it was imported" in fails("fit", *db)
    assert snapshot(database_url) == before


def test_a_round_with_a_taken_queue_name_writes_nothing(files, database_url, snapshot):
    db = store_with_samples(files, database_url)
    ok("import", "features", str(files / "features.csv"), *db)
    ok("round", "--queue", "q", "--budget", "5", *db)
    ok("label", "set", "s000", "cat", *db)  # new labels: the next round would refit
    before = snapshot(database_url)
    assert "Queue 'q' already exists" in fails("round", "--queue", "q", "--budget", "5", *db)
    assert snapshot(database_url) == before


def test_a_missing_id_column_names_what_was_expected_and_a_bounded_list(
    files, database_url, snapshot, tmp_path
):
    db = store_with_samples(files, database_url)
    wide = pd.DataFrame(
        np.zeros((N, 40)), columns=[f"f{j}" for j in range(40)], index=pd.Index(range(N))
    )
    wide.insert(0, "id", pd.read_csv(files / "samples.csv")["sample_id"])
    wide.to_csv(tmp_path / "wide.csv", index=False)
    wide.to_parquet(tmp_path / "wide.parquet", index=False)
    before = snapshot(database_url)
    for name in ("wide.csv", "wide.parquet"):
        assert fails("import", "features", str(tmp_path / name), *db).strip() == (
            f"Error: {tmp_path / name}: expected a column 'sample_id' (--id-col); found 41 "
            "columns: 'id', 'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6' and 33 more."
        )
    assert snapshot(database_url) == before
    ok("import", "features", str(tmp_path / "wide.csv"), "--id-col", "id", *db)
