"""The loop from the terminal (score → queue → partial answers with ties → status) prints
one error count, the same in every command, that matches the store and the known truth."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cleaner.count import ERROR_VARIANCE_PER_ERROR, ESTIMATE_RELATIVE_SD
from labelmend.cli.app import app
from labelmend.storage import open_store, repository

runner = CliRunner()
CLASSES = ["cat", "dog", "fox"]
N, FLIPPED = 300, 30
COUNT = re.compile(
    r"Estimated label errors remaining: ([\d.,]+) \(95% interval ([\d.,]+)–([\d.,]+)\)"
)


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def error_count(output: str) -> tuple[float, float, float]:
    found = COUNT.search(output)
    assert found is not None, output
    expected, low, high = (float(x.replace(",", "")) for x in found.groups())
    return expected, low, high


@pytest.fixture
def world(tmp_path):
    """Files of a 3-class set with 30 flipped labels, and the true labels."""
    rng = np.random.default_rng(3)
    true = rng.integers(3, size=N)
    logits = rng.normal(size=(N, 3))
    logits[np.arange(N), true] += 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    given = true.copy()
    flipped = rng.choice(N, FLIPPED, replace=False)
    given[flipped] = (given[flipped] + rng.integers(1, 3, size=FLIPPED)) % 3
    ids = [f"x{i:03d}" for i in range(N)]
    pd.DataFrame({"sample_id": ids, "label": np.array(CLASSES)[given]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    table = pd.DataFrame(probs, columns=CLASSES)
    table.insert(0, "sample_id", ids)
    table.to_csv(tmp_path / "predictions.csv", index=False)
    return tmp_path, pd.Series(np.array(CLASSES)[true], index=ids)


def test_score_and_status_print_the_same_count_that_excludes_only_decided_samples(
    world, database_url
):
    files, truth = world
    db = ["--db", database_url]
    ok("init", "pets", "--classes", ",".join(CLASSES), *db)
    ok("import", "samples", str(files / "samples.csv"), "--id-col", "sample_id", *db)
    ok("import", "predictions", str(files / "predictions.csv"), "--model", "m",
       "--id-col", "sample_id", *db)  # fmt: skip
    first = error_count(ok("score", *db))
    ok("queue", "create", "q", "--budget", "40", *db)
    ok("queue", "export", "q", str(files / "queue.csv"), *db)
    queue = pd.read_csv(files / "queue.csv", dtype={"sample_id": str}).set_index("sample_id")
    # One expert answers 30 of the 40 with the truth: agreeing answers decide (the current
    # label is one more vote), disagreeing ones tie under plurality and stay open.
    answered = queue.index[:30]
    pd.DataFrame(
        {"sample_id": answered, "annotator": "ann", "label": truth.loc[answered].to_numpy()}
    ).to_csv(files / "answers.csv", index=False)
    ok("sync", "import-annotations", "q", str(files / "answers.csv"), *db)
    agrees = truth.loc[answered] == queue.loc[answered, "current_label"]
    ties = list(answered[~agrees.to_numpy()])
    assert len(ties) >= 4  # the test needs ties that stay open
    # A second look settles two ties by hand.
    for sample in ties[:2]:
        ok("label", "set", sample, truth[sample], "--actor", "bob", *db)
    decided = set(answered[agrees.to_numpy()]) | set(ties[:2])

    status = error_count(ok("status", *db))
    rescored = ok("score", *db)
    after_rescore = error_count(rescored)
    assert error_count(ok("status", *db)) == after_rescore  # the same words and number

    with open_store(database_url) as session:
        dataset = repository.get_dataset(session)
        ids = repository.sample_frame(session, dataset).set_index("id")["external_id"]
        runs = [repository.load_ranking(session, run) for run in _score_runs(session)]
        current = repository.sample_frame(session, dataset).set_index("external_id")
    for count, ranking in ((status, runs[0]), (after_rescore, runs[1])):
        undecided = ~ids.loc[ranking["sample_id"]].isin(decided).to_numpy()
        p = ranking["p_error"].to_numpy()[undecided]
        assert count[0] == pytest.approx(p.sum(), abs=0.05)
        # The labels' chance and the estimate's own relative error (count_errors).
        own = ERROR_VARIANCE_PER_ERROR * p.sum() + (ESTIMATE_RELATIVE_SD * p.sum()) ** 2
        spread = 1.96 * np.sqrt((p * (1 - p)).sum() + own)
        assert count[1] == pytest.approx(max(p.sum() - spread, 0), abs=0.05)
    # Ties kept their p_error: the count fell by less than the answered items' p_error.
    assert first[0] - status[0] < runs[0]["p_error"].head(30).sum()
    # The truth: the decided samples are right (≈ 0 errors is correct for them), the ties
    # are still wrong and still counted; the store holds the flips minus the two fixed.
    stored = pd.Series(np.array(CLASSES)[current["current_label"]], index=current.index)
    assert (stored.loc[sorted(decided)] == truth.loc[sorted(decided)]).all()
    assert (stored.loc[ties[2:]] != truth.loc[ties[2:]]).all()
    assert int((stored != truth.loc[stored.index]).sum()) == FLIPPED - 2
    tied_keys = ids[ids.isin(ties[2:])].index
    tied_p = runs[1].set_index("sample_id").loc[tied_keys, "p_error"]
    assert (tied_p > 0).all()
    assert after_rescore[0] >= tied_p.sum()


def _score_runs(session):
    from sqlalchemy import select

    from labelmend.storage.models import ScoreRun

    return list(session.scalars(select(ScoreRun).order_by(ScoreRun.id)))
