"""The loop a new user runs (issue 13, done when): init → import → score → queue → one
expert's answers from a CSV (``--aggregation single-expert``) → status, all through the
real commands, with a count that matches the store and the known truth."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from labelmend.cli.app import app

runner = CliRunner()
CLASSES = np.array(["cat", "dog", "fox"])
COUNT = re.compile(r"Estimated label errors remaining: ([\d.]+) \(95% interval ([\d.]+)–([\d.]+)\)")


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_one_expert_from_a_csv_then_status(tmp_path, snapshot):
    rng = np.random.default_rng(0)  # the files of docs/store.md
    n = 300
    true = rng.integers(3, size=n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), true] += 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    given = true.copy()
    flip = rng.choice(n, 30, replace=False)
    given[flip] = (given[flip] + 1) % 3
    ids = [f"img{i:03d}" for i in range(n)]
    truth = pd.Series(CLASSES[true], index=ids)
    pd.DataFrame({"sample_id": ids, "label": CLASSES[given]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    predictions = pd.DataFrame(probs, columns=CLASSES)
    predictions.insert(0, "sample_id", ids)
    predictions.to_csv(tmp_path / "predictions.csv", index=False)
    url = f"sqlite:///{tmp_path / 'labelmend.db'}"
    db = ["--db", url]

    run("init", "pets", "--classes", "cat,dog,fox", *db)
    run("import", "samples", str(tmp_path / "samples.csv"), *db)
    run("import", "predictions", str(tmp_path / "predictions.csv"), "--model", "net", *db)
    scored = json.loads(run("score", "--top", str(n), "--json", *db))
    assert round(scored["errors"]["expected"], 1) == 23.0  # as docs/store.md prints it
    p_error = pd.Series({row["sample_id"]: row["p_error"] for row in scored["top"]})
    run("queue", "create", "week-1", "--budget", "40", *db)
    run("sync", "export-tasks", "week-1", str(tmp_path / "tasks.csv"), *db)
    queued = pd.read_csv(tmp_path / "tasks.csv")["sample_id"]
    assert len(queued) == 40
    answers = pd.DataFrame(
        {"sample_id": queued, "annotator": "ann", "label": truth[queued].to_numpy()}
    )

    # A second expert who disagrees once: refused whole, store unchanged.
    wrong_answer = CLASSES[truth[queued[0]] != CLASSES][0]
    bob = pd.DataFrame({"sample_id": [queued[0]], "annotator": ["bob"], "label": [wrong_answer]})
    pd.concat([answers, bob]).to_csv(tmp_path / "two.csv", index=False)
    before = snapshot(url)
    refused = run("sync", "import-annotations", "week-1", str(tmp_path / "two.csv"),
                  "--aggregation", "single-expert", *db, code=1)  # fmt: skip
    assert "--tie-break" in refused
    assert snapshot(url) == before

    answers.to_csv(tmp_path / "answers.csv", index=False)
    imported = run("sync", "import-annotations", "week-1", str(tmp_path / "answers.csv"),
                   "--aggregation", "single-expert", *db)  # fmt: skip
    assert re.search(r"samples decided\s+40", imported)
    assert re.search(r"labels changed\s+28", imported)

    before = snapshot(url)
    status = run("status", *db)
    assert snapshot(url) == before  # status only reads
    assert re.search(r"samples decided by an expert\s+40", status)
    found = COUNT.search(status)
    assert found is not None, status
    expected, low, high = map(float, found.groups())
    assert (expected, low, high) == (6.6, 0.0, 14.7)  # as docs/store.md and the README print it
    # Every undecided sample counts its p_error from the score run; the 40 decided, 0.
    assert abs(expected - p_error.drop(queued).sum()) <= 0.05
    # The truth: the 28 flips in the queue are fixed; the 2 left lie inside the interval.
    exported = tmp_path / "labels.csv"
    run("export", "labels", str(exported), *db)
    labels = pd.read_csv(exported).set_index("sample_id")["current_label"]
    wrong = int((labels != truth[labels.index]).sum())
    assert wrong == 2
    assert low <= wrong <= high
