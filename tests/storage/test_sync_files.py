"""The file route of the sync: export tasks, import answers, decide (no server needed)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from tests.synthetic import noisy_problem, scored_store
from typer.testing import CliRunner

from labelmend import workflow
from labelmend.cli.app import app
from labelmend.errors import InputError, SyncError
from labelmend.storage import open_store, reads
from labelmend.storage import repository as repo
from labelmend.storage.models import Annotation, LabelChange, QueueItem, Sample
from labelmend.sync.label_studio import RemoteAnnotation
from labelmend.sync.service import (
    decide_queue,
    export_tasks,
    import_annotations,
    pull_queue,
    push_queue,
    sync_status,
)

CLASSES = ["cat", "dog", "fox"]
PROBLEM = noisy_problem(30, 3, noise=0.2, seed=1)


@pytest.fixture
def store_url(database_url):
    given, probs, _ = PROBLEM
    ids = [f"s{i:02d}" for i in range(len(given))]
    url = database_url
    with open_store(url) as session:
        scored_store(session, CLASSES, ids, given, probs)
        workflow.create_queue(session, "q", budget=6)
    return url


def queued(url, queue="q"):
    with open_store(url) as session:
        items = workflow.queue_items(session, queue)
    return list(items["sample_id"]), dict(
        zip(items["sample_id"], items["current_label"], strict=True)
    )


def other(label):
    return CLASSES[(CLASSES.index(label) + 1) % 3]


def test_plurality_counts_the_current_label_and_reports_ties(store_url, tmp_path):
    ids, current = queued(store_url)
    answers = pd.DataFrame(
        {
            "sample_id": [ids[0], ids[0], ids[1], ids[2]],
            "annotator": ["ann", "bob", "ann", "ann"],
            "label": [other(current[ids[0]])] * 2 + [other(current[ids[1]]), current[ids[2]]],
        }
    )
    path = tmp_path / "answers.csv"
    answers.to_csv(path, index=False)
    with open_store(store_url) as session:
        result = import_annotations(session, "q", str(path))
    assert result.recorded == 4
    assert result.rejected.empty
    assert result.decisions.ties == [ids[1]]  # one expert against the current label
    assert result.decisions.decided == 2
    assert result.decisions.changed == 1
    with open_store(store_url) as session:
        again = import_annotations(session, "q", str(path))
        status = sync_status(session, "q")
        history = workflow.label_history(session, ids[0])
    assert (again.recorded, again.repeated) == (0, 4)
    assert status.resolved == 2
    assert status.annotated == 1
    assert history["new_label"].iloc[-1] == other(current[ids[0]])


def answers_file(path, answers):
    """Write (sample_id, annotator, label) rows as an answers file; return its path."""
    table = pd.DataFrame(answers, columns=["sample_id", "annotator", "label"])
    if path.suffix == ".jsonl":
        table.to_json(path, orient="records", lines=True)
    else:
        table.to_csv(path, index=False)
    return str(path)


def decide(url, queue, path, aggregation):
    """Import an answers file with ``aggregation``; (decisions, current label by id)."""
    with open_store(url) as session:
        result = import_annotations(session, queue, path, aggregation=aggregation)
    with open_store(url) as session:
        items = workflow.queue_items(session, queue, open_only=False)
    return result.decisions, dict(zip(items["sample_id"], items["current_label"], strict=True))


def big_queue_truth(url):
    """Queue 20 samples as 'big'; a truth (by sample id, in queue order) that differs from
    the label in place on the first 5."""
    with open_store(url) as session:
        workflow.create_queue(session, "big", budget=20)
        items = workflow.queue_items(session, "big")
    truth = dict(zip(items["sample_id"], items["current_label"], strict=True))
    for sample in items["sample_id"][:5]:
        truth[sample] = other(truth[sample])
    return truth


def test_dawid_skene_trusts_reliable_annotators_over_a_lazy_crowd(store_url, tmp_path):
    # 'ann' and 'bob' always give the truth; three lazy annotators always answer 'cat'.
    # Plurality (the label in place counts as a vote) ties or picks 'cat' wherever the
    # truth is not 'cat'.
    truth = big_queue_truth(store_url)
    rows = [(s, who, label) for s, label in truth.items() for who in ("ann", "bob")]
    rows += [(s, f"lazy{i}", "cat") for s in truth for i in range(3)]
    path = answers_file(tmp_path / "answers.jsonl", rows)
    decisions, current = decide(store_url, "big", path, "dawid-skene")
    assert (decisions.decided, decisions.changed, decisions.ties) == (20, 5, [])
    assert {s: current[s] for s in truth} == truth


def stored_p_wrong(url):
    """The p_wrong of every decision in the history, by sample id."""
    with open_store(url) as session:
        rows = session.execute(
            select(Sample.external_id, LabelChange.p_wrong).join(
                Sample, Sample.id == LabelChange.sample_id
            )
        ).all()
    return dict(rows)


def test_dawid_skene_uncertainty_enters_the_error_count(store_url, tmp_path):
    # 'ann' and 'bob' give the truth, except each on three samples, where they answer the
    # next class.
    truth = big_queue_truth(store_url)
    order = list(truth)
    ann_wrong, bob_wrong = set(order[6:9]), set(order[9:12])
    rows = [(s, "ann", other(t) if s in ann_wrong else t) for s, t in truth.items()]
    rows += [(s, "bob", other(t) if s in bob_wrong else t) for s, t in truth.items()]
    path = answers_file(tmp_path / "answers.csv", rows)
    decisions, current = decide(store_url, "big", path, "dawid-skene")
    assert decisions.decided == 20
    p_wrong = stored_p_wrong(store_url)
    # Where both experts say the next class against the label in place (the first five),
    # and that is a slip each has been seen to make, Dawid–Skene is short of sure, and
    # decides the more probable of the experts' answer and the label in place; every
    # other decision is sure. (Which class pairs the slips hit, and so which side wins,
    # depends on the queue the ranking built.)
    doubtful = [s for s, p in p_wrong.items() if p > 0.1]
    assert doubtful
    assert set(doubtful) <= set(order[:5])
    in_place = {t: s for s in CLASSES for t in [other(s)]}
    for sample in doubtful:
        assert p_wrong[sample] < 0.5
        assert current[sample] in (truth[sample], in_place[truth[sample]])
    with open_store(store_url) as session:
        status = workflow.dataset_status(session)
        run = reads.latest_score_run(session, repo.get_dataset(session))
        scores = repo.score_details(session, run, repo.load_ranking(session, run)["sample_id"])
    undecided = scores.loc[~scores["external_id"].isin(list(p_wrong)), "p_error"].sum()
    # Decided samples count by their decision's doubt, not as certainly right.
    assert status.errors.expected == pytest.approx(undecided + sum(p_wrong.values()))
    assert status.errors.expected > undecided + 0.1  # at least the doubtful one


@pytest.mark.filterwarnings("ignore:Annotators do not agree on any example")  # by design
def test_crowdlab_breaks_disagreements_with_the_model_probabilities(store_url, tmp_path):
    with open_store(store_url) as session:
        workflow.create_queue(session, "rest", fraction=1.0)  # every sample not in 'q'
    order = np.argsort(-PROBLEM.probs, axis=1)
    changed = expected_changed = 0
    for queue in ("q", "rest"):
        ids, before = queued(store_url, queue)
        # Two annotators split on every sample between the model's first and second
        # choice, taking turns: only the model can say which one wins.
        first = {s: CLASSES[order[int(s[1:]), 0]] for s in ids}
        second = {s: CLASSES[order[int(s[1:]), 1]] for s in ids}
        rows = []
        for turn, s in enumerate(ids):
            a1, a2 = (first, second) if turn % 2 else (second, first)
            rows += [(s, "a1", a1[s]), (s, "a2", a2[s])]
        path = answers_file(tmp_path / f"{queue}.csv", rows)
        decisions, current = decide(store_url, queue, path, "crowdlab")
        assert decisions.decided == len(ids)
        assert {s: current[s] for s in ids} == first
        changed += decisions.changed
        expected_changed += sum(first[s] != before[s] for s in ids)
    assert changed == expected_changed > 0  # 'q' holds samples the model disagrees with
    # Every sample split the experts: CROWDLAB's posterior leaves each decision some doubt.
    assert all(0.0 < p < 1.0 for p in stored_p_wrong(store_url).values())


def test_export_tasks_and_bad_answer_files(store_url, tmp_path):
    with open_store(store_url) as session:
        n_tasks = export_tasks(session, "q", str(tmp_path / "tasks.csv"))
    tasks = pd.read_csv(tmp_path / "tasks.csv")
    assert n_tasks == len(tasks) == 6
    assert {"sample_id", "given_label", "suggested_label", "p_error"} <= set(tasks.columns)
    pd.DataFrame({"sample_id": ["s00"], "label": ["cat"]}).to_csv(tmp_path / "bad.csv", index=False)
    with (
        pytest.raises(
            InputError,
            match=r"expected a column 'annotator'; found 2 columns: 'sample_id', 'label'\.",
        ),
        open_store(store_url) as session,
    ):
        import_annotations(session, "q", str(tmp_path / "bad.csv"))


def import_cli(url, path, *options):
    """``labelmend sync import-annotations q PATH --db URL`` with ``options``."""
    return CliRunner().invoke(
        app, ["sync", "import-annotations", "q", str(path), *options, "--db", url]
    )


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
    result = import_cli(store_url, tmp_path / "a.csv")
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


class AnsweringTool(FailingTool):
    """A stand-in for Label Studio that keeps its connection and returns ``pages``."""

    def __init__(self, classes):
        super().__init__(classes)
        self.pages = []
        self.deleted = set()

    def deleted_annotations(self, project_id, external_ids):
        return set(external_ids) & self.deleted

    def import_tasks(self, project_id, tasks, *, batch_size, on_batch):
        on_batch(list(tasks), list(range(len(tasks))))

    def annotation_pages(self, project_id, classes, *, page_size):
        yield from self.pages


def test_a_task_every_expert_skipped_frees_its_sample_until_someone_answers(store_url):
    tool = AnsweringTool(CLASSES)
    ids, current = queued(store_url)
    with open_store(store_url) as session:
        push_queue(session, "q", tool)
    skip = RemoteAnnotation("a1", 0, ids[0], "ann", None, "skipped by the annotator", True)
    other_skip = RemoteAnnotation("a2", 1, ids[1], "ann", None, "skipped by the annotator", True)
    confirm = RemoteAnnotation("a3", 1, ids[1], "bob", current[ids[1]])
    tool.pages = [[skip], [other_skip, confirm]]
    with open_store(store_url) as session:
        pulled = pull_queue(session, "q", tool)
        status = sync_status(session, "q")
    assert pulled.rejected["problem"].tolist() == ["skipped by the annotator"] * 2
    # ids[0]: skipped by all who opened it; ids[1]: bob's answer counts despite ann's skip.
    assert (status.skipped, status.resolved, status.sent, status.open) == (1, 1, 4, 4)
    with open_store(store_url) as session:
        workflow.create_queue(session, "again", fraction=1.0)
        again = set(workflow.queue_items(session, "again")["sample_id"])
    assert ids[0] in again
    assert again.isdisjoint(ids[1:])  # decided, or still waiting in 'q'
    # A later answer to the skipped task decides it.
    tool.pages = [[skip, RemoteAnnotation("a4", 0, ids[0], "bob", other(current[ids[0]]))]]
    with open_store(store_url) as session:
        pull_queue(session, "q", tool, aggregation="single-expert")
        status = sync_status(session, "q")
        history = workflow.label_history(session, ids[0])
    assert (status.skipped, status.resolved) == (0, 2)
    assert history["new_label"].tolist() == [other(current[ids[0]])]


def test_single_expert_decides_refuses_disagreement_unless_told_how_to_break_it(
    store_url, tmp_path, snapshot
):
    ids, current = queued(store_url)
    pd.DataFrame(
        {
            "sample_id": [ids[0], ids[1], ids[2], ids[2]],
            "annotator": ["ann", "ann", "ann", "bob"],
            "label": [
                other(current[ids[0]]),
                current[ids[1]],
                current[ids[2]],
                other(current[ids[2]]),
            ],
        }
    ).to_csv(tmp_path / "answers.csv", index=False)
    path = str(tmp_path / "answers.csv")
    before = snapshot(store_url)
    with (
        pytest.raises(InputError, match=rf"first '{ids[2]}': \['ann', 'bob'\]"),
        open_store(store_url) as session,
    ):
        import_annotations(session, "q", path, aggregation="single-expert")
    assert snapshot(store_url) == before
    with open_store(store_url) as session:
        result = import_annotations(
            session, "q", path, aggregation="single-expert", tie_break="open"
        )
        first = workflow.label_history(session, ids[0])
        second = workflow.label_history(session, ids[1])
    # One expert against the current label decides (plurality would tie); agreeing is a
    # confirmation with its actor in the history; the disagreement waits for a vote.
    assert (result.decisions.decided, result.decisions.changed) == (2, 1)
    assert result.decisions.ties == [ids[2]]
    assert first["new_label"].tolist() == [other(current[ids[0]])]
    assert second[["old_label", "new_label"]].values.tolist() == [[current[ids[1]]] * 2]
    assert second["actor"].iloc[0] == "ann via single-expert"


def test_crowdlab_with_one_annotator_and_all_rejected_answers_are_one_line(store_url, tmp_path):
    ids, current = queued(store_url)
    pd.DataFrame(
        {"sample_id": ids[:3], "annotator": "ann", "label": [current[i] for i in ids[:3]]}
    ).to_csv(tmp_path / "one.csv", index=False)
    result = import_cli(store_url, tmp_path / "one.csv", "--aggregation", "crowdlab")
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        "Error: crowdlab needs answers from at least 2 annotators; found 1. With one "
        "trusted expert use --aggregation single-expert."
    ]
    # The advice works.
    result = import_cli(store_url, tmp_path / "one.csv", "--aggregation", "single-expert")
    assert result.exit_code == 0, result.output
    pd.DataFrame({"sample_id": ["zz", ids[0]], "annotator": "ann", "label": ["cat", "owl"]}).to_csv(
        tmp_path / "bad.csv", index=False
    )
    result = import_cli(store_url, tmp_path / "bad.csv")
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [
        f"Error: {tmp_path / 'bad.csv'}: 2 of 2 answers cannot be recorded; nothing was "
        "recorded. Row 1 (line 2): sample 'zz' is not in queue 'q'. Row 2 (line 3): unknown class "
        "'owl' (expected one of 'cat', 'dog', 'fox')."
    ]


BAD_ROWS = {
    "unknown sample": (("zz", "ann", "cat"), "Row 2 (line 3): sample 'zz' is not in queue 'q'"),
    "sample outside the queue": (
        ("OUTSIDE", "ann", "cat"),
        "Row 2 (line 3): sample 'OUTSIDE' is not in queue 'q'",
    ),
    "unknown class": (("QUEUED", "bob", "owl"), "Row 2 (line 3): unknown class 'owl'"),
    "no annotator": (("QUEUED", None, "cat"), "Row 2 (line 3): no annotator"),
    "no label": (("QUEUED", "bob", None), "Row 2 (line 3): no label"),
    "no sample id": ((None, "bob", "cat"), "Row 2 (line 3): no sample id"),
    "one expert, two labels": (
        ("FIRST", "ann", "OTHER"),
        "Row 2 (line 3): 'ann' answered sample 'FIRST' in row 1 (line 2) already, with another "
        "label",
    ),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_an_answers_file_with_a_bad_row_is_refused_whole(store_url, tmp_path, snapshot, case):
    ids, current = queued(store_url)
    row, problem = BAD_ROWS[case]
    outside = next(f"s{i:02d}" for i in range(30) if f"s{i:02d}" not in ids)  # not queued
    names = {"QUEUED": ids[1], "FIRST": ids[0], "OTHER": other(current[ids[0]])}
    names["OUTSIDE"] = outside
    bad = tuple(names.get(value, value) for value in row)
    path = answers_file(tmp_path / "answers.csv", [(ids[0], "ann", current[ids[0]]), bad])
    before = snapshot(store_url)
    with pytest.raises(InputError) as raised, open_store(store_url) as session:
        import_annotations(session, "q", path)
    message = str(raised.value)
    assert message.startswith(f"{path}: 1 of 2 answers cannot be recorded; nothing was recorded.")
    assert problem.replace("FIRST", ids[0]).replace("OUTSIDE", outside) in message
    assert snapshot(store_url) == before


def test_an_answers_file_without_answers_is_refused_and_repeated_rows_count_once(
    store_url, tmp_path, snapshot
):
    ids, current = queued(store_url)
    empty = answers_file(tmp_path / "empty.csv", [])
    before = snapshot(store_url)
    with (
        pytest.raises(InputError, match=r"empty\.csv: no answers; expected one row per answer"),
        open_store(store_url) as session,
    ):
        import_annotations(session, "q", empty)
    assert snapshot(store_url) == before
    # The same answer twice (a file concatenated with itself) is one answer.
    same = (ids[0], "ann", other(current[ids[0]]))
    twice = answers_file(tmp_path / "twice.csv", [same, same])
    with open_store(store_url) as session:
        result = import_annotations(session, "q", twice, aggregation="plurality")
    assert (result.recorded, result.repeated, result.decisions.ties) == (1, 1, [ids[0]])
    # The same expert later giving that sample another label is refused, not dropped as
    # an answer seen before.
    changed = answers_file(tmp_path / "changed.csv", [(ids[0], "ann", current[ids[0]])])
    before = snapshot(store_url)
    with (
        pytest.raises(
            InputError,
            match=rf"Row 1 \(line 2\): 'ann' answered sample '{ids[0]}' before, recorded as "
            rf"'{other(current[ids[0]])}' \(answer id '{ids[0]}:ann'\)\.",
        ),
        open_store(store_url) as session,
    ):
        import_annotations(session, "q", changed)
    assert snapshot(store_url) == before


def test_blank_annotation_ids_fall_back_to_sample_and_annotator(store_url, tmp_path):
    ids, current = queued(store_url)
    # An export where only some answers carry the tool's id: the others are keyed by
    # sample and annotator, as in a file without the column (not all by the text 'nan').
    pd.DataFrame(
        {
            "sample_id": ids[:3],
            "annotator": ["ann", "bob", "cyd"],
            "label": [current[s] for s in ids[:3]],
            "annotation_id": ["a-1", None, None],
        }
    ).to_csv(tmp_path / "answers.csv", index=False)
    with open_store(store_url) as session:
        result = import_annotations(session, "q", str(tmp_path / "answers.csv"))
    assert (result.recorded, result.decisions.decided) == (3, 3)
    with open_store(store_url) as session:
        keys = session.scalars(select(Annotation.external_id).order_by(Annotation.id)).all()
    assert keys == ["a-1", f"{ids[1]}:bob", f"{ids[2]}:cyd"]


def test_two_deciders_at_once_decide_each_sample_once(store_url, tmp_path):
    # Two people pull the same queue at once: each sample's decision is recorded once.
    # One expert confirms each label in place, another disagrees: trusting a single
    # expert leaves them open, plurality (2 votes to 1) decides them.
    ids, current = queued(store_url)
    rows = [(s, "ann", current[s]) for s in ids] + [(s, "bob", other(current[s])) for s in ids]
    path = answers_file(tmp_path / "answers.csv", rows)
    with open_store(store_url) as session:
        opened = import_annotations(
            session, "q", path, aggregation="single-expert", tie_break="open"
        )
    assert len(opened.decisions.ties) == len(ids)
    second: dict[str, int] = {}

    def decide_too():
        with open_store(store_url) as session:
            found = repo.get_dataset(session)
            second["decided"] = decide_queue(
                session, found, repo.get_queue(session, found, "q")
            ).decided

    with open_store(store_url) as session:
        found = repo.get_dataset(session)
        first = decide_queue(session, found, repo.get_queue(session, found, "q"))
        other_pull = threading.Thread(target=decide_too)
        other_pull.start()
        other_pull.join(timeout=1.0)  # it waits for this transaction, or decides on stale votes
    other_pull.join()
    assert (first.decided, second["decided"]) == (len(ids), 0)
    with open_store(store_url) as session:
        decisions = session.scalar(select(func.count()).select_from(LabelChange))
    assert decisions == len(ids)


def test_two_imports_of_the_same_answers_at_once_record_them_once(store_url, tmp_path):
    # The second writer of the same answers waits for the first and then finds them
    # stored: recorded once, never a unique-constraint error.
    ids, current = queued(store_url)
    path = answers_file(tmp_path / "answers.csv", [(s, "ann", current[s]) for s in ids])
    second = {}

    def import_too():
        with open_store(store_url) as session:
            second["result"] = import_annotations(session, "q", path)

    with open_store(store_url) as session:
        first = import_annotations(session, "q", path)
        other_import = threading.Thread(target=import_too)
        other_import.start()
        other_import.join(timeout=1.0)  # it waits for this transaction to end
    other_import.join()
    again = second["result"]
    assert (first.recorded, first.decisions.decided) == (len(ids), len(ids))
    assert (again.recorded, again.repeated, again.decisions.decided) == (0, len(ids), 0)
    with open_store(store_url) as session:
        stored = session.scalar(select(func.count()).select_from(Annotation))
    assert stored == len(ids)


def test_an_answer_to_a_decided_sample_is_reported_by_the_pull_that_finishes(store_url):
    # A pull cut off after recording an answer to a decided sample: the re-run finds the
    # answer stored (seen before) and still reports it, once.
    tool = AnsweringTool(CLASSES)
    ids, current = queued(store_url)
    with open_store(store_url) as session:
        push_queue(session, "q", tool)
        workflow.set_label(session, ids[0], current[ids[0]], actor="ann")
    late = RemoteAnnotation("a1", 0, ids[0], "bob", other(current[ids[0]]))

    def cut_off(project_id, classes, *, page_size):
        yield [late]
        raise SyncError("Cannot reach Label Studio (connection dropped).")

    tool.annotation_pages = cut_off
    with pytest.raises(SyncError), open_store(store_url) as session:
        pull_queue(session, "q", tool, checkpoint=session.commit)
    del tool.annotation_pages
    tool.pages = [[late]]
    with open_store(store_url) as session:
        resumed = pull_queue(session, "q", tool)
        again = pull_queue(session, "q", tool)
    assert (resumed.recorded, resumed.repeated, resumed.decisions.decided) == (0, 1, 0)
    assert resumed.not_applied[["sample_id", "annotator", "label"]].values.tolist() == [
        [ids[0], "bob", other(current[ids[0]])]
    ]
    assert again.not_applied.empty


def test_an_answer_to_a_sample_decided_by_hand_says_why_it_was_not_applied(store_url, tmp_path):
    # A sample decided by hand leaves its queue; an answer to it that comes in later is
    # recorded but does not count. "recorded 5, decided 4" must say why, once.
    ids, current = queued(store_url)
    with open_store(store_url) as session:
        workflow.set_label(session, ids[0], other(current[ids[0]]), actor="ann")
    path = answers_file(tmp_path / "answers.csv", [(s, "bob", current[s]) for s in ids[:5]])
    result = import_cli(store_url, path, "--aggregation", "single-expert")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "recorded now 5" in said
    assert "samples decided 4" in said
    reason = (
        f"its sample was decided before this answer came ({other(current[ids[0]])!r} set "
        "by hand by ann on "
    )
    assert "Answers not applied (recorded, not counted)" in result.output
    assert reason in said
    again = import_cli(store_url, path, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["not_applied"] == []  # said once
    with open_store(store_url) as session:
        history = workflow.label_history(session, ids[0])
        votes = session.scalar(select(func.count()).select_from(Annotation))
    assert history["new_label"].tolist() == [other(current[ids[0]])]
    assert votes == 5


def test_the_json_of_an_import_lists_each_answer_not_applied(store_url, tmp_path):
    ids, current = queued(store_url)
    with open_store(store_url) as session:
        workflow.set_label(session, ids[1], current[ids[1]], actor="cyd", reason="checked")
    path = answers_file(tmp_path / "answers.csv", [(ids[1], "bob", other(current[ids[1]]))])
    result = import_cli(store_url, path, "--json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert (done["recorded"], done["decisions"]["decided"]) == (1, 0)
    [late] = done["not_applied"]
    assert (late["sample_id"], late["annotator"], late["label"]) == (
        ids[1],
        "bob",
        other(current[ids[1]]),
    )
    assert late["reason"].startswith(
        f"its sample was decided before this answer came ({current[ids[1]]!r} set by hand "
        "by cyd on "
    )


def test_an_answer_a_listing_misses_is_withdrawn_only_once_the_tool_says_it_is_gone(store_url):
    # A pull's listing pages by offset: a task annotated or deleted while it runs shifts
    # the pages, and an answer can be missed though it is still there. Withdrawing it on
    # that ground would drop a vote for good; only an answer the tool confirms deleted is.
    tool = AnsweringTool(CLASSES)
    ids, current = queued(store_url)
    with open_store(store_url) as session:
        push_queue(session, "q", tool)
    deleted = RemoteAnnotation("a1", 0, ids[0], "ann", other(current[ids[0]]))
    missed = RemoteAnnotation("a2", 1, ids[1], "ann", other(current[ids[1]]))
    tool.pages = [[deleted, missed]]
    with open_store(store_url) as session:
        first = pull_queue(session, "q", tool)
    assert sorted(first.decisions.ties) == sorted(ids[:2])
    tool.pages, tool.deleted = [[]], {"a1"}
    with open_store(store_url) as session:
        second = pull_queue(session, "q", tool)
        status = sync_status(session, "q")
    assert second.withdrawn["sample_id"].tolist() == [ids[0]]
    assert (status.annotated, status.annotations, status.withdrawn) == (1, 1, 1)


def test_sync_answers_shows_each_answer_of_a_sample_with_its_state(store_url):
    # Every answer a sample was given stays in the store; one command says which count
    # and why the others do not: withdrawn (deleted in the tool, or edited there into
    # an unusable answer), not applied (came after the sample was decided), set aside
    # (label undo took back the decision made from it), counted.
    tool = AnsweringTool(CLASSES)
    ids, current = queued(store_url)
    with open_store(store_url) as session:
        push_queue(session, "q", tool)
    s0, s1, s2, s3 = ids[:4]
    deleted = RemoteAnnotation("a1", 0, s0, "ann", other(current[s0]))
    edited = RemoteAnnotation("a2", 1, s1, "ann", other(current[s1]))
    agreed = RemoteAnnotation("a3", 2, s2, "ann", current[s2])
    undone = [
        RemoteAnnotation(f"a{i}", 3, s3, who, current[s3]) for i, who in ((4, "ann"), (5, "bob"))
    ]
    tool.pages = [[deleted, edited, agreed, *undone]]
    with open_store(store_url) as session:
        assert pull_queue(session, "q", tool).decisions.decided == 2
        workflow.undo_label(session, s3, actor="cyd")
    owl = RemoteAnnotation("a2", 1, s1, "ann", None, "unknown class 'owl'")
    changed = RemoteAnnotation("a3", 2, s2, "ann", other(current[s2]))
    late = RemoteAnnotation("a6", 2, s2, "bob", other(current[s2]))
    tool.pages, tool.deleted = [[owl, changed, late, *undone]], {"a1"}
    with open_store(store_url) as session:
        pull_queue(session, "q", tool)
    with open_store(store_url) as session:
        shown = {s: reads.sample_answers(session, s) for s in (s0, s1, s2, s3)}
    states = {s: [(a["annotator"], a["state"]) for a in rows] for s, rows in shown.items()}
    assert states == {
        s0: [("ann", "withdrawn")],
        s1: [("ann", "withdrawn")],
        s2: [("ann", "counted"), ("bob", "not applied")],
        s3: [("ann", "set aside"), ("bob", "set aside")],
    }
    [gone], [made_unusable] = shown[s0], shown[s1]
    assert gone["why"].startswith("deleted in the tool (found gone on ")
    assert made_unusable["why"] == (
        f"unknown class 'owl'; edited after it was recorded as {other(current[s1])!r}, "
        "which no longer counts"
    )
    assert made_unusable["label"] == other(current[s1])  # the answer recorded, kept
    counted, not_applied = shown[s2]
    assert counted["label"] == current[s2]
    assert counted["why"] == (
        f"changed to {other(current[s2])!r} after the sample was decided (recorded "
        f"{current[s2]!r}); not applied"
    )
    assert not_applied["why"].startswith("its sample was decided before this answer came (")
    assert shown[s3][0]["why"].startswith(
        f"label undo by cyd took back the decision made from it ({current[s3]!r}, "
    )
    assert {a["queue"] for rows in shown.values() for a in rows} == {"q"}
    assert [a["answer_id"] for a in shown[s2]] == ["a3", "a6"]
    # The command: a table, and --json the same records.
    result = CliRunner().invoke(app, ["sync", "answers", s2, "--db", store_url])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert f"q ann {current[s2]} counted changed to {other(current[s2])!r}" in said
    assert f"q bob {other(current[s2])} not applied its sample was decided" in said
    result = CliRunner().invoke(app, ["sync", "answers", s2, "--db", store_url, "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [(r["annotator"], r["state"], r["why"]) for r in records] == [
        (a["annotator"], a["state"], a["why"]) for a in shown[s2]
    ]
    result = CliRunner().invoke(app, ["sync", "answers", "zz", "--db", store_url, "--json"])
    assert (result.exit_code, result.stdout) == (1, "")
    assert "No sample 'zz' in dataset" in result.stderr
