"""The workflow on a real store (SQLite and PostgreSQL): imports, scores, queues, history.

Every bad input must leave the database exactly as it was: each failure test compares
the contents of every table before and after.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from tests.synthetic import noisy_problem

from labelmend import workflow
from labelmend.cleaner import (
    expert_confusion,
    fit_expert_reliability,
    fit_noise_model,
    rank_samples,
    score_samples,
)
from labelmend.errors import InputError, StorageError, UsageError
from labelmend.io import write_table
from labelmend.storage import open_store, reads, repository
from labelmend.sync.service import import_annotations

CLASSES = ["cat", "dog", "fox"]
N = 120


def make_tables(n: int = N, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(samples, shuffled predictions, true labels) of a small noisy 3-class problem."""
    given, probs, true = noisy_problem(n, 3, noise=0.1, seed=seed)
    ids = [f"s{i:03d}" for i in range(n)]
    samples = pd.DataFrame(
        {
            "sample_id": ids,
            "label": np.array(CLASSES)[given],
            "url": [f"img/{i}.png" for i in range(n)],
        }
    )
    predictions = pd.DataFrame(probs, columns=CLASSES)
    predictions.insert(0, "sample_id", ids)
    return samples, predictions.sample(frac=1.0, random_state=1), true


def engine_ranking() -> pd.DataFrame:
    """The ranking engine's ranking of :func:`make_tables`' problem, by sample id."""
    samples, predictions, _ = make_tables()
    return rank_samples(
        samples.set_index("sample_id")
        .loc[predictions["sample_id"], "label"]
        .map(CLASSES.index)
        .to_numpy(),
        predictions[CLASSES].to_numpy(),
        sample_ids=predictions["sample_id"].to_numpy(),
    )


@pytest.fixture
def store(database_url):
    """A store holding dataset 'pets' with samples and one model's predictions."""
    samples, predictions, _ = make_tables()
    with open_store(database_url) as session:
        workflow.init_dataset(session, "pets", CLASSES)
    with open_store(database_url) as session:
        workflow.import_samples(session, samples)
    with open_store(database_url) as session:
        workflow.import_predictions(session, predictions, model="net")
    return database_url


@pytest.fixture
def scored(store):
    with open_store(store) as session:
        workflow.score(session)
    return store


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_import_samples_from_each_format_keeps_metadata(database_url, tmp_path, suffix):
    samples, _, _ = make_tables(10)
    path = tmp_path / f"samples{suffix}"
    write_table(samples, path)
    with open_store(database_url) as session:
        workflow.init_dataset(session, "pets", CLASSES)
        done = workflow.import_samples(session, path)
    assert (done.inserted, done.unchanged) == (10, 0)
    with open_store(database_url) as session:
        dataset = repository.get_dataset(session)
        sample = repository.get_sample(session, dataset, "s003")
        assert sample.meta == {"url": "img/3.png"}
        assert CLASSES[sample.given_label] == samples.loc[3, "label"]


def test_json_files_are_json_documents_both_ways(scored, tmp_path):
    """A .json table is one JSON array of records, as pandas and most tools write it: it
    was read as JSON lines (an array became one row of N columns: "expected columns
    'sample_id', 'label'; found 120 columns: '0', '1', …"), and exports to .json wrote
    JSON lines, which json.load refuses. A .json file of JSON lines still reads."""
    samples, _, _ = make_tables()
    samples.to_json(tmp_path / "samples.json", orient="records")
    samples.to_json(tmp_path / "lines.json", orient="records", lines=True)
    with open_store(f"sqlite:///{tmp_path / 'copy.db'}") as session:
        workflow.init_dataset(session, "pets", CLASSES)
        assert workflow.import_samples(session, tmp_path / "samples.json").inserted == N
        assert workflow.import_samples(session, tmp_path / "lines.json").unchanged == N
    with open_store(scored) as session:
        workflow.export_labels(session, tmp_path / "labels.json")
        workflow.create_queue(session, "q", budget=3)
        workflow.export_queue(session, "q", tmp_path / "q.json")
    labels = json.loads((tmp_path / "labels.json").read_text())
    assert [row["sample_id"] for row in labels] == samples["sample_id"].tolist()
    assert len(json.loads((tmp_path / "q.json").read_text())) == 3


@pytest.mark.parametrize("content", ["", "\n\n"], ids=["empty", "blank lines"])
def test_an_empty_file_says_what_it_should_hold(store, snapshot, tmp_path, content):
    """It said "cannot read it as csv: No columns to parse from file"."""
    path = tmp_path / "samples.csv"
    path.write_text(content)
    before = snapshot(store)
    with pytest.raises(InputError) as raised, open_store(store) as session:
        workflow.import_samples(session, path)
    assert str(raised.value) == (
        f"{path}: the file is empty; expected a header row naming the columns, then the rows."
    )
    assert snapshot(store) == before


