"""Model repair: identification AUC, repaired accuracy against retraining, and wall time.

Digits (scikit-learn's 1,797 × 64, no download): 50% train / 30% validation / 20% test,
noise injected into the training labels only:
  (a) random — 10% of labels flipped to a random other class;
  (b) systematic — 30% of one class (chosen per seed) relabelled as another.
The failure set is the validation rows the trained model gets wrong. Targets: default
identification AUC ≥ 0.98 on (a) and ≥ 0.97 on (b); repaired test accuracy within 1.5
points of retraining from scratch without the removed rows; unlearning under 20% of
the retraining time.

Music genre (../shared/data/music-genre, skipped when absent): 700 songs, each trained
with ONE real annotator's label (drawn per seed; gold labels kept aside), 200 of them
held back with gold labels as validation, the 300 test songs for test accuracy.

    python benchmarks/repair.py [--seeds 5] [--models linear,mlp] [--markdown]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score

from labelmend.datasets import flip_labels
from labelmend.repair import (
    HARM_METHODS,
    UNLEARN_METHODS,
    find_harmful_examples,
    make_classifier,
    repair_model,
    set_torch_threads,
    unlearn,
)

MUSIC = Path(__file__).resolve().parents[2] / "shared" / "data" / "music-genre" / "data" / "Music"
console = Console()
Split = tuple[np.ndarray, np.ndarray]


def digits_scenario(scenario: str, seed: int) -> tuple[Split, Split, Split, np.ndarray]:
    """(train, validation, test, is_error) with noise in the training labels only."""
    digits = load_digits()
    features, true = digits.data, digits.target.astype(np.intp)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(true))
    n_train, n_val = len(true) // 2, round(0.3 * len(true))
    train, val, test = order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
    labels = true[train].copy()
    if scenario == "random":
        labels = flip_labels(labels, 10, 0.1, random_state=rng)
    else:
        source, target = rng.choice(10, size=2, replace=False)
        members = np.flatnonzero(labels == source)
        labels[rng.choice(members, size=round(0.3 * members.size), replace=False)] = target
    return (
        (features[train], labels),
        (features[val], true[val]),
        (features[test], true[test]),
        labels != true[train],
    )


def music_scenario(seed: int) -> tuple[Split, Split, Split, np.ndarray, list[str]]:
    """Songs labelled by one real annotator each; gold validation and test songs."""
    gold = pd.read_csv(MUSIC / "music_genre_gold.csv")
    test = pd.read_csv(MUSIC / "music_genre_test.csv")
    answers = pd.read_csv(MUSIC / "music_genre_mturk.csv", usecols=["id", "annotator", "class"])
    classes = sorted(gold["class"].unique())
    code = {name: i for i, name in enumerate(classes)}
    columns = [c for c in gold.columns if c.startswith("feature")]
    rng = np.random.default_rng(seed)
    one_each = answers.groupby("id", sort=True).sample(n=1, random_state=int(rng.integers(2**31)))
    order = rng.permutation(len(gold))
    val_rows, train_rows = order[:200], order[200:]
    train = gold.iloc[train_rows]
    given = train["id"].map(one_each.set_index("id")["class"]).map(code).to_numpy(np.intp)
    true = train["class"].map(code).to_numpy(np.intp)
    val = gold.iloc[val_rows]
    return (
        (train[columns].to_numpy(float), given),
        (val[columns].to_numpy(float), val["class"].map(code).to_numpy(np.intp)),
        (test[columns].to_numpy(float), test["class"].map(code).to_numpy(np.intp)),
        given != true,
        classes,
    )


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def accuracy(model: Any, split: Split) -> float:
    return float(np.mean(model.predict(split[0]) == split[1]))


def run_pipeline(
    kind: str, train: Split, val: Split, test: Split, is_error: np.ndarray, seed: int
) -> tuple[dict[str, float], Any]:
    result = repair_model(train, val, model=kind, test=test, random_state=seed)
    report = dict(result.report)
    report["auc_default"] = float(roc_auc_score(is_error, result.scores))
    report["unlearn_over_retrain"] = report["seconds_unlearn"] / report["seconds_retrain"]
    report["noisy_in_removed"] = (
        float(is_error[result.removed].mean()) if result.removed.any() else 0.0
    )
    report["n_noisy"] = float(is_error.sum())
    return report, result


def method_aucs(
    kind: str, train: Split, val: Split, is_error: np.ndarray, seed: int
) -> dict[str, float]:
    """Identification AUC of every method; failures = all validation rows the model gets wrong."""
    model = make_classifier(kind, train[0], n_classes=10, random_state=seed).fit(*train)
    wrong = model.predict(val[0]) != val[1]
    failures = (val[0][wrong], val[1][wrong])
    return {
        method: float(
            roc_auc_score(is_error, find_harmful_examples(model, train, failures, method=method))
        )
        for method in HARM_METHODS
    }


def unlearning_rows(kind: str, result: Any, train: Split, test: Split) -> list[dict[str, Any]]:
    """Each unlearning method on the pipeline's removal set: accuracy, cold and warm time."""
    rows = []
    oracle_accuracy = accuracy(result.oracle, test)
    for method in UNLEARN_METHODS:
        if kind == "mlp" and method == "newton":
            continue  # the exact P×P Hessian of a 2,410-parameter MLP: seconds, and indefinite
        fresh = result.before.clone(with_curvature=False)
        repaired, cold = timed(
            lambda m=method, f=fresh: unlearn(f, train, result.removed, method=m)
        )
        _, warm = timed(lambda m=method, f=fresh: unlearn(f, train, result.removed, method=m))
        rows.append(
            {
                "method": method,
                "test_accuracy": accuracy(repaired, test),
                "gap_to_oracle": accuracy(repaired, test) - oracle_accuracy,
                "seconds_cold": cold,
                "seconds_warm": warm,
            }
        )
    return rows


