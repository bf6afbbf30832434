"""``labelmend repair --out DIR`` writes DIR/report.html: it opens cleanly in Chromium."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.conftest import require_module

require_module("torch")

from labelmend.repair import repair_model, set_torch_threads, write_repair  # noqa: E402

set_torch_threads(1)


@pytest.mark.server
def test_the_repair_page_opens_cleanly_and_shows_the_repair(tmp_path, browse):
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 4))
    true = rng.integers(3, size=300)
    features = centres[true] + rng.normal(size=(300, 4))
    labels = true.copy()
    labels[:12] = (labels[:12] + 1) % 3
    train = (features[:120], labels[:120])
    result = repair_model(
        train, (features[120:220], true[120:220]), test=(features[220:], true[220:]), budget=12
    )
    paths = write_repair(result, tmp_path / "out", train=train)
    shown = browse(paths["page"], tmp_path / "repair.png")
    print(f"screenshot: {tmp_path / 'repair.png'}")
    assert shown.errors == []
    assert shown.card("k_removed") == "12"
    assert shown.card("retention") == f"{result.report['retention']:.1%}"
    cells = (
        shown.page.locator("table[data-key=accuracies] tr").nth(1).locator("td").all_inner_texts()
    )
    report = result.report
    assert cells == [
        "test accuracy",
        *(f"{report[f'test_accuracy_{which}']:.3f}" for which in ("before", "after", "oracle")),
    ]
    assert "chosen k" not in shown.page.content()  # a fixed budget: no k curve
    assert shown.page.locator("section#figure svg").count() == 1


@pytest.mark.server
def test_the_failure_types_page_shows_the_typing_the_repair_and_the_heatmap(tmp_path, browse):
    from labelmend.repair.failures import FailureTypes, TypeRepairs
    from labelmend.repair.files import write_failure_types

    per_type = pd.DataFrame(
        {
            "type": [0, 1],
            "size": [10, 6],
            "learnability": [0.8, 0.5],
            "generalisability": [0.9, 0.7],
            "independence": [0.6, 0.2],
            "compatibility": [0.95, 0.97],
        }
    )
    types = FailureTypes(
        embedding="gradients",
        assignment=np.array([0] * 10 + [1] * 6),
        halves=np.arange(16) % 2 == 0,
        table=per_type,
        transfer=np.array([[0.8, 0.1, 0.95], [0.2, 0.5, 0.97]]),
        score=0.71,
        baseline=per_type.assign(learnability=[0.3, 0.3]),
        baseline_score=0.28,
        scores=pd.DataFrame({"n_types": [2, 3], "score": [0.71, 0.6]}),
    )
    repair = TypeRepairs(
        pd.DataFrame(
            {"type": [0, 1], "size": [10, 6], "k": [5, 5], "fixed": [0.6, 0.4],
             "others_fixed": [0.0, 1 / 7], "retention": [0.99, 0.98333333333]}
        ),
        pd.DataFrame({"type": [0, 1], "rank": [1, 1], "index": [3, 7], "score": [0.9, 0.8]}),
    )  # fmt: skip
    paths = write_failure_types(types, np.arange(16), tmp_path / "types", repair=repair)
    shown = browse(paths["page"], tmp_path / "types.png")
    assert shown.errors == []
    assert (shown.card("n_types"), shown.card("score")) == ("2", "0.710")
    assert shown.card("baseline_score") == "0.280"
    rows = shown.page.locator("table[data-key=types] tbody tr")
    assert rows.count() == 2
    assert rows.nth(1).locator("td").all_inner_texts()[:3] == ["1", "6", "0.500"]
    baseline = shown.page.locator("table[data-key=baseline] tbody tr")
    assert baseline.nth(1).locator("td").all_inner_texts()[:3] == ["1", "6", "0.300"]
    repaired = shown.page.locator("table[data-key=repair] tbody tr")
    assert repaired.count() == 2
    assert repaired.nth(1).locator("td").all_inner_texts() == [
        "1", "6", "5", "0.400", "0.143", "0.983"
    ]  # fmt: skip
    assert shown.page.locator("section#transfer svg").count() == 1
