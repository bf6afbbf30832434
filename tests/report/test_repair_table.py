"""The repair page's table: every measured accuracy in its row and column."""

from __future__ import annotations

import math

from labelmend.report.repair import accuracy_table


def test_accuracy_table_puts_each_number_in_its_row_and_column():
    report = {
        "test_accuracy_before": 0.61,
        "test_accuracy_after": 0.72,
        "test_accuracy_oracle": 0.83,
        "heldout_failure_accuracy_before": 0.0,
        "heldout_failure_accuracy_after": 0.44,
        "heldout_failure_accuracy_oracle": 0.55,
        "heldout_accuracy_before": 0.91,
        "heldout_accuracy_after": 0.92,
        "heldout_accuracy_oracle": 0.93,
        "retention": 0.97,
        "retention_oracle": 0.98,
    }
    table = accuracy_table(report).set_index("metric")
    assert table.loc["test accuracy"].tolist() == [0.61, 0.72, 0.83]
    assert table.loc["held-out failures fixed"].tolist() == [0.0, 0.44, 0.55]
    assert table.loc["held-out validation accuracy"].tolist() == [0.91, 0.92, 0.93]
    assert table.loc["retention (previously correct)"].tolist() == [1.0, 0.97, 0.98]


def test_rows_not_measured_are_left_out():
    report = {"heldout_accuracy_before": 0.9, "heldout_accuracy_after": 0.95, "retention": 1.0}
    table = accuracy_table(report)
    assert table["metric"].tolist() == [
        "held-out validation accuracy",
        "retention (previously correct)",
    ]
    assert math.isnan(table.loc[0, "retrained"])
