"""Queue and label management from the terminal: list, delete, undo, decisions from a file,
datasets, --json; refusals are one line, exit 1 (usage 2), and leave the store as it was."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import app

runner = CliRunner()
CLASSES = ["cat", "dog", "fox"]


def run(*args: str):
    return runner.invoke(app, list(args), terminal_width=200)


def ok(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def fails(*args: str, code: int = 1) -> str:
    result = run(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    if code == 1:
        assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.fixture
def scored(tmp_path, database_url):
    """A scored store of 40 samples; returns (db args, tmp_path)."""
    rng = np.random.default_rng(5)
    n = 40
    probs = rng.dirichlet(np.ones(3), size=n)
    ids = [f"s{i:02d}" for i in range(n)]
    pd.DataFrame({"sample_id": ids, "label": np.array(CLASSES)[probs.argmax(1)]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    table = pd.DataFrame(probs, columns=CLASSES)
    table.insert(0, "sample_id", ids)
    table.to_csv(tmp_path / "predictions.csv", index=False)
    db = ["--db", database_url]
    ok("init", "pets", "--classes", ",".join(CLASSES), *db)
    ok("import", "samples", str(tmp_path / "samples.csv"), *db)
    ok("import", "predictions", str(tmp_path / "predictions.csv"), "--model", "m", *db)
    ok("score", *db)
    return db, tmp_path


def test_queue_list_show_json_and_delete(scored, snapshot):
    db, _ = scored
    url = db[1]
    assert "No queues yet" in ok("queue", "list", *db)
    ok("queue", "create", "a", "--budget", "5", *db)
    ok("queue", "create", "b", "--budget", "3", *db)
    listed = json.loads(ok("queue", "list", "--json", *db))
    assert [(q["queue"], q["pending"]) for q in listed] == [("a", 5), ("b", 3)]
    shown = json.loads(ok("queue", "show", "a", "--json", *db))
    assert len(shown) == 5
    first = shown[0]["sample_id"]
    # An answered item protects the queue until --force; answers and history stay.
    ok("label", "set", first, shown[0]["suggested_label"], "--actor", "ann", *db)
    before = snapshot(url)
    assert "0 annotated and 1 resolved item(s)" in fails("queue", "delete", "a", *db)
    assert "--force" in fails("queue", "delete", "a", *db)
    assert snapshot(url) == before
    assert "deleted (5 items)" in ok("queue", "delete", "a", "--force", *db)
    assert [q["queue"] for q in json.loads(ok("queue", "list", "--json", *db))] == ["b"]
    assert json.loads(ok("history", first, "--json", *db))[0]["actor"] == "ann"
    assert "deleted (3 items)" in ok("queue", "delete", "b", *db)  # nothing answered: no flag


def test_queue_create_refuses_empty_names_zero_budgets_and_says_when_nothing_is_left(
    scored, snapshot
):
    db, _ = scored
    url = db[1]
    before = snapshot(url)
    assert "queue name is empty" in fails("queue", "create", "", "--budget", "3", *db)
    fails("queue", "create", "z", "--budget", "0", *db, code=2)
    for share in ("0", "1.5"):  # out of range: one line from the library, as simulate's
        assert "--fraction must lie in (0, 1]" in fails(
            "queue", "create", "z", "--fraction", share, *db
        )
    assert snapshot(url) == before
    ok("queue", "create", "all", "--fraction", "1", *db)
    out = fails("queue", "create", "more", "--budget", "5", *db)
    assert "Nothing left to queue" in out
    assert "labelmend score" in out
    # The advice works: the listed queue is there to answer.
    assert "all" in ok("queue", "list", *db)


def test_label_undo_and_decisions_from_a_file(scored, snapshot):
    db, tmp = scored
    url = db[1]
    samples = pd.read_csv(tmp / "samples.csv").set_index("sample_id")["label"]
    other = {s: CLASSES[(CLASSES.index(label) + 1) % 3] for s, label in samples.items()}
    decisions = pd.DataFrame(
        {
            "sample_id": ["s01", "s02", "s03"],
            "label": [other["s01"], samples["s02"], other["s03"]],
            "reason": ["blurry", "checked", None],
        }
    )
    decisions.to_csv(tmp / "decisions.csv", index=False)
    out = ok("label", "set", "--file", str(tmp / "decisions.csv"), "--actor", "ann", *db)
    assert "3 decisions recorded" in out
    assert "2 labels changed, 1 confirmed" in out
    history = json.loads(ok("history", "s02", "--json", *db))
    assert [(h["old_label"], h["new_label"], h["actor"], h["reason"]) for h in history] == [
        (samples["s02"], samples["s02"], "ann", "checked")
    ]
    status = json.loads(ok("status", "--json", *db))
    assert (status["decided"], status["labels_changed"]) == (3, 2)
    out = ok("label", "undo", "s01", "--actor", "bob", *db)
    assert f"back to {samples['s01']!r}" in out
    history = json.loads(ok("history", "s01", "--json", *db))
    assert history[-1]["new_label"] == samples["s01"]
    assert history[-1]["actor"] == "bob"
    assert len(history) == 2  # the undo is recorded, nothing erased
    before = snapshot(url)
    assert "no decision to undo" in fails("label", "undo", "s09", *db)
    bad = decisions.assign(label=["owl", "cat", "cat"])
    bad.to_csv(tmp / "bad.csv", index=False)
    assert "owl" in fails("label", "set", "--file", str(tmp / "bad.csv"), *db)
    decisions.assign(sample_id=["s01", "zz", "s03"]).to_csv(tmp / "unknown.csv", index=False)
    assert "first 'zz'" in fails("label", "set", "--file", str(tmp / "unknown.csv"), *db)
    assert snapshot(url) == before
    fails("label", "set", *db, code=2)


def test_datasets_lists_every_dataset(scored):
    db, _ = scored
    ok("init", "birds", "--classes", "owl,tit", *db)
    found = json.loads(ok("datasets", "--json", *db))
    assert [(d["dataset"], d["classes"], d["samples"], d["score_runs"]) for d in found] == [
        ("birds", 2, 0, 0),
        ("pets", 3, 40, 1),
    ]
    assert "pets" in ok("datasets", *db)
