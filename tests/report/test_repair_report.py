"""``labelmend repair --out DIR`` writes DIR/report.html: it opens cleanly in Chromium."""

from __future__ import annotations

import numpy as np
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