def mean_sd(values: pd.Series, fmt: str = ".3f") -> str:
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():{fmt}} ± {sd:{fmt}}"


def show(frame: pd.DataFrame, title: str, markdown: bool) -> None:
    table = Table(title=title, header_style="bold")
    for column in frame.columns:
        table.add_column(str(column), justify="left" if column == frame.columns[0] else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    console.print(table)
    if markdown:
        lines = [
            "| " + " | ".join(str(c) for c in frame.columns) + " |",
            "|" + "|".join("---" for _ in frame.columns) + "|",
            *(
                "| " + " | ".join(str(v) for v in row) + " |"
                for row in frame.itertuples(index=False)
            ),
        ]
        console.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


PIPELINE_METRICS = (
    ("auc_default", "AUC (default)", ".3f"),
    ("k_removed", "k removed", ".0f"),
    ("noisy_in_removed", "noisy among removed", ".2f"),
    ("test_accuracy_before", "test acc before", ".3f"),
    ("test_accuracy_after", "test acc repaired", ".3f"),
    ("test_accuracy_oracle", "test acc retrained", ".3f"),
    ("gap_to_oracle", "repaired − retrained", "+.3f"),
    ("heldout_failure_accuracy_after", "held-out failures fixed", ".2f"),
    ("retention", "retention", ".3f"),
    ("seconds_identify", "s identify", ".2f"),
    ("seconds_select_k", "s choose k", ".2f"),
    ("seconds_unlearn", "s unlearn", ".3f"),
    ("seconds_retrain", "s retrain", ".3f"),
)


def pipeline_table(reports: dict[tuple[str, str], list[dict[str, float]]]) -> pd.DataFrame:
    rows = []
    for (kind, scenario), runs in reports.items():
        frame = pd.DataFrame(runs)
        row = {"model / noise": f"{kind} / {scenario}"}
        for key, label, fmt in PIPELINE_METRICS:
            row[label] = mean_sd(frame[key], fmt)
        row["unlearn / retrain (median)"] = f"{frame['unlearn_over_retrain'].median():.1%}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("model / noise").T.reset_index(names="metric")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--models", default="linear,mlp")
    parser.add_argument("--markdown", action="store_true", help="also print markdown tables")
    args = parser.parse_args()
    set_torch_threads(1)
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    reports: dict[tuple[str, str], list[dict[str, float]]] = {}
    aucs: dict[tuple[str, str], list[dict[str, float]]] = {}
    unlearning: dict[tuple[str, str], list[dict[str, Any]]] = {}
    with console.status("Repairing…") as status:
        for kind in kinds:
            for scenario in ("random", "systematic"):
                for seed in range(args.seeds):
                    status.update(f"digits {kind} {scenario} seed {seed}")
                    train, val, test, is_error = digits_scenario(scenario, seed)
                    report, result = run_pipeline(kind, train, val, test, is_error, seed)
                    reports.setdefault((kind, scenario), []).append(report)
                    aucs.setdefault((kind, scenario), []).append(
                        method_aucs(kind, train, val, is_error, seed)
                    )
                    unlearning.setdefault((kind, scenario), []).extend(
                        unlearning_rows(kind, result, train, test)
                    )
    show(
        pipeline_table(reports),
        f"Digits: repair pipeline (default), {args.seeds} seeds, mean ± sd",
        args.markdown,
    )
    auc_rows = []
    for method in HARM_METHODS:
        row = {"method": method}
        for key, runs in aucs.items():
            row[f"{key[0]} / {key[1]}"] = mean_sd(pd.DataFrame(runs)[method])
        auc_rows.append(row)
    show(
        pd.DataFrame(auc_rows),
        "Digits: identification AUC per method (all validation failures)",
        args.markdown,
    )
    unlearn_rows = []
    for (kind, scenario), rows in unlearning.items():
        frame = pd.DataFrame(rows)
        retrain_median = frame.loc[frame["method"] == "retrain", "seconds_warm"].median()
        for method, group in frame.groupby("method", sort=False):
            unlearn_rows.append(
                {
                    "model / noise": f"{kind} / {scenario}",
                    "method": method,
                    "test acc": mean_sd(group["test_accuracy"]),
                    "− retrained": mean_sd(group["gap_to_oracle"], "+.3f"),
                    "s cold (median)": f"{group['seconds_cold'].median():.3f}",
                    "s warm (median)": f"{group['seconds_warm'].median():.3f}",
                    "warm / retrain (medians)": f"{group['seconds_warm'].median() / retrain_median:.0%}",
                }
            )
    show(
        pd.DataFrame(unlearn_rows),
        "Digits: unlearning methods on the default removal set",
        args.markdown,
    )
    if MUSIC.is_dir():
        music(args.seeds, kinds[0], args.markdown)
    else:
        console.print(f"music genre skipped: {MUSIC} not found")


