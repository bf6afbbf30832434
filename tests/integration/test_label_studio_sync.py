"""Push a queue to a real Label Studio, answer as experts through its API, pull back.

Covers idempotent pushes (re-run, adoption of tasks the store did not record, a server
killed half way), validation of answers (unknown class, empty answer), disagreeing
experts and ties, a pull cut off by a dying server, and the CLI's errors.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from labelmend import workflow
from labelmend.cli.app import app
from labelmend.errors import InputError, SyncError
from labelmend.storage import open_store
from labelmend.storage.models import Annotation, LabelChange
from labelmend.sync.label_studio import LabelStudioClient, task_payload
from labelmend.sync.service import pull_queue, push_queue, sync_status
from tests.conftest import table_contents
from tests.servers.proxy import LossyProxy
from tests.synthetic import noisy_problem, scored_store

pytestmark = pytest.mark.server

CLASSES = ["cat", "dog", "fox"]


@pytest.fixture
def store_url(database_url):
    labels, probs, _ = noisy_problem(40, 3, noise=0.2)
    ids = [f"img{i:03d}" for i in range(len(labels))]
    url = database_url
    with open_store(url) as session:
        scored_store(
            session, CLASSES, ids, labels, probs, model="resnet", text=[f"photo {i}" for i in ids]
        )
        workflow.create_queue(session, "week1", budget=10)
        workflow.create_queue(session, "week2", budget=10)
    return url


def client_for(server, **kwargs):
    return LabelStudioClient(server.url, server.token, **kwargs)


def answer(client, task_id, choices, user=None, *, skipped=False):
    result = (
        []
        if choices is None
        else [
            {
                "from_name": "label",
                "to_name": "sample",
                "type": "choices",
                "value": {"choices": choices},
            }
        ]
    )
    extra = {"completed_by": user} if user is not None else {}
    client._sdk.annotations.create(id=task_id, result=result, was_cancelled=skipped, **extra)


def count(url, model):
    with open_store(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_push_is_idempotent_and_pull_decides_by_plurality(label_studio, store_url):
    client = client_for(label_studio)
    with open_store(store_url) as session:
        first = push_queue(session, "week1", client, batch_size=3)
    assert (first.created, first.adopted) == (10, 0)
    with open_store(store_url) as session:
        again = push_queue(session, "week1", client)
        items = workflow.queue_items(session, "week1")
    assert (again.created, again.already_sent) == (0, 10)
    tasks = client.task_ids_by_sample(first.project_id)
    assert len(tasks) == 10
    assert set(items["sample_id"]) == set(tasks)

    # One Label Studio server serves the whole session (and both store back ends): a user
    # name of its own per run, since Label Studio refuses a second user with one email.
    name = f"expert2-{uuid.uuid4().hex[:8]}"
    second_expert = client._sdk.users.create(username=name, email=f"{name}@labelmend.test")
    queued = list(tasks)
    # Sample 0: two experts agree on 'fox'; sample 1: one says 'fox' (tie with the
    # current label); sample 2: unknown class; sample 3: empty answer; sample 4: skipped
    # (Label Studio counts skips apart from annotations).
    answer(client, tasks[queued[0]], ["fox"])
    answer(client, tasks[queued[0]], ["fox"], user=second_expert.id)
    answer(client, tasks[queued[1]], ["fox"])
    answer(client, tasks[queued[2]], ["owl"])
    answer(client, tasks[queued[3]], None)
    answer(client, tasks[queued[4]], None, skipped=True)
    with open_store(store_url) as session:
        pulled = pull_queue(session, "week1", client, page_size=2)
    assert pulled.recorded == 3
    assert sorted(pulled.rejected["problem"]) == [
        "empty answer",
        "skipped by the annotator",
        "unknown class 'owl'",
    ]
    assert pulled.decisions.decided >= 1
    with open_store(store_url) as session:
        history = workflow.label_history(session, queued[0])
        status = sync_status(session, "week1")
    assert history["new_label"].iloc[-1] == "fox"
    assert history["source"].iloc[-1] == "annotation"
    assert status.pushed == 10
    assert status.skipped == 1
    # Pulling again records nothing new and duplicates nothing.
    with open_store(store_url) as session:
        repeat = pull_queue(session, "week1", client)
    assert (repeat.recorded, repeat.repeated) == (0, 3)
    assert count(store_url, Annotation) == 3


def test_push_adopts_tasks_the_store_never_recorded(label_studio, store_url):
    client = client_for(label_studio)
    with open_store(store_url) as session:
        first = push_queue(session, "week1", client)
        items = workflow.queue_items(session, "week2")
    project = first.project_id
    # As if a crash came between Label Studio's import and our commit: two tasks of
    # week2 exist on the server, unknown to the store.
    stray = [task_payload(s, {}, show="text") for s in items["sample_id"][:2]]
    client.import_tasks(project, stray)
    with open_store(store_url) as session:
        result = push_queue(session, "week2", client, project_id=project)
    assert (result.created, result.adopted) == (8, 2)
    assert len(client.task_ids_by_sample(project)) == 20


def test_server_killed_mid_push_and_mid_pull_then_rerun_completes(label_studio, store_url):
    client = client_for(label_studio, max_retries=0)

    def kill_after_first_batch(done, total):
        if done == 2:
            label_studio.stop()

    with pytest.raises(SyncError, match="Cannot reach"), open_store(store_url) as session:
        push_queue(
            session, "week1", client, batch_size=2, progress=kill_after_first_batch,
            checkpoint=session.commit,
        )  # fmt: skip
    label_studio.start()
    with open_store(store_url) as session:
        resumed = push_queue(session, "week1", client, batch_size=2)
    assert resumed.created + resumed.adopted == 8
    tasks = client.task_ids_by_sample(resumed.project_id)
    assert len(tasks) == 10
    with open_store(store_url) as session:
        items = workflow.queue_items(session, "week1")
    current = dict(zip(items["sample_id"], items["current_label"], strict=True))
    answered = items["sample_id"].head(6).tolist()
    for sample_id in answered:
        answer(client, tasks[sample_id], ["dog"])

    def kill_after_first_page(page):
        if page == 0:
            label_studio.stop()

    with pytest.raises(SyncError), open_store(store_url) as session:
        pull_queue(
            session, "week1", client, page_size=2, on_page=kill_after_first_page,
            checkpoint=session.commit,
        )  # fmt: skip
    partial = count(store_url, Annotation)
    assert 0 < partial < 6
    label_studio.start()
    with open_store(store_url) as session:
        finished = pull_queue(session, "week1", client, page_size=2)
    assert finished.recorded == 6 - partial
    assert count(store_url, Annotation) == 6
    # One 'dog' per sample: decided (unchanged) where 'dog' is the current label, a tie
    # elsewhere (the current label is a vote too). No label may change; each decision is
    # recorded in the history as a confirmation (old label = new label).
    dogs = [s for s in answered if current[s] == "dog"]
    assert 0 < len(dogs) < len(answered)
    assert finished.decisions.decided == len(dogs)
    assert sorted(finished.decisions.ties) == sorted(set(answered) - set(dogs))
    with open_store(store_url) as session:
        history = session.execute(select(LabelChange.old_label, LabelChange.new_label)).all()
    assert len(history) == len(dogs)
    assert all(old == new for old, new in history)


def test_cli_push_pull_status_and_errors(label_studio, store_url, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    result = runner.invoke(app, ["push", "week1", "--db", store_url])
    assert result.exit_code == 0, result.output
    assert "10 task(s) created" in result.output
    result = runner.invoke(app, ["pull", "week1", "--db", store_url])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sync", "status", "week1", "--db", store_url])
    assert result.exit_code == 0, result.output
    assert "pushed" in result.output
    wrong = runner.invoke(app, ["push", "week2", "--db", store_url, "--api-key", "wrong-key-xyz"])
    assert wrong.exit_code == 1
    assert "refused the API key" in wrong.output
    assert "wrong-key-xyz" not in wrong.output
    missing = runner.invoke(app, ["push", "week2", "--db", store_url, "--project", "99999"])
    assert missing.exit_code == 1
    assert "404" in missing.output
    down = runner.invoke(app, ["pull", "week1", "--db", store_url, "--url", "http://127.0.0.1:9"])
    assert down.exit_code == 1
    assert "Cannot reach" in down.output
    stored = repr(table_contents(store_url))
    assert label_studio.token not in stored
    assert "wrong-key-xyz" not in stored
    # --json: stdout is the library's result alone, its numbers those of the store.
    pushed = runner.invoke(app, ["push", "week2", "--db", store_url, "--json"])
    assert pushed.exit_code == 0, pushed.output
    with open_store(store_url) as session:
        stage = sync_status(session, "week2")
    project = json.loads(pushed.stdout)
    assert stage.project == f"label-studio:{project['project_id']}"
    assert project == {
        "project_id": project["project_id"], "created": stage.pushed, "adopted": 0,
        "already_sent": 0, "replaced": 0,
    }  # fmt: skip
    assert stage.pushed == 10
    client = client_for(label_studio)
    tasks = client.task_ids_by_sample(project["project_id"])
    queued = list(tasks)
    answer(client, tasks[queued[0]], ["fox"])
    answer(client, tasks[queued[1]], ["owl"])
    pulled = runner.invoke(app, ["pull", "week2", "--db", store_url, "--json",
                                 "--aggregation", "single-expert"])  # fmt: skip
    assert pulled.exit_code == 0, pulled.output
    with open_store(store_url) as session:
        stage = sync_status(session, "week2")
    answers = json.loads(pulled.stdout)
    assert (answers["recorded"], answers["repeated"]) == (1, 0)
    assert answers["recorded"] == stage.annotations == count(store_url, Annotation)
    assert answers["decisions"]["decided"] == stage.resolved == 1
    assert answers["rejected"] == [
        {"sample_id": queued[1], "annotator": answers["rejected"][0]["annotator"],
         "problem": "unknown class 'owl'"}
    ]  # fmt: skip
    repeat = json.loads(runner.invoke(app, ["pull", "week2", "--db", store_url, "--json"]).stdout)
    assert (repeat["recorded"], repeat["repeated"]) == (0, stage.annotations)
    failed = runner.invoke(app, ["pull", "week2", "--db", store_url, "--json", "--url",
                                 "http://127.0.0.1:9"])  # fmt: skip
    assert (failed.exit_code, failed.stdout) == (1, "")


def push_week1(client, url):
    """Push week1; its project, its items and the project's tasks by sample id."""
    with open_store(url) as session:
        project = push_queue(session, "week1", client).project_id
        items = workflow.queue_items(session, "week1")
    return project, items, client.task_ids_by_sample(project)


