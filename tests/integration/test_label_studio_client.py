"""The Label Studio client against a real server: projects, tasks, answers, errors."""

from __future__ import annotations

import pytest

from labelmend.errors import SyncError
from labelmend.sync.label_studio import LabelStudioClient, label_config, task_payload

pytestmark = pytest.mark.server

CLASSES = ["cat", "dog", "fox"]


def answer(client, task_id, choices):
    result = [
        {
            "from_name": "label",
            "to_name": "sample",
            "type": "choices",
            "value": {"choices": choices},
        }
    ]
    client._sdk.annotations.create(id=task_id, result=result if choices is not None else [])


def test_push_tasks_and_read_back_validated_answers(label_studio):
    client = LabelStudioClient(label_studio.url, label_studio.token)
    project = client.ensure_project(title="client test", config=label_config(CLASSES))
    tasks = [
        task_payload(
            f"s{i}", {"text": f"sample {i}"}, show="text", suggested_label="dog", score=0.7
        )
        for i in range(5)
    ]
    batches = []
    ids = client.import_tasks(project, tasks, batch_size=2, on_batch=lambda t, i: batches.append(i))
    assert len(ids) == 5
    assert [len(b) for b in batches] == [2, 2, 1]
    assert client.task_ids_by_sample(project) == {f"s{i}": ids[i] for i in range(5)}
    answer(client, ids[0], ["cat"])
    answer(client, ids[1], ["owl"])
    answer(client, ids[2], None)
    answer(client, ids[3], ["cat", "dog"])
    parsed = {a.sample_id: a for page in client.annotation_pages(project, CLASSES) for a in page}
    assert parsed["s0"].label == "cat"
    assert parsed["s0"].annotator == "expert@labelmend.test"
    assert parsed["s1"].problem == "unknown class 'owl'"
    assert parsed["s2"].problem == "empty answer"
    assert parsed["s3"].problem.startswith("several classes")
    assert "s4" not in parsed


def test_errors_are_one_line_and_never_show_the_key(label_studio):
    with pytest.raises(SyncError, match="refused the API key") as wrong_key:
        LabelStudioClient(label_studio.url, "not-the-key-0000").whoami()
    assert "not-the-key-0000" not in str(wrong_key.value)
    client = LabelStudioClient(label_studio.url, label_studio.token)
    with pytest.raises(SyncError, match="404"):
        client.ensure_project(title="x", config="", project_id=987654)
    with pytest.raises(SyncError, match="Cannot reach"):
        LabelStudioClient("http://127.0.0.1:9", label_studio.token, max_retries=0).whoami()


def test_a_personal_access_token_works_like_a_legacy_token(label_studio):
    legacy = LabelStudioClient(label_studio.url, label_studio.token)
    settings = legacy._sdk.jwt_settings.get()
    if not settings.api_tokens_enabled:
        legacy._sdk.jwt_settings.update(
            api_tokens_enabled=True,
            legacy_api_tokens_enabled=True,
            api_token_ttl_days=settings.api_token_ttl_days or 30,
        )
    personal = legacy._sdk.tokens.create().token
    assert personal != label_studio.token
    client = LabelStudioClient(label_studio.url, personal)
    assert client.whoami() == "expert@labelmend.test"
    assert client.ensure_project(title="pat project", config=label_config(CLASSES)) > 0


def test_deleted_annotations_are_those_the_project_no_longer_holds(label_studio):
    # The confirmation behind a withdrawal: whatever a pull's listing missed, an answer
    # still in the project is live; a deleted one is gone; an id a file recorded under
    # the tool's name is never reported.
    client = LabelStudioClient(label_studio.url, label_studio.token)
    project = client.ensure_project(title="deletions", config=label_config(CLASSES))
    ids = client.import_tasks(project, [task_payload(f"s{i}", {}, show="text") for i in range(3)])
    for task in ids:
        answer(client, task, ["cat"])
    kept, dropped, with_task = (client._sdk.annotations.list(id=task)[0].id for task in ids)
    client._sdk.annotations.delete(id=dropped)
    client._sdk.tasks.delete(id=ids[2])
    asked = [f"label-studio:{n}" for n in (kept, dropped, with_task)] + ["s1:ann"]
    assert client.deleted_annotations(project, asked) == {
        f"label-studio:{dropped}",
        f"label-studio:{with_task}",
    }
    assert client.deleted_annotations(project, ["s1:ann"]) == set()
