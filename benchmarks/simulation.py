"""Relabelling-budget studies on real annotator data: the targets of the simulator.

Data: ../shared/data (CIFAR-10H counts + label-errors CIFAR-10 out-of-fold probabilities,
music genre, CIFAR-10N). Prints one table per study (mean ± sd over seeds), the target
checks, and the speed of a 6 selectors × 10 seeds study against a per-annotation Python
loop of the same protocol (the way the paper's code relabels).

    python benchmarks/simulation.py [--seeds 10] [--out DIR] [--markdown] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markdown import Markdown

from labelmend.cleaner import RANKING_METHODS, dawid_skene, expected_annotations
from labelmend.simulator import AnnotatorModel, Features, initial_labels, sharpened
from labelmend.simulator.datasets import cifar10n, music_genre
from labelmend.simulator.relabel import outcome_probabilities
from labelmend.simulator.report import summary_markdown, write_study
from labelmend.simulator.study import NoiseLevel, StudyResult, run_study

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
console = Console(width=160)
CHECKS = ("noise_fixed@5%", "noise_fixed@10%", "noise_fixed@20%")


def show(title: str, study: StudyResult, args: argparse.Namespace, name: str) -> None:
    text = f"## {title}\n\n" + summary_markdown(study)
    console.print(Markdown(text))
    if args.markdown:
        print(text)
    if args.out:
        write_study(study, Path(args.out) / name)


def cifar10h() -> tuple[AnnotatorModel, np.ndarray]:
    counts = np.load(DATA / "cifar-10h" / "cifar10h-counts.npy")
    probs = np.load(
        DATA / "label-errors/cross_validated_predicted_probabilities/cifar10_test_set_pyx.npy"
    )
    return AnnotatorModel.from_counts(counts), probs


def expected_random(annotators: AnnotatorModel, temperature: float) -> list[float]:
    """Exact expectation of random review: gain and cost averaged over the initial draw."""
    rows = np.arange(annotators.n_samples)
    initial_dist = sharpened(annotators.probs, temperature)
    gain = cost = 0.0
    for label in range(annotators.n_classes):
        current = np.full(annotators.n_samples, label)
        weight = initial_dist[:, label]
        fixed = outcome_probabilities(annotators.probs, current)[rows, annotators.true_labels]
        gain += weight * (fixed - (annotators.true_labels == label))
        cost += weight * expected_annotations(annotators.probs, current)
    wrong = 1.0 - initial_dist[rows, annotators.true_labels].mean()
    per_annotation = float(np.mean(gain) / np.mean(cost))
    return [f * per_annotation / wrong for f in (0.05, 0.10, 0.20)]


def check_targets(study: StudyResult, annotators: AnnotatorModel) -> None:
    means = study.runs.groupby("selector")[list(CHECKS)].mean()
    random, oracle, default = means.loc["random"], means.loc["oracle"], means.loc["default"]
    exact = expected_random(annotators, 2.0)
    rankers = [name for name in means.index if name not in ("random", "oracle")]
    lines = [
        f"η (initial noise) = {study.runs['initial_noise'].mean():.2%}",
        "random fixes (simulated) "
        + " / ".join(f"{v:.2%}" for v in random)
        + "; exact expectation "
        + " / ".join(f"{v:.2%}" for v in exact)
        + "; reference 3.3% / 6.8% / 13.1%",
        f"oracle ≥ every ranking at every checkpoint: "
        f"{bool((means.loc[rankers] <= oracle).all().all())}",
        f"default / random at 5% N: {default.iloc[0] / random.iloc[0]:.2f}x simulated, "
        f"{default.iloc[0] / exact[0]:.2f}x the exact random expectation (target ≥ 5x)",
        f"default / oracle at 10% N: {default.iloc[1] / oracle.iloc[1]:.1%} (target ≥ 90%)",
        "default − ce_minus_entropy at 5/10/20% N: "
        + " / ".join(f"{d:+.2%}" for d in default - means.loc["ce_minus_entropy"])
        + " (target ≥ 0 each)",
    ]
    console.print("\n".join(lines))


def naive_relabel_seconds(annotators: AnnotatorModel, budget: int) -> float:
    """One random-order run with a Python loop per annotation, as the paper's code does."""
    rng = np.random.default_rng(0)
    labels = initial_labels(annotators, temperature=2.0, random_state=0)
    start = time.perf_counter()
    spent = 0
    for sample in rng.permutation(annotators.n_samples):
        votes = np.zeros(annotators.n_classes, dtype=int)
        votes[labels[sample]] += 1
        while True:
            votes[rng.choice(annotators.n_classes, p=annotators.probs[sample])] += 1
            spent += 1
            if (votes == votes.max()).sum() == 1:
                break
        labels[sample] = votes.argmax()
        if spent >= budget:
            break
    return time.perf_counter() - start


