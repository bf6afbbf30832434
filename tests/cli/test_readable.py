"""Readable at 80 columns and machine-readable (issue 13 point 6): every table of the
store's commands fits 80 columns without cutting an id, boxes on a terminal and plain
text when piped, and ``--json`` gives the same result as JSON; reading leaves the store
as it was."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import app

runner = CliRunner()
#: Long class names and ids: what a table must squeeze into 80 columns without cutting ids.
CLASSES = ["golden_retriever", "siamese_cat", "red_fox"]
IDS = [f"camera-b/2024-03-17/frame_{i:06d}.jpg" for i in range(12)]


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def read_terminal(controller: int) -> bytes:
    """Everything written to the pseudo-terminal of ``controller`` until it closes."""
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: everything was read
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return shown


def json_beside_a_terminal(*args: str) -> tuple[str, str]:
    """Run ``labelmend *args`` with stdout to a pipe and stderr to a pseudo-terminal, as
    ``labelmend … --json > file`` in a terminal; (what the terminal showed, stdout)."""
    controller, terminal = pty.openpty()
    job = subprocess.Popen(
        [sys.executable, "-m", "labelmend", *args],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=dict(os.environ, COLUMNS="80"),
    )
    os.close(terminal)
    shown = read_terminal(controller).decode()
    out, _ = job.communicate(timeout=120)
    assert job.returncode == 0, shown
    return shown, out.decode()


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A scored store with a queue and one decision, long ids; the --db arguments."""
    monkeypatch.setenv("COLUMNS", "80")
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), size=len(IDS))
    pd.DataFrame({"sample_id": IDS, "label": np.array(CLASSES)[probs.argmin(1)]}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    table = pd.DataFrame(probs, columns=CLASSES)
    table.insert(0, "sample_id", IDS)
    table.to_csv(tmp_path / "predictions.csv", index=False)
    db = ["--db", f"sqlite:///{tmp_path / 'pets.db'}"]
    ok("init", "pets", "--classes", ",".join(CLASSES), *db)
    ok("import", "samples", str(tmp_path / "samples.csv"), *db)
    ok("import", "predictions", str(tmp_path / "predictions.csv"), "--model", "m", *db)
    ok("score", *db)
    ok("queue", "create", "week-1", "--budget", "5", *db)
    ok("label", "set", IDS[0], CLASSES[1], "--reason", "ears", *db)
    return db


READS = [
    ["status"],
    ["datasets"],
    ["queue", "list"],
    ["queue", "show", "week-1", "--all"],
    ["history", IDS[0]],
    ["sync", "status", "week-1"],
]


@pytest.mark.parametrize("command", [["score", "--top", "8"], *READS], ids=" ".join)
def test_tables_fit_80_columns_and_never_cut_an_id(store, command, snapshot):
    before = snapshot(store[1])
    output = ok(*command, *store)
    tables = [line for line in output.splitlines() if not line.endswith(".")]  # not messages
    assert max(len(line) for line in tables) <= 80, output
    if command[0] == "score" or command[:2] == ["queue", "show"]:
        shown = [i for i in IDS if i in output]
        assert len(shown) >= 5, output  # whole ids, never "camera-b/2024-…"
    if command[0] != "score":
        assert snapshot(store[1]) == before  # reading changes nothing


@pytest.mark.parametrize("command", READS, ids=" ".join)
def test_json_gives_the_same_result(store, command):
    found = json.loads(ok(*command, "--json", *store))
    expected = {
        "datasets": [
            {"dataset": "pets", "classes": 3, "samples": 12, "queues": 1, "score_runs": 1}
        ],
        # A queue never pushed to a tool has no project: null, not "".
        "sync": {
            "queue": "week-1",
            "project": None,
            "items": 5,
            "open": 5,
            "pending": 5,
            "resolved": 0,
        },
    }
    if command[0] == "status":
        assert (found["n_samples"], found["decided"], found["labels_changed"]) == (12, 1, 1)
        # The queues as `queue list --json` gives them.
        assert found["queues"] == json.loads(ok("queue", "list", "--json", *store))
        assert [(q["queue"], q["items"], q["pending"]) for q in found["queues"]] == [
            ("week-1", 5, 5)
        ]
    elif command[0] == "history":
        assert (found[0]["new_label"], found[0]["reason"]) == (CLASSES[1], "ears")
    elif command[:2] == ["queue", "show"]:
        assert len(found) == 5
        assert {row["sample_id"] for row in found} <= set(IDS)
    elif command[:2] == ["queue", "list"]:
        assert [(q["queue"], q["pending"]) for q in found] == [("week-1", 5)]
    elif command[0] == "sync":
        assert {key: found[key] for key in expected["sync"]} == expected["sync"]
    else:
        assert found == expected[command[0]]


def test_counts_in_tables_have_thousands_separators_and_json_plain_numbers(store, monkeypatch):
    """A count of 12,345 reads 12,345 in every table, as in the sentences around them and
    the HTML report (the tables printed 12345); --json keeps plain numbers. The store's
    counts are made large on their way to the commands."""
    import dataclasses

    from labelmend import workflow
    from labelmend.storage.schema import QUEUE_COUNTS

    counts = {*QUEUE_COUNTS, "samples", "classes", "queues", "score_runs"}

    def large(row):
        return {key: v * 1000 + 345 if key in counts else v for key, v in row.items()}

    def enlarged(read):
        return lambda *args, **kwargs: [large(row) for row in read(*args, **kwargs)]

    def status(*args, **kwargs):
        found = real_status(*args, **kwargs)
        return dataclasses.replace(found, n_classes=1234, queues=enlarged(lambda: found.queues)())

    real_status = workflow.dataset_status
    monkeypatch.setattr(workflow, "dataset_status", status)
    monkeypatch.setattr(workflow, "list_datasets", enlarged(workflow.list_datasets))
    monkeypatch.setattr(workflow, "list_queues", enlarged(workflow.list_queues))
    datasets = ok("datasets", *store)
    for count in ("3,345", "12,345", "1,345"):  # classes, samples, queues and score runs
        assert count in datasets, datasets
    for command in (["queue", "list"], ["status"]):
        shown = ok(*command, *store)
        assert "5,345" in shown, shown  # items, open, pending
        assert "5345" not in shown, shown
    assert "1,234" in ok("status", *store)  # classes
    assert json.loads(ok("queue", "list", "--json", *store))[0]["items"] == 5345


def test_score_json_prints_the_count_status_reads(store):
    scored = json.loads(ok("score", "--top", "3", "--json", *store))
    assert len(scored["top"]) == 3
    assert {row["sample_id"] for row in scored["top"]} <= set(IDS)
    status = json.loads(ok("status", "--json", *store))
    assert scored["score_run"] == status["score_run_id"] == 2
    assert scored["errors"] == status["errors"]
    assert scored["errors"]["decided"] == 1
    # One number, one key: the estimated label errors remaining are errors.expected only.
    assert [key for key in status if "errors" in key] == ["errors", "next_batch_expected_errors"]


def test_boxes_on_a_terminal_and_plain_text_when_piped(store):
    box = set("│┌┐└┘├┤")
    piped = ok("status", *store)  # CliRunner's stdout is no terminal
    assert not box & set(piped), piped
    controller, terminal = pty.openpty()
    done = subprocess.run(
        [sys.executable, "-m", "labelmend", "status", *store],
        stdout=terminal,
        stderr=terminal,
        env=dict(os.environ, COLUMNS="80"),
        timeout=120,
    )
    os.close(terminal)
    shown = read_terminal(controller)
    assert done.returncode == 0, shown
    text = shown.decode()
    assert box & set(text), text
    assert "estimated label errors remaining" in text


def test_progress_shows_on_a_terminal_while_json_goes_to_a_file(store):
    """``score --json > scores.json`` in a terminal: the bar on stderr, pure JSON on stdout."""
    shown, out = json_beside_a_terminal("score", "--json", *store)
    assert "Scoring" in shown, shown
    assert json.loads(out)["score_run"] == 2


@pytest.mark.parametrize(
    ("command", "activity"),
    [(["status", "--json"], "Reading the store"), (["queue", "show", "week-1", "--json"], "Reading the queue")],
    ids=" ".join,
)  # fmt: skip
def test_spinners_show_on_a_terminal_while_json_goes_to_a_file(store, command, activity):
    """``status --json > status.json`` in a terminal: the spinner on stderr with the bars,
    pure JSON on stdout."""
    shown, out = json_beside_a_terminal(*command, *store)
    assert activity in shown, shown
    assert json.loads(out)
