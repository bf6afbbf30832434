"""The dataset page's numbers against independent computations on a small store."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, select

from labelmend import workflow
from labelmend.cleaner import DECIDED, fit_noise_model
from labelmend.report import dataset as page
from labelmend.storage import (
    Annotation,
    LabelChange,
    Queue,
    QueueItem,
    Sample,
    Score,
    open_store,
    read_store,
)
from tests.report.conftest import CLASSES, MISSING_IMAGES, N


def rows(url, query):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return pd.DataFrame(connection.execute(query).mappings().all())
    finally:
        engine.dispose()


@pytest.fixture
def report(small_store):
    with read_store(small_store.url) as session:
        return page.gather(session, dataset="pets", batch_size=5)


@pytest.fixture
def status(small_store):
    with read_store(small_store.url) as session:
        return workflow.dataset_status(session, dataset="pets", batch_size=5)


def card(html, key):
    return re.search(rf'data-key="{key}"><div class="value">([^<]*)<', html).group(1)


def test_summary_cards_show_the_status_numbers(report, status):
    html = page.summary_section(report.status, report.run).html
    assert card(html, "n_samples") == f"{N:,}" == f"{status.n_samples:,}"
    assert card(html, "labels_changed") == f"{status.labels_changed:,}"
    # One definition and name with status: a tie is answered, not decided by an expert.
    assert card(html, "decided") == f"{status.decided:,}"
    assert status.reviewed > status.decided
    assert f">{DECIDED}<" in html
    assert "samples reviewed" not in html
    assert card(html, "errors") == f"{status.errors.expected:,.1f}"
    assert card(html, "next_batch_expected_errors") == f"{status.next_batch_expected_errors:,.1f}"
    assert "net-v1" in html


def test_summary_says_how_many_samples_the_score_run_left_out(small_store):
    """As status does: samples imported after the run have no p_error in the count."""
    late = pd.DataFrame({"sample_id": ["late1", "late2"], "label": ["cat", "dog"]})
    with open_store(small_store.url) as session:
        workflow.import_samples(session, late, dataset="pets")
    with read_store(small_store.url) as session:
        report = page.gather(session, dataset="pets", batch_size=5)
    html = page.summary_section(report.status, report.run).html
    assert (
        f"2 of {N + 2} samples have no score in this run (imported after it); the estimated "
        "label errors remaining leave them out." in html
    )


def newest_scores(url):
    scores = rows(
        url, select(Score.run_id, Score.sample_id, Score.label, Score.p_error, Score.rank)
    )
    return scores[scores["run_id"] == scores["run_id"].max()]


def reviewed_keys(url):
    answered = set(rows(url, select(Annotation.sample_id))["sample_id"])
    history = rows(url, select(LabelChange.sample_id, LabelChange.source))
    manual = set(history.loc[history["source"].isin(["manual", "annotation"]), "sample_id"])
    items = rows(url, select(QueueItem.sample_id, QueueItem.status))
    return answered | manual | set(items.loc[items["status"] == "resolved", "sample_id"])


def decided_keys(url):
    """Samples an expert decided (changed or confirmed); all after the fixture's predictions."""
    history = rows(url, select(LabelChange.sample_id, LabelChange.source))
    return set(history.loc[history["source"].isin(["manual", "annotation"]), "sample_id"])


def test_per_class_table_matches_the_scores_and_the_noise_model(small_store, report):
    scores = newest_scores(small_store.url)
    open_ = ~scores["sample_id"].isin(decided_keys(small_store.url))
    samples = rows(small_store.url, select(Sample.given_label, Sample.current_label))
    changed = samples[samples["given_label"] != samples["current_label"]]
    noise = fit_noise_model(scores.sort_values("sample_id")["label"].to_numpy(), small_store.probs)
    table = page.class_table(report).set_index("class")
    for k, name in enumerate(CLASSES):
        mine = scores["label"] == k
        assert table.loc[name, "samples"] == mine.sum()
        assert table.loc[name, "estimated errors"] == pytest.approx(
            scores.loc[mine, "p_error"].sum()
        )
        assert table.loc[name, "errors remaining"] == pytest.approx(
            scores.loc[mine & open_, "p_error"].sum()
        )
        assert table.loc[name, "changed so far"] == (changed["given_label"] == k).sum()
        assert table.loc[name, "noise rate"] == pytest.approx(1 - noise.noise_matrix[k, k])
    assert table["estimated errors"].is_monotonic_decreasing


def test_per_class_unreviewed_errors_add_up_to_the_status_estimate(report, status):
    total = page.class_table(report)["errors remaining"].sum()
    assert total == pytest.approx(status.errors.expected)


