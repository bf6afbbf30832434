"""Model repair on every case: identification AUC, k chosen against the injected count,
accuracy before / repaired / retrained, and CPU time (``timed``).

Cases (50% train / 30% validation / 20% test; noise in the training labels only):
  digits/…  scikit-learn's 8×8 digits (1,797 × 64, image features);
  cancer/…  scikit-learn's breast cancer (569 × 30, tabular, binary);
  …/systematic  30% of one class (chosen per seed) relabelled as another;
  …/random 5%, 15%, 30%  that share of labels flipped to a random other class;
  music/crowd  ../shared/data/music-genre (skipped when absent): 500 songs, each with ONE
        real crowd annotator's label (drawn per seed), 200 gold validation songs, the 300
        test songs. Its "injected" rows are the annotators' real mistakes.
Targets (issue 15): k within ±30% of the injected count, AUC ≥ 0.95 on every injected
case, repaired test accuracy within 1.5 points of retraining without the injected rows,
unlearning under 20% of the retraining time.

k: the top round(shrink × Σ p_error), then rounds that count again on the rows kept
until a model trained on them gives back at least half of the rows a round added
(labelmend.repair.k_selection.removal_rounds), less the removed rows a model trained on
the rows kept gives their label (readmit). The numbers are held out: every case is run
with each shrink of SHRINKS; for each case the shrink is chosen on the OTHER injected
cases (leave-one-case-out: the least shortfall from the targets — mean k within ±30% of
the injected count, mean accuracy of retraining without the removed rows within 1.5
points of retraining without the injected ones; ties to the library's
EXPECTED_ERRORS_SHRINK), and that case's runs with it are shown. With --cases naming
one injected case there is no other to choose on: it keeps the library's constant.

    python benchmarks/repair.py [--seeds 5] [--model linear] [--markdown] [--details]
                                [--diagnose] [--workers 2] [--save runs.json]
                                [--cases digits/systematic "cancer/random 30%"]
    python benchmarks/repair.py --unlearning [--iterations 6 7 8 9 10 12 15]  # every
                                # unlearning method; finetune's iteration count, held out
    python benchmarks/repair.py --cnn [--seeds 5]   # a small CNN from a DataLoader
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import roc_auc_score

from labelmend.datasets import flip_labels
from labelmend.repair import (
    EXPECTED_ERRORS_SHRINK,
    HARM_METHODS,
    UNLEARN_METHODS,
    find_harmful_examples,
    make_classifier,
    readmit,
    repair_model,
    set_torch_threads,
    unlearn,
)
from labelmend.repair.unlearning import DEFAULT_UNLEARN, FINETUNE_ITERATIONS

MUSIC = Path(__file__).resolve().parents[2] / "shared" / "data" / "music-genre" / "data" / "Music"
console = Console()
Split = tuple[np.ndarray, np.ndarray]


def inject(
    features: np.ndarray, true: np.ndarray, noise: str, seed: int
) -> tuple[Split, Split, Split, np.ndarray]:
    """(train, validation, test, is_error): 50/30/20, noise in the training labels only."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(true))
    n_train, n_val = len(true) // 2, round(0.3 * len(true))
    train, val, test = order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
    n_classes = int(true.max()) + 1
    labels = true[train].copy()
    if noise == "systematic":
        source, target = rng.choice(n_classes, size=2, replace=False)
        members = np.flatnonzero(labels == source)
        labels[rng.choice(members, size=round(0.3 * members.size), replace=False)] = target
    else:
        labels = flip_labels(labels, n_classes, float(noise), random_state=rng)
    return (
        (features[train], labels),
        (features[val], true[val]),
        (features[test], true[test]),
        labels != true[train],
    )


NOISES = ("systematic", "0.05", "0.15", "0.3")


def cases(seed: int) -> Iterator[tuple[str, Split, Split, Split, np.ndarray]]:
    """Every case for one seed: (name, train, validation, test, is_error)."""
    for loader, name in ((load_digits, "digits"), (load_breast_cancer, "cancer")):
        data = loader()
        for noise in NOISES:
            label = "systematic" if noise == "systematic" else f"random {float(noise):.0%}"
            yield f"{name}/{label}", *inject(data.data, data.target.astype(np.intp), noise, seed)
    if MUSIC.is_dir():
        yield "music/crowd", *music_scenario(seed)


