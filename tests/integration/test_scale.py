"""Sharded ranking: the in-process and Dask paths equal the in-memory engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labelmend.cleaner import learn_from_answers, rank_samples
from labelmend.errors import InputError, LabelmendError
from labelmend.scale import rank_dataset
from tests.synthetic import noisy_problem


def write_shards(directory, n=3000, k=4, shards=5, seed=0, list_column=False):
    labels, probs, _ = noisy_problem(n, k, noise=0.15, margin=2.5, seed=seed)
    ids = np.array([f"s{i:06d}" for i in np.random.default_rng(seed).permutation(n)])
    directory.mkdir(parents=True, exist_ok=True)
    for index, rows in enumerate(np.array_split(np.arange(n), shards)):
        frame = pd.DataFrame({"sample_id": ids[rows], "label": labels[rows]})
        if list_column:
            frame["probs"] = list(probs[rows])
        else:
            for c in range(k):
                frame[f"class_{c}"] = probs[rows, c]
        frame.to_parquet(directory / f"part-{index:03d}.parquet")
    return ids, labels, probs


@pytest.mark.parametrize("list_column", [False, True])
def test_in_process_path_equals_in_memory_ranking(tmp_path, list_column):
    ids, labels, probs = write_shards(tmp_path / "shards", list_column=list_column)
    expected = rank_samples(labels, probs, sample_ids=ids).head(200)
    result = rank_dataset(tmp_path / "shards", top_k=200, out=tmp_path / "scores")
    assert result.n_samples == len(ids)
    assert result.top["sample_id"].tolist() == expected["sample_id"].tolist()
    np.testing.assert_allclose(result.top["p_error"], expected["p_error"], rtol=1e-9)
    assert result.top["rank"].tolist() == list(range(1, 201))
    written = pd.concat(pd.read_parquet(f) for f in result.score_files)
    assert len(written) == len(ids)
    assert result.estimated_errors == pytest.approx(written["p_error"].sum())


@pytest.mark.slow
def test_dask_local_cluster_equals_in_memory_ranking(tmp_path):
    from distributed import Client, LocalCluster

    ids, labels, probs = write_shards(tmp_path / "shards")
    expected = rank_samples(labels, probs, sample_ids=ids).head(100)
    stages = []
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        result = rank_dataset(
            str(tmp_path / "shards" / "*.parquet"),
            scheduler=client,
            top_k=100,
            progress=lambda stage, done, total: stages.append((stage, done, total)),
        )
    assert result.top["sample_id"].tolist() == expected["sample_id"].tolist()
    assert ("scoring", 5, 5) in stages


def test_answers_make_the_sharded_priority_read_the_experts_reliability(tmp_path):
    ids, labels, probs = write_shards(tmp_path / "shards")
    # Experts answered the 300 rows the model is least sure of: their argmax, once each,
    # and a second, wrong answer on every third; plus answers for ids in no shard.
    answered = np.argsort(probs.max(axis=1))[:300]
    answers = pd.DataFrame({"sample_id": ids[answered], "label": probs[answered].argmax(axis=1)})
    wrong = answered[::3]
    answers = pd.concat(
        [
            answers,
            pd.DataFrame({"sample_id": ids[wrong], "label": (probs[wrong].argmax(1) + 1) % 4}),
            pd.DataFrame({"sample_id": ["elsewhere"], "label": [0]}),
        ],
        ignore_index=True,
    )
    votes = np.zeros_like(probs)
    np.add.at(votes, (answered, probs[answered].argmax(axis=1)), 1.0)
    np.add.at(votes, (wrong, (probs[wrong].argmax(1) + 1) % 4), 1.0)
    noise_model, reliability = learn_from_answers(labels, probs, votes)
    expected = rank_samples(
        labels, probs, sample_ids=ids, noise_model=noise_model, reliability=reliability
    ).head(300)
    plain = rank_samples(labels, probs, sample_ids=ids).head(300)
    result = rank_dataset(tmp_path / "shards", top_k=300, answers=answers)
    assert result.top["sample_id"].tolist() == expected["sample_id"].tolist()
    np.testing.assert_allclose(result.top["priority"], expected["priority"], rtol=1e-9)
    assert result.top["sample_id"].tolist() != plain["sample_id"].tolist()


def test_shards_with_different_class_counts_are_refused(tmp_path):
    write_shards(tmp_path / "a", k=3, shards=2)
    write_shards(tmp_path / "b", k=4, shards=2, seed=1)
    (tmp_path / "b" / "part-000.parquet").rename(tmp_path / "a" / "part-900.parquet")
    with pytest.raises(InputError, match="disagree on the number of classes"):
        rank_dataset(tmp_path / "a")


def test_missing_columns_name_the_shard(tmp_path):
    write_shards(tmp_path / "s", shards=2)
    pd.DataFrame({"sample_id": ["x"], "class_0": [1.0]}).to_parquet(tmp_path / "s" / "bad.parquet")
    with pytest.raises(
        InputError,
        match=r"bad.parquet: expected a column 'label'; found 2 columns: 'sample_id', 'class_0'\.",
    ):
        rank_dataset(tmp_path / "s")


@pytest.mark.slow
def test_no_shards_and_unreachable_scheduler(tmp_path):
    with pytest.raises(InputError, match="No Parquet shards"):
        rank_dataset(tmp_path / "*.parquet")
    write_shards(tmp_path / "s", shards=1)
    with pytest.raises(LabelmendError, match="does not answer"):
        rank_dataset(tmp_path / "s", scheduler="tcp://127.0.0.1:9")