def test_reliability_compares_the_queued_p_error_with_the_decisions(small_store, report):
    items = rows(
        small_store.url,
        select(QueueItem.sample_id, QueueItem.status, Queue.name).join(
            Queue, Queue.id == QueueItem.queue_id
        ),
    )
    decided = items[(items["name"] == "q1") & (items["status"] == "resolved")]
    first = small_store.first_run.set_index("sample_id")
    now = rows(small_store.url, select(Sample.id, Sample.external_id, Sample.current_label))
    now = now.set_index("id")
    expected = {}
    for key in decided["sample_id"]:
        external = now.loc[key, "external_id"]
        p = first.loc[external, "p_error"]
        wrong = CLASSES[now.loc[key, "current_label"]] != first.loc[external, "given_label"]
        b = min(int(p * 5), 4)
        expected.setdefault(b, []).append((p, wrong))
    table = page.reliability_table(report.queued)
    assert table["decided"].sum() == len(decided) > 0
    for row, b in zip(table.itertuples(index=False), sorted(expected), strict=True):
        ps, wrongs = zip(*expected[b], strict=True)
        assert row.decided == len(ps)
        assert row._2 == pytest.approx(np.mean(ps))
        assert row._3 == pytest.approx(np.mean(wrongs))


def test_budget_curve_agrees_with_status_and_stops_where_the_rule_says(small_store, report, status):
    reviewed_or_queued = reviewed_keys(small_store.url) | set(
        rows(small_store.url, select(QueueItem.sample_id))["sample_id"]
    )
    scores = newest_scores(small_store.url).sort_values("rank")
    p = scores.loc[~scores["sample_id"].isin(reviewed_or_queued), "p_error"].to_numpy()
    stop = next((k for k in range(len(p)) if p[k : k + 5].mean() < 0.1), len(p))
    html = page.budget_section(report.candidates, report.status).html
    assert card(html, "curve_next_batch") == f"{status.next_batch_expected_errors:,.1f}"
    assert card(html, "curve_next_batch") == f"{p[:5].sum():,.1f}"
    assert card(html, "stop_at") == f"{stop:,}"
    assert card(html, "found_at_stop") == f"{p[:stop].sum():,.1f}"


def test_queue_outcomes_count_every_status_open_and_labels_changed(small_store, report):
    items = rows(
        small_store.url,
        select(Queue.name, Sample.external_id, QueueItem.status, Sample.current_label)
        .join(Queue, Queue.id == QueueItem.queue_id)
        .join(Sample, Sample.id == QueueItem.sample_id),
    )
    q1 = items[items["name"] == "q1"]
    scored = small_store.first_run.set_index("sample_id")["given_label"]
    now = np.array(CLASSES)[q1["current_label"].to_numpy()]
    was = scored.loc[q1["external_id"]].to_numpy()
    resolved = (q1["status"] == "resolved").to_numpy()
    table = page.queue_table(report.queued).set_index("queue")
    assert table.loc["q1", "items"] == 12
    assert table.loc["q1", "resolved"] == resolved.sum()
    assert table.loc["q1", "labels changed"] == (resolved & (now != was)).sum() > 0
    ties = 0
    for sid, group in small_store.answers.groupby("sample_id"):
        counts = pd.Series([scored[sid], *group["label"]]).value_counts()
        ties += (counts == counts.max()).sum() > 1
    assert table.loc["q1", "annotated"] == ties > 0
    # open: pending, sent or annotated (waiting for a decision), as queue list counts it
    assert table.loc["q1", "open"] == ties + 1 == table.loc["q1", ["pending", "sent"]].sum() + ties
    assert table.loc["q2", "open"] == table.loc["q2", "items"] == 5


def test_annotator_agreement_by_brute_force(small_store, report):
    answers = small_store.answers
    final = rows(small_store.url, select(Sample.external_id, Sample.current_label))
    decided = dict(
        zip(final["external_id"], np.array(CLASSES)[final["current_label"]], strict=True)
    )
    per, overall = page.agreement_tables(report.annotations, report.samples)
    per = per.set_index("annotator")
    for name, mine in answers.groupby("annotator"):
        agree = np.mean(
            [decided[s] == label for s, label in zip(mine["sample_id"], mine["label"], strict=True)]
        )
        assert per.loc[name, "answers"] == len(mine)
        assert per.loc[name, "agrees with decided label"] == pytest.approx(agree)
    pairs = agree_pairs = multi = unanimous = 0
    for _, group in answers.groupby("sample_id"):
        if len(group) < 2:
            continue
        multi += 1
        unanimous += group["label"].nunique() == 1
        for a, b in itertools.combinations(group["label"], 2):
            pairs += 1
            agree_pairs += a == b
    assert overall["samples with 2+ answers"] == multi
    assert overall["unanimous"] == pytest.approx(unanimous / multi)
    assert overall["pairwise agreement"] == pytest.approx(agree_pairs / pairs)


