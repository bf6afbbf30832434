"""Scoring Parquet shards into the store (the Dask path of ``labelmend score``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from tests.integration.test_scale import write_shards
from typer.testing import CliRunner

from labelmend import workflow
from labelmend.cleaner import learn_from_answers, rank_samples
from labelmend.cleaner.count import count_errors
from labelmend.cli.app import app
from labelmend.errors import InputError
from labelmend.storage import open_store
from labelmend.storage.models import ScoreRun
from labelmend.sync.service import import_annotations

CLASSES = ["c0", "c1", "c2", "c3"]


@pytest.fixture
def shards(tmp_path):
    ids, labels, probs = write_shards(tmp_path / "shards", n=800, k=4, shards=4)
    return tmp_path / "shards", ids, labels, probs


def init_store(url, ids, labels):
    with open_store(url) as session:
        workflow.init_dataset(session, "big", CLASSES)
        workflow.import_samples(
            session, pd.DataFrame({"sample_id": ids, "label": [CLASSES[y] for y in labels]})
        )


def test_sharded_scores_enter_the_store_and_feed_a_queue(database_url, shards, tmp_path):
    directory, ids, labels, probs = shards
    init_store(database_url, ids, labels)
    with open_store(database_url) as session:
        result = workflow.score_shards(session, directory, top_k=50, out=tmp_path / "scores")
    expected = rank_samples(labels, probs, sample_ids=ids)
    assert result.ranking["sample_id"].tolist() == expected["sample_id"].head(50).tolist()
    assert result.run.estimated_errors == pytest.approx(expected["p_error"].sum())
    assert len(result.run.score_files) == 4
    with open_store(database_url) as session:
        queue = workflow.create_queue(session, "week1", budget=20)
        status = workflow.dataset_status(session)
        items = workflow.queue_items(session, "week1")
    assert queue.n_items == 20
    assert items["sample_id"].tolist() == expected["sample_id"].head(20).tolist()
    assert status.errors.expected == pytest.approx(expected["p_error"].sum())


def test_sharded_scoring_reads_the_stored_answers(database_url, shards, tmp_path):
    directory, ids, labels, probs = shards
    init_store(database_url, ids, labels)
    with open_store(database_url) as session:
        workflow.score_shards(session, directory, top_k=100)
        workflow.create_queue(session, "q", budget=40)
        queue = workflow.queue_items(session, "q")
    # The experts confirm every current label (the shards stay the store's labels).
    rows = pd.Series(np.arange(len(ids)), index=ids).loc[queue["sample_id"]].to_numpy()
    pd.DataFrame(
        {
            "sample_id": queue["sample_id"],
            "label": [CLASSES[y] for y in labels[rows]],
            "annotator": "a",
        }
    ).to_csv(tmp_path / "answers.csv", index=False)
    with open_store(database_url) as session:
        import_annotations(session, "q", str(tmp_path / "answers.csv"), aggregation="single-expert")
    with open_store(database_url) as session:
        result = workflow.score_shards(session, directory, top_k=100)
    votes = np.zeros_like(probs)
    votes[rows, labels[rows]] = 1.0
    noise_model, reliability = learn_from_answers(labels, probs, votes)
    expected = rank_samples(
        labels, probs, sample_ids=ids, noise_model=noise_model, reliability=reliability
    ).head(100)
    assert result.ranking["sample_id"].tolist() == expected["sample_id"].tolist()
    plain = rank_samples(labels, probs, sample_ids=ids).head(100)
    assert expected["sample_id"].tolist() != plain["sample_id"].tolist()


def test_unknown_ids_and_class_mismatch_leave_the_store_unchanged(database_url, shards, snapshot):
    directory, ids, labels, _ = shards
    init_store(database_url, ids[:-5], labels[:-5])
    before = snapshot(database_url)
    with (
        pytest.raises(InputError, match="not samples of dataset"),
        open_store(database_url) as session,
    ):
        workflow.score_shards(session, directory, top_k=800)
    assert snapshot(database_url) == before


@pytest.mark.slow
def test_cli_score_shards_on_a_local_cluster(tmp_path, shards):
    directory, ids, labels, _ = shards
    url = f"sqlite:///{tmp_path / 'store.db'}"
    init_store(url, ids, labels)
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "score",
            "--shards",
            str(directory),
            "--scheduler",
            "local",
            "--top-k",
            "100",
            "--db",
            url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Estimated label errors remaining" in result.output


def test_shards_must_hold_the_stores_current_labels(database_url, shards, snapshot):
    directory, ids, labels, _ = shards
    init_store(database_url, ids, labels)
    moved = CLASSES[(labels[7] + 1) % 4]
    runner = CliRunner()
    db = ["--db", database_url]
    assert runner.invoke(app, ["label", "set", str(ids[7]), moved, *db]).exit_code == 0
    before = snapshot(database_url)
    result = runner.invoke(app, ["score", "--shards", str(directory), "--top-k", "50", *db])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: 1 sample(s) have another label in the shards than in the store (first "
        f"{str(ids[7])!r}: shards {CLASSES[labels[7]]!r}, store {moved!r}). Write the shards "
        "again with the store's labels (`labelmend export labels`), or pass --use-shard-labels "
        "to score the shards' labels anyway."
    ]
    assert snapshot(database_url) == before
    # The advice works.
    result = runner.invoke(
        app, ["score", "--shards", str(directory), "--top-k", "50", "--use-shard-labels", *db]
    )
    assert result.exit_code == 0, result.output
    assert "Estimated label errors remaining" in result.output


def test_a_top_k_holding_every_row_counts_as_in_memory(database_url, shards, tmp_path):
    # The default --top-k (10,000) holds every row of a small dataset, so no row is left
    # to count by its total; the run's total (summed shard by shard) can still exceed the
    # rows' sum by rounding: 7e-15 on docs/scale.md's example made `score --shards` fail
    # with "rest_sum must lie in [0, n_rest=0]".
    directory, ids, labels, probs = shards
    init_store(database_url, ids, labels)
    with open_store(database_url) as session:
        result = workflow.score_shards(session, directory, top_k=10_000)
        run = session.get(ScoreRun, result.run.id)
        run.estimated_errors = math.fsum(result.ranking["p_error"]) + 1e-12
    with open_store(database_url) as session:
        status = workflow.dataset_status(session)
    expected = count_errors(rank_samples(labels, probs, sample_ids=ids)["p_error"])
    assert len(result.ranking) == len(ids)
    assert status.errors.expected == pytest.approx(expected.expected)
    assert (status.errors.low, status.errors.high) == pytest.approx((expected.low, expected.high))
