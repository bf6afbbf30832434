"""``label undo`` takes back the newest standing decision: after a slip the sample is where
it was before it (undecided, counted by its p_error, queueable, its queue items open
again), on SQLite and PostgreSQL; the undo is recorded, nothing is erased."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import app
from labelmend.storage import open_store
from labelmend.sync.label_studio import RemoteAnnotation
from labelmend.sync.service import pull_queue, push_queue
from tests.cli.test_queue_counts import Tool
from tests.synthetic import noisy_problem, scored_store

runner = CliRunner()
CLASSES = ["cat", "dog", "fox"]


def ok(*args: str) -> str:
    result = runner.invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(*args: str) -> str:
    result = runner.invoke(app, list(args), terminal_width=200)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.fixture
def db(database_url: str) -> tuple[str, str]:
    """A scored store of 30 samples (dataset 'pets'); the --db arguments."""
    given, probs, _ = noisy_problem(30, 3, noise=0.2, seed=1)
    ids = [f"s{i:02d}" for i in range(len(given))]
    with open_store(database_url) as session:
        scored_store(session, CLASSES, ids, given, probs)
    return ("--db", database_url)


def other_than(label: str, step: int = 1) -> str:
    return CLASSES[(CLASSES.index(label) + step) % 3]


def status(db: tuple[str, str]) -> dict:
    return json.loads(ok("status", "--json", *db))


def items(db: tuple[str, str], queue: str) -> dict[str, str]:
    rows = json.loads(ok("queue", "show", queue, "--all", "--json", "--limit", "100", *db))
    return {row["sample_id"]: row["status"] for row in rows}


def history(db: tuple[str, str], sample: str) -> list[dict]:
    return json.loads(ok("history", sample, "--json", *db))


def test_after_a_slip_undo_returns_the_sample_to_undecided(db, tmp_path: Path, snapshot):
    """label set on the wrong sample, then undo: the sample is undecided again, counted by
    its p_error, its queue item pending again, and a sample outside every queue can be
    queued again; the history keeps both rows."""
    ok("queue", "create", "q", "--budget", "3", *db)
    first = json.loads(ok("queue", "show", "q", "--json", *db))[0]
    sid = first["sample_id"]
    before = status(db)
    ok("label", "set", sid, other_than(first["current_label"]), *db)
    assert items(db, "q")[sid] == "resolved"
    done = json.loads(ok("label", "undo", sid, "--json", *db))
    assert done["restored"] == first["current_label"]
    assert (done["decided"], done["reopened"]) == (False, 1)
    after = status(db)
    assert (after["decided"], after["labels_changed"], after["reviewed"]) == (0, 0, 0)
    assert after["errors"]["expected"] == pytest.approx(before["errors"]["expected"], abs=1e-9)
    assert items(db, "q")[sid] == "pending"
    counts = json.loads(ok("queue", "list", "--json", *db))[0]
    assert (counts["open"], counts["pending"], counts["resolved"]) == (3, 3, 0)
    steps = history(db, sid)
    assert [h["source"] for h in steps] == ["manual", "undo"]
    assert steps[-1]["new_label"] == first["current_label"]
    assert steps[0]["undone"]
    assert not steps[-1]["undone"]
    ok("export", "labels", str(tmp_path / "labels.csv"), *db)
    labels = pd.read_csv(tmp_path / "labels.csv").set_index("sample_id")
    assert pd.isna(labels.at[sid, "changed_source"])
    assert not labels.at[sid, "changed"]

    # A sample decided outside any queue, then undone, is queued by the next queue.
    queued = set(items(db, "q"))
    outside = next(f"s{i:02d}" for i in range(30) if f"s{i:02d}" not in queued)
    ok("label", "set", outside, CLASSES[0], *db)
    ok("label", "undo", outside, *db)
    ok("queue", "create", "rest", "--fraction", "1", *db)
    rest = items(db, "rest")
    assert outside in rest
    assert sid not in rest
    assert status(db)["decided"] == 0


def test_undo_twice_takes_back_two_decisions_then_refuses(db, snapshot):
    url = db[1]
    sid = "s05"
    assert history(db, sid) == []
    first = other_than(CLASSES[0])
    ok("label", "set", sid, CLASSES[0], *db)
    ok("label", "set", sid, first, *db)
    ok("label", "set", sid, other_than(first), *db)
    assert status(db)["decided"] == 1
    undone = json.loads(ok("label", "undo", sid, "--json", *db))
    assert (undone["restored"], undone["decided"]) == (first, True)
    undone = json.loads(ok("label", "undo", sid, "--json", *db))
    assert (undone["restored"], undone["decided"]) == (CLASSES[0], True)
    assert status(db)["decided"] == 1
    undone = json.loads(ok("label", "undo", sid, "--json", *db))
    assert undone["decided"] is False
    assert status(db)["decided"] == 0
    steps = history(db, sid)
    assert [h["source"] for h in steps] == ["manual"] * 3 + ["undo"] * 3
    assert [h["undone"] for h in steps] == [True] * 3 + [False] * 3
    before = snapshot(url)
    assert "no decision to undo" in fails("label", "undo", sid, *db)
    assert "no decision to undo" in fails("label", "undo", "s06", *db)
    assert snapshot(url) == before


def answered(db: tuple[str, str]) -> tuple[list[str], dict[str, str], Tool, int]:
    """Queue 'w' (4 samples) pushed and pulled: s0 changed by ann and bob (a decision
    from answers), s1 answered by ann alone (a tie under plurality: annotated). The
    samples, their labels before, the tool and how many samples the pull decided."""
    ok("queue", "create", "w", "--budget", "4", *db)
    rows = json.loads(ok("queue", "show", "w", "--json", *db))
    s = [row["sample_id"] for row in rows]
    now = {row["sample_id"]: row["current_label"] for row in rows}
    tool = Tool()
    tool.pages = [
        [
            RemoteAnnotation("a1", 0, s[0], "ann", other_than(now[s[0]])),
            RemoteAnnotation("a2", 0, s[0], "bob", other_than(now[s[0]])),
            RemoteAnnotation("a3", 1, s[1], "ann", other_than(now[s[1]])),
        ]
    ]
    with open_store(db[1]) as session:
        push_queue(session, "w", tool)  # type: ignore[arg-type]
        pulled = pull_queue(session, "w", tool, tie_break="open")  # type: ignore[arg-type]
    return s, now, tool, pulled.decisions.decided


def test_undo_of_a_pulled_decision_reopens_its_item_and_sets_its_answers_aside(db):
    """A decision from answers, undone: the item is 'annotated' again (answered, waiting for
    another vote); the same answers pulled again decide nothing, a new answer does. A
    hand decision on a sent item, undone: the item is 'sent' again (its task is there). A
    tie decided by hand, undone: the tie is back and its votes still count."""
    url = db[1]
    s, now, tool, pulled = answered(db)
    assert pulled == 1
    assert items(db, "w") == {s[0]: "resolved", s[1]: "annotated", s[2]: "sent", s[3]: "sent"}
    ok("label", "set", s[1], now[s[1]], *db)  # the tie decided by hand
    ok("label", "set", s[2], other_than(now[s[2]]), *db)  # a sent item decided by hand
    for sample in s[:3]:
        ok("label", "undo", sample, *db)
    assert items(db, "w") == {s[0]: "annotated", s[1]: "annotated", s[2]: "sent", s[3]: "sent"}
    assert status(db)["decided"] == 0
    with open_store(url) as session:
        again = pull_queue(session, "w", tool, tie_break="open")  # type: ignore[arg-type]
    assert (again.decisions.decided, sorted(again.decisions.ties)) == (0, [s[1]])
    assert items(db, "w")[s[0]] == "annotated"
    tool.pages[0].append(RemoteAnnotation("a4", 0, s[0], "cy", now[s[0]]))
    with open_store(url) as session:
        newer = pull_queue(session, "w", tool, tie_break="open")  # type: ignore[arg-type]
    assert newer.decisions.decided == 1
    assert items(db, "w")[s[0]] == "resolved"
    assert history(db, s[0])[-1]["actor"] == "cy via plurality"


def test_an_answer_after_a_partial_undo_names_the_decision_that_stands(db, tmp_path: Path):
    """Two hand decisions, the newer undone: an answer from a file to the sample is not
    applied, and the reason names the decision that stands (not the undo row). After the
    last undo the sample's item is open again and the same answer decides it."""
    from labelmend.sync.service import import_annotations

    url = db[1]
    ok("queue", "create", "w", "--budget", "2", *db)
    sid = json.loads(ok("queue", "show", "w", "--json", *db))[0]["sample_id"]
    ok("label", "set", sid, "cat", "--actor", "ann", *db)
    ok("label", "set", sid, "dog", "--actor", "bob", *db)
    ok("label", "undo", sid, "--actor", "bob", *db)
    path = tmp_path / "answers.csv"
    pd.DataFrame({"sample_id": [sid], "annotator": ["cy"], "label": ["fox"]}).to_csv(
        path, index=False
    )
    with open_store(url) as session:
        late = import_annotations(session, "w", str(path))
    assert late.decisions.decided == 0
    assert late.not_applied["reason"].tolist()[0].count("'cat' set by hand by ann") == 1
    ok("label", "undo", sid, *db)
    assert items(db, "w")[sid] == "annotated"  # cy's answer is recorded: it waits
    with open_store(url) as session:
        again = import_annotations(session, "w", str(path), aggregation="single-expert")
    assert again.decisions.decided == 1
    assert history(db, sid)[-1]["new_label"] == "fox"


