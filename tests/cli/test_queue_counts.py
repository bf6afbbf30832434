"""One set of words for queue counts: every command that prints how many items of a queue
are in which state (``queue list``, ``queue show``, ``sync status``, ``status`` and the
dataset report) gives the store's numbers under the same names, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from labelmend.cli.app import app
from labelmend.storage import open_store
from labelmend.storage.models import Queue, QueueItem
from labelmend.storage.schema import OPEN_STATUSES, QUEUE_COUNTS, QUEUE_STATUSES
from labelmend.sync.label_studio import RemoteAnnotation
from labelmend.sync.service import pull_queue, push_queue
from tests.synthetic import noisy_problem, scored_store

runner = CliRunner()
CLASSES = ["cat", "dog", "fox"]


class Tool:
    """A stand-in for Label Studio: takes every task, returns the answers in ``pages``."""

    def __init__(self) -> None:
        self.pages: list[list[RemoteAnnotation]] = []

    def ensure_project(self, *, title: str, config: str, project_id: int | None = None) -> int:
        return 7

    def task_ids_by_sample(self, project_id: int) -> dict[str, int]:
        return {}

    def import_tasks(self, project_id, tasks, *, batch_size, on_batch):  # type: ignore[no-untyped-def]
        on_batch(list(tasks), list(range(len(tasks))))

    def annotation_pages(self, project_id, classes, *, page_size):  # type: ignore[no-untyped-def]
        yield from self.pages


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def url(database_url: str) -> str:
    """A store whose queues hold items in every status: 'fresh' (never pushed: pending,
    and one item resolved by a hand decision) and 'pushed' (sent, annotated: a tie,
    resolved: one label changed and one confirmed, skipped)."""
    given, probs, _ = noisy_problem(30, 3, noise=0.2, seed=1)
    ids = [f"s{i:02d}" for i in range(len(given))]
    with open_store(database_url) as session:
        scored_store(session, CLASSES, ids, given, probs)
    ok("queue", "create", "fresh", "--budget", "3", "--db", database_url)
    ok("queue", "create", "pushed", "--budget", "6", "--db", database_url)
    fresh = json.loads(ok("queue", "show", "fresh", "--json", "--db", database_url))
    ok("label", "set", fresh[0]["sample_id"], CLASSES[0], "--db", database_url)
    pushed = json.loads(ok("queue", "show", "pushed", "--json", "--db", database_url))
    sample = [row["sample_id"] for row in pushed]
    now = {row["sample_id"]: row["current_label"] for row in pushed}

    def other(sid: str) -> str:
        return CLASSES[(CLASSES.index(now[sid]) + 1) % 3]

    tool = Tool()
    tool.pages = [
        [
            RemoteAnnotation("a1", 0, sample[0], "ann", None, "skipped by the annotator", True),
            RemoteAnnotation("a2", 1, sample[1], "ann", other(sample[1])),  # a tie
            RemoteAnnotation("a3", 2, sample[2], "ann", other(sample[2])),
            RemoteAnnotation("a4", 2, sample[2], "bob", other(sample[2])),  # changed
            RemoteAnnotation("a5", 3, sample[3], "ann", now[sample[3]]),  # confirmed
        ]
    ]
    with open_store(database_url) as session:
        push_queue(session, "pushed", tool)  # type: ignore[arg-type]
        pull_queue(session, "pushed", tool, tie_break="open")  # type: ignore[arg-type]
    return database_url


def stored_counts(url: str) -> dict[str, dict[str, int]]:
    """Per queue, the count of every word, straight from the queue_items table."""
    with open_store(url) as session:
        rows = session.execute(
            select(Queue.name, QueueItem.status, func.count())
            .join(QueueItem, QueueItem.queue_id == Queue.id)
            .group_by(Queue.name, QueueItem.status)
        ).all()
    by_status: dict[str, Counter[str]] = {}
    for name, status, n in rows:
        by_status.setdefault(name, Counter())[status] = n
    return {
        name: {status: counts[status] for status in QUEUE_STATUSES}
        | {
            "open": sum(counts[status] for status in ("pending", "sent", "annotated")),
            "items": sum(counts.values()),
        }
        for name, counts in by_status.items()
    }


def header(text: str, first: str) -> list[str]:
    """The words of the plain-text table line that starts with ``first``."""
    return next(line.split() for line in text.splitlines() if line.split()[:1] == [first])


def test_every_printer_of_queue_counts_agrees_with_the_store_under_one_set_of_names(url, tmp_path):
    stored = stored_counts(url)
    # The store holds every status, in both queues together, and the words are these.
    assert stored == {
        "fresh": {"pending": 2, "sent": 0, "annotated": 0, "resolved": 1, "skipped": 0,
                  "open": 2, "items": 3},
        "pushed": {"pending": 0, "sent": 2, "annotated": 1, "resolved": 2, "skipped": 1,
                   "open": 3, "items": 6},
    }  # fmt: skip
    words = list(QUEUE_COUNTS)
    assert set(words) == {*QUEUE_STATUSES, "open", "items"}
    assert OPEN_STATUSES == ("pending", "sent", "annotated")
    db = ("--db", url)

    def counts_of(record: dict[str, Any]) -> dict[str, int]:
        return {word: record[word] for word in words}

    # queue list: one record per queue, and the table's columns are the same words.
    listed = json.loads(ok("queue", "list", "--json", *db))
    assert {r["queue"]: counts_of(r) for r in listed} == stored
    assert header(ok("queue", "list", *db), "queue") == ["queue", "strategy", *words]

    # queue show: the items' own statuses add up to the same counts; open = shown by default.
    for name, counts in stored.items():
        every = json.loads(ok("queue", "show", name, "--all", "--json", *db))
        shown = json.loads(ok("queue", "show", name, "--json", *db))
        assert Counter(row["status"] for row in every) == {
            s: n for s, n in counts.items() if s in QUEUE_STATUSES and n
        }
        assert (len(every), len(shown)) == (counts["items"], counts["open"])
        assert {row["status"] for row in shown} <= set(OPEN_STATUSES)

    # sync status: the same keys (and the sync's own: pushed, annotations, withdrawn).
    sync_own = ["pushed", "annotations", "withdrawn"]
    for name, counts in stored.items():
        synced = json.loads(ok("sync", "status", name, "--json", *db))
        assert counts_of(synced) == counts
        assert set(synced) == {"queue", "project", *words, *sync_own}
        rows = [line.split()[0] for line in ok("sync", "status", name, *db).splitlines()[1:]]
        assert rows == ["queue", "project", *words, *sync_own]

    # status: per queue the same records as queue list; the annotated total is their sum.
    status = json.loads(ok("status", "--json", *db))
    assert {r["queue"]: counts_of(r) for r in status["queues"]} == stored
    assert status["annotated"] == sum(c["annotated"] for c in stored.values())
    assert header(ok("status", *db), "queue") == ["queue", *words]

    # The report's progress table: the same columns, the same numbers.
    page = tmp_path / "report.html"
    ok("report", "--out", str(page), *db)
    table = re.search(r'<table data-key="queues">(.*?)</table>', page.read_text(), re.S)
    assert table is not None
    columns = re.findall(r"<th[^>]*>([^<]*)</th>", table.group(1))
    assert columns[: len(words) + 1] == ["queue", *words]
    shown_rows = re.findall(r"<tr>(.*?)</tr>", table.group(1).split("<tbody>", 1)[1])
    assert len(shown_rows) == len(stored)
    for body in shown_rows:
        record = dict(zip(columns, re.findall(r"<td[^>]*>([^<]*)</td>", body), strict=True))
        assert {word: record[word] for word in words} == {
            word: f"{stored[record['queue']][word]:,}" for word in words
        }


def test_a_new_queue_counts_its_items_under_the_name_queue_list_gives_them(database_url):
    given, probs, _ = noisy_problem(30, 3, noise=0.2, seed=1)
    ids = [f"s{i:02d}" for i in range(len(given))]
    with open_store(database_url) as session:
        scored_store(session, CLASSES, ids, given, probs)
    db = ("--db", database_url)
    created = json.loads(ok("queue", "create", "q", "--budget", "4", "--json", *db))
    listed = json.loads(ok("queue", "list", "--json", *db))[0]
    assert set(created) == {"queue", "score_run", "items", "expected_errors"}
    assert (created["queue"], created["score_run"], created["items"]) == (
        listed["queue"],
        listed["score_run"],
        listed["items"],
    )
