"""The file route of the sync: export tasks, import answers, decide (no server needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend import workflow
from labelmend.cli.app import app
from labelmend.errors import InputError, SyncError
from labelmend.storage import open_store
from labelmend.storage.models import QueueItem
from labelmend.sync.label_studio import RemoteAnnotation
from labelmend.sync.service import (
    export_tasks,
    import_annotations,
    pull_queue,
    push_queue,
    sync_status,
)

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture
def store_url(database_url):
    rng = np.random.default_rng(1)
    n = 30
    true = rng.integers(3, size=n)
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), true] += 3
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    ids = [f"s{i:02d}" for i in range(n)]
    url = database_url
    with open_store(url) as session:
        workflow.init_dataset(session, "pets", CLASSES)
        workflow.import_samples(
            session, pd.DataFrame({"id": ids, "label": np.array(CLASSES)[true]})
        )
        table = pd.DataFrame(probs, columns=CLASSES)
        table.insert(0, "id", ids)
        workflow.import_predictions(session, table, model="m")
        workflow.score(session)
        workflow.create_queue(session, "q", budget=6)
    return url


def queued(url):
    with open_store(url) as session:
        items = workflow.queue_items(session, "q")
    return list(items["id"]), dict(zip(items["id"], items["current_label"], strict=True))


def other(label):
    return CLASSES[(CLASSES.index(label) + 1) % 3]


def test_plurality_counts_the_current_label_and_reports_ties(store_url, tmp_path):
    ids, current = queued(store_url)
    answers = pd.DataFrame(
        {
            "sample_id": [ids[0], ids[0], ids[1], ids[2], ids[3]],
            "annotator": ["ann", "bob", "ann", "ann", "ann"],
            "label": [other(current[ids[0]])] * 2
            + [other(current[ids[1]]), current[ids[2]], "owl"],
        }
    )
    path = tmp_path / "answers.csv"
    answers.to_csv(path, index=False)
    with open_store(store_url) as session:
        result = import_annotations(session, "q", str(path))
    assert result.recorded == 4
    assert result.rejected["problem"].tolist() == ["unknown class 'owl'"]
    assert result.decisions.ties == [ids[1]]  # one expert against the current label
    assert result.decisions.decided == 2
    assert result.decisions.changed == 1
    with open_store(store_url) as session:
        again = import_annotations(session, "q", str(path))
        status = sync_status(session, "q")
        history = workflow.label_history(session, ids[0])
    assert (again.recorded, again.repeated) == (0, 4)
    assert status.decided == 2
    assert status.needs_another_vote == 1
    assert history["new_label"].iloc[-1] == other(current[ids[0]])


def test_dawid_skene_is_not_swayed_by_a_random_annotator(store_url, tmp_path):
    with open_store(store_url) as session:
        workflow.create_queue(session, "big", budget=20)
        items = workflow.queue_items(session, "big")
    current = dict(zip(items["id"], items["current_label"], strict=True))
    rng = np.random.default_rng(0)
    # 'good' agrees with the labels in place; 'random' answers at random.
    rows = [(s, "good", label) for s, label in current.items()]
    rows += [(s, "random", CLASSES[rng.integers(3)]) for s in current]
    path = tmp_path / "answers.jsonl"
    pd.DataFrame(rows, columns=["sample_id", "annotator", "label"]).to_json(
        path, orient="records", lines=True
    )
    with open_store(store_url) as session:
        result = import_annotations(session, "big", str(path), aggregation="dawid-skene")
    assert result.decisions.decided == len(current)
    assert result.decisions.changed == 0


def test_crowdlab_uses_the_model_probabilities(store_url, tmp_path):
    ids, current = queued(store_url)
    rows = [(s, a, current[s]) for s in ids for a in ("a1", "a2")]
    path = tmp_path / "answers.csv"
    pd.DataFrame(rows, columns=["sample_id", "annotator", "label"]).to_csv(path, index=False)
    with open_store(store_url) as session:
        result = import_annotations(session, "q", str(path), aggregation="crowdlab")
    assert result.decisions.decided == len(ids)
    assert result.decisions.changed == 0


def test_export_tasks_and_bad_answer_files(store_url, tmp_path):
    with open_store(store_url) as session:
        n_tasks = export_tasks(session, "q", str(tmp_path / "tasks.csv"))
    tasks = pd.read_csv(tmp_path / "tasks.csv")
    assert n_tasks == len(tasks) == 6
    assert {"sample_id", "given_label", "suggested_label", "p_error"} <= set(tasks.columns)
    pd.DataFrame({"sample_id": ["s00"], "label": ["cat"]}).to_csv(tmp_path / "bad.csv", index=False)
    with (
        pytest.raises(InputError, match=r"missing columns \['annotator'\]"),
        open_store(store_url) as session,
    ):
        import_annotations(session, "q", str(tmp_path / "bad.csv"))


def test_cli_file_route(store_url, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["sync", "export-tasks", "q", str(tmp_path / "t.jsonl"), "--db", store_url]
    )
    assert result.exit_code == 0, result.output
    ids, current = queued(store_url)
    pd.DataFrame({"sample_id": ids, "annotator": "ann", "label": [current[s] for s in ids]}).to_csv(
        tmp_path / "a.csv", index=False
    )
    result = runner.invoke(
        app, ["sync", "import-annotations", "q", str(tmp_path / "a.csv"), "--db", store_url]
    )
    assert result.exit_code == 0, result.output
    assert "samples decided" in result.output
    result = runner.invoke(app, ["pull", "q", "--db", store_url, "--api-key", "k"])
    assert result.exit_code == 1
    assert "has not been pushed" in result.output


class FailingTool:
    """A stand-in for Label Studio whose connection drops after the first batch or page."""

    def __init__(self, classes):
        self.classes = classes
        self.imported = []

    def ensure_project(self, *, title, config, project_id=None):
        return 7

    def task_ids_by_sample(self, project_id):
        return {}

    def import_tasks(self, project_id, tasks, *, batch_size, on_batch):
        batch = list(tasks[:batch_size])
        ids = list(range(len(self.imported), len(self.imported) + len(batch)))
        self.imported += batch
        on_batch(batch, ids)
        raise SyncError("Cannot reach Label Studio (connection dropped).")

    def annotation_pages(self, project_id, classes, *, page_size):
        tasks = [t["data"]["labelmend_sample_id"] for t in self.imported]
        yield [
            RemoteAnnotation(f"a{i}", i, sample, "ann", self.classes[0])
            for i, sample in enumerate(tasks[:page_size])
        ]
        raise SyncError("Cannot reach Label Studio (connection dropped).")


@pytest.mark.parametrize("commit_each", [False, True], ids=["caller-owns", "checkpoint-commit"])
def test_sync_commits_only_by_the_callers_policy(store_url, snapshot, commit_each):
    tool = FailingTool(CLASSES)
    before = snapshot(store_url)

    def push():
        with open_store(store_url) as session:
            policy = {"checkpoint": session.commit} if commit_each else {}
            push_queue(session, "q", tool, batch_size=2, **policy)

    with pytest.raises(SyncError):
        push()
    if not commit_each:
        # Nothing committed: the failed push left the store exactly as it was.
        assert snapshot(store_url) == before
        return
    with open_store(store_url) as session:
        status = sync_status(session, "q")
    assert (status.project, status.pushed) == ("label-studio:7", 2)
    with pytest.raises(SyncError), open_store(store_url) as session:
        pull_queue(session, "q", tool, page_size=2, checkpoint=session.commit)
    with open_store(store_url) as session:
        status = sync_status(session, "q")
        answered = session.query(QueueItem).filter(QueueItem.status == "annotated").count()
    assert (status.annotations, answered) == (2, 2)