def case_data(seed: int, wanted: str) -> tuple[Split, Split, Split, np.ndarray]:
    """One case of :func:`cases`: (train, validation, test, is_error)."""
    for case, train, val, test, is_error in cases(seed):
        if case == wanted:
            return train, val, test, is_error
    raise ValueError(wanted)


def music_scenario(seed: int) -> tuple[Split, Split, Split, np.ndarray]:
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
    )


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()`` and the CPU seconds it took in this process (torch and BLAS run on one
    thread here), which other processes' load on the shared machine inflates far less
    than wall time."""
    started = time.process_time()
    value = fn()
    return value, time.process_time() - started


#: Alternated timings of unlearning and of retraining behind each run's time ratio.
TIMING_REPEATS = 3


def alternated_seconds(
    fresh: Callable[[], Any], calls: dict[Any, Callable[[Any], Any]]
) -> dict[Any, float]:
    """Median seconds of each call on a model from ``fresh()`` (made untimed), the calls
    alternated :data:`TIMING_REPEATS` times so that a change in the machine's load hits
    them all alike."""
    seconds: dict[Any, list[float]] = {name: [] for name in calls}
    for _ in range(TIMING_REPEATS):
        for name, call in calls.items():
            model = fresh()
            seconds[name].append(timed(lambda c=call, m=model: c(m))[1])
    return {name: float(np.median(times)) for name, times in seconds.items()}


def time_ratio(start: Any, train: Split, removed: np.ndarray) -> float:
    """Median unlearning time over median retraining time, the two alternated
    :data:`TIMING_REPEATS` times on the pipeline's removal set, unlearning from ``start``
    as the pipeline does (without a budget, the model of the last round's rows kept). A
    single call takes tens of milliseconds and the pipeline times each once (unlearning
    first, with the first call's overheads), so its own ratio moves with the load far
    more than this one."""
    seconds = alternated_seconds(
        lambda: start.clone(with_curvature=False),
        {
            method: lambda model, m=method: unlearn(model, train, removed, method=m)
            for method in (DEFAULT_UNLEARN, "retrain")
        },
    )
    return seconds[DEFAULT_UNLEARN] / seconds["retrain"]


def accuracy(model: Any, split: Split) -> float:
    return float(np.mean(model.predict(split[0]) == split[1]))


def rounds_kept_model(result: Any, train: Split) -> Any:
    """The model ``repair_model`` (without a budget) starts unlearning from: the model
    class fitted on the rows its last removal round kept (deterministic, so refitting
    gives the pipeline's own)."""
    kept = ~result.rounds[-1]
    return result.before.clone(with_curvature=False).fit(train[0][kept], train[1][kept])


def run_pipeline(
    kind: str,
    train: Split,
    val: Split,
    test: Split,
    is_error: np.ndarray,
    seed: int,
    shrink: float = EXPECTED_ERRORS_SHRINK,
) -> tuple[dict[str, float], Any]:
    result = repair_model(
        train,
        val,
        model=kind,
        test=test,
        shrink=shrink,
        random_state=seed,
    )
    report = dict(result.report)
    clean = result.before.clone(with_curvature=False).fit(train[0][~is_error], train[1][~is_error])
    report["test_accuracy_clean"] = accuracy(clean, test)
    # Per round, as repair_model would end there (the rows a model trained on the rows
    # kept gives their label re-admitted): k, the retrained gap to retraining without the
    # injected rows.
    for number, rounds_mask in enumerate(result.rounds, start=1):
        kept = result.before.clone(with_curvature=False).fit(
            train[0][~rounds_mask], train[1][~rounds_mask]
        )
        mask = readmit(train[1], rounds_mask, kept.predict(train[0][rounds_mask]))
        retrained = result.before.clone(with_curvature=False).fit(train[0][~mask], train[1][~mask])
        report[f"k_round_{number}"] = float(mask.sum())
        report[f"readmitted_round_{number}"] = float(rounds_mask.sum() - mask.sum())
        report[f"retrained_gap_round_{number}"] = accuracy(retrained, test) - accuracy(clean, test)
        report[f"found_round_{number}"] = float((mask & is_error).sum())
    report["gap_to_clean"] = report["test_accuracy_after"] - report["test_accuracy_clean"]
    report["auc_default"] = float(roc_auc_score(is_error, result.scores))
    report["unlearn_over_retrain"] = time_ratio(
        rounds_kept_model(result, train), train, result.removed
    )
    report["n_injected"] = float(is_error.sum())
    report["k_over_injected"] = report["k_removed"] / report["n_injected"]
    report["shrink"] = shrink
    return report, result


def method_aucs(
    kind: str, train: Split, val: Split, is_error: np.ndarray, seed: int
) -> dict[str, float]:
    """Identification AUC of every method; failures = all validation rows the model gets wrong."""
    n_classes = int(max(train[1].max(), val[1].max())) + 1
    model = make_classifier(kind, train[0], n_classes=n_classes, random_state=seed).fit(*train)
    wrong = model.predict(val[0]) != val[1]
    failures = (val[0][wrong], val[1][wrong])
    return {
        method: float(
            roc_auc_score(is_error, find_harmful_examples(model, train, failures, method=method))
        )
        for method in HARM_METHODS
    }


#: Not a method: L-BFGS warm-started where ``finetune`` starts, run to the retraining fit's own
#: tolerance and iteration cap (what ``finetune`` would be if it ran to convergence).
TO_TOLERANCE = "finetune to retraining's tolerance"


def unlearning_rows(kind: str, result: Any, train: Split, test: Split) -> list[dict[str, Any]]:
    """Each unlearning method on the pipeline's removal set (and :data:`TO_TOLERANCE`):
    accuracy, cold and warm time. ``finetune`` and :data:`TO_TOLERANCE` start where the
    pipeline starts ``finetune`` (:func:`rounds_kept_model`), the others from θ*, whose
    curvature they need."""
    rows = []
    oracle_accuracy = accuracy(result.oracle, test)
    kept = (train[0][~result.removed], train[1][~result.removed])
    kept_model = rounds_kept_model(result, train)

    def run(method: str, fresh: Any) -> Any:
        if method == TO_TOLERANCE:
            return fresh.clone(with_curvature=False).fit(*kept, warm_start=True)
        return unlearn(fresh, train, result.removed, method=method)

    for method in (*UNLEARN_METHODS, TO_TOLERANCE):
        if kind == "mlp" and method == "newton":
            continue  # the exact P×P Hessian of a 2,410-parameter MLP: seconds, and indefinite
        start = kept_model if method in ("finetune", TO_TOLERANCE) else result.before
        fresh = start.clone(with_curvature=False)
        repaired, cold = timed(lambda m=method, f=fresh: run(m, f))
        _, warm = timed(lambda m=method, f=fresh: run(m, f))
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


#: (report key, column, format) of the main table.
CASE_METRICS = (
    ("auc_default", "AUC", ".3f"),
    ("n_injected", "injected", ".0f"),
    ("k_removed", "k chosen", ".0f"),
    ("k_over_injected", "k / injected", ".2f"),
    ("k_readmitted", "re-admitted", ".0f"),
    ("test_accuracy_before", "acc before", ".3f"),
    ("test_accuracy_after", "acc repaired", ".3f"),
    ("test_accuracy_oracle", "acc retrained w/o removed", ".3f"),
    ("test_accuracy_clean", "acc retrained w/o injected", ".3f"),
    ("gap_to_clean", "repaired − w/o injected", "+.3f"),
    ("heldout_failure_accuracy_after", "held-out failures fixed", ".2f"),
    ("retention", "retention", ".3f"),
)


def case_table(reports: dict[str, list[dict[str, float]]]) -> pd.DataFrame:
    """One row per case: mean ± sd over seeds, the time ratio as a median."""
    rows = []
    for case, runs in reports.items():
        frame = pd.DataFrame(runs)
        row: dict[str, str] = {"case": case}
        for key, label, fmt in CASE_METRICS:
            row[label] = mean_sd(frame[key], fmt)
        row["unlearn / retrain"] = f"{frame['unlearn_over_retrain'].median():.0%}"
        row["rounds"] = f"{frame['rounds'].min():.0f}–{frame['rounds'].max():.0f}"
        row["shrink (LOCO)"] = f"{frame['shrink'].iloc[0]:.2f}"
        rows.append(row)
    return pd.DataFrame(rows).set_index("case").T.reset_index(names="metric")


#: Shrinks tried when choosing one leave-one-case-out.
SHRINKS = (0.9, 1.0, 1.1)
#: The targets of issue 15 the leave-one-case-out choice counts.
K_TOLERANCE = 0.3
ACCURACY_TOLERANCE = 0.015
TIME_TOLERANCE = 0.20


def at_round(run: dict[str, float], name: str, rounds: int | None = None) -> float:
    """``name`` of ``run`` stopped after ``rounds`` rounds (or its last, when fewer ran or
    ``rounds`` is None)."""
    last = int(run["rounds"])
    return run[f"{name}_round_{last if rounds is None else min(rounds, last)}"]


def shortfall(runs: list[dict[str, float]]) -> float:
    """How far one case's runs miss the targets (0 = both met): the mean k's distance
    outside ±30% of the injected count, in units of 30%, plus the mean gap of retraining
    without the removed rows to retraining without the injected rows beyond 1.5 points,
    in units of 1.5 points."""
    ratio = np.mean([at_round(run, "k") / run["n_injected"] for run in runs])
    gap = np.mean([at_round(run, "retrained_gap") for run in runs])
    return float(
        max(0.0, abs(ratio - 1.0) - K_TOLERANCE) / K_TOLERANCE
        + max(0.0, -gap - ACCURACY_TOLERANCE) / ACCURACY_TOLERANCE
    )


def loco_choice(grid: dict[tuple[str, float], list[dict[str, float]]], held_out: str) -> float:
    """The shrink with the least total :func:`shortfall` on every injected case but
    ``held_out`` (ties: the library's EXPECTED_ERRORS_SHRINK, or the shrink nearest it).

    With no other injected case in the grid (``--cases`` naming one, or music alone)
    every shrink sums 0 and the library's constant is kept: nothing was chosen."""
    others = {case for case, _ in grid if case != held_out and not case.startswith("music/")}
    return min(
        SHRINKS,
        key=lambda shrink: (
            sum(shortfall(grid[case, shrink]) for case in others),
            abs(shrink - EXPECTED_ERRORS_SHRINK),
        ),
    )


def unchosen(grid: dict[tuple[str, float], list[dict[str, float]]]) -> list[str]:
    """The cases whose shrink :func:`loco_choice` had no other injected case to choose on."""
    injected = {case for case, _ in grid if not case.startswith("music/")}
    return sorted({case for case, _ in grid if not injected - {case}})


def grid_task(task: tuple[str, int, str, float]) -> tuple[str, dict[str, float]]:
    """One (case, seed) repaired with one shrink: (case, report)."""
    kind, seed, case, shrink = task
    set_torch_threads(1)
    train, val, test, is_error = case_data(seed, case)
    return case, run_pipeline(kind, train, val, test, is_error, seed, shrink)[0]


def diagnose(grid: dict[tuple[str, float], list[dict[str, float]]], markdown: bool) -> None:
    """Per case and round (the default shrink, as far as the rounds ran; a run that
    stopped earlier counts with its last round): k, flips found, retrained gap."""
    rows = []
    for (case, shrink), runs in grid.items():
        if shrink != EXPECTED_ERRORS_SHRINK:
            continue
        for number in range(1, max(int(run["rounds"]) for run in runs) + 1):

            def pick(name: str, number: int = number, runs: list = runs) -> pd.Series:
                return pd.Series([at_round(run, name, number) for run in runs])

            rows.append(
                {
                    "case": case,
                    "rounds": number,
                    "injected": f"{np.mean([run['n_injected'] for run in runs]):.0f}",
                    "k": mean_sd(pick("k"), ".0f"),
                    "re-admitted": mean_sd(pick("readmitted"), ".0f"),
                    "flips found": mean_sd(pick("found"), ".0f"),
                    "retrained w/o removed − w/o injected": mean_sd(pick("retrained_gap"), "+.3f"),
                }
            )
    show(pd.DataFrame(rows), f"Per round, shrink {EXPECTED_ERRORS_SHRINK}", markdown)


def details(kind: str, seeds: int, markdown: bool) -> None:
    """Identification AUC of every method on the digits cases."""
    aucs: dict[str, list[dict[str, float]]] = {}
    with console.status("Details…") as status:
        for seed in range(seeds):
            for case, train, val, _, is_error in cases(seed):
                if not case.startswith("digits/"):
                    continue
                status.update(f"details: {case} seed {seed}")
                aucs.setdefault(case, []).append(method_aucs(kind, train, val, is_error, seed))
    auc_rows = []
    for method in HARM_METHODS:
        row = {"method": method}
        for case, runs in aucs.items():
            row[case] = mean_sd(pd.DataFrame(runs)[method])
        auc_rows.append(row)
    show(pd.DataFrame(auc_rows), f"{kind}: identification AUC per method", markdown)


def iteration_rows(
    result: Any, train: Split, test: Split, clean_accuracy: float, iterations: list[int]
) -> list[dict[str, float]]:
    """``finetune`` with each count of L-BFGS iterations on the pipeline's removal set,
    warm-started where the pipeline starts it (without a budget, the model of the last
    round's rows kept: :func:`rounds_kept_model`): test accuracy minus retraining without
    the same rows and without the injected rows, and the time over retraining's (the
    counts and retraining alternated, medians)."""
    kept = (train[0][~result.removed], train[1][~result.removed])
    start = rounds_kept_model(result, train)
    calls: dict[Any, Callable[[Any], Any]] = {
        count: lambda model, n=count: model.fit(*kept, max_iter=n, warm_start=True)
        for count in iterations
    }
    calls["retrain"] = lambda model: model.fit(*kept)
    seconds = alternated_seconds(lambda: start.clone(with_curvature=False), calls)
    rows = []
    for count in iterations:
        tuned = accuracy(calls[count](start.clone(with_curvature=False)), test)
        rows.append(
            {
                "iterations": count,
                "gap_to_oracle": tuned - accuracy(result.oracle, test),
                "gap_to_clean": tuned - clean_accuracy,
                "time_ratio": seconds[count] / seconds["retrain"],
            }
        )
    return rows


def iteration_shortfall(runs: list[dict[str, float]], iterations: int) -> float:
    """How far one case's runs of ``finetune`` with this many iterations miss issue 15's
    targets (0 = both met): the mean accuracy gap to retraining without the injected rows
    beyond 1.5 points, in units of 1.5 points, plus the median time ratio beyond 20%, in
    units of 20%."""
    picked = [run for run in runs if run["iterations"] == iterations]
    gap = np.mean([run["gap_to_clean"] for run in picked])
    ratio = np.median([run["time_ratio"] for run in picked])
    return float(
        max(0.0, -gap - ACCURACY_TOLERANCE) / ACCURACY_TOLERANCE
        + max(0.0, ratio - TIME_TOLERANCE) / TIME_TOLERANCE
    )


def iteration_choice(runs: dict[str, list[dict[str, float]]], held_out: str) -> int:
    """The iteration count with the least total :func:`iteration_shortfall` on every
    injected case but ``held_out`` (ties: more iterations, nearer retraining)."""
    others = [case for case in runs if case != held_out and not case.startswith("music/")]
    counts = sorted({int(run["iterations"]) for case_runs in runs.values() for run in case_runs})
    return min(
        counts, key=lambda n: (sum(iteration_shortfall(runs[case], n) for case in others), -n)
    )


def iteration_table(runs: dict[str, list[dict[str, float]]], markdown: bool) -> None:
    """Per case and iteration count: mean gap to retraining without the injected rows
    (without the same rows), median time ratio; and the count chosen leave-one-case-out."""
    table = []
    for case, case_runs in runs.items():
        frame = pd.DataFrame(case_runs)
        row = {"case": case}
        for count, group in frame.groupby("iterations"):
            row[str(count)] = (
                f"{100 * group['gap_to_clean'].mean():+.1f} "
                f"({100 * group['gap_to_oracle'].mean():+.1f}), "
                f"{group['time_ratio'].median():.0%}"
            )
        row["chosen (LOCO)"] = str(iteration_choice(runs, case))
        table.append(row)
    show(
        pd.DataFrame(table),
        "finetune by L-BFGS iterations: repaired − retrained w/o injected (− w/o the same "
        "rows), points; time / retraining (median)",
        markdown,
    )
    console.print(
        f"On every injected case: {iteration_choice(runs, held_out='')} iterations "
        f"(library: {FINETUNE_ITERATIONS})"
    )


def unlearning_task(
    task: tuple[str, int, str, list[int]],
) -> tuple[str, list[dict[str, Any]], list[dict[str, float]]]:
    """One (case, seed) repaired with the library defaults, then every unlearning method
    on its removal set, and ``finetune`` with each iteration count asked for: (case,
    method rows, iteration rows)."""
    kind, seed, case, iterations = task
    set_torch_threads(1)
    train, val, test, is_error = case_data(seed, case)
    report, result = run_pipeline(kind, train, val, test, is_error, seed)
    counts = iteration_rows(result, train, test, report["test_accuracy_clean"], iterations)
    return case, unlearning_rows(kind, result, train, test), counts


def unlearning_table(
    kind: str,
    seeds: int,
    names: list[str],
    workers: int,
    markdown: bool,
    iterations: list[int] | None = None,
) -> None:
    """Every unlearning method on the removal set the pipeline chose, per case: accuracy
    against retraining without the same rows (mean ± sd, the worst seed), cold time (the
    first request, computing the full-data curvature) and warm time (with it cached;
    medians, and the ratio of medians to retraining's within the case); with
    ``iterations``, also :func:`iteration_table`."""
    tasks = [(kind, seed, case, iterations or []) for case in names for seed in range(seeds)]
    unlearning: dict[str, list[dict[str, Any]]] = {}
    counts: dict[str, list[dict[str, float]]] = {}
    with ProcessPoolExecutor(workers) as pool, console.status("Unlearning…") as status:
        for done, (case, rows, count_rows) in enumerate(pool.map(unlearning_task, tasks), start=1):
            status.update(f"unlearning: {done}/{len(tasks)} runs")
            unlearning.setdefault(case, []).extend(rows)
            counts.setdefault(case, []).extend(count_rows)
    unlearn_rows = []
    for case, rows in unlearning.items():
        frame = pd.DataFrame(rows)
        retrain_median = frame.loc[frame["method"] == "retrain", "seconds_warm"].median()
        for method, group in frame.groupby("method", sort=False):
            unlearn_rows.append(
                {
                    "case": case,
                    "method": method,
                    "test acc": mean_sd(group["test_accuracy"]),
                    "− retrained": mean_sd(group["gap_to_oracle"], "+.3f"),
                    "worst seed": f"{group['gap_to_oracle'].min():+.3f}",
                    "s cold (median)": f"{group['seconds_cold'].median():.3f}",
                    "s warm (median)": f"{group['seconds_warm'].median():.3f}",
                    "warm / retrain": f"{group['seconds_warm'].median() / retrain_median:.0%}",
                }
            )
    show(pd.DataFrame(unlearn_rows), f"{kind}: unlearning methods on the chosen rows", markdown)
    if iterations:
        iteration_table(counts, markdown)


def small_cnn(seed: int) -> Any:
    """Two 3×3 conv layers (16, 32 channels, max-pooling), a 64-wide dense layer, 10 logits;
    initialised from a seeded generator."""
    import torch
    from torch import nn

    generator = torch.Generator().manual_seed(seed)
    module = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )
    with torch.no_grad():
        for param in module.parameters():
            if param.ndim > 1:
                bound = 1.0 / np.sqrt(param[0].numel())
                param.copy_((torch.rand(param.shape, generator=generator) * 2 - 1) * bound)
            else:
                param.zero_()
    return module


def cnn_run(seed: int, noise: float = 0.15) -> dict[str, float]:
    """A small CNN on the 8×8 digit images with ``noise`` random flips: identify with the
    output layer, unlearn (output layer refitted; 2 epochs of the whole network), retrain,
    retrain without the flips."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from labelmend.repair import (
        NetworkClassifier,
        choose_k,
        network_harm,
        network_out_of_fold_probs,
        unlearn_network,
    )

    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
    true = digits.target.astype(np.intp)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(true))
    train, val, test = order[:898], order[898:1437], order[1437:]
    labels = flip_labels(true[train], 10, noise, random_state=rng)
    is_error = labels != true[train]

    def loader(rows: np.ndarray, given: np.ndarray, shuffle: bool = False) -> Any:
        dataset = TensorDataset(images[rows], torch.as_tensor(given))
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(dataset, batch_size=64, shuffle=shuffle, generator=generator)

    def network() -> Any:
        return NetworkClassifier(small_cnn(seed), n_classes=10, epochs=15, learning_rate=3e-3)

    def test_accuracy(model: Any) -> float:
        return float(np.mean(model.predict(images[test]) == true[test]))

    trained = network().fit(loader(train, labels, shuffle=True))
    probs = network_out_of_fold_probs(trained, images[train], labels, random_state=seed)
    wrong = val[trained.predict(images[val]) != true[val]]
    scores, seconds_identify = timed(
        lambda: network_harm(
            trained, loader(train, labels), loader(wrong, true[wrong]), pred_probs=probs
        )
    )
    k, _ = choose_k(labels, probs)
    removed = np.zeros(len(train), dtype=bool)
    removed[np.argsort(-scores, kind="stable")[:k]] = True
    retained = loader(train[~removed], labels[~removed], shuffle=True)
    report = {
        "auc": float(roc_auc_score(is_error, scores)),
        "n_injected": float(is_error.sum()),
        "k_removed": float(k),
        "acc_before": test_accuracy(trained),
        "seconds_identify": seconds_identify,
    }
    for method in ("last_layer", "finetune", "retrain"):
        repaired, seconds = timed(
            lambda m=method: unlearn_network(
                trained, loader(train, labels), retained, removed, method=m
            )
        )
        report[f"acc_{method}"] = test_accuracy(repaired)
        report[f"seconds_{method}"] = seconds
    clean = network().fit(loader(train[~is_error], labels[~is_error], shuffle=True))
    report["acc_clean"] = test_accuracy(clean)
    return report


def cnn_table(seeds: int, markdown: bool) -> None:
    """Mean ± sd over seeds of :func:`cnn_run`; time ratios as medians."""
    with console.status("CNN on 8×8 digits…") as status:
        runs = []
        for seed in range(seeds):
            status.update(f"CNN seed {seed}")
            runs.append(cnn_run(seed))
    frame = pd.DataFrame(runs)
    rows = [
        ("AUC (output-layer default score)", mean_sd(frame["auc"])),
        (
            "injected / k chosen",
            f"{frame['n_injected'].mean():.0f} / {mean_sd(frame['k_removed'], '.0f')}",
        ),
        ("test acc before", mean_sd(frame["acc_before"])),
        ("test acc, output layer refitted", mean_sd(frame["acc_last_layer"])),
        ("test acc, 2 epochs of the whole network", mean_sd(frame["acc_finetune"])),
        ("test acc, retrained w/o removed", mean_sd(frame["acc_retrain"])),
        ("test acc, retrained w/o injected", mean_sd(frame["acc_clean"])),
        (
            "time output layer / retrain (median)",
            f"{(frame['seconds_last_layer'] / frame['seconds_retrain']).median():.0%}",
        ),
        (
            "time 2 epochs / retrain (median)",
            f"{(frame['seconds_finetune'] / frame['seconds_retrain']).median():.0%}",
        ),
    ]
    show(
        pd.DataFrame(rows, columns=["metric", "value"]),
        f"Small CNN on 8×8 digits, 15% random flips, {seeds} seeds",
        markdown,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--model", default="linear", choices=("linear", "mlp"))
    parser.add_argument("--markdown", action="store_true", help="also print markdown tables")
    parser.add_argument(
        "--details", action="store_true", help="also every identification / unlearning method"
    )
    parser.add_argument("--cnn", action="store_true", help="only the small CNN on digit images")
    parser.add_argument(
        "--diagnose", action="store_true", help="also k, flips found and gap per round"
    )
    parser.add_argument(
        "--unlearning",
        action="store_true",
        help="only every unlearning method on the default pipeline's removal set (--cases)",
    )
    parser.add_argument(
        "--iterations",
        type=int,
        nargs="+",
        metavar="N",
        help="with --unlearning: also finetune with each of these L-BFGS iteration counts, "
        "and the count chosen leave-one-case-out",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for the runs")
    parser.add_argument("--save", type=Path, help="also write every run's report as JSON")
    parser.add_argument(
        "--cases", nargs="+", metavar="CASE", help="only these cases (all by default)"
    )
    args = parser.parse_args()
    set_torch_threads(1)
    if args.cnn:
        cnn_table(args.seeds, args.markdown)
        return
    if not MUSIC.is_dir():
        console.print(f"music genre skipped: {MUSIC} not found")
    names = [case for case, *_ in cases(0) if args.cases is None or case in args.cases]
    if not names:
        parser.error(f"--cases: none of {args.cases} is a case")
    if args.unlearning:
        unlearning_table(
            args.model, args.seeds, names, args.workers, args.markdown, args.iterations
        )
        return
    tasks = [
        (args.model, seed, case, shrink)
        for shrink in SHRINKS
        for seed in range(args.seeds)
        for case in names
    ]
    grid: dict[tuple[str, float], list[dict[str, float]]] = {}
    with ProcessPoolExecutor(args.workers) as pool, console.status("Repairing…") as status:
        for done, (case, report) in enumerate(pool.map(grid_task, tasks), start=1):
            status.update(f"grid: {done}/{len(tasks)} runs")
            grid.setdefault((case, report["shrink"]), []).append(report)
    choices = {case: loco_choice(grid, case) for case in names}
    held_out = {case: grid[case, choices[case]] for case in names}
    show(
        case_table(held_out),
        f"Repair ({args.model} head, default identification, finetune unlearning), "
        f"{args.seeds} seeds, mean ± sd; k from the expected errors counted again on the "
        "rows kept until half a round is given back, shrink chosen leave-one-case-out",
        args.markdown,
    )
    injected = [case for case in names if not case.startswith("music/")]
    held_out_shortfall = sum(shortfall(held_out[case]) for case in injected)
    console.print(
        f"On every injected case: shrink {loco_choice(grid, held_out=''):.2f} (library "
        f"default: {EXPECTED_ERRORS_SHRINK:.2f}); summed held-out shortfall "
        f"{held_out_shortfall:.2f}; ties go to the library default"
    )
    if unchosen(grid):
        console.print(
            f"No other injected case to choose the shrink on for {', '.join(unchosen(grid))}: "
            f"the library default {EXPECTED_ERRORS_SHRINK:.2f} (run more --cases to choose it)"
        )
    if args.diagnose:
        diagnose(grid, args.markdown)
    if args.save:
        grid_runs = {f"{case}, shrink {shrink}": runs for (case, shrink), runs in grid.items()}
        runs = {"grid": grid_runs, "held_out": held_out}
        args.save.write_text(json.dumps(runs, indent=1, default=float))
    if args.details:
        details(args.model, args.seeds, args.markdown)
        digits = [case for case in names if case.startswith("digits/")]
        unlearning_table(args.model, args.seeds, digits, args.workers, args.markdown)


if __name__ == "__main__":
    main()