def test_an_expert_answering_a_task_twice_is_one_vote(label_studio, store_url):
    # Label Studio lets one user add a second annotation to a task (the UI's "+"): their
    # newest answer is their vote; two answers of one expert must not outvote the label
    # in place, as two experts would.
    client = client_for(label_studio)
    _, items, tasks = push_week1(client, store_url)
    sample, label = items["sample_id"].iloc[0], items["current_label"].iloc[0]
    first, second = [c for c in CLASSES if c != label]
    answer(client, tasks[sample], [first])
    answer(client, tasks[sample], [second])
    with open_store(store_url) as session:
        tied = pull_queue(session, "week1", client)
    assert (tied.recorded, tied.decisions.decided, tied.decisions.ties) == (2, 0, [sample])
    answer(client, tasks[sample], [second])  # a third answer repeats the second
    with open_store(store_url) as session:
        still = pull_queue(session, "week1", client)
        history = workflow.label_history(session, sample)
    assert (still.recorded, still.decisions.decided, still.decisions.ties) == (1, 0, [sample])
    assert history.empty


def test_a_task_deleted_in_label_studio_is_sent_again(label_studio, store_url):
    # The store is the source of truth: an open item whose task is gone from the project
    # (deleted in Label Studio) goes out again on the next push, and its answers count.
    client = client_for(label_studio)
    project, items, tasks = push_week1(client, store_url)
    deleted = items["sample_id"].head(2).tolist()
    for sample in deleted:
        client._sdk.tasks.delete(id=tasks[sample])
    with open_store(store_url) as session:
        again = push_queue(session, "week1", client)
        items = workflow.queue_items(session, "week1").set_index("sample_id")
    assert (again.created, again.replaced, again.adopted, again.already_sent) == (2, 2, 0, 8)
    now = client.task_ids_by_sample(project)
    assert set(now) == set(items.index)
    assert {s: int(items.at[s, "external_task_id"]) for s in now} == now
    answer(client, now[deleted[0]], [items.at[deleted[0], "current_label"]])
    with open_store(store_url) as session:
        pulled = pull_queue(session, "week1", client)
    assert (pulled.recorded, pulled.decisions.decided) == (1, 1)


