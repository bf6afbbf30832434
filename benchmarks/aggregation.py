"""Dawid–Skene: labelmend's EM against crowd-kit's, on three classic truth-inference sets.

Data: ../shared/data/crowd_truth_infer (Zheng et al., PVLDB 2017): dog (807 items × 109
workers, 4 classes), face (584 × 27, 4 classes), product (8,315 × 176, binary). Every
method gets the same answers and no truth; accuracy is measured against the gold labels
of the items that have one. Both EMs start from the vote shares and stop after 100
rounds or when nothing moves by more than 1e-6 (crowd-kit: its default tolerance on the
log-likelihood). Time is the median of ``--repeats`` runs, BLAS pinned to one thread.

    python benchmarks/aggregation.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from crowdkit.aggregation import DawidSkene as CrowdKitDawidSkene  # noqa: E402
from crowdkit.aggregation import MajorityVote  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from labelmend.cleaner import dawid_skene  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "crowd_truth_infer" / "datasets"
SETS = ("dog", "face", "product")


def load(name: str) -> tuple[pd.DataFrame, pd.Series]:
    """crowd-kit's long form (task, worker, label) and the gold label per task."""
    answers = pd.read_csv(DATA / name / "answer.csv", dtype={"question": str, "worker": str})
    truth = pd.read_csv(DATA / name / "truth.csv", dtype={"question": str})
    long = answers.rename(columns={"question": "task", "answer": "label"})
    return long, truth.set_index("question")["truth"]


def as_matrix(long: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """labelmend's (N, M) answer matrix, -1 where a worker did not answer, and the tasks."""
    tasks, task_index = pd.factorize(long["task"])
    workers, _ = pd.factorize(long["worker"])
    matrix = np.full((len(task_index), workers.max() + 1), -1, dtype=np.int64)
    matrix[tasks, workers] = long["label"].to_numpy()
    return matrix, pd.Index(task_index)


def timed(run: Callable[[], tuple[pd.Series, str]], repeats: int) -> tuple[pd.Series, str, float]:
    """The last run's (labels per task, EM iterations) and the median seconds."""
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        labels, iterations = run()
        seconds.append(time.perf_counter() - start)
    return labels, iterations, statistics.median(seconds)


def methods(long: pd.DataFrame) -> dict[str, Callable[[], tuple[pd.Series, str]]]:
    """Each method as a function of the answers alone: (labels per task, EM iterations)."""
    matrix, tasks = as_matrix(long)
    k = int(long["label"].max()) + 1

    def majority() -> tuple[pd.Series, str]:
        return MajorityVote().fit_predict(long), ""

    def crowd_kit() -> tuple[pd.Series, str]:
        model = CrowdKitDawidSkene(n_iter=100, tol=1e-6)
        return model.fit_predict(long), str(len(model.loss_history_))

    def labelmend() -> tuple[pd.Series, str]:
        fitted = dawid_skene(matrix, n_classes=k)
        return pd.Series(fitted.labels, index=tasks), str(fitted.n_iter)

    return {
        "majority vote (crowd-kit)": majority,
        "Dawid–Skene (crowd-kit)": crowd_kit,
        "Dawid–Skene (labelmend)": labelmend,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"data not found at {DATA}")
    table = Table(title=f"Dawid–Skene vs crowd-kit (median of {args.repeats} runs)")
    for column in ("data", "method", "accuracy", "seconds", "iterations", "agree with crowd-kit"):
        table.add_column(column, justify="left" if column in ("data", "method") else "right")
    for name in SETS:
        long, truth = load(name)
        shape = f"{long['task'].nunique():,} × {long['worker'].nunique()}"
        reference = None
        for method, run in methods(long).items():
            labels, iterations, seconds = timed(run, args.repeats)
            gold = truth[truth.index.isin(labels.index)]
            accuracy = (labels.loc[gold.index].to_numpy() == gold.to_numpy()).mean()
            if method == "Dawid–Skene (crowd-kit)":
                reference = labels
            agree = (
                f"{(labels.loc[reference.index] == reference).mean():.2%}"
                if reference is not None and method == "Dawid–Skene (labelmend)"
                else ""
            )
            table.add_row(
                f"{name} ({shape})" if method.startswith("majority") else "",
                method, f"{accuracy:.3f}", f"{seconds:.3f}", iterations, agree,
            )  # fmt: skip
        table.add_section()
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
