"""``labelmend report``: the page in a real browser, and every bad input as one line."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from labelmend import workflow
from labelmend.cli.app import app
from labelmend.storage import open_store, read_store
from tests.synthetic import scored_store

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["report", *args])


@pytest.mark.server
def test_the_page_opens_cleanly_and_shows_the_status_numbers(small_store, tmp_path, browse):
    out = tmp_path / "report.html"
    result = run("--db", small_store.url, "--out", str(out), "--images", str(small_store.images))
    assert result.exit_code == 0, result.output
    assert str(out) in result.output.replace("\n", "")
    with read_store(small_store.url) as session:
        status = workflow.dataset_status(session, dataset="pets")
    shown = browse(out, tmp_path / "report.png")
    print(f"screenshot: {tmp_path / 'report.png'}")
    assert shown.errors == []
    assert shown.card("n_samples") == f"{status.n_samples:,}"
    assert shown.card("labels_changed") == f"{status.labels_changed:,}"
    assert shown.card("decided") == f"{status.decided:,}"
    assert shown.card("errors") == f"{status.errors.expected:,.1f}"
    assert shown.card("next_batch_expected_errors") == f"{status.next_batch_expected_errors:,.1f}"
    images = shown.page.locator("img")
    assert images.count() == 25
    assert shown.broken_images() == []
    assert shown.page.locator("img[alt^='missing: ']").count() > 0
    assert (tmp_path / "report.png").stat().st_size > 10_000


def test_unknown_dataset_is_one_line_and_exit_1(small_store, tmp_path):
    result = run("--db", small_store.url, "--dataset", "owls", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 1
    assert result.output == "Error: No dataset 'owls'; the store holds ['pets'].\n"
    assert not (tmp_path / "r.html").exists()


def test_a_dataset_without_scores_names_the_command_to_run(tmp_path, snapshot):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(url) as session:
        workflow.init_dataset(session, "pets", ["cat", "dog"])
    before = snapshot(url)
    result = run("--db", url, "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 1
    assert "no scores yet" in result.output
    assert "`labelmend score`" in result.output
    assert result.output.count("\n") == 1
    assert snapshot(url) == before


def test_a_missing_database_is_not_created(tmp_path):
    result = run("--db", f"sqlite:///{tmp_path / 'none.db'}", "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 1
    assert result.output.startswith("Error: No store at ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["no-such-dir/r.html", "."])
def test_an_unwritable_output_path_is_one_line(small_store, tmp_path, where, snapshot):
    before = snapshot(small_store.url)
    result = run("--db", small_store.url, "--out", str(tmp_path / where))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert result.output.count("\n") == 1
    assert snapshot(small_store.url) == before


def test_a_folder_that_refuses_writes_is_one_line(small_store):
    # /proc refuses new files even for root.
    result = run("--db", small_store.url, "--out", "/proc/report.html")
    assert result.exit_code == 1
    assert result.output.startswith("Error: Cannot write /proc/report.html: ")
    assert result.output.count("\n") == 1


def test_missing_images_make_a_page_that_says_so(small_store, tmp_path):
    out = tmp_path / "r.html"
    result = run("--db", small_store.url, "--out", str(out), "--images", str(tmp_path / "gone"))
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "25 image file(s) not found" in page
    assert page.count('alt="missing: ') == 25


def test_the_report_reads_sqlite_and_postgresql_without_changing_them(
    database_url, tmp_path, snapshot
):
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(2), size=40)
    ids = [f"x{i}" for i in range(40)]
    with open_store(database_url) as session:
        scored_store(session, ["cat", "dog"], ids, (probs[:, 0] <= 0.3).astype(int), probs)
    before = snapshot(database_url)
    result = run("--db", database_url, "--out", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
    with read_store(database_url) as session:
        status = workflow.dataset_status(session)
    page = (tmp_path / "r.html").read_text()
    assert f'"errors"><div class="value">{status.errors.expected:,.1f}<' in page
    assert snapshot(database_url) == before