def test_an_import_whose_answer_is_lost_is_never_sent_twice(label_studio, store_url):
    # A gateway in front of Label Studio loses the answer to the first import (a 502 after
    # the server created the tasks). Sending the batch again would duplicate its tasks;
    # the push stops instead, and the next push adopts them.
    proxy = LossyProxy(label_studio.url, matches=r"^POST /api/projects/\d+/import")
    with proxy.running():
        client = LabelStudioClient(proxy.url, label_studio.token)  # the default retries
        with (
            pytest.raises(SyncError, match=r"answered 502 while trying to import tasks"),
            open_store(store_url) as session,
        ):
            push_queue(session, "week1", client, batch_size=4, checkpoint=session.commit)
        assert len(proxy.lost) == 1
        with open_store(store_url) as session:
            resumed = push_queue(session, "week1", client, batch_size=4)
    assert (resumed.adopted, resumed.created) == (4, 6)
    project = client_for(label_studio)._sdk.projects.get(id=resumed.project_id)
    assert project.task_number == 10


def change_answer(client, task_id, choices, *, which=-1):
    """The expert opens their answer to the task again and submits other choices (the
    task's newest answer, or the ``which``-th)."""
    mine = client._sdk.annotations.list(id=task_id)[which]
    result = [{"from_name": "label", "to_name": "sample", "type": "choices",
               "value": {"choices": choices}}]  # fmt: skip
    client._sdk.annotations.update(id=mine.id, result=result)


