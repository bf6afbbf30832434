"""``labelmend rank`` and ``labelmend demo`` through typer's CliRunner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import app

runner = CliRunner()


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n, k = 200, 3
    true = rng.integers(k, size=n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = true.copy()
    labels[:10] = (labels[:10] + 1) % k
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "probs.npy", probs)
    classes = ["cat", "dog", "fox"]
    pd.DataFrame(probs, columns=classes).to_parquet(tmp_path / "probs.parquet")
    pd.DataFrame({"label": np.array(classes)[labels]}).to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path


def test_rank_prints_the_queue_and_summary(files):
    result = runner.invoke(
        app,
        [
            "rank",
            "--labels",
            str(files / "labels.npy"),
            "--pred-probs",
            str(files / "probs.npy"),
            "--top",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Relabel queue" in result.output
    assert "N=200" in result.output
    assert "K=3" in result.output
    assert "expected errors in top 5" in result.output


def test_rank_with_class_names_from_table_headers_writes_output(files):
    out = files / "ranking.csv"
    result = runner.invoke(
        app,
        [
            "rank",
            "--labels",
            str(files / "labels.csv"),
            "--pred-probs",
            str(files / "probs.parquet"),
            "--out",
            str(out),
            "--method",
            "self_confidence",
        ],
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert len(written) == 200
    assert set(written["given_label"]) <= {"cat", "dog", "fox"}
    assert set(written.loc[:9, "sample_id"]) & set(range(10))


def test_rank_ensemble_of_two_files(files):
    result = runner.invoke(
        app,
        [
            "rank",
            "--labels",
            str(files / "labels.npy"),
            "--pred-probs",
            str(files / "probs.npy"),
            "--pred-probs",
            str(files / "probs.npy"),
        ],
    )
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: np.save(d / "bad.npy", np.full((200, 3), 0.5)), "off by 0.5"),
        (
            lambda d: np.save(d / "bad.npy", np.full((150, 3), 1 / 3)),
            "pred_probs has 150 rows but labels has 200",
        ),
        (lambda d: (d / "bad.npy").write_text("not an array"), "not a readable .npy"),
    ],
)
def test_rank_bad_input_is_one_line_and_exit_1(files, setup, message):
    setup(files)
    result = runner.invoke(
        app, ["rank", "--labels", str(files / "labels.npy"), "--pred-probs", str(files / "bad.npy")]
    )
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_rank_unknown_class_names(files):
    result = runner.invoke(
        app,
        [
            "rank",
            "--labels",
            str(files / "labels.csv"),
            "--pred-probs",
            str(files / "probs.npy"),
            "--classes",
            "cat,dog,owl",
        ],
    )
    assert result.exit_code == 1
    assert "Unknown class names 'fox'" in result.output


def test_rank_wrong_file_type_and_unknown_method(files):
    (files / "labels.txt").write_text("0\n1\n")
    result = runner.invoke(
        app,
        ["rank", "--labels", str(files / "labels.txt"), "--pred-probs", str(files / "probs.npy")],
    )
    assert result.exit_code == 1
    assert "unsupported file type '.txt'" in result.output
    result = runner.invoke(
        app,
        [
            "rank",
            "--labels",
            str(files / "labels.npy"),
            "--pred-probs",
            str(files / "probs.npy"),
            "--method",
            "nope",
        ],
    )
    assert result.exit_code == 2


def test_rank_normalize_flag_accepts_unnormalised_rows(files):
    np.save(files / "scaled.npy", np.load(files / "probs.npy") * 2)
    result = runner.invoke(
        app,
        [
            "rank",
            "--labels",
            str(files / "labels.npy"),
            "--pred-probs",
            str(files / "scaled.npy"),
            "--normalize",
        ],
    )
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_demo_finds_most_injected_errors():
    result = runner.invoke(app, ["demo", "--top", "3"])
    assert result.exit_code == 0, result.output
    assert "180 of 1,797 labels were flipped" in result.output


def test_rank_parquet_shards_in_process_and_bad_scheduler(tmp_path):
    from tests.integration.test_scale import write_shards

    write_shards(tmp_path / "shards", n=600, shards=3)
    result = runner.invoke(app, ["rank", "--pred-probs", str(tmp_path / "shards"), "--top", "5"])
    assert result.exit_code == 0, result.output
    assert "N=600" in result.output
    result = runner.invoke(
        app,
        [
            "rank",
            "--pred-probs",
            str(tmp_path / "shards" / "*.parquet"),
            "--scheduler",
            "tcp://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 1
    assert "does not answer" in result.output
