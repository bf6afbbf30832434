"""``labelmend simulate`` through typer's CliRunner: outputs and one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import app
from labelmend.simulator import AnnotatorModel
from labelmend.simulator.study import NoiseLevel, run_study

runner = CliRunner()


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n, k = 150, 3
    truth = rng.integers(k, size=n)
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), truth] = 0.8
    np.save(tmp_path / "counts.npy", rng.multinomial(30, probs))
    model = 0.7 * probs + 0.3 * rng.dirichlet(np.ones(k), size=n)
    np.save(tmp_path / "probs.npy", model)
    np.save(tmp_path / "short.npy", model[:100])
    np.save(tmp_path / "empty.npy", np.zeros((0, k)))
    counts = rng.multinomial(30, probs).astype(float)
    counts[4, 1] = np.nan
    np.save(tmp_path / "nan.npy", counts)
    counts[4, 1], counts[6, 0] = 3, -1
    np.save(tmp_path / "negative.npy", counts)
    counts[6] = 0
    np.save(tmp_path / "no_votes.npy", counts)
    return tmp_path


def simulate(files, *extra, out="out"):
    return runner.invoke(
        app,
        [
            "simulate",
            "--counts",
            str(files / "counts.npy"),
            "--pred-probs",
            str(files / "probs.npy"),
            "--seeds",
            "2",
            "--out",
            str(files / out),
            *extra,
        ],
    )


def test_simulate_writes_results_summary_and_curves(files):
    result = simulate(files, "--fraction", "0.3", "--selectors", "random,oracle,default")
    assert result.exit_code == 0, result.output
    results = pd.read_csv(files / "out" / "results.csv")
    for column in ("selector", "seed", "annotations", "accuracy", "noise_fixed", "clean_broken"):
        assert column in results.columns
    assert set(results["selector"]) == {"random", "oracle", "default"}
    assert results["annotations"].max() == 45
    # No -0.0 (clean_broken and broken were -0.0 until a right label broke).
    for name in ("results.csv", "runs.csv"):
        assert "-0.0" not in (files / "out" / name).read_text()
    assert (results["broken"] == 0).any()
    summary = (files / "out" / "summary.md").read_text()
    assert "| oracle |" in summary
    assert "±" in summary
    assert (files / "out" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "mean over seeds" in result.output
    assert "oracle" in result.output
    said = " ".join(result.output.split())
    assert "fixed @5% N: noisy labels fixed once annotations worth 5%" in said
    assert "AUC gain: label accuracy averaged over the whole budget, minus" in said


def test_simulate_active_with_noise_rate_writes_the_library_study(files):
    result = simulate(
        files, "--noise-rate", "0.2", "--batch-size", "15", "--selectors", "random,default"
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(files / "out" / "results.csv")
    study = run_study(
        AnnotatorModel.from_counts(np.load(files / "counts.npy")),
        pred_probs=np.load(files / "probs.npy"),
        selectors=["random", "default"],
        noise_levels=[NoiseLevel(noise_rate=0.2)],
        seeds=2,
        budget=0.3,
        batch_sizes=[15],
        n_workers=1,
    )
    pd.testing.assert_frame_equal(written, study.results, check_dtype=False)
    assert set(written["noise"]) == {"rate=0.2"}
    assert set(written["batch_size"]) == {15}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--counts", "{files}/empty.npy"], "at least one row"),
        (["--pred-probs", "{files}/short.npy"], "--pred-probs has 100 rows but --counts has 150"),
        (
            ["--counts", "{files}/nan.npy"],
            "--counts hold NaN or infinite values (first in row 5 (index 4))",
        ),
        (
            ["--counts", "{files}/negative.npy"],
            "--counts hold negative values (first in row 7 (index 6))",
        ),
        (["--counts", "{files}/no_votes.npy"], "--counts row 7 (index 6) has no votes"),
        (["--selectors", "random,best"], "--selectors must be one of"),
        (["--fraction", "0"], "--fraction must be above 0 (a share of N). Got 0.0"),
        (["--fraction", "-1"], "--fraction must be above 0"),
        (["--fraction", "inf"], "--fraction must be above 0"),
        (["--scheduler", "tcp://127.0.0.1:9"], "does not answer"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(files, extra, message):
    result = simulate(files, *[part.format(files=files) for part in extra])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert message in lines[0]


def test_budget_is_a_count_of_annotations_and_fraction_a_share_of_n(files):
    by_count = simulate(files, "--budget", "20", "--selectors", "random")
    assert by_count.exit_code == 0, by_count.output
    assert pd.read_csv(files / "out" / "results.csv")["annotations"].max() == 20
    by_share = simulate(files, "--fraction", "0.2", "--selectors", "random")
    assert by_share.exit_code == 0, by_share.output
    assert pd.read_csv(files / "out" / "results.csv")["annotations"].max() == 30  # 0.2 × 150


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--budget", "20", "--fraction", "0.2"],
            "--budget (a count of annotations) or --fraction",
        ),
        (["--budget", "0.3"], "Invalid value for '--budget'"),
        (["--budget", "0"], "Invalid value for '--budget'"),
        (["--seeds", "0"], "Invalid value for '--seeds'"),
    ],
)
def test_budget_usage_errors_exit_2_and_write_nothing(files, extra, message):
    result = simulate(files, *extra)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    assert message in errors[0]
    assert not (files / "out").exists()


def test_a_write_that_fails_leaves_no_output_behind(files, monkeypatch):
    # The disk fills up at the last file (report.html): results.csv, runs.csv, summary.md
    # and curves.png were left in --out, a study that looks whole but is not.
    import errno

    import labelmend.report.page

    def full(page, out):
        raise OSError(errno.ENOSPC, "No space left on device", str(out))

    monkeypatch.setattr(labelmend.report.page, "write_page", full)
    before = sorted(files.iterdir())
    result = simulate(files, "--selectors", "random")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: {files}/out/report.html: No space left on device"
    ]
    assert sorted(files.iterdir()) == before  # no --out, no hidden folder left


@pytest.mark.parametrize("out", ["counts.npy", "counts.npy/study"])
def test_an_out_that_cannot_be_a_directory_is_refused_before_the_study_runs(
    files, out, monkeypatch
):
    import labelmend.jobs

    def never(*args, **kwargs):
        raise AssertionError("the study ran")

    monkeypatch.setattr(labelmend.jobs, "run_study", never)
    result = simulate(files, out=out)
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines() == [
        f"Error: --out {files}/{out}: {files}/counts.npy is a file, not a directory."
    ]


def test_the_files_written_are_those_the_docs_and_the_output_name(files):
    # docs/simulator.md listed results.csv's columns without noise, batch_size and
    # reviewed, and the command's last line left out runs.csv, which it writes.
    result = simulate(files, "--fraction", "0.3", "--selectors", "random,oracle")
    assert result.exit_code == 0, result.output
    doc = (Path(__file__).parents[2] / "docs" / "simulator.md").read_text()
    listed = re.search(r"It writes `study/results\.csv` \(one row per [^`]*: `([^`]*)`", doc, re.S)
    assert listed is not None, "docs/simulator.md no longer lists results.csv's columns"
    columns = pd.read_csv(files / "out" / "results.csv", nrows=0).columns.tolist()
    assert listed.group(1).replace("\n", " ").split(", ") == columns
    said = " ".join(result.output.split())
    for written in sorted((files / "out").iterdir()):
        assert str(written.relative_to(files)) in said or written.name in said, written.name