def one_open_one_decided(client, url):
    """Push week1; one expert answers two samples, a pull decides one and leaves the other
    open (a tie with its current label). Returns the tasks by sample id, the current labels,
    the open sample and the decided one."""
    _, items, tasks = push_week1(client, url)
    current = dict(zip(items["sample_id"], items["current_label"], strict=True))
    open_one, decided_one = items["sample_id"].iloc[0], items["sample_id"].iloc[1]
    answer(client, tasks[open_one], [other(current[open_one])])
    answer(client, tasks[decided_one], [current[decided_one]])
    with open_store(url) as session:
        first = pull_queue(session, "week1", client)
    assert (first.decisions.ties, first.decisions.decided) == ([open_one], 1)
    return tasks, current, open_one, decided_one


def test_an_answer_changed_in_label_studio_replaces_the_one_pulled(label_studio, store_url):
    # An expert who changes an answer already pulled (Label Studio keeps its id) changed
    # their vote: the next pull counts the new label while the sample is open, and
    # reports the change, unapplied, once the sample is decided.
    client = client_for(label_studio)
    tasks, current, open_one, decided_one = one_open_one_decided(client, store_url)
    change_answer(client, tasks[open_one], [current[open_one]])
    change_answer(client, tasks[decided_one], [other(current[decided_one])])
    with open_store(store_url) as session:
        second = pull_queue(session, "week1", client)
        history = workflow.label_history(session, open_one)
    assert (second.recorded, second.updated, second.decisions.decided) == (0, 1, 1)
    assert history[["old_label", "new_label"]].values.tolist() == [[current[open_one]] * 2]
    assert second.rejected.to_dict("records") == [
        {
            "sample_id": decided_one,
            "annotator": "expert@labelmend.test",
            "problem": f"changed to {other(current[decided_one])!r} after the sample was "
            f"decided (recorded {current[decided_one]!r}); not applied",
        }
    ]
    with open_store(store_url) as session:
        stored = session.scalars(select(Annotation.label).order_by(Annotation.id)).all()
        third = pull_queue(session, "week1", client)
    assert stored == [CLASSES.index(current[open_one]), CLASSES.index(current[decided_one])]
    # Said once: the next pull counts the unapplied change as still rejected.
    assert third.rejected.empty
    assert third.still_rejected["problem"].tolist() == second.rejected["problem"].tolist()


