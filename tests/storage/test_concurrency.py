"""Two real processes relabelling and queueing at once lose nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest

from labelmend import workflow
from labelmend.storage import open_store, repository
from labelmend.storage.models import LabelChange

CLASSES = ["a", "b", "c"]
N_SAMPLES = 200
HOT_SAMPLES = 10  # both processes relabel these, again and again
OPERATIONS = 24  # per process; every 4th also creates a queue of QUEUE_SIZE
QUEUE_SIZE = 5

# Each operation reads a sample's current label and moves it to the next class in one
# transaction: a lost update would break the chain old -> new in the history.
WORKER = """
import sys, time
from pathlib import Path
from labelmend import workflow
from labelmend.storage import open_store, repository

url, worker, operations, hot, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
while not go.exists():
    time.sleep(0.01)
for op in range(operations):
    sample_id = f"s{op % hot:03d}"
    with open_store(url) as session:
        dataset = repository.get_dataset(session, lock=True)
        sample = repository.get_sample(session, dataset, sample_id, lock=True)
        label = dataset.classes[(sample.current_label + 1) % len(dataset.classes)]
        workflow.set_label(session, sample_id, label, actor=f"worker-{worker}", reason=str(op))
    if op % 4 == 0:
        with open_store(url) as session:
            workflow.create_queue(session, f"w{worker}-{op}", budget=int(sys.argv[6]))
"""


@pytest.mark.slow
def test_two_processes_lose_no_label_change_and_never_share_a_queued_sample(database_url, tmp_path):
    ids = [f"s{i:03d}" for i in range(N_SAMPLES)]
    labels = [CLASSES[i % 3] for i in range(N_SAMPLES)]
    probs = pd.DataFrame({c: [1 / 3] * N_SAMPLES for c in CLASSES})
    probs.insert(0, "sample_id", ids)
    with open_store(database_url) as session:
        workflow.init_dataset(session, "d", CLASSES)
        workflow.import_samples(session, pd.DataFrame({"sample_id": ids, "label": labels}))
        workflow.import_predictions(session, probs, model="m")
        workflow.score(session)
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                database_url,
                str(w),
                str(OPERATIONS),
                str(HOT_SAMPLES),
                str(go),
                str(QUEUE_SIZE),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in (1, 2)
    ]
    time.sleep(0.5)
    go.touch()
    for worker in workers:
        _, err = worker.communicate(timeout=240)
        assert worker.returncode == 0, err

    with open_store(database_url) as session:
        dataset = repository.get_dataset(session)
        samples = repository.sample_frame(session, dataset).set_index("external_id")
        changes = pd.DataFrame(
            [
                (c.sample_id, c.id, c.old_label, c.new_label, c.actor)
                for c in session.query(LabelChange).order_by(LabelChange.id)
            ],
            columns=["sample_id", "id", "old", "new", "actor"],
        )
        queues = [
            workflow.queue_items(session, f"w{w}-{op}", open_only=False)
            for w in (1, 2)
            for op in range(0, OPERATIONS, 4)
        ]
    assert len(changes) == 2 * OPERATIONS
    assert set(changes["actor"].value_counts()) == {OPERATIONS}
    for sample_id, row in samples.iloc[:HOT_SAMPLES].iterrows():
        chain = changes[changes["sample_id"] == row["id"]]
        assert chain["old"].tolist() == [row["given_label"], *chain["new"].tolist()[:-1]], sample_id
        assert row["current_label"] == (row["given_label"] + len(chain)) % 3
    queued = pd.concat(queues)
    assert len(queues) == 2 * len(range(0, OPERATIONS, 4))
    assert queued["sample_id"].is_unique
    assert len(queued) == len(queues) * QUEUE_SIZE
