"""Quality on real label errors: every ranking method against cleanlab's scores.

Data: ../shared/data/label-errors (Northcutt et al., NeurIPS 2021). A *validated*
error is a flagged example that fewer than 3 of 5 MTurk workers agreed with; k is the
number of validated errors. Reports validated errors in the top k and 2k, AUROC and
average precision, and the calibration of Σ p_error.

    python benchmarks/label_errors.py [--markdown]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from cleanlab.rank import get_label_quality_scores
from rich.console import Console
from rich.table import Table
from sklearn.metrics import average_precision_score, roc_auc_score

from labelmend.cleaner import RANKING_METHODS, score_samples

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "label-errors"


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    probs = np.load(DATA / f"cross_validated_predicted_probabilities/{name}_test_set_pyx.npy")
    labels = np.load(DATA / f"original_test_labels/{name}_test_set_original_labels.npy")
    entries = json.loads((DATA / f"mturk/{name}_mturk.json").read_text())
    is_error = np.zeros(len(labels), dtype=bool)
    is_error[[e["id"] for e in entries if e["mturk"]["given"] < 3]] = True
    return labels.astype(int), probs, is_error


def evaluate(priority: np.ndarray, is_error: np.ndarray) -> tuple[int, int, float, float]:
    k = int(is_error.sum())
    order = np.argsort(-priority, kind="stable")
    return (
        int(is_error[order[:k]].sum()),
        int(is_error[order[: 2 * k]].sum()),
        float(roc_auc_score(is_error, priority)),
        float(average_precision_score(is_error, priority)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}")
    rows = []
    for name in ("cifar10", "mnist"):
        labels, probs, is_error = load(name)
        k = int(is_error.sum())
        for method in ("self_confidence", "normalized_margin"):
            scores = get_label_quality_scores(labels, probs, method=method)
            rows.append((name, k, f"cleanlab {method}", *evaluate(-scores, is_error)))
        for method in RANKING_METHODS:
            scores = score_samples(labels, probs, method=method)
            tag = f"labelmend {method}" + (
                " (default)" if method == "errors_per_annotation" else ""
            )
            rows.append((name, k, tag, *evaluate(scores.priority, is_error)))
        default = score_samples(labels, probs)
        rows.append(
            (
                name,
                k,
                f"Σ p_error = {default.p_error.sum():.0f}; confident learning "
                f"estimates {default.noise_model.estimated_errors:.0f}",
                -1,
                -1,
                np.nan,
                np.nan,
            )
        )
    table = Table(title="Validated label errors found (higher is better)")
    for column in ("data", "k", "method", "in top k", "in top 2k", "AUROC", "AP"):
        table.add_column(column, justify="left" if column in ("data", "method") else "right")
    for name, k, method, top_k, top_2k, auroc, ap in rows:
        if top_k < 0:
            table.add_row(name, str(k), method, "", "", "", "")
            continue
        table.add_row(name, str(k), method, str(top_k), str(top_2k), f"{auroc:.3f}", f"{ap:.3f}")
    Console(width=120).print(table)
    if args.markdown:
        print("| data | k | method | in top k | in top 2k | AUROC | AP |")
        print("|---|---:|---|---:|---:|---:|---:|")
        for name, k, method, top_k, top_2k, auroc, ap in rows:
            if top_k >= 0:
                print(f"| {name} | {k} | {method} | {top_k} | {top_2k} | {auroc:.3f} | {ap:.3f} |")


if __name__ == "__main__":
    main()