def other(label):
    return CLASSES[(CLASSES.index(label) + 1) % len(CLASSES)]


def test_a_queue_whose_project_was_deleted_is_sent_to_a_new_one(label_studio, store_url):
    # A project deleted in Label Studio (by mistake, or to start over) left its queue tied
    # to it: every push answered 404 and --project was refused ("cannot move").
    client = client_for(label_studio)
    project, items, _ = push_week1(client, store_url)
    with open_store(store_url) as session:
        other_queue = push_queue(session, "week2", client).project_id
    client._sdk.projects.delete(id=project)
    with (
        pytest.raises(InputError, match=rf"pushed to project {project}, which Label Studio at "),
        open_store(store_url) as session,
    ):
        push_queue(session, "week1", client)
    with open_store(store_url) as session:
        moved = push_queue(session, "week1", client, new_project=True)
    assert moved.project_id not in (project, other_queue)
    assert (moved.created, moved.replaced, moved.already_sent) == (10, 10, 0)
    assert set(client.task_ids_by_sample(moved.project_id)) == set(items["sample_id"])
    # A project that still exists keeps its queue.
    with (
        pytest.raises(InputError, match=f"pushed to project {other_queue}; it cannot move"),
        open_store(store_url) as session,
    ):
        push_queue(session, "week2", client, new_project=True)
    runner = CliRunner()
    env = {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.token}
    client._sdk.projects.delete(id=other_queue)
    stuck = runner.invoke(app, ["push", "week2", "--db", store_url], env=env)
    assert stuck.exit_code == 1
    assert "Send it again with --new-project (a new project) or --project=ID" in stuck.output
    sent = runner.invoke(
        app, ["push", "week2", "--db", store_url, "--project", str(moved.project_id)], env=env
    )
    assert sent.exit_code == 0, sent.output
    assert "10 task(s) created (10 for tasks deleted in Label Studio)" in sent.output


def test_a_queue_with_nothing_open_creates_no_project(label_studio, store_url, snapshot):
    client = client_for(label_studio)
    with open_store(store_url) as session:
        for sample in workflow.queue_items(session, "week2")["sample_id"]:
            workflow.set_label(session, sample, CLASSES[0], actor="ann")
    projects = len(client._sdk.projects.list().items)
    before = snapshot(store_url)
    with (
        pytest.raises(InputError, match=r"Queue 'week2' has no open items \(10 resolved\)"),
        open_store(store_url) as session,
    ):
        push_queue(session, "week2", client)
    assert len(client._sdk.projects.list().items) == projects
    assert snapshot(store_url) == before


def delete_answers(client, task_id):
    """An expert (or an admin) deletes every answer of the task in Label Studio."""
    for annotation in client._sdk.annotations.list(id=task_id):
        client._sdk.annotations.delete(id=annotation.id)