def test_an_undo_after_a_rescore_sets_aside_the_p_error_scored_on_the_slip(db):
    """label set (a slip), score, undo: the newest run scored the sample on the slipped
    label, which no longer stands. Its p_error counts nowhere (the estimated label errors
    remaining, the next batch, a new queue, the report) and undo, status and the report
    say so, until `labelmend score` scores the label that stands."""
    from labelmend.report.dataset import class_table, gather, summary_section

    url = db[1]
    first = json.loads(ok("score", "--json", "--top", "100", *db))["top"]
    sure = min(first, key=lambda row: row["p_error"])  # the model agrees with its label
    sid, label = sure["sample_id"], sure["given_label"]
    ok("label", "set", sid, other_than(label), *db)  # the slip
    second = json.loads(ok("score", "--json", "--top", "100", *db))
    slipped = {row["sample_id"]: row["p_error"] for row in second["top"]}
    assert slipped[sid] > 0.5 > sure["p_error"]  # scored on the slip, it looks wrong
    said = ok("label", "undo", sid, *db)
    assert f"score run {second['score_run']} scored it as {other_than(label)!r}" in said
    assert "`labelmend score`" in said
    now = status(db)
    assert now["stale"] == 1
    others = [p for sample, p in slipped.items() if sample != sid]
    assert now["errors"]["expected"] == pytest.approx(sum(others), abs=1e-9)
    assert now["errors"]["decided"] == 0
    assert now["next_batch_expected_errors"] == pytest.approx(sum(others), abs=1e-9)
    assert "1 of 30 samples" in ok("status", *db).replace("\n", " ")
    with open_store(url) as session:
        report = gather(session)
        assert report.stale == {sid_key(session, sid)}
        assert sid_key(session, sid) not in set(report.candidates["sample_id"])
        assert class_table(report)["errors remaining"].sum() == pytest.approx(sum(others))
        note = summary_section(report.status, report.run).html
        assert "1 of 30 samples have a p_error in this run scored on a label" in note
    ok("queue", "create", "all", "--fraction", "1", *db)
    assert sid not in items(db, "all")
    third = json.loads(ok("score", "--json", "--top", "100", *db))  # scores the label back
    rescored = {row["sample_id"]: row["p_error"] for row in third["top"]}
    assert rescored[sid] < 0.5
    now = status(db)
    assert now["stale"] == 0
    assert now["errors"]["expected"] == pytest.approx(sum(rescored.values()), abs=1e-9)