def music(seeds: int, kind: str, markdown: bool) -> None:
    rows = []
    with console.status("Music genre…"):
        for seed in range(seeds):
            train, val, test, is_error, _ = music_scenario(seed)
            result = repair_model(train, val, model=kind, test=test, random_state=seed)
            order = np.argsort(-result.scores, kind="stable")
            k = int(result.removed.sum())
            rows.append(
                {
                    "annotator error rate": is_error.mean(),
                    "AUC": roc_auc_score(is_error, result.scores),
                    "k removed": k,
                    "mistakes in top 50": is_error[order[:50]].mean(),
                    "mistakes in top k": is_error[order[:k]].mean() if k else float("nan"),
                    "test acc before": result.report["test_accuracy_before"],
                    "test acc repaired": result.report["test_accuracy_after"],
                    "test acc retrained": result.report["test_accuracy_oracle"],
                    "gain": result.report["test_accuracy_after"]
                    - result.report["test_accuracy_before"],
                }
            )
    frame = pd.DataFrame(rows)
    summary = pd.DataFrame(
        {"metric": frame.columns, "mean ± sd": [mean_sd(frame[c]) for c in frame.columns]}
    )
    show(summary, f"Music genre ({kind}): one real annotator per song, {seeds} seeds", markdown)


if __name__ == "__main__":
    main()