def test_an_answer_deleted_in_label_studio_no_longer_counts(label_studio, store_url):
    # An answer withdrawn in Label Studio after a pull recorded it must not decide a
    # label. It is kept in the store (marked withdrawn, never erased) and reported once:
    # an open sample loses the vote; a sample decided before keeps its decision, and the
    # pull says so.
    client = client_for(label_studio)
    _, items, tasks = push_week1(client, store_url)
    current = dict(zip(items["sample_id"], items["current_label"], strict=True))
    open_one, alone, decided_one = items["sample_id"].iloc[:3]
    answer(client, tasks[open_one], [other(current[open_one])])
    answer(client, tasks[alone], [other(current[alone])])
    answer(client, tasks[decided_one], [current[decided_one]])
    with open_store(store_url) as session:
        first = pull_queue(session, "week1", client)
    assert (first.decisions.decided, sorted(first.decisions.ties)) == (1, sorted([open_one, alone]))
    # The expert withdraws three answers; a second expert agrees with the first on
    # open_one: with the withdrawn answer counted, two votes would change its label.
    for sample in (open_one, alone, decided_one):
        delete_answers(client, tasks[sample])
    name = f"expert3-{uuid.uuid4().hex[:8]}"
    second_expert = client._sdk.users.create(username=name, email=f"{name}@labelmend.test")
    answer(client, tasks[open_one], [other(current[open_one])], user=second_expert.id)
    with open_store(store_url) as session:
        second = pull_queue(session, "week1", client)
        status = sync_status(session, "week1")
        history = workflow.label_history(session, open_one)
    assert (second.recorded, second.decisions.decided, second.decisions.ties) == (1, 0, [open_one])
    assert history.empty
    withdrawn = second.withdrawn.set_index("sample_id")
    assert sorted(withdrawn.index) == sorted([open_one, alone, decided_one])
    assert set(withdrawn["annotator"]) == {"expert@labelmend.test"}
    assert withdrawn.loc[open_one, "label"] == other(current[open_one])
    assert not withdrawn.loc[[open_one, alone], "decided"].any()
    assert withdrawn.loc[decided_one, "decided"]
    assert withdrawn.loc[open_one, "effect"] == "no longer counts"
    assert withdrawn.loc[decided_one, "effect"].startswith(
        f"counted in the decision of queue 'week1' ({current[decided_one]!r}, "
    )
    assert withdrawn.loc[decided_one, "effect"].endswith("; that decision stands")
    # The sample left with no answer waits again; nothing is erased.
    assert (status.annotated, status.resolved, status.sent, status.withdrawn) == (1, 1, 8, 3)
    with open_store(store_url) as session:
        kept = session.execute(select(Annotation.withdrawn_at).order_by(Annotation.id)).all()
        decisions = session.scalar(select(func.count()).select_from(LabelChange))
    assert [at is not None for (at,) in kept] == [True, True, True, False]
    assert decisions == 1
    # Reported once: the next pull finds nothing new.
    with open_store(store_url) as session:
        third = pull_queue(session, "week1", client)
    assert (third.recorded, third.repeated, len(third.withdrawn)) == (0, 1, 0)


