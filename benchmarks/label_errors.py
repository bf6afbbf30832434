"""Quality on real label errors, with the study's selection bias shown: every order's picks.

Data: ../shared/data/label-errors (Northcutt et al., NeurIPS 2021). Only the examples
the study flagged were shown to MTurk workers, and the flagged examples are exactly
cleanlab ``normalized_margin``'s lowest-scoring C (C = 275 on CIFAR-10, 100 on MNIST; this
script checks it). A *validated* error is a checked example that fewer than 3 of 5
workers agreed with; a *rejected* one is a checked example the workers kept. Every other
row was never checked: it may or may not be an error, so counting validated errors in
the top k charges any order but normalized_margin for rows nobody looked at.

For each order: validated / rejected / never-checked picks in its top k and 2k (k = number
of validated errors), and AUROC and AP of validated against rejected *inside the checked
set* (the only comparison the data supports). Also Σ p_error over the checked set
against the validated count there.

    python benchmarks/label_errors.py [--markdown]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from cleanlab.rank import get_label_quality_scores
from rich.console import Console
from rich.table import Table
from sklearn.metrics import average_precision_score, roc_auc_score

from _orders import FIND_LABEL_ISSUES, order_scores, orders
from labelmend.datasets import label_errors_test_set

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "label-errors"
COLUMNS = (
    "data",
    "method",
    "top k: valid / rejected / unchecked",
    "top 2k: valid / rejected / unchecked",
    "AUROC (checked)",
    "AP (checked)",
)


def checked_is_margin_top(labels: np.ndarray, probs: np.ndarray, checked: np.ndarray) -> bool:
    """Whether the checked rows are exactly normalized_margin's lowest-scoring C rows."""
    margin = get_label_quality_scores(labels, probs, method="normalized_margin")
    lowest = np.argsort(margin, kind="stable")[: int(checked.sum())]
    return bool(checked[lowest].all())


def picks(order: np.ndarray, checked: np.ndarray, validated: np.ndarray, top: int) -> str:
    head = order[:top]
    valid = int(validated[head].sum())
    rejected = int(checked[head].sum()) - valid
    return f"{valid} / {rejected} / {top - valid - rejected}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}")
    rows, notes = [], []
    for name in ("cifar10", "mnist"):
        labels, probs, checked, validated = label_errors_test_set(DATA, name)
        k = int(validated.sum())
        ranked, ours, n_flagged = orders(labels, probs)
        for method, order in ranked.items():
            score = order_scores(order)[checked]
            truth = validated[checked]
            auroc, ap = roc_auc_score(truth, score), average_precision_score(truth, score)
            ranking = method != FIND_LABEL_ISSUES
            rows.append(
                (
                    f"{name} (k={k})",
                    method,
                    picks(order, checked, validated, k),
                    picks(order, checked, validated, 2 * k),
                    f"{auroc:.3f}" if ranking else "—",
                    f"{ap:.3f}" if ranking else "—",
                )
            )
        notes.append(
            f"{name}: checked = normalized_margin's lowest {int(checked.sum())}: "
            f"{'yes' if checked_is_margin_top(labels, probs, checked) else 'NO'}; "
            f"validated {k} of {int(checked.sum())} checked; Σ p_error over the checked "
            f"rows {ours.p_error[checked].sum():.1f}, over all rows {ours.p_error.sum():.0f}; "
            f"find_label_issues flags {n_flagged}."
        )
    table = Table(title="Label-errors study: picks of each order (higher validated is better)")
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in COLUMNS[:2] else "right")
    for row in rows:
        table.add_row(*row)
    console = Console(width=140)
    console.print(table)
    for note in notes:
        console.print(note)
    if args.markdown:
        print("| " + " | ".join(COLUMNS) + " |")
        print("|---|---|" + "---:|" * (len(COLUMNS) - 2))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        for note in notes:
            print(f"\n{note}")


if __name__ == "__main__":
    main()