def sid_key(session, sample_id: str) -> int:
    """The primary key of sample ``sample_id`` of the only dataset."""
    from labelmend.storage import repository

    found = repository.get_dataset(session, None)
    return repository.get_sample(session, found, sample_id).id


def test_a_withdrawn_answer_makes_no_sample_reviewed(db):
    """An answer withdrawn in its tool no longer counts (docs/label-studio.md): a sample
    whose only answer is withdrawn is not reviewed, as a sample whose answers an undo set
    aside is not."""
    from sqlalchemy import update

    from labelmend.storage.schema import annotations

    s, *_ = answered(db)
    assert status(db)["reviewed"] == 2  # s0 decided, s1 answered
    with open_store(db[1]) as session:
        session.execute(
            update(annotations)
            .where(annotations.c.external_id == "a3")
            .values(withdrawn_at=annotations.c.created_at)
        )
    assert status(db)["reviewed"] == 1
    ok("label", "undo", s[0], *db)
    assert status(db)["reviewed"] == 0


def test_answers_an_undo_set_aside_leave_the_report_s_agreement(db):
    """The answers a decision taken back was made from count nowhere: not as votes, not in
    the report's annotator agreement, not in score's expert reliability (both read
    repository.annotation_frame)."""
    from labelmend.report.dataset import agreement_tables, gather
    from labelmend.storage import repository

    s, *_ = answered(db)
    ok("label", "undo", s[0], *db)
    with open_store(db[1]) as session:
        report = gather(session)
        s1 = sid_key(session, s[1])
        answers = repository.annotation_frame(session, repository.get_dataset(session))
    assert answers["sample_id"].tolist() == [s1]
    assert report.annotations["sample_id"].tolist() == [s1]
    per, overall = agreement_tables(report.annotations, report.samples)
    assert per[["annotator", "answers"]].to_dict("records") == [{"annotator": "ann", "answers": 1}]
    assert overall["samples with 2+ answers"] == 0