def test_a_rejected_answer_is_reported_once(label_studio, store_url):
    # Answers refused by a pull (a class outside the dataset's, an empty answer, a skip)
    # stay in Label Studio: the next pulls say they are still rejected, and since when,
    # instead of reporting them as new every time. A new problem is news again.
    client = client_for(label_studio)
    _, items, tasks = push_week1(client, store_url)
    owl, empty, skip = items["sample_id"].iloc[:3]
    answer(client, tasks[owl], ["owl"])
    answer(client, tasks[empty], None)
    answer(client, tasks[skip], None, skipped=True)
    with open_store(store_url) as session:
        first = pull_queue(session, "week1", client)
    assert sorted(first.rejected["sample_id"]) == sorted([owl, empty, skip])
    with open_store(store_url) as session:
        again = pull_queue(session, "week1", client)
    assert again.rejected.empty
    assert first.still_rejected.empty
    still = again.still_rejected.set_index("sample_id")
    assert sorted(still.index) == sorted([owl, empty, skip])
    assert still.loc[owl, "problem"] == "unknown class 'owl'"
    assert still.loc[skip, "problem"] == "skipped by the annotator"
    assert still["first_reported"].nunique() == 1
    change_answer(client, tasks[owl], ["emu"])
    runner = CliRunner()
    env = {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.token}
    pulled = runner.invoke(app, ["pull", "week1", "--db", store_url, "--json"], env=env)
    assert pulled.exit_code == 0, pulled.output
    third = json.loads(pulled.stdout)
    assert third["rejected"] == [
        {"sample_id": owl, "annotator": "expert@labelmend.test", "problem": "unknown class 'emu'"}
    ]
    assert sorted(r["sample_id"] for r in third["still_rejected"]) == sorted([empty, skip])
    assert {r["first_reported"] for r in third["still_rejected"]} == {
        still["first_reported"].iloc[0].isoformat(timespec="microseconds")
    }
    shown = runner.invoke(app, ["pull", "week1", "--db", store_url], env=env)
    assert shown.exit_code == 0, shown.output
    assert "Rejected answers" not in shown.output
    day = f"{still['first_reported'].iloc[0]:%Y-%m-%d}"
    assert f"3 answers rejected before are still rejected (first reported on {day}" in shown.output


def test_an_answer_to_a_decided_sample_is_called_out(label_studio, store_url):
    # A second expert answers a task whose sample an earlier pull decided: the answer is
    # recorded (kept, never counted) and the pull says so, once, with the sample.
    client = client_for(label_studio)
    _, items, tasks = push_week1(client, store_url)
    sample, label = items["sample_id"].iloc[0], items["current_label"].iloc[0]
    answer(client, tasks[sample], [label])
    with open_store(store_url) as session:
        first = pull_queue(session, "week1", client)
    assert first.decisions.decided == 1
    name = f"expert4-{uuid.uuid4().hex[:8]}"
    late_expert = client._sdk.users.create(username=name, email=f"{name}@labelmend.test")
    answer(client, tasks[sample], [other(label)], user=late_expert.id)
    runner = CliRunner()
    env = {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.token}
    shown = runner.invoke(app, ["pull", "week1", "--db", store_url], env=env)
    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.output.split())
    assert "recorded now 1" in said
    assert "to samples decided before (not applied) 1" in said
    assert f"{sample} {name}" in said  # the expert's e-mail may be cut to the terminal's width
    assert f" {other(label)} its sample was decided before this answer came" in said
    pulled = runner.invoke(app, ["pull", "week1", "--db", store_url, "--json"], env=env)
    assert json.loads(pulled.stdout)["not_applied"] == []  # said once
    with open_store(store_url) as session:
        history = workflow.label_history(session, sample)
        stored = session.scalars(select(Annotation.annotator).order_by(Annotation.id)).all()
    assert history["new_label"].tolist() == [label]
    assert stored == ["expert@labelmend.test", f"{name}@labelmend.test"]


