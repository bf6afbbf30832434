"""Ranking quality on real human label noise where every sample's true label is known.

Sets, built from ../shared/data (5 seeds each: the annotator drawn, plurality ties, CV
folds):

- ``cifar10-orig``: given = the original CIFAR-10 test labels; truth = the plurality of
  CIFAR-10H's ~51 human labels per image.
- ``cifar10h-1vote``: given = one CIFAR-10H vote; truth = the plurality of the others.
- ``cifar10h-T1``, ``-T1.5``, ``-T2``: given = one draw from the CIFAR-10H vote
  distribution sharpened to temperature T (the active label cleaning paper's initial
  labels); truth = the plurality of all votes.
- ``music-1ann``: given = one random real annotator's label per song; truth = gold.
- ``music-mv``: given = the annotators' majority vote; truth = gold.
- ``dog-1ann``, ``face-1ann``, ``product-1ann``: the truth-inference sets of Zheng et al.
  (:func:`labelmend.datasets.truth_inference`; 807 / 584 / 8,315 items with 10 / 9 / 3
  workers' answers each); given = one random worker's answer per item; truth = gold.
  They have no features: the probabilities are the shares of the item's *other*
  answers, a crowd's estimate of the label rather than of the truth. No constant was
  ever chosen on them: they are held out of every choice below.
- ``digits/…``, ``cancer/…``: synthetic noise on scikit-learn's digits and breast
  cancer (:func:`injected_sets`), a third group for the choice of the error rate's
  prior only.

Probabilities: the label-errors study's out-of-fold CIFAR-10 probabilities for the
CIFAR sets; for music (and the injected sets), 5-fold stratified out-of-fold logistic
regression on the standardised features, C chosen by out-of-fold log-loss on the *given* labels
(:func:`labelmend.fitting.select_regularisation`; cached in benchmarks/results/).

Per order (ours: the queue's default priority and p_error, ``rank``'s default; cleanlab's three
``get_label_quality_scores`` and ``find_label_issues``, same run): true errors in the top
k, 2k and 5% of N (k = number of true errors), AUROC and AP; for p_error: Σ p_error
against the true count and the expected errors in the top k and 2k (Σ p_error over them)
against those found. Means ± sd over seeds; a reliability diagram of p_error (PNG).
Last, p_error's two constants, each chosen by leave-one-group-out on p_error's targets
with the other at its shipped value, with the held-out numbers: the noise matrix's
prior on the real-noise groups (the CIFAR-10 sets, which share images, and the music
sets, which share annotators), and the error rate's prior on those and a third group of
injected noise (digits and breast cancer, :func:`injected_sets`: small data with
probabilities fitted on it). The targets include Σ p_error on subsamples of each set.
The truth-inference sets take part in no choice.

    python benchmarks/quality.py [--seeds 5] [--workers 2] [--markdown] [--json] [--plot PATH]

Each seed's sets are split in :data:`PARTS` (each CIFAR-10 set alone, the rest together),
shared by ``--workers`` processes, each with BLAS on one thread and the ranking engine on
that thread too; the numbers do not depend on how many. About 42 s of CPU for 5 seeds
with the fits cached (user + sys, median of 6 runs; three quarters of it the sweep of
the priors for the leave-one-group-out choices, mostly fit_temperature's EM): 31–62 s of
wall time, median 38 s, at load average 2–4 on the 2 shared cores (another helper's
test suites), 25 s at load average 1.0–1.4 (38 s of CPU; one run, the coordinator's). The first run also fits (2 + 8) × 5 × 25
logistic regressions: 59 s of CPU and 43 s of wall time at load average 2. Before
fit_temperature's EM stopped recomputing what did not change and the parts replaced
whole seeds: 70–74 s of CPU and 81–97 s of wall time at load average 3–5 (the same
tables, byte for byte).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import average_precision_score, roc_auc_score
from threadpoolctl import threadpool_limits

from _orders import FIND_LABEL_ISSUES, OURS_DEFAULT, OURS_P_ERROR, order_scores, orders
from labelmend._executor import Workers
from labelmend.cleaner import DEFAULT_METHOD, RANKING_METHODS, BlockScores, fit_noise_model
from labelmend.cleaner.noise import NOISE_PRIOR_STRENGTH, RATE_PRIOR_ROWS
from labelmend.datasets import flip_labels, music_genre, truth_inference
from labelmend.fitting import select_regularisation
from labelmend.simulator import sharpened

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path(__file__).resolve().parent / "results" / "quality-cache"
#: The truth-inference sets, held out of every choice of a constant.
CROWD = ("dog-1ann", "face-1ann", "product-1ann")
SETS = (
    "cifar10-orig",
    "cifar10h-1vote",
    "cifar10h-T1",
    "cifar10h-T1.5",
    "cifar10h-T2",
    "music-1ann",
    "music-mv",
    *CROWD,
)
#: Synthetic noise on real features, for the choice of the priors only (a third group):
#: small data with probabilities fitted on it, where the amount of noise is hardest.
INJECTED_NOISE = ("systematic", "0.05", "0.15", "0.3")
INJECTED = tuple(f"{name}/{noise}" for name in ("digits", "cancer") for noise in INJECTED_NOISE)
#: Columns of the per-order table: (key, header).
ORDER_METRICS = (
    ("p@k", "p@k"),
    ("p@2k", "p@2k"),
    ("p@5%", "p@5% N"),
    ("auroc", "AUROC"),
    ("ap", "AP"),
)
RELIABILITY_BINS = np.linspace(0.0, 1.0, 11)
#: The two constants of p_error, each chosen by leave-one-group-out with the other at
#: its shipped value: the noise matrix's pseudo-counts per class (NOISE_PRIOR_STRENGTH),
#: on the real-noise groups (synthetic flips are uniform or one pair of classes, not the
#: shape real labellers give the noise), and the pseudo-rows of the error rate's prior
#: (RATE_PRIOR_ROWS), on every group (the injected sets are the small data with
#: probabilities fitted on it, where the amount of noise is hardest to estimate).
STRENGTHS = (10.0, 30.0, 100.0, 300.0, 1000.0)
RATE_ROWS = (0.0, 300.0, 1000.0, 3000.0)
PRIORS = tuple(
    dict.fromkeys(
        [(strength, RATE_PRIOR_ROWS) for strength in STRENGTHS]
        + [(NOISE_PRIOR_STRENGTH, rows) for rows in RATE_ROWS]
    )
)
Prior = tuple[float, float]
#: Small data: subsamples of each set of these sizes (those with at least
#: MIN_SUBSAMPLE_ERRORS true errors expected), SUBSAMPLE_DRAWS per seed; the root mean
#: square relative error of Σ p_error over them must stay within SMALL_TOLERANCE.
SUBSAMPLE_SIZES = (100, 300, 3000)
MIN_SUBSAMPLE_ERRORS = 10
SUBSAMPLE_DRAWS = 2
SMALL_TOLERANCE = 0.3


@dataclass(frozen=True)
class NoisySet:
    """One draw of a real-noise set: given labels, truth, out-of-fold probabilities."""

    name: str
    labels: np.ndarray
    truth: np.ndarray
    probs: np.ndarray

    @property
    def is_error(self) -> np.ndarray:
        return self.labels != self.truth


def plurality(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N,) most voted class of each row of ``counts`` (N, K), ties broken at random."""
    top = counts == counts.max(axis=1, keepdims=True)
    return (top * rng.random(counts.shape)).argmax(axis=1)


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N,) one class per row of ``probs`` (N, K)."""
    cdf = np.cumsum(probs, axis=1)
    return np.minimum((rng.random(len(probs))[:, None] * cdf[:, -1:] >= cdf).sum(axis=1), 9)


def cifar_sets(rng: np.random.Generator) -> Iterator[NoisySet]:
    counts = np.load(SHARED / "cifar-10h" / "cifar10h-counts.npy")
    errors = SHARED / "label-errors"
    probs = np.load(errors / "cross_validated_predicted_probabilities/cifar10_test_set_pyx.npy")
    original = np.load(errors / "original_test_labels/cifar10_test_set_original_labels.npy")
    truth = plurality(counts, rng)
    yield NoisySet("cifar10-orig", original.astype(np.intp), truth, probs)
    vote = draw(counts / counts.sum(axis=1, keepdims=True), rng)
    others = counts - np.eye(10, dtype=counts.dtype)[vote]
    yield NoisySet("cifar10h-1vote", vote, plurality(others, rng), probs)
    for temperature in (1, 1.5, 2):
        given = draw(sharpened(counts / counts.sum(axis=1, keepdims=True), temperature), rng)
        yield NoisySet(f"cifar10h-T{temperature:g}", given, truth, probs)


def fitted_probs(tag: str, features: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """Out-of-fold probabilities, C by OOF log-loss on ``labels``; cached on disk."""
    payload = tag.encode() + labels.astype(np.int64).tobytes() + str(seed).encode()
    path = CACHE / f"{tag}-{hashlib.sha1(payload).hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    _, probs = select_regularisation(features, labels, random_state=seed)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, probs)
    return probs


def one_answer(annotations: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N,) column of one random annotator among those who labelled each row of
    ``annotations`` (N, M; -1 = no answer)."""
    answered = annotations >= 0
    return (answered * rng.random(answered.shape)).argmax(axis=1)