def test_suspects_are_what_the_next_queue_takes_with_thumbnails_or_placeholders(
    small_store, report
):
    reviewed_or_queued = reviewed_keys(small_store.url) | set(
        rows(small_store.url, select(QueueItem.sample_id))["sample_id"]
    )
    scores = newest_scores(small_store.url).sort_values("rank")
    expected = scores.loc[~scores["sample_id"].isin(reviewed_or_queued), "sample_id"].head(25)
    assert report.suspects["sample_id"].tolist() == expected.tolist()
    html = page.suspects_section(report.suspects, CLASSES, root=small_store.images).html
    missing = [k - 1 for k in expected if k - 1 in MISSING_IMAGES]
    assert html.count("data:image/png;base64,") == len(expected) - len(missing)
    assert html.count('alt="missing: ') == len(missing) > 0
    assert f"{len(missing)} image file(s) not found" in html


@pytest.mark.parametrize("window", [1, 3, 10])
def test_stopping_point_matches_a_brute_force_look_ahead(window):
    from labelmend.cleaner import stopping_point

    p = np.sort(np.random.default_rng(window).beta(0.5, 2.0, size=60))[::-1]
    expected = next((k for k in range(60) if p[k : k + window].mean() < 0.1), 60)
    assert 0 < expected < 60
    assert stopping_point(np.cumsum(p), window=window) == expected
    assert stopping_point(np.cumsum(p), window=window, threshold=0.0) == 60


@pytest.mark.parametrize(
    ("start", "step", "expected"),
    [
        ("2026-12-02 09:00", "15min", {"10:00", "12:00", "2026-Dec-02"}),  # a working day
        ("2026-11-03 09:00", "7h", {"2026-Nov", "05", "09"}),  # two weeks: days
        ("2026-12-02 06:43:42.7", "20ms", {"42.8", "43.2"}),  # a scripted run: seconds
    ],
)
def test_progress_chart_labels_its_time_axis_at_the_span_s_own_scale(start, step, expected):
    at = pd.date_range(start, periods=40, freq=step, tz="UTC")
    history = pd.DataFrame(
        {"at": at.astype(str), "source": "annotation", "old_label": 0, "new_label": 1}
    )
    svg = page.progress_section(pd.DataFrame(), history).html
    ticks = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert expected <= ticks, sorted(ticks)
    assert not any(re.search(r"\d{6}$", tick) for tick in ticks), sorted(ticks)


def test_progress_counts_label_changes_not_confirmations():
    at = pd.date_range("2026-12-02 09:00", periods=5, freq="h", tz="UTC").astype(str)
    history = pd.DataFrame(
        {
            "at": at,
            "source": ["annotation", "annotation", "annotation", "manual", "manual"],
            "old_label": [0, 1, 2, 0, 1],
            "new_label": [1, 1, 0, 2, 1],  # two decisions confirm the label they found
        }
    )
    html = page.progress_section(pd.DataFrame(), history).html
    paragraph = re.search(r'data-key="expert_changes">(.*?)</p>', html).group(1)
    assert paragraph.startswith("Label changes by experts: 2 by annotation, 1 by manual, of 5 ")
    assert "decisions" in paragraph


def test_the_stopping_rule_is_said_in_the_same_words_wherever_it_is_printed(report):
    # One definition and one name: the report's budget note, `labelmend report --help`
    # and the simulator's tables (which stopped on errors per *annotation* before).
    import typing

    from labelmend.cleaner import STOP_THRESHOLD, TRADE_OFF
    from labelmend.cli.report import report as report_command
    from labelmend.simulator.report import SUMMARY_MEANINGS

    rule = f"fewer than {STOP_THRESHOLD:g} expected label errors per sample"
    html = page.budget_section(report.candidates, report.status).html
    assert f"hold {rule}" in html
    assert f"{TRADE_OFF:g} labels" in html
    option = typing.get_type_hints(report_command, include_extras=True)["batch_size"]
    assert rule in " ".join(option.__metadata__[0].help.split())
    assert rule in SUMMARY_MEANINGS["stop at"]


def test_queue_counts_have_thousands_separators_as_the_cards_do():
    """The queue table's counts read 1,234 like the page's cards and the CLI's tables
    (they read 1234)."""
    queued = pd.DataFrame(
        {"queue": "week-1", "status": ["pending"] * 1234 + ["resolved"] * 2,
         "current_label": 1, "scored_label": [0] * 1235 + [1]}
    )  # fmt: skip
    html = page.progress_section(queued, pd.DataFrame(columns=["old_label", "new_label"])).html
    queues = re.search(r'<table data-key="queues">.*?</table>', html).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', queues)
    assert cells == ["1,236", "1,234", "1,234", "0", "0", "2", "0", "1"], cells