def test_the_report_lists_no_label_change_an_undo_took_back(db, tmp_path: Path):
    """The report's label changes are the standing decisions that changed a label: a
    change undone is no change, the undo row none either, and after two changes and one
    undo the first change is listed (repository.history_frame filters the history)."""
    import re

    labels = {row["sample_id"]: row["given_label"] for row in score_rows(db)}
    a, b, c = sorted(labels)[:3]
    ok("label", "set", a, other_than(labels[a]), *db)  # stands
    ok("label", "set", b, other_than(labels[b]), *db)
    ok("label", "undo", b, *db)  # taken back: no change
    ok("label", "set", c, other_than(labels[c]), *db)  # stands
    ok("label", "set", c, other_than(labels[c], 2), *db)
    ok("label", "undo", c, *db)
    page = tmp_path / "report.html"
    ok("report", "--out", str(page), *db)
    said = re.search(r'data-key="expert_changes">(.*?) \(from ', page.read_text()).group(1)
    assert said == "Label changes by experts: 2 by manual, of 2 decisions"
    with open_store(db[1]) as session:
        from labelmend.report.dataset import gather

        history = gather(session).history
        keys = [sid_key(session, sample) for sample in (a, c)]
    assert history["sample_id"].tolist() == keys
    assert history["source"].tolist() == ["manual", "manual"]


def score_rows(db: tuple[str, str]) -> list[dict]:
    """The newest score run's rows, as ``score --json`` writes them (it scores again)."""
    return json.loads(ok("score", "--json", "--top", "100", *db))["top"]
