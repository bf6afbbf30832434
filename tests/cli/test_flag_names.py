"""Errors name what the user typed (issue 13 point 8): the CLI's flags and files, never
the library's Python parameter names, which Python callers keep seeing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cleaner import rank_samples
from labelmend.cli.app import app
from labelmend.errors import InputError, UsageError
from labelmend.jobs import simulate_files

runner = CliRunner()
RANK = ["rank", "--pred-probs", "{d}/probs.npy", "--labels", "{d}/labels.npy"]
SIMULATE = ["simulate", "--counts", "{d}/counts.npy", "--out", "{d}/out"]


@pytest.fixture
def files(tmp_path):
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    np.save(tmp_path / "probs.npy", probs)
    np.save(tmp_path / "labels.npy", np.array([0, 1, 0, 1]))
    np.save(tmp_path / "three.npy", np.array([0, 1, 0]))
    np.save(tmp_path / "empty.npy", np.zeros((0, 2)))
    np.save(tmp_path / "sums.npy", np.array([[0.9, 0.9], *probs[1:]]))
    np.save(tmp_path / "negative.npy", np.array([[1.1, -0.1], *probs[1:]]))
    np.save(tmp_path / "counts.npy", np.array([[3, 0], [0, 3], [2, 1], [1, 2]]))
    return tmp_path


def _fails(*args: str) -> str:
    """Run the real command; it must fail with one line and exit 1: that line."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("args", "named", "python_names"),
    [
        (
            ["rank", "--pred-probs", "{d}/empty.npy", "--labels", "{d}/labels.npy"],
            "--pred-probs is empty",
            ["pred_probs"],
        ),
        (
            ["rank", "--pred-probs", "{d}/sums.npy", "--labels", "{d}/labels.npy"],
            "Pass --normalize to rescale rows, or --from-logits for logits.",
            ["pred_probs", "normalize=True", "from_logits"],
        ),
        (
            ["rank", "--pred-probs", "{d}/negative.npy", "--labels", "{d}/labels.npy"],
            "(pass --from-logits for logits)",
            ["pred_probs", "from_logits"],
        ),
        (
            ["rank", "--pred-probs", "{d}/probs.npy", "--labels", "{d}/three.npy"],
            "--pred-probs has 4 rows but --labels has 3.",
            ["pred_probs", " labels has"],
        ),
        (
            [*RANK, "--classes", "a,b,c"],
            "--classes gives 3 names but --pred-probs has 2 columns.",
            ["pred_probs", "class names given"],
        ),
        (
            [*SIMULATE, "--selectors", "random,best"],
            "--selectors must be one of {",
            ["selector'", "run_study", "parameter of"],
        ),
        (
            [*SIMULATE, "--pred-probs", "{d}/empty.npy", "--selectors", "random"],
            "--pred-probs has 0 rows but --counts has 4.",
            ["pred_probs", " counts has"],
        ),
        (
            [*SIMULATE, "--selectors", "random", "--noise-rate", "1.5"],
            "--noise-rate must lie in [0, 1). Got 1.5.",
            ["noise_rate"],
        ),
        (
            [*SIMULATE, "--selectors", "random", "--max-reviews", "0"],
            "--max-reviews must be at least 1. Got 0.",
            ["max_reviews"],
        ),
        (
            [*SIMULATE, "--selectors", "random", "--temperature", "-1"],
            "--temperature must be positive. Got -1.0.",
            ["Error: temperature"],
        ),
        (
            [*SIMULATE, "--selectors", "default"],
            "give --pred-probs or --features.",
            ["pred_probs", " features."],
        ),
    ],
)
def test_file_commands_name_their_flags(files, args, named, python_names):
    line = _fails(*[arg.format(d=files) for arg in args])
    assert named in line, line
    for python_name in python_names:
        assert python_name not in line, line
    assert not (files / "out").exists()  # nothing written


def test_import_names_the_file_and_leaves_the_store_unchanged(tmp_path, snapshot):
    db = f"sqlite:///{tmp_path / 'pets.db'}"
    pd.DataFrame({"sample_id": ["a", "b"], "label": ["cat", "dog"]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    bad = tmp_path / "probs.csv"
    pd.DataFrame({"sample_id": ["a", "b"], "cat": [0.9, 0.2], "dog": [0.9, 0.8]}).to_csv(
        bad, index=False
    )
    for command in (["init", "pets", "--classes", "cat,dog"], ["import", "samples", str(tmp_path / "samples.csv")]):  # fmt: skip
        assert runner.invoke(app, [*command, "--db", db]).exit_code == 0
    before = snapshot(db)
    line = _fails("import", "predictions", str(bad), "--model", "m", "--db", db)
    assert f"{bad} rows must sum to 1" in line, line
    assert "pred_probs" not in line
    assert snapshot(db) == before


def test_python_callers_keep_the_parameter_names():
    with pytest.raises(InputError, match=r"^pred_probs is empty") as caught:
        rank_samples([], np.zeros((0, 2)))
    assert caught.value.inputs == ("pred_probs",)
    with pytest.raises(InputError, match=r"^pred_probs has 2 rows but labels has 3\.$"):
        rank_samples([0, 1, 0], np.array([[0.9, 0.1], [0.2, 0.8]]))


def test_python_callers_of_simulate_files_keep_the_parameter_names(files):
    counts, out = files / "counts.npy", files / "out"
    with pytest.raises(UsageError, match=r"^Give at most one of temperature and noise_rate\.$"):
        simulate_files(counts, out=out, temperature=2.0, noise_rate=0.1)
    with pytest.raises(UsageError, match=r"^Give budget \(a count of annotations\) or fraction "):
        simulate_files(counts, out=out, budget=2, fraction=0.5)
    with pytest.raises(InputError, match=r"^budget must be at least 1 annotation\. Got 0\.$"):
        simulate_files(counts, out=out, budget=0)
    with pytest.raises(InputError, match=r"^fraction must be above 0 \(a share of N\)\."):
        simulate_files(counts, out=out, fraction=0.0)
    assert not out.exists()