def test_an_answer_edited_into_an_unusable_one_no_longer_counts(label_studio, store_url):
    # An expert edits an answer a pull recorded into one that cannot count (a class the
    # dataset does not have, an empty answer). The old answer stopped being theirs: the
    # next pull withdraws it (kept, marked, reported once with its effect, as a deleted
    # answer) and rejects the new one, saying why. Edited back into a class, it counts
    # again while its sample is open, as any changed answer does.
    client = client_for(label_studio)
    tasks, current, open_one, decided_one = one_open_one_decided(client, store_url)
    change_answer(client, tasks[open_one], ["owl"])
    change_answer(client, tasks[decided_one], [])
    # A second expert agrees with the edited-away answer: were it still counted, two
    # votes would change the label.
    name = f"expert5-{uuid.uuid4().hex[:8]}"
    second_expert = client._sdk.users.create(username=name, email=f"{name}@labelmend.test")
    answer(client, tasks[open_one], [other(current[open_one])], user=second_expert.id)
    with open_store(store_url) as session:
        second = pull_queue(session, "week1", client)
        history = workflow.label_history(session, open_one)
        status = sync_status(session, "week1")
    assert (second.recorded, second.updated, second.decisions.decided) == (1, 0, 0)
    assert second.decisions.ties == [open_one]
    assert history.empty
    was = other(current[open_one])
    rejected = second.rejected.set_index("sample_id")["problem"]
    assert rejected.to_dict() == {
        open_one: f"unknown class 'owl'; edited after it was recorded as {was!r}, "
        "which no longer counts",
        decided_one: f"empty answer; edited after it was recorded as {current[decided_one]!r}, "
        "which no longer counts",
    }
    withdrawn = second.withdrawn.set_index("sample_id")
    assert sorted(withdrawn.index) == sorted([open_one, decided_one])
    assert withdrawn.loc[open_one, "label"] == was
    assert withdrawn.loc[open_one, "effect"] == "no longer counts"
    assert withdrawn.loc[open_one, "why"] == "edited in the tool into an unusable answer"
    assert withdrawn.loc[decided_one, "decided"]
    assert withdrawn.loc[decided_one, "effect"].endswith("; that decision stands")
    assert (status.annotations, status.withdrawn) == (1, 2)
    # Reported once: the next pull withdraws nothing more and counts the rejections as
    # still rejected.
    with open_store(store_url) as session:
        third = pull_queue(session, "week1", client)
    assert (len(third.withdrawn), len(third.rejected), len(third.still_rejected)) == (0, 0, 2)
    # Edited back into a class: counts again while the sample is open (two votes for
    # `was` now decide it); on the decided sample, the change is reported, not applied.
    change_answer(client, tasks[open_one], [was], which=0)
    change_answer(client, tasks[decided_one], [other(current[decided_one])])
    with open_store(store_url) as session:
        fourth = pull_queue(session, "week1", client)
        history = workflow.label_history(session, open_one)
        status = sync_status(session, "week1")
    assert (fourth.updated, fourth.decisions.decided, fourth.decisions.changed) == (1, 1, 1)
    assert history["new_label"].tolist() == [was]
    assert fourth.rejected.to_dict("records") == [
        {
            "sample_id": decided_one,
            "annotator": "expert@labelmend.test",
            "problem": f"changed to {other(current[decided_one])!r} after the sample was "
            f"decided (recorded {current[decided_one]!r}, withdrawn since); not applied",
        }
    ]
    assert (status.annotations, status.withdrawn) == (2, 1)


def test_confirming_withdrawals_costs_one_request_whatever_their_number(label_studio, store_url):
    # Once a project is deleted and its queue sent to a new one, every answer recorded
    # from it is gone. The pull confirms what its listing misses with the server before
    # withdrawing it (a listing that pages by offset can miss a live answer), in one
    # request however many answers are missing: it took one request per answer, minutes
    # for a whole project.
    client = client_for(label_studio)
    project, items, tasks = push_week1(client, store_url)
    answered = items["sample_id"].head(6).tolist()
    for sample in answered:
        answer(client, tasks[sample], ["dog"])
    with open_store(store_url) as session:
        assert pull_queue(session, "week1", client).recorded == 6
    client._sdk.projects.delete(id=project)
    with open_store(store_url) as session:
        push_queue(session, "week1", client, new_project=True)
    proxy = LossyProxy(label_studio.url, matches="^$", lose=0)
    with proxy.running():
        counted = LabelStudioClient(proxy.url, label_studio.token)
        with open_store(store_url) as session:
            gone = pull_queue(session, "week1", counted)
        withdrawing, proxy.requests[:] = list(proxy.requests), []
        with open_store(store_url) as session:
            again = pull_queue(session, "week1", counted)
        idle = list(proxy.requests)
    assert (len(gone.withdrawn), len(again.withdrawn)) == (6, 0)
    assert set(gone.withdrawn["sample_id"]) == set(answered)
    assert len(withdrawing) == len(idle) + 1, withdrawing