def test_a_table_saved_with_its_row_index_is_refused_by_name(store, snapshot, tmp_path):
    """to_csv without index=False writes a column with no header, which pandas reads as
    'Unnamed: 0': samples stored it as metadata, and features as one more feature (the
    row number, fitted on); predictions called it an unknown column."""
    samples, predictions, _ = make_tables()
    samples.to_csv(tmp_path / "samples.csv")
    predictions.to_csv(tmp_path / "predictions.csv")
    predictions.rename(columns=dict(zip(CLASSES, ["f1", "f2", "f3"], strict=True))).to_csv(
        tmp_path / "features.csv"
    )
    before = snapshot(store)
    for path, load in [
        ("samples.csv", workflow.import_samples),
        (
            "predictions.csv",
            lambda session, path: workflow.import_predictions(session, path, model="m"),
        ),
        ("features.csv", workflow.import_features),
    ]:
        with pytest.raises(InputError) as raised, open_store(store) as session:
            load(session, tmp_path / path)
        assert str(raised.value) == (
            f"{tmp_path / path}: column 1 has no name in the header (pandas reads it as "
            "'Unnamed: 0': a row index saved with the table?); name it, or write the table "
            "without its index (to_csv(index=False))."
        )
    assert snapshot(store) == before


def test_a_header_that_names_a_column_twice_is_refused(store, snapshot, tmp_path):
    """pandas renames the second 'label' to 'label.1': samples stored it as metadata, and
    predictions with two 'cat' columns were refused for an 'unknown column cat.1'."""
    samples, predictions, _ = make_tables()
    samples.assign(extra=samples["label"]).rename(columns={"extra": "label"}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    predictions.assign(extra=0.0).rename(columns={"extra": "cat"}).to_csv(
        tmp_path / "predictions.csv", index=False
    )
    before = snapshot(store)
    for path, column, load in [
        ("samples.csv", "label", workflow.import_samples),
        ("predictions.csv", "cat", lambda s, p: workflow.import_predictions(s, p, model="m")),
    ]:
        with pytest.raises(InputError) as raised, open_store(store) as session:
            load(session, tmp_path / path)
        assert str(raised.value) == (
            f"{tmp_path / path}: the header names column {column!r} twice; expected each "
            "column once."
        )
    assert snapshot(store) == before


def test_reimporting_samples_changes_nothing(store, snapshot):
    samples, _, _ = make_tables()
    before = snapshot(store)
    with open_store(store) as session:
        done = workflow.import_samples(session, samples)
    assert (done.inserted, done.unchanged) == (0, N)
    assert snapshot(store) == before


def test_import_adds_only_new_samples(store):
    samples, _, _ = make_tables(N + 5)
    with open_store(store) as session:
        done = workflow.import_samples(session, samples)
    assert (done.inserted, done.unchanged) == (5, N)


def test_reimported_samples_with_other_metadata_are_counted_apart(store):
    """An import never changes a stored sample; one whose metadata in the file differs was
    counted 'already stored unchanged'."""
    samples, _, _ = make_tables(N + 2)
    moved = samples.assign(url=samples["url"].where(samples.index >= 3, "s3://bucket/x.png"))
    with open_store(store) as session:
        done = workflow.import_samples(session, moved)
        dataset = repository.get_dataset(session)
        kept = repository.get_sample(session, dataset, "s001").meta
    assert (done.inserted, done.unchanged, done.other_metadata) == (2, N - 3, 3)
    assert kept == {"url": "img/1.png"}
    with open_store(store) as session:  # a file without metadata columns says nothing of it
        done = workflow.import_samples(session, samples.drop(columns="url"))
    assert (done.inserted, done.unchanged, done.other_metadata) == (0, N + 2, 0)


def test_the_library_reads_the_id_column_the_cli_and_exports_use(store, tmp_path):
    """One default id column (labelmend.io.ID_COLUMN, the CLI's --id-col default): the
    file export labels writes, and predictions and features keyed like it, import into
    another store without naming it."""
    labels, features = tmp_path / "labels.csv", tmp_path / "features.csv"
    _, predictions, _ = make_tables()
    with open_store(store) as session:
        workflow.export_labels(session, labels)
    predictions.to_csv(features, index=False)
    with open_store(f"sqlite:///{tmp_path / 'copy.db'}") as session:
        workflow.init_dataset(session, "pets", CLASSES)
        assert workflow.import_samples(session, labels, label_col="current_label").inserted == N
        assert workflow.import_predictions(session, predictions, model="net").n_samples == N
        assert workflow.import_features(session, features).n_features == len(CLASSES)


def _relabelled(samples):
    changed = samples.copy()
    changed.loc[7, "label"] = "fox" if changed.loc[7, "label"] != "fox" else "cat"
    return changed


BAD_SAMPLES = {
    "missing column": (lambda s: s.drop(columns="label"), "expected a column 'label' (label_col)"),
    "duplicate ids": (lambda s: pd.concat([s, s.head(1)]), "'s000' appears 2 times"),
    "unknown class": (
        lambda s: s.assign(label=s["label"].where(s.index != 5, "owl")),
        "Unknown class names 'owl'",
    ),
    "empty label": (
        lambda s: s.assign(label=s["label"].where(s.index != 9, None)),
        "column 'label' is empty in row 10 (index 9)",
    ),
    "changed given label": (_relabelled, "already stored with another given label"),
    "no rows": (lambda s: s.iloc[:0], "table: no rows; expected one row per sample"),
}


@pytest.mark.parametrize("case", BAD_SAMPLES)
def test_bad_sample_files_are_refused_and_leave_the_store_unchanged(store, snapshot, case):
    corrupt, message = BAD_SAMPLES[case]
    samples, _, _ = make_tables()
    before = snapshot(store)
    with pytest.raises(InputError, match=re.escape(message)), open_store(store) as session:
        workflow.import_samples(session, corrupt(samples.copy()))
    assert snapshot(store) == before


BAD_PREDICTIONS = {
    "missing class": (lambda p: p.drop(columns="fox"), r"missing \['fox'\]"),
    "unknown column": (lambda p: p.assign(owl=0.0), r"unknown columns \['owl'\]"),
    "unknown ids": (
        lambda p: p.assign(sample_id=p["sample_id"].where(p["sample_id"] != "s004", "zzz")),
        "1 prediction row\\(s\\) name ids that are not samples",
    ),
    "too few rows": (lambda p: p.iloc[:-3], "rows but dataset 'pets' has 120 samples"),
    "duplicate ids": (lambda p: pd.concat([p, p.head(1)]), "appears 2 times"),
    "rows not summing to one": (
        lambda p: p.assign(cat=p["cat"] + 0.5),
        "rows must sum to 1",
    ),
    "non-numeric": (lambda p: p.assign(dog="x"), r"class columns \['dog'\] are not numeric"),
    "missing id column": (
        lambda p: p.drop(columns="sample_id"),
        r"expected a column 'sample_id' \(id_col\)",
    ),
}


@pytest.mark.parametrize("case", BAD_PREDICTIONS)
def test_bad_prediction_files_are_refused_and_leave_the_store_unchanged(
    store, snapshot, tmp_path, case
):
    corrupt, message = BAD_PREDICTIONS[case]
    _, predictions, _ = make_tables()
    path = tmp_path / "bad.csv"
    corrupt(predictions.copy()).to_csv(path, index=False)
    before = snapshot(store)
    with pytest.raises(InputError, match=message), open_store(store) as session:
        workflow.import_predictions(session, path, model="other")
    assert snapshot(store) == before


def test_predictions_are_matched_by_id_not_position(store):
    _, predictions, _ = make_tables()
    with open_store(store) as session:
        dataset = repository.get_dataset(session)
        run = repository.latest_prediction_run(session, dataset, "net")
        keys, probs = repository.load_probabilities(session, run, 3)
        samples = repository.sample_frame(session, dataset).set_index("id")
    stored = pd.DataFrame(probs, columns=CLASSES, index=samples.loc[keys, "external_id"])
    expected = predictions.set_index("sample_id").loc[stored.index]
    np.testing.assert_allclose(stored.to_numpy(), expected.to_numpy())
    assert not predictions["sample_id"].is_monotonic_increasing  # the file really was shuffled


def test_reimporting_the_same_predictions_is_a_no_op(store, snapshot, tmp_path):
    _, predictions, _ = make_tables()
    path = tmp_path / "p.csv"
    predictions.to_csv(path, index=False)
    with open_store(store) as session:
        first = workflow.import_predictions(session, path, model="net2")
    before = snapshot(store)
    with open_store(store) as session:
        again = workflow.import_predictions(session, path, model="net2")
    assert first.created
    assert not again.created
    assert again.run_id == first.run_id
    assert snapshot(store) == before


def test_features_from_a_data_frame_are_its_file_s_and_the_same_frame_again_is_a_no_op(
    store, snapshot, tmp_path
):
    """import_features takes a data frame as import_samples and import_predictions do:
    the values of the same table read from a file, and a frame with the same contents
    under the same name stores nothing new."""
    _, frame, _ = make_tables()
    frame.to_csv(tmp_path / "f.csv", index=False)
    with open_store(store) as session:
        from_file = workflow.import_features(session, tmp_path / "f.csv", name="file")
        first = workflow.import_features(session, frame, name="frame")
        pets = repository.get_dataset(session, "pets")
        keys = repository.sample_frame(session, pets)["id"].to_numpy()
        _, file_values = workflow.feature_matrix(session, pets, keys, name="file")
        _, frame_values = workflow.feature_matrix(session, pets, keys, name="frame")
    assert (first.created, first.n_samples, first.n_features) == (True, N, len(CLASSES))
    assert first.feature_set_id != from_file.feature_set_id
    np.testing.assert_array_equal(frame_values, file_values)
    before = snapshot(store)
    with open_store(store) as session:
        again = workflow.import_features(session, frame.copy(), name="frame")
    assert (again.created, again.feature_set_id) == (False, first.feature_set_id)
    assert snapshot(store) == before
    changed = frame.assign(cat=frame["cat"].where(frame.index != 3, 0.5))
    with open_store(store) as session:
        assert workflow.import_features(session, changed, name="frame").created
    # Reading a file in place, or a .npy's ids, is for files: the parameter is named.
    before = snapshot(store)
    for options, parameter in (({"reference": True}, "reference"), ({"ids": "i.txt"}, "ids")):
        with (
            pytest.raises(InputError, match=rf"^table: {parameter}") as caught,
            open_store(store) as session,
        ):
            workflow.import_features(session, frame, name="bad", **options)
        assert caught.value.inputs == (parameter,)
    assert snapshot(store) == before


def test_stored_scores_are_the_ranking_engines(scored):
    expected = engine_ranking()
    with open_store(scored) as session:
        dataset = repository.get_dataset(session)
        ranking = repository.load_ranking(session, reads.latest_score_run(session, dataset))
        ids = repository.sample_frame(session, dataset).set_index("id")["external_id"]
    assert ids.loc[ranking["sample_id"]].tolist() == expected["sample_id"].tolist()
    np.testing.assert_allclose(ranking["p_error"], expected["p_error"])


def test_queues_never_overlap_and_skip_reviewed_samples(scored):
    with open_store(scored) as session:
        first = workflow.create_queue(session, "q1", budget=10)
    with open_store(scored) as session:
        q1 = workflow.queue_items(session, "q1")
        workflow.set_label(session, "s100", "fox", reason="checked", actor="ann")
    with open_store(scored) as session:
        second = workflow.create_queue(session, "q2", fraction=0.5)
        q2 = workflow.queue_items(session, "q2", limit=1000)
    assert first.n_items == 10
    assert second.n_items == N // 2
    assert set(q1["sample_id"]).isdisjoint(q2["sample_id"])
    assert "s100" not in set(q2["sample_id"])
    # One name per number, as rank, score, queue show and the export name them (the
    # columns were position and id).
    assert list(q1.columns[:2]) == ["rank", "sample_id"]
    assert q1["rank"].tolist() == list(range(1, 11))
    assert q1["sample_id"].tolist() == engine_ranking()["sample_id"].head(10).tolist()
    assert first.expected_errors == pytest.approx(q1["p_error"].sum())


def test_balanced_queue_caps_each_class(scored):
    with open_store(scored) as session:
        workflow.create_queue(session, "b", budget=9, strategy="balanced")
        items = workflow.queue_items(session, "b")
    assert items["given_label"].value_counts().max() <= 3


def test_duplicate_queue_name_and_missing_scores_are_refused(store):
    with pytest.raises(InputError, match="no scores yet"), open_store(store) as session:
        workflow.create_queue(session, "q", budget=3)
    with open_store(store) as session:
        workflow.score(session)
        workflow.create_queue(session, "q", budget=3)
    with pytest.raises(InputError, match="Queue 'q' already exists"), open_store(store) as session:
        workflow.create_queue(session, "q", budget=3)
    # Python callers read their parameters' names; the CLI renames them to its flags.
    with (
        pytest.raises(UsageError, match=r"^Give exactly one of budget \(a count\) or fraction "),
        open_store(store) as session,
    ):
        workflow.create_queue(session, "r", budget=3, fraction=0.1)
    for bad, message in (({"budget": 0}, "^budget must be"), ({"fraction": 2.0}, "^fraction must")):
        with pytest.raises(InputError, match=message), open_store(store) as session:
            workflow.create_queue(session, "r", **bad)


@pytest.mark.parametrize(
    ("queue", "options", "message"),
    [
        ("q", {}, "Queue 'q' already exists in dataset 'pets'"),
        ("r", {"budget": 0}, "budget must be at least 1 sample"),
        (" ", {}, "The queue name is empty"),
        ("r", {"strategy": "diagonal"}, "strategy must be one of"),
    ],
)
def test_a_round_refuses_its_queue_before_fitting(scored, snapshot, queue, options, message):
    """A round's refit can take minutes: a queue it cannot create is refused before it."""
    _, predictions, _ = make_tables()
    with open_store(scored) as session:
        workflow.import_features(session, predictions)
        workflow.create_queue(session, "q", budget=5)
    folds: list[int] = []
    before = snapshot(scored)
    with pytest.raises(InputError, match=re.escape(message)), open_store(scored) as session:
        workflow.active_round(
            session, queue, **{"budget": 5, **options}, n_folds=2, on_fold=folds.append
        )
    assert folds == []  # no model was fitted
    assert snapshot(scored) == before


def test_label_set_is_recorded_in_history_and_export(scored, tmp_path):
    samples, _, _ = make_tables()
    first, second = [c for c in CLASSES if c != samples.loc[1, "label"]]
    with open_store(scored) as session:
        workflow.set_label(session, "s001", first, reason="blurry", actor="ann")
    with open_store(scored) as session:
        workflow.set_label(session, "s001", second, reason="second look", actor="bob")
    with open_store(scored) as session:
        confirmed = workflow.set_label(session, "s001", second, actor="cy", reason="checked")
        history = workflow.label_history(session, "s001")
        workflow.export_labels(session, tmp_path / "labels.parquet")
    assert confirmed is not None
    assert not confirmed.changed
    assert history["new_label"].tolist() == [first, second, second]
    assert history["old_label"].tolist() == [samples.loc[1, "label"], first, second]
    assert history["actor"].tolist() == ["ann", "bob", "cy"]
    assert history["reason"].tolist() == ["blurry", "second look", "checked"]
    assert history["source"].tolist() == ["manual"] * 3
    exported = pd.read_parquet(tmp_path / "labels.parquet").set_index("sample_id")
    assert exported.loc["s001", "current_label"] == second
    assert exported.loc["s001", "changed_by"] == "cy"
    assert exported.loc["s001", "change_reason"] == "checked"
    assert bool(exported.loc["s001", "changed"])
    assert exported["changed_by"].notna().sum() == 1


def test_label_set_refuses_unknown_class_and_sample(scored, snapshot):
    before = snapshot(scored)
    with pytest.raises(InputError, match="Unknown class name 'owl'"), open_store(scored) as session:
        workflow.set_label(session, "s001", "owl")
    with pytest.raises(InputError, match="No sample 'nope'"), open_store(scored) as session:
        workflow.set_label(session, "nope", "cat")
    assert snapshot(scored) == before


def test_a_decisions_file_with_an_empty_label_names_its_row(scored, snapshot, tmp_path):
    """As import samples does; it said "Unknown class names nan"."""
    path = tmp_path / "decisions.csv"
    path.write_text("sample_id,label\ns001,dog\ns002,\n")
    before = snapshot(scored)
    with pytest.raises(InputError) as raised, open_store(scored) as session:
        workflow.set_labels(session, path)
    assert str(raised.value) == f"{path}: column 'label' is empty in row 2 (line 3)."
    assert snapshot(scored) == before


def test_one_experts_answers_resolve_items_and_change_labels_once(scored, tmp_path):
    _, _, true = make_tables()
    with open_store(scored) as session:
        workflow.create_queue(session, "q", budget=20)
        queue = workflow.queue_items(session, "q")
    answers = pd.DataFrame(
        {
            "sample_id": queue["sample_id"],
            "label": np.array(CLASSES)[true[queue["sample_id"].str[1:].astype(int)]],
            "annotator": "ann",
        }
    )
    answers.to_csv(tmp_path / "answers.csv", index=False)
    path = str(tmp_path / "answers.csv")
    with open_store(scored) as session:
        done = import_annotations(session, "q", path, aggregation="single-expert")
    with open_store(scored) as session:
        again = import_annotations(session, "q", path, aggregation="single-expert")
        after = workflow.queue_items(session, "q", open_only=False)
        report = workflow.dataset_status(session)
    assert done.recorded == 20
    assert (again.recorded, again.repeated) == (0, 20)
    assert done.decisions.decided == 20
    assert done.decisions.changed == int((queue["given_label"] != answers["label"]).sum())
    assert set(after["status"]) == {"resolved"}
    assert report.labels_changed == done.decisions.changed
    assert report.decided == 20


def test_status_counts_the_samples_its_score_run_left_out(scored):
    """Samples imported after the newest score run have no p_error: the error count
    leaves them out, and status says how many (it said nothing)."""
    samples, _, _ = make_tables(N + 5)
    with open_store(scored) as session:
        before = workflow.dataset_status(session)
        workflow.import_samples(session, samples)
        after = workflow.dataset_status(session)
    assert (before.unscored, after.unscored, after.n_samples) == (0, 5, N + 5)
    assert after.errors == before.errors


def test_status_subtracts_reviewed_samples_from_estimated_errors(scored):
    with open_store(scored) as session:
        before = workflow.dataset_status(session, batch_size=5)
        dataset = repository.get_dataset(session)
        run = reads.latest_score_run(session, dataset)
        ranking = repository.load_ranking(session, run)
        top = repository.score_details(session, run, ranking["sample_id"].head(1)).iloc[0]
        other = CLASSES[(top["current_label"] + 1) % 3]
        workflow.set_label(session, top["external_id"], other, actor="ann")
    with open_store(scored) as session:
        after = workflow.dataset_status(session, batch_size=5)
    assert before.errors.expected == pytest.approx(ranking["p_error"].sum())
    assert after.errors.expected == pytest.approx(
        ranking["p_error"].sum() - ranking["p_error"].iloc[0]
    )
    assert before.next_batch_expected_errors == pytest.approx(ranking["p_error"].head(5).sum())
    assert after.labels_changed == 1


def test_status_next_batch_is_what_the_next_queue_takes(scored):
    """status's "expected label errors in the next B" skips queued and reviewed samples exactly
    as ``queue create --budget B`` does, whose expected errors it must equal."""
    with open_store(scored) as session:
        workflow.create_queue(session, "first", budget=3)
        top = workflow.queue_items(session, "first", open_only=False)
        workflow.set_label(session, top["sample_id"].iloc[0], CLASSES[0], actor="ann")
        ranking = repository.load_ranking(
            session, reads.latest_score_run(session, repository.get_dataset(session))
        )
        ahead = int(ranking["rank"].min()) + 3  # a sample just past the queue, reviewed
        sample = repository.sample_frame(session, repository.get_dataset(session)).set_index("id")[
            "external_id"
        ][ranking.loc[ranking["rank"] == ahead, "sample_id"].iloc[0]]
        workflow.set_label(session, sample, CLASSES[1], actor="ann")
    with open_store(scored) as session:
        expected = workflow.dataset_status(session, batch_size=4).next_batch_expected_errors
        queued = workflow.create_queue(session, "second", budget=4).expected_errors
    assert expected == pytest.approx(queued)
    assert expected != pytest.approx(ranking.sort_values("rank")["p_error"].iloc[3:7].sum())


def test_interrupt_half_way_through_an_import_leaves_nothing(store, snapshot, monkeypatch):
    samples, _, _ = make_tables(N + 50)
    original = repository.bulk_insert

    def insert_then_interrupt(*args, **kwargs):
        original(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(repository, "bulk_insert", insert_then_interrupt)
    before = snapshot(store)
    with pytest.raises(KeyboardInterrupt), open_store(store) as session:
        workflow.import_samples(session, samples)
    assert snapshot(store) == before


def test_several_datasets_need_a_name(store):
    with open_store(store) as session:
        workflow.init_dataset(session, "birds", ["owl", "tit"])
    with pytest.raises(InputError, match="several datasets"), open_store(store) as session:
        workflow.dataset_status(session)
    with pytest.raises(InputError, match="No dataset 'fish'"), open_store(store) as session:
        workflow.dataset_status(session, dataset="fish")
    with pytest.raises(InputError, match="already exists"), open_store(store) as session:
        workflow.init_dataset(session, "birds", ["a", "b"])


def test_unreachable_postgres_names_the_url_with_the_password_masked():
    with (
        pytest.raises(StorageError) as caught,
        open_store("postgresql+psycopg://ann:s3cret@127.0.0.1:9/labels"),
    ):
        pass
    message = str(caught.value)
    assert "postgresql+psycopg://ann:***@127.0.0.1:9/labels" in message
    assert "s3cret" not in message
    assert len(message.splitlines()) == 1


def test_unopenable_sqlite_file_and_bad_url(tmp_path):
    with (
        pytest.raises(StorageError, match="unable to open database file"),
        open_store(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"),
    ):
        pass
    with pytest.raises(StorageError, match="not a usable database URL"), open_store("nosuchdb://x"):
        pass


def test_a_file_path_given_as_url_is_named_with_the_url_to_write(tmp_path):
    path = tmp_path / "labels.db"
    with pytest.raises(StorageError) as caught, open_store(str(path)):
        pass
    message = str(caught.value)
    assert f"{path} is not a usable database URL" in message
    assert f"for the SQLite file {path} write sqlite:///{path}" in message
    assert not path.exists()
    # What does not parse is still shown with any password masked.
    with pytest.raises(StorageError) as caught, open_store("ann:s3cr@t@db.example/labels"):
        pass
    assert "ann:***@db.example/labels is not a usable database URL" in str(caught.value)
    assert "s3cr" not in str(caught.value)


def test_driver_errors_on_the_bulk_path_become_storage_errors(store, snapshot):
    before = snapshot(store)
    labels = np.zeros(2, dtype=np.intp)
    with open_store(store) as session:
        dataset = repository.get_dataset(session)
    message = r"Writing to .* failed: .*(UNIQUE|unique)"
    with pytest.raises(StorageError, match=message), open_store(store) as session:
        repository.insert_samples(session, dataset, ["s000", "s001"], labels, [None, None])
    assert snapshot(store) == before


def test_ids_with_leading_zeros_survive_a_csv_import(tmp_path):
    path = tmp_path / "samples.csv"
    path.write_text("sample_id,label\n007,cat\n7,dog\n")
    with open_store(f"sqlite:///{tmp_path / 's.db'}") as session:
        workflow.init_dataset(session, "pets", ["cat", "dog"])
        workflow.import_samples(session, path)
        assert workflow.label_history(session, "007").empty
        assert workflow.label_history(session, "7").empty


def test_class_names_with_leading_zeros_survive_every_csv_the_store_reads(database_url, tmp_path):
    """Class names such as '01' (codes) are text: a CSV's label column must not be read as
    numbers, which turned '01' into 1 and refused the file ("Unknown class names '1'")."""
    (tmp_path / "samples.csv").write_text("sample_id,label\na,01\nb,02\nc,01\n")
    (tmp_path / "predictions.csv").write_text("sample_id,01,02\na,0.9,0.1\nb,0.2,0.8\nc,0.3,0.7\n")
    (tmp_path / "decisions.csv").write_text("sample_id,label,actor\na,02,007\n")
    with open_store(database_url) as session:
        workflow.init_dataset(session, "codes", ["01", "02"])
        workflow.import_samples(session, tmp_path / "samples.csv")
        workflow.import_predictions(session, tmp_path / "predictions.csv", model="m")
        workflow.score(session)
        workflow.create_queue(session, "q", budget=3)
        assert workflow.set_labels(session, tmp_path / "decisions.csv").changed == 1
        history = workflow.label_history(session, "a")
    assert history[["old_label", "new_label", "actor"]].values.tolist() == [["01", "02", "007"]]
    (tmp_path / "answers.csv").write_text("sample_id,annotator,label\nc,007,02\nb,007,02\n")
    with open_store(database_url) as session:
        done = import_annotations(session, "q", str(tmp_path / "answers.csv"),
                                  aggregation="single-expert")  # fmt: skip
        assert (done.recorded, done.decisions.decided, done.decisions.changed) == (2, 2, 1)
        assert workflow.label_history(session, "b")["actor"].tolist() == ["007 via single-expert"]


def test_ids_and_class_names_that_pandas_calls_missing_are_text(database_url, tmp_path):
    """'NA' (Namibia), 'null' and a class 'None' are values; a CSV reader's default
    missing-value strings made them empty cells ("column 'sample_id' is empty in row 0").
    Only an empty cell is missing."""
    (tmp_path / "samples.csv").write_text("sample_id,label\nNA,None\nnull,cat\nx,None\n")
    (tmp_path / "predictions.csv").write_text(
        "sample_id,None,cat\nNA,0.8,0.2\nnull,0.1,0.9\nx,0.4,0.6\n"
    )
    (tmp_path / "decisions.csv").write_text("sample_id,label,actor\nx,cat,None\n")
    (tmp_path / "answers.csv").write_text("sample_id,annotator,label\nNA,NA,cat\nnull,NA,None\n")
    with open_store(database_url) as session:
        workflow.init_dataset(session, "c", ["None", "cat"])
        assert workflow.import_samples(session, tmp_path / "samples.csv").inserted == 3
        workflow.import_predictions(session, tmp_path / "predictions.csv", model="m")
        workflow.score(session)
        workflow.create_queue(session, "q", budget=3)
        assert workflow.set_labels(session, tmp_path / "decisions.csv").changed == 1
        done = import_annotations(session, "q", str(tmp_path / "answers.csv"),
                                  aggregation="single-expert")  # fmt: skip
        assert (done.recorded, done.decisions.changed) == (2, 2)
        history = workflow.label_history(session, "NA")
    assert history[["old_label", "new_label", "actor"]].values.tolist() == [
        ["None", "cat", "NA via single-expert"]
    ]


def test_a_decision_outranks_only_predictions_made_before_it(scored):
    with open_store(scored) as session:
        dataset = repository.get_dataset(session)
        run = reads.latest_score_run(session, dataset)
        ranking = repository.load_ranking(session, run)
        top = repository.score_details(session, run, ranking["sample_id"].head(1)).iloc[0]
        workflow.set_label(session, top["external_id"], CLASSES[top["current_label"]])
    with open_store(scored) as session:
        confirmed = workflow.dataset_status(session)
    assert confirmed.labels_changed == 0
    assert confirmed.decided == 1
    assert confirmed.errors.expected == pytest.approx(
        ranking["p_error"].sum() - ranking["p_error"].iloc[0]
    )
    # A model trained after the decision judges the label afresh.
    _, predictions, _ = make_tables()
    newer = predictions.assign(cat=predictions["cat"] * 0.5)
    newer[CLASSES] = newer[CLASSES].div(newer[CLASSES].sum(axis=1), axis=0)
    with open_store(scored) as session:
        workflow.import_predictions(session, newer, model="net")
        rescored = workflow.score(session)
        ranking = repository.load_ranking(session, rescored.run)
    assert rescored.errors.expected == pytest.approx(ranking["p_error"].sum())
    assert rescored.errors.decided == 0


def test_scoring_after_answers_reads_the_experts_reliability(scored, tmp_path):
    samples, predictions, true = make_tables()
    with open_store(scored) as session:
        workflow.create_queue(session, "q", budget=20)
        queue = workflow.queue_items(session, "q")
    rows = queue["sample_id"].str[1:].astype(int).to_numpy()
    pd.DataFrame(
        {
            "sample_id": queue["sample_id"],
            "label": np.array(CLASSES)[true[rows]],
            "annotator": "ann",
        }
    ).to_csv(tmp_path / "answers.csv", index=False)
    with open_store(scored) as session:
        import_annotations(session, "q", str(tmp_path / "answers.csv"), aggregation="single-expert")
    with open_store(scored) as session:
        ranking = workflow.score(session).ranking.set_index("sample_id")
    # The same by hand: the current labels (the answers decided 20), one vote each.
    probs = predictions.set_index("sample_id").loc[samples["sample_id"], CLASSES].to_numpy()
    labels = samples["label"].map(CLASSES.index).to_numpy().copy()
    labels[rows] = true[rows]
    votes = np.zeros_like(probs)
    votes[rows, true[rows]] = 1.0
    model = fit_noise_model(labels, probs)
    reliability = fit_expert_reliability(expert_confusion(model), probs, votes)
    expected = score_samples(labels, probs, noise_model=model, reliability=reliability)
    stored = ranking.loc[samples["sample_id"], "priority"].to_numpy()
    np.testing.assert_allclose(stored, expected.priority, rtol=1e-9)
    class_level = score_samples(labels, probs, noise_model=model).priority
    # Right answers make the experts surer than the labellers: every priority rises.
    assert (stored > class_level * (1 + 1e-4)).any()
    assert (stored >= class_level).all()


def _use_shard_labels(session, path):
    return workflow.score_shards(session, path, use_shard_labels="no")


@pytest.mark.parametrize(
    ("flag", "call"),
    [
        ("force", lambda session, path: workflow.delete_queue(session, "q", force="no")),
        ("open_only", lambda session, path: workflow.queue_items(session, "q", open_only="no")),
        ("reference", lambda session, path: workflow.import_features(session, path, reference=1)),
        ("use_shard_labels", _use_shard_labels),
    ],
)
def test_store_flags_must_be_true_or_false(scored, snapshot, tmp_path, flag, call):
    # Any truthy value was taken: delete_queue(force="no") deleted a queue with answers.
    with open_store(scored) as session:
        workflow.create_queue(session, "q", budget=5)
    before = snapshot(scored)
    with (
        pytest.raises(InputError, match=rf"^{flag} must be True or False\. Got ") as raised,
        open_store(scored) as session,
    ):
        call(session, tmp_path / "missing.parquet")
    assert raised.value.inputs == (flag,)
    assert snapshot(scored) == before