def speed(annotators: AnnotatorModel, probs: np.ndarray) -> None:
    selectors = ["random", "oracle", "default", "cross_entropy", "ce_minus_entropy", "activelab"]
    start = time.perf_counter()
    run_study(annotators, pred_probs=probs, selectors=selectors, seeds=10, budget=0.3)
    ours = time.perf_counter() - start
    naive = naive_relabel_seconds(annotators, round(0.3 * annotators.n_samples))
    console.print(
        f"Speed: 6 selectors × 10 seeds × N = {annotators.n_samples:,}, budget 30% of N: "
        f"{ours:.1f} s on local processes (target < 60 s). The relabel loop alone, one "
        f"annotation at a time in Python: {naive:.2f} s per run, {60 * naive:.0f} s for the "
        f"60 runs (before any ranking)."
    )


def music(args: argparse.Namespace) -> None:
    data = music_genre(DATA / "music-genre")
    fit = dawid_skene(data.annotations, n_classes=len(data.classes))
    rows, annotators = np.nonzero(data.annotations >= 0)
    votes = np.zeros((len(data.true_labels), len(data.classes)))
    np.add.at(votes, (rows, data.annotations[rows, annotators]), 1)
    console.print(
        f"Music genre: {data.annotations.shape[1]} annotators; Dawid–Skene labels "
        f"{(fit.labels == data.true_labels).mean():.1%} right, majority vote "
        f"{(votes.argmax(axis=1) == data.true_labels).mean():.1%}."
    )
    study = run_study(
        AnnotatorModel.from_dawid_skene(fit, data.true_labels),
        features=Features(data.features, data.test_features, data.test_labels),
        selectors=["random", "oracle", "default", "ce_minus_entropy"],
        noise_levels=[NoiseLevel(temperature=1.0)],
        seeds=args.seeds // 2 or 1,
        budget=0.3,
        batch_sizes=[None, 35],
    )
    show("Music genre: Dawid–Skene annotators, retrained model", study, args, "music-genre")


def cifar10n_annotators(args: argparse.Namespace, probs: np.ndarray, truth: np.ndarray) -> None:
    data = cifar10n(DATA / "cifar-10n")
    fit = dawid_skene(data.annotations)
    majority = np.zeros((len(data.true_labels), 10))
    for m in range(3):
        majority[np.arange(len(data.true_labels)), data.annotations[:, m]] += 1
    console.print(
        f"CIFAR-10N: Dawid–Skene labels {(fit.labels == data.true_labels).mean():.2%} right, "
        f"majority vote {(majority.argmax(axis=1) == data.true_labels).mean():.2%}; "
        f"per-annotator accuracy {np.mean([np.trace(c) / 10 for c in fit.confusions]):.1%}."
    )
    study = run_study(
        AnnotatorModel.from_dawid_skene(fit, truth),
        pred_probs=probs,
        selectors=["random", "oracle", "default", "ce_minus_entropy"],
        noise_levels=[NoiseLevel(temperature=1.0)],
        seeds=args.seeds // 2 or 1,
        budget=0.3,
    )
    show("CIFAR-10 test images answered by CIFAR-10N's annotators", study, args, "cifar-10n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", help="also write each study's files into this directory")
    parser.add_argument("--markdown", action="store_true", help="also print raw markdown")
    parser.add_argument("--quick", action="store_true", help="skip the slow active ActiveLab runs")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}")
    annotators, probs = cifar10h()
    selectors = ["random", "oracle", "default", *RANKING_METHODS, "activelab"]
    selectors.remove("errors_per_annotation")  # = default
    static = run_study(annotators, pred_probs=probs, selectors=selectors, seeds=args.seeds)
    show("CIFAR-10H, T = 2, static (the paper's setting)", static, args, "cifar-10h-static")
    check_targets(static, annotators)
    speed(annotators, probs)
    active_selectors = ["random", "oracle", "default", "ce_minus_entropy"]
    if not args.quick:
        active_selectors.append("activelab")
    active = run_study(
        annotators,
        pred_probs=probs,
        selectors=active_selectors,
        seeds=max(args.seeds // 3, 1),
        batch_sizes=[500],
    )
    show(
        "CIFAR-10H, T = 2, active (re-rank every 500 annotations)", active, args, "cifar-10h-active"
    )
    music(args)
    cifar10n_annotators(args, probs, annotators.true_labels)


if __name__ == "__main__":
    main()
