"""``labelmend simulate --out DIR`` writes DIR/report.html: the summary numbers and curves."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import app

runner = CliRunner()


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    rng = np.random.default_rng(0)
    n, k = 150, 3
    truth = rng.integers(k, size=n)
    probs = np.full((n, k), 0.1)
    probs[np.arange(n), truth] = 0.8
    np.save(folder / "counts.npy", rng.multinomial(30, probs))
    np.save(folder / "probs.npy", 0.7 * probs + 0.3 * rng.dirichlet(np.ones(k), size=n))
    result = runner.invoke(
        app,
        [
            "simulate",
            "--counts", str(folder / "counts.npy"),
            "--pred-probs", str(folder / "probs.npy"),
            "--seeds", "3",
            "--fraction", "0.3",
            "--selectors", "random,oracle,default",
            "--out", str(folder / "out"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert str(folder / "out" / "report.html") in result.output.replace("\n", "")
    return folder / "out"


def test_the_page_holds_every_selectors_mean_and_sd_from_runs_csv(study_dir):
    page = (study_dir / "report.html").read_text()
    runs = pd.read_csv(study_dir / "runs.csv")
    for selector, part in runs.groupby("selector"):
        row = re.search(rf"<tr><td>{selector}</td>(.*?)</tr>", page).group(1)
        cells = re.findall(r'<td class="num">([^<]*)</td>|<td>([^<]*)</td>', row)
        texts = [a or b for a, b in cells]
        fixed = part["noise_fixed@5%"]
        assert texts[0] == f"{fixed.mean():.2%} ± {fixed.std():.2%}"
        auc = part["auc"]
        assert f"{auc.mean():.4f} ± {auc.std():.4f}" in texts


def test_every_column_shown_is_explained_once_on_the_page_and_in_summary_md(study_dir):
    page = (study_dir / "report.html").read_text()
    headings = re.findall(r"<th>([^<]*)</th>", page)
    explained = re.findall(r"<li><b>([^<]*)</b>:", page)
    assert "regret" in headings
    assert "test acc." not in headings  # no --features here
    assert explained == ["fixed @5% N", "AUC acc.", "AUC gain", "stop at", "best at", "regret"]
    assert set(explained) - {"fixed @5% N"} <= set(headings)
    markdown = (study_dir / "summary.md").read_text()
    assert re.findall(r"^- \*\*(.+?)\*\*:", markdown, flags=re.M) == explained


@pytest.mark.server
def test_the_study_page_opens_cleanly_in_chromium(study_dir, tmp_path, browse):
    shown = browse(study_dir / "report.html", tmp_path / "study.png")
    print(f"screenshot: {tmp_path / 'study.png'}")
    assert shown.errors == []
    assert shown.page.locator("section#curves svg").count() == 1
    text = shown.page.locator("section#curves svg").text_content()
    assert "noisy labels fixed" in text
    assert "oracle" in text
    assert "random" in text