def music_sets(rng: np.random.Generator, seed: int) -> Iterator[NoisySet]:
    data = music_genre(SHARED / "music-genre")
    assert data.features is not None
    pick = one_answer(data.annotations, rng)
    one = data.annotations[np.arange(len(pick)), pick]
    yield NoisySet(
        "music-1ann", one, data.true_labels, fitted_probs("music", data.features, one, seed)
    )
    majority = plurality(data.answer_counts(), rng)
    yield NoisySet(
        "music-mv", majority, data.true_labels, fitted_probs("music", data.features, majority, seed)
    )


def crowd_sets(rng: np.random.Generator) -> Iterator[NoisySet]:
    """Each truth-inference set with one random worker's answer per item as the label
    and the shares of the item's other answers as the probabilities."""
    for name in CROWD:
        data = truth_inference(SHARED / "crowd_truth_infer", name.removesuffix("-1ann"))
        rows = np.arange(data.true_labels.size)
        pick = one_answer(data.annotations, rng)
        given = data.annotations[rows, pick]
        others = data.answer_counts() - np.eye(len(data.classes), dtype=np.int64)[given]
        probs = others / others.sum(axis=1, keepdims=True)
        yield NoisySet(name, given, data.true_labels, probs)


def injected_sets(rng: np.random.Generator, seed: int) -> Iterator[NoisySet]:
    """scikit-learn's digits and breast cancer, a random half of the rows (as the
    training half of benchmarks/repair.py), with synthetic noise: 30 % of one class
    relabelled as another, or 5 / 15 / 30 % of the labels flipped to a random other
    class."""
    for name, load in (("digits", load_digits), ("cancer", load_breast_cancer)):
        features, true = load(return_X_y=True)
        rows = rng.permutation(true.size)[: true.size // 2]
        features, true = features[rows], true[rows]
        n_classes = int(true.max()) + 1
        for noise in INJECTED_NOISE:
            if noise == "systematic":
                source, target = rng.choice(n_classes, size=2, replace=False)
                members = np.flatnonzero(true == source)
                given = true.copy()
                given[rng.choice(members, size=round(0.3 * members.size), replace=False)] = target
            else:
                given = flip_labels(true, n_classes, float(noise), random_state=rng)
            probs = fitted_probs(name, features, given, seed)
            yield NoisySet(f"{name}/{noise}", given, true, probs)


def noisy_sets(seed: int) -> Iterator[NoisySet]:
    rng = np.random.default_rng(seed)
    yield from cifar_sets(rng)
    yield from music_sets(rng, seed)
    yield from injected_sets(rng, seed)
    yield from crowd_sets(rng)


def evaluate(data: NoisySet) -> dict[str, object]:
    """Every order's metrics on one draw, plus p_error's calibration and reliability."""
    is_error = data.is_error
    n, k = is_error.size, int(is_error.sum())
    ranked, ours, n_flagged = orders(data.labels, data.probs, n_jobs=1)
    per_order: dict[str, dict[str, float]] = {}
    for method, order in ranked.items():
        score = order_scores(order)
        hits = np.cumsum(is_error[order])
        five = max(1, round(0.05 * n))
        per_order[method] = {
            "p@k": hits[k - 1] / k,
            "p@2k": hits[2 * k - 1] / (2 * k),
            "p@5%": hits[five - 1] / five,
            "auroc": np.nan if method == FIND_LABEL_ISSUES else roc_auc_score(is_error, score),
            "ap": np.nan
            if method == FIND_LABEL_ISSUES
            else average_precision_score(is_error, score),
        }
    calibration = {"true": float(k), "sum p_error": float(ours.p_error.sum())}
    for method in (OURS_DEFAULT, OURS_P_ERROR):
        order = ranked[method]
        expected, hits = np.cumsum(ours.p_error[order]), np.cumsum(is_error[order])
        for top, tag in ((k, "k"), (2 * k, "2k")):
            calibration[f"{method} expected@{tag}"] = float(expected[top - 1])
            calibration[f"{method} found@{tag}"] = float(hits[top - 1])
    calibration["find_label_issues"] = float(n_flagged)
    bins = np.clip(np.digitize(ours.p_error, RELIABILITY_BINS[1:-1]), 0, 9)
    reliability = np.stack(
        [np.bincount(bins, minlength=10), np.bincount(bins, weights=is_error, minlength=10)]
    )
    return {
        "orders": per_order,
        "calibration": calibration,
        "reliability": reliability,
        "sweep": sweep(data),
    }


def p_error_of(labels: np.ndarray, probs: np.ndarray, strength: float, rows: float) -> np.ndarray:
    """(N,) p_error under the priors (``strength`` pseudo-counts, ``rows`` pseudo-rows)."""
    model = fit_noise_model(labels, probs, prior_strength=strength, rate_prior_rows=rows, n_jobs=1)
    return BlockScores(probs, labels, model).p_error


def sweep(data: NoisySet) -> dict[Prior, dict[str, float]]:
    """Our targets' quantities for each pair of priors of :data:`PRIORS`, on the whole
    set and, as the relative errors of Σ p_error (``small@n``), on subsamples of it."""
    is_error = data.is_error
    k = int(is_error.sum())
    out = {}
    for strength, rows in PRIORS:
        block = BlockScores(
            data.probs,
            data.labels,
            fit_noise_model(
                data.labels, data.probs, prior_strength=strength, rate_prior_rows=rows, n_jobs=1
            ),
        )
        p_error = block.p_error
        default = np.argsort(-RANKING_METHODS[DEFAULT_METHOD].priority(block), kind="stable")
        by_error = np.argsort(-p_error, kind="stable")
        found, expected = np.cumsum(is_error[by_error]), np.cumsum(p_error[by_error])
        out[strength, rows] = {
            "default p@k": float(is_error[default[:k]].mean()),
            "p@k": float(is_error[by_error[:k]].mean()),
            "ap": float(average_precision_score(is_error, p_error)),
            "sum": float(p_error.sum() / k),
            "curve@k": float(expected[k - 1] / max(found[k - 1], 1)),
            "curve@2k": float(expected[2 * k - 1] / max(found[2 * k - 1], 1)),
        }
    # Small data: the same subsamples for every pair of priors.
    rng = np.random.default_rng(k)
    for n in SUBSAMPLE_SIZES:
        if n >= is_error.size or n * is_error.mean() < MIN_SUBSAMPLE_ERRORS:
            continue
        draws = [rng.choice(is_error.size, n, replace=False) for _ in range(SUBSAMPLE_DRAWS)]
        for strength, rows in PRIORS:
            out[strength, rows][f"small@{n}"] = [
                p_error_of(data.labels[d], data.probs[d], strength, rows).sum()
                / max(is_error[d].sum(), 1)
                - 1
                for d in draws
            ]
    return out


#: Sets that share images or annotators are held out together.
GROUPS = {
    "cifar10": ("cifar10-orig", "cifar10h-1vote", "cifar10h-T1", "cifar10h-T1.5", "cifar10h-T2"),
    "music": ("music-1ann", "music-mv"),
    "injected": INJECTED,
}


def target_misses(values: dict[str, float], best_ap: float) -> int:
    """How many of p_error's targets one set misses: AP ≥ the best cleanlab AP, Σ within
    ±20 %, the curve within ±10 % at both checkpoints, and on every subsample size the
    root-mean-square relative error of Σ p_error at most 30 % (repair's k target)."""
    small = [key for key in values if key.startswith("rms@")]
    return (
        int(values["ap"] < best_ap)
        + int(abs(values["sum"] - 1) > 0.2)
        + int(abs(values["curve@k"] - 1) > 0.1 or abs(values["curve@2k"] - 1) > 0.1)
        + sum(int(values[key] > SMALL_TOLERANCE) for key in small)
    )


def sweep_means(runs: list[dict]) -> dict[Prior, dict[str, float]]:
    """Per pair of priors: the sweep's means over seeds; ``rms@n`` = the root mean square
    of the subsamples' relative errors of Σ p_error (pooled over seeds)."""
    means = {}
    for prior in PRIORS:
        values = [r["sweep"][prior] for r in runs]
        means[prior] = {
            key: float(np.mean([v[key] for v in values]))
            for key in values[0]
            if not key.startswith("small@")
        }
        for key in (key for key in values[0] if key.startswith("small@")):
            errors = np.concatenate([np.atleast_1d(v[key]) for v in values])
            means[prior]["rms@" + key[6:]] = float(np.sqrt(np.mean(errors**2)))
    return means


def leave_one_group_out(
    results: dict[str, list[dict]], summary: dict, constant: str
) -> list[list[str]]:
    """For each group of sets: the value of ``constant`` ("strength" or "rows", see
    :data:`STRENGTHS`) chosen on the other groups (fewest p_error target misses, then
    the largest mean AP margin over cleanlab) and the held-out sets' numbers under it."""
    means = {name: sweep_means(runs) for name, runs in results.items()}
    if constant == "strength":
        groups = {name: GROUPS[name] for name in ("cifar10", "music")}
        candidates = {value: (value, RATE_PRIOR_ROWS) for value in STRENGTHS}
        shipped = NOISE_PRIOR_STRENGTH
    else:
        groups, shipped = GROUPS, RATE_PRIOR_ROWS
        candidates = {value: (NOISE_PRIOR_STRENGTH, value) for value in RATE_ROWS}

    def cost(value: float, names: list[str]) -> tuple[int, float]:
        prior = candidates[value]
        misses = sum(target_misses(means[n][prior], summary[n]["best_cleanlab_ap"]) for n in names)
        margin = np.mean([means[n][prior]["ap"] - summary[n]["best_cleanlab_ap"] for n in names])
        return misses, -float(margin)

    def small(values: dict[str, float]) -> str:
        sizes = [key for key in values if key.startswith("rms@")]
        return ", ".join(f"{values[key]:.0%} at {key[4:]}" for key in sizes) or "—"

    rows = []
    for group, members in groups.items():
        others = [n for g, names in groups.items() if g != group for n in names]
        chosen = min(candidates, key=lambda value: cost(value, others))
        for held in members:
            values = means[held][candidates[chosen]]
            best_ap = summary[held]["best_cleanlab_ap"]
            rows.append(
                [
                    held,
                    f"{chosen:g} (on {', '.join(g for g in groups if g != group)})",
                    f"{values['ap']:.3f} vs {best_ap:.3f}",
                    f"{values['p@k']:.3f} vs {summary[held]['best_cleanlab_p@k']:.3f}",
                    f"{values['default p@k']:.3f}",
                    f"{values['sum'] - 1:+.0%}",
                    f"{values['curve@k'] - 1:+.0%} / {values['curve@2k'] - 1:+.0%}",
                    small(values),
                    f"{n_targets(values) - target_misses(values, best_ap)} of {n_targets(values)}",
                ]
            )
    names = [n for members in groups.values() for n in members]
    everywhere = min(candidates, key=lambda value: cost(value, names))
    rows.append(["(all these sets)", f"{everywhere:g}", *[""] * 6, f"shipped: {shipped:g}"])
    return rows


def n_targets(values: dict[str, float]) -> int:
    """Number of p_error targets one set is held to (:func:`target_misses`)."""
    return 3 + sum(key.startswith("rms@") for key in values)


#: The constants chosen by :func:`leave_one_group_out`, with their titles.
SELECTED = {
    "strength": "Noise matrix prior (pseudo-counts per class; real-noise groups)",
    "rows": "Error-rate prior (pseudo-rows; all groups)",
}
LOSO_COLUMNS = (
    "held-out set",
    "value chosen on the other groups",
    "p_error AP vs best cleanlab",
    "p_error p@k vs best cleanlab",
    "default p@k",
    "Σ p_error − true",
    "curve at k / 2k (p_error order)",
    "Σ p_error on subsamples: rms relative error",
    "p_error targets met",
)


def nan_mean(values: list[float]) -> float:
    """Mean over the seeds that have a value; NaN (without a warning) when none has one
    (find_label_issues has no score, so no AUROC or AP)."""
    array = np.asarray(values, dtype=float)
    return float("nan") if np.all(np.isnan(array)) else float(np.nanmean(array))


def mean_sd(values: list[float]) -> str:
    mean = nan_mean(values)
    if np.isnan(mean):
        return "—"
    return f"{mean:.3f} ± {np.nanstd(np.asarray(values, dtype=float)):.3f}"


def summarise(results: dict[str, list[dict]]) -> tuple[list[list[str]], list[list[str]], dict]:
    """Per-order rows, per-set target rows and a JSON summary (means over seeds)."""
    order_rows, target_rows, summary = [], [], {}
    for name, runs in results.items():
        methods = list(runs[0]["orders"])
        mean = {
            m: {key: nan_mean([r["orders"][m][key] for r in runs]) for key, _ in ORDER_METRICS}
            for m in methods
        }
        for m in methods:
            cells = [mean_sd([r["orders"][m][key] for r in runs]) for key, _ in ORDER_METRICS]
            order_rows.append([name, m, *cells])
        cal = {
            key: float(np.mean([r["calibration"][key] for r in runs]))
            for key in runs[0]["calibration"]
        }
        cleanlab = [m for m in methods if m.startswith("cleanlab") and m != FIND_LABEL_ISSUES]
        best_pk = max(mean[m]["p@k"] for m in cleanlab)
        best_ap = max(mean[m]["ap"] for m in cleanlab)
        ratio = cal["sum p_error"] / cal["true"]

        def curve(method: str, tag: str, cal: dict[str, float] = cal) -> float:
            return cal[f"{method} expected@{tag}"] / max(cal[f"{method} found@{tag}"], 1e-9)

        checks = {
            "queue default p@k ≥ best cleanlab": mean[OURS_DEFAULT]["p@k"] >= best_pk,
            "rank default (p_error) p@k ≥ best cleanlab": mean[OURS_P_ERROR]["p@k"] >= best_pk,
            "p_error AP ≥ best cleanlab": mean[OURS_P_ERROR]["ap"] >= best_ap,
            "Σ p_error within ±20%": abs(ratio - 1) <= 0.2,
            "curve within ±10%": all(
                abs(curve(m, t) - 1) <= 0.1
                for m in (OURS_DEFAULT, OURS_P_ERROR)
                for t in ("k", "2k")
            ),
        }
        summary[name] = {
            "orders": mean,
            "calibration": cal,
            "best_cleanlab_p@k": best_pk,
            "best_cleanlab_ap": best_ap,
            "targets": checks,
        }
        target_rows.append(
            [
                name,
                f"{cal['true']:.0f}",
                f"{mean[OURS_DEFAULT]['p@k']:.3f} / {mean[OURS_P_ERROR]['p@k']:.3f} vs {best_pk:.3f}",
                f"{mean[OURS_P_ERROR]['ap']:.3f} vs {best_ap:.3f}",
                f"{cal['sum p_error']:.0f} ({ratio - 1:+.0%}); CL flags {cal['find_label_issues']:.0f}",
                " / ".join(
                    f"{curve(m, t) - 1:+.0%}"
                    for m in (OURS_DEFAULT, OURS_P_ERROR)
                    for t in ("k", "2k")
                ),
                "".join("✓" if ok else "✗" for ok in checks.values()),
            ]
        )
    return order_rows, target_rows, summary


TARGET_COLUMNS = (
    "set",
    "true errors",
    "p@k: queue default / rank default (p_error) vs best cleanlab",
    "p_error AP vs best cleanlab",
    "Σ p_error vs true",
    "expected/found − 1 at k, 2k (default; p_error)",
    "targets",
)


def plot_reliability(results: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    centres = (RELIABILITY_BINS[:-1] + RELIABILITY_BINS[1:]) / 2
    fig, axes = plt.subplots(3, 4, figsize=(14, 10), sharex=True, sharey=True)
    for ax, (name, runs) in zip(axes.flat, results.items(), strict=False):
        counts, errors = np.sum([r["reliability"] for r in runs], axis=0)
        shown = counts > 0
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8)
        ax.plot(centres[shown], errors[shown] / counts[shown], "o-")
        for x, c in zip(centres[shown], counts[shown], strict=True):
            ax.annotate(f"{c / len(runs):.0f}", (x, 0.02), fontsize=6, ha="center")
        ax.set_title(name)
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    fig.supxlabel("p_error (bin centre; mean rows per bin along the bottom)")
    fig.supylabel("fraction of the bin's labels that are wrong")
    fig.suptitle("Reliability of p_error on real label noise (pooled over seeds)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def evaluate_sets(seed: int, names: tuple[str, ...]) -> list[tuple[str, dict[str, object]]]:
    """(set name, :func:`evaluate`) for the sets ``names`` of one seed, in
    :func:`noisy_sets`' order, BLAS on one thread. The draws of the sets before them
    are made (each seed's sets share one generator) but not evaluated, and no set
    after the last one wanted is drawn (nor its probabilities fitted)."""
    evaluated = []
    with threadpool_limits(limits=1):
        for data in noisy_sets(seed):
            if data.name in names:
                evaluated.append((data.name, evaluate(data)))
            if len(evaluated) == len(names):
                break
    return evaluated


#: How :func:`run` splits a seed's sets among the workers: each CIFAR-10 set alone
#: (10,000 rows: about 1-1.6 s of CPU each), and the rest together (about 1.3 s).
PARTS = (
    *((name,) for name in GROUPS["cifar10"]),
    tuple(n for n in (*SETS, *INJECTED) if n not in GROUPS["cifar10"]),
)


def run(
    seeds: int, workers: int = 1, on_part: Callable[[int, int], None] | None = None
) -> dict[str, list[dict]]:
    """Every set's :func:`evaluate` for seeds 0 … ``seeds`` − 1, the seeds' :data:`PARTS`
    shared by ``workers`` processes (the numbers do not depend on how many)."""
    results: dict[str, list[dict]] = {name: [] for name in (*SETS, *INJECTED)}
    tasks = [(seed, names) for seed in range(seeds) for names in PARTS]
    with Workers(n_jobs=workers, processes=True) as pool:
        for evaluated in pool.map(_evaluate_task, tasks, progress=on_part):
            for name, metrics in evaluated:
                results[name].append(metrics)
    return results


def _evaluate_task(task: tuple[int, tuple[str, ...]]) -> list[tuple[str, dict[str, object]]]:
    return evaluate_sets(*task)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="also print markdown tables")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON only")
    parser.add_argument(
        "--plot", type=Path, default=Path("benchmarks/results/quality-reliability.png")
    )
    parser.add_argument("--workers", type=int, default=2, help="processes sharing the parts")
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"real data not found at {SHARED}")
    started = time.perf_counter()
    # One BLAS thread per process: the machine has two shared cores, more threads thrash.
    with Progress(transient=True, disable=args.json) as progress:
        task = progress.add_task("seeds × parts", total=args.seeds * len(PARTS))
        results = run(
            args.seeds, args.workers, lambda done, _: progress.update(task, completed=done)
        )
    order_rows, target_rows, summary = summarise(results)
    selections = {
        constant: leave_one_group_out(results, summary, constant) for constant in SELECTED
    }
    plot_reliability(results, args.plot)
    if args.json:
        summary["leave_one_group_out"] = {
            constant: [dict(zip(LOSO_COLUMNS, row, strict=True)) for row in rows]
            for constant, rows in selections.items()
        }
        print(json.dumps(summary, indent=1, default=bool))
        return
    console = Console(width=160)
    table = Table(title=f"True errors found, mean ± sd over {args.seeds} seeds")
    for header in ("set", "order", *(h for _, h in ORDER_METRICS)):
        table.add_column(header, justify="left" if header in ("set", "order") else "right")
    for row in order_rows:
        table.add_row(*row)
    console.print(table)
    targets = Table(title="Targets (means over seeds): ✓/✗ in the order of the columns")
    for header in TARGET_COLUMNS:
        targets.add_column(header)
    for row in target_rows:
        targets.add_row(*row)
    console.print(targets)
    for constant, rows in selections.items():
        loso = Table(title=f"{SELECTED[constant]} by leave-one-group-out: held-out numbers")
        for header in LOSO_COLUMNS:
            loso.add_column(header)
        for row in rows:
            loso.add_row(*row)
        console.print(loso)
    console.print(f"{time.perf_counter() - started:.1f} s; reliability diagram: {args.plot}")
    if args.markdown:
        print("| set | order | " + " | ".join(h for _, h in ORDER_METRICS) + " |")
        print("|---|---|" + "---:|" * len(ORDER_METRICS))
        for row in order_rows:
            print("| " + " | ".join(row) + " |")
        print()
        print("| " + " | ".join(TARGET_COLUMNS) + " |")
        print("|" + "---|" * len(TARGET_COLUMNS))
        for row in target_rows:
            print("| " + " | ".join(row) + " |")
        for constant, rows in selections.items():
            print(f"\n{SELECTED[constant]}:\n")
            print("| " + " | ".join(LOSO_COLUMNS) + " |")
            print("|" + "---|" * len(LOSO_COLUMNS))
            for row in rows:
                print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
