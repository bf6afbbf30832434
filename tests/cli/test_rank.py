"""``labelmend rank`` and ``labelmend demo`` through typer's CliRunner."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cleaner import AUDIT_METHOD, rank_samples
from labelmend.cli.app import app
from tests.synthetic import noisy_problem

runner = CliRunner()
PROBLEM = noisy_problem(200, 3, noise=0.05)


@pytest.fixture
def files(tmp_path):
    labels, probs, _ = PROBLEM
    np.save(tmp_path / "labels.npy", labels)
    np.save(tmp_path / "probs.npy", probs)
    classes = ["cat", "dog", "fox"]
    pd.DataFrame(probs, columns=classes).to_parquet(tmp_path / "probs.parquet")
    pd.DataFrame({"label": np.array(classes)[labels]}).to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path


def rank(files, *options, labels="labels.npy", probs="probs.npy"):
    """``labelmend rank --labels LABELS --pred-probs PROBS`` (files of ``files``) ``options``."""
    return runner.invoke(
        app,
        ["rank", "--labels", str(files / labels), "--pred-probs", str(files / probs), *options],
    )


def test_rank_prints_the_queue_and_summary(files):
    result = rank(files, "--top", "5")
    assert result.exit_code == 0, result.output
    assert "Most suspicious labels (top 5 of 200, order posterior)" in result.output
    assert "N=200" in result.output
    assert "K=3" in result.output
    assert "expected label errors in the top 5" in result.output


def test_rank_with_class_names_from_table_headers_writes_output(files):
    out = files / "ranking.csv"
    result = rank(
        files,
        *("--out", str(out), "--method", "self_confidence"),
        labels="labels.csv",
        probs="probs.parquet",
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert len(written) == 200
    assert set(written["given_label"]) <= {"cat", "dog", "fox"}
    expected = rank_samples(PROBLEM.labels, PROBLEM.probs, method="self_confidence")
    assert written["sample_id"].tolist() == expected["sample_id"].tolist()


@pytest.mark.parametrize(
    "classes", [["1", "2", "3"], ["None", "cat", "dog"]], ids=["ratings", "class-None"]
)
def test_rank_reads_labels_by_their_class_names_when_the_headers_name_them(tmp_path, classes):
    """Labels are the file's class names whatever they look like: star ratings 1-3 whose
    labels use only 1 and 2 were read as indices (label 2 became class '3'; a 3 was
    refused as 'must lie in [0, 3)'), and a class 'None' as an empty cell."""
    labels, probs, _ = PROBLEM
    used = np.where(labels == 2, 1, labels)  # two of the three classes, as in a small file
    pd.DataFrame({"label": np.array(classes)[used]}).to_csv(tmp_path / "labels.csv", index=False)
    pd.DataFrame(probs, columns=classes).to_csv(tmp_path / "probs.csv", index=False)
    out = tmp_path / "ranking.csv"
    result = rank(tmp_path, "--out", str(out), labels="labels.csv", probs="probs.csv")
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert written["given_label"].tolist() == [
        classes[used[int(i)]] for i in rank_samples(used, probs, method=AUDIT_METHOD)["sample_id"]
    ]


def ranked(files, *options):
    """The ``--out`` ranking of ``labelmend rank --labels labels.npy`` with ``options``."""
    out = files / "ranking.csv"
    result = runner.invoke(
        app, ["rank", "--labels", str(files / "labels.npy"), *options, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return pd.read_csv(out)


def test_rank_ensemble_of_two_files_ranks_their_average(files):
    labels, probs, _ = PROBLEM
    sharper = probs**3 / (probs**3).sum(axis=1, keepdims=True)
    np.save(files / "sharper.npy", sharper)
    ensemble = ranked(
        files, "--pred-probs", str(files / "probs.npy"), "--pred-probs", str(files / "sharper.npy")
    )
    # rank lists the audit order by default: p_error alone.
    expected = rank_samples(labels, (probs + sharper) / 2, method=AUDIT_METHOD)
    assert ensemble["sample_id"].tolist() == expected["sample_id"].tolist()
    np.testing.assert_allclose(ensemble["p_error"], expected["p_error"])
    alone = rank_samples(labels, probs, method=AUDIT_METHOD)
    assert not np.allclose(ensemble["p_error"], alone["p_error"])


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: np.save(d / "bad.npy", np.full((200, 3), 0.5)), "off by 0.5"),
        (
            lambda d: np.save(d / "bad.npy", np.full((150, 3), 1 / 3)),
            "--pred-probs has 150 rows but --labels has 200",
        ),
        (lambda d: (d / "bad.npy").write_text("not an array"), "not a readable .npy"),
    ],
)
def test_rank_bad_input_is_one_line_and_exit_1(files, setup, message):
    setup(files)
    result = rank(files, probs="bad.npy")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_rank_unknown_class_names(files):
    result = rank(files, "--classes", "cat,dog,owl", labels="labels.csv")
    assert result.exit_code == 1
    # Which of the files holds them: --labels's (repair reads three label files).
    assert f"Error: {files / 'labels.csv'}: Unknown class names 'fox'" in result.output


def test_rank_wrong_file_type_and_unknown_method(files):
    (files / "labels.txt").write_text("0\n1\n")
    result = rank(files, labels="labels.txt")
    assert result.exit_code == 1
    assert "unsupported file type '.txt'" in result.output
    result = rank(files, "--method", "nope")
    assert result.exit_code == 2


def test_rank_normalize_flag_rescales_each_row_to_sum_to_one(files):
    _, probs, _ = PROBLEM
    scale = np.random.default_rng(1).uniform(0.5, 3.0, size=(len(probs), 1))
    np.save(files / "scaled.npy", probs * scale)
    normalized = ranked(files, "--pred-probs", str(files / "scaled.npy"), "--normalize")
    plain = ranked(files, "--pred-probs", str(files / "probs.npy"))
    assert normalized["sample_id"].tolist() == plain["sample_id"].tolist()
    np.testing.assert_allclose(normalized["p_error"], plain["p_error"])
    refused = rank(files, probs="scaled.npy")
    assert refused.exit_code == 1
    assert "rows must sum to 1" in refused.output


@pytest.mark.slow
def test_demo_finds_most_injected_errors(tmp_path):
    result = runner.invoke(app, ["demo", "--top", "3", "--report", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "180 of 1,797 labels were flipped" in text
    found = re.search(r"The queue of 250 held (\d+) of them .* fixed (\d+) and broke (\d+)", text)
    assert found, text
    held, fixed, broke = map(int, found.groups())
    # A queue of 250 drawn at random would hold about 250/1797 of the 180, i.e. 25.
    assert held >= 0.9 * 180
    assert (fixed, broke) == (held, 0)


@pytest.mark.slow
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


def test_rank_matches_id_keyed_tables_by_id_not_position(files):
    """The files the store takes (sample_id + label, sample_id + one column per class)
    rank as in the store: rows matched by id, the ids shown; a shuffled probability table
    gives the same ranking."""
    labels, probs, _ = PROBLEM
    classes = ["cat", "dog", "fox"]
    ids = [f"img{i:03d}" for i in range(len(labels))]
    pd.DataFrame({"sample_id": ids, "label": np.array(classes)[labels]}).to_csv(
        files / "samples.csv", index=False
    )
    table = pd.DataFrame(probs, columns=classes)
    table.insert(0, "sample_id", ids)
    table.sample(frac=1, random_state=0).to_csv(files / "shuffled.csv", index=False)
    out = files / "ranking.csv"
    command = ["rank", "--labels", str(files / "samples.csv"), "--label-col", "label"]
    result = runner.invoke(
        app, [*command, "--pred-probs", str(files / "shuffled.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    expected = rank_samples(labels, probs, method=AUDIT_METHOD)
    written = pd.read_csv(out)
    assert written["sample_id"].tolist() == [ids[i] for i in expected["sample_id"]]
    np.testing.assert_allclose(written["p_error"], expected["p_error"])
    assert ids[int(expected["sample_id"].iloc[0])] in result.output
    # The id column is no label column: the store's samples.csv needs no --label-col.
    out.unlink()
    result = runner.invoke(
        app, [*command[:-2], "--pred-probs", str(files / "shuffled.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out).equals(written)
    # A probability table that lacks a labelled sample: one line, and nothing written.
    table.iloc[1:].to_csv(files / "short.csv", index=False)
    out.unlink()
    result = runner.invoke(
        app, [*command, "--pred-probs", str(files / "short.csv"), "--out", str(out)]
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {files / 'short.csv'}: no row for sample 'img000' (1 of 200 labelled "
        "samples missing); rows are matched by id."
    ]
    assert not out.exists()


def test_rank_names_the_label_column_flag_and_the_advice_works(files):
    labels, _, _ = PROBLEM
    pd.DataFrame({"label": labels, "weight": 1.0}).to_csv(files / "two.csv", index=False)
    command = ["rank", "--labels", str(files / "two.csv"), "--pred-probs", str(files / "probs.npy")]
    result = runner.invoke(app, command)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {files / 'two.csv'}: expected one column or the label column named "
        "(--label-col); found 2 columns: 'label', 'weight'."
    ]
    assert runner.invoke(app, [*command, "--label-col", "label"]).exit_code == 0


def test_rank_without_labels_is_a_usage_error_like_a_missing_option(files):
    # Only Parquet shards carry their labels: without --labels, plain files are a usage
    # error, shown as click shows a missing --pred-probs (usage, help hint, one Error line).
    missing_probs = runner.invoke(app, ["rank", "--labels", str(files / "labels.npy")])
    result = runner.invoke(app, ["rank", "--pred-probs", str(files / "probs.npy")])
    assert (missing_probs.exit_code, result.exit_code) == (2, 2), result.output
    assert result.output.splitlines()[:-1] == missing_probs.output.splitlines()[:-1]
    assert result.output.splitlines()[-1] == (
        "Error: --labels is missing: give the file of each sample's given label (only Parquet "
        "shards carry their own)."
    )
