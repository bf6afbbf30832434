"""Simulator targets: where does the next annotation fix most, on real annotator data.

Sets (../shared/data; README there), each with 5 seeds, noise fixed at 5/10/20% of N:

- ``cifar10h-T2``, ``cifar10h-T1.5``: CIFAR-10H's ~51 answers per test image as the
  experts, initial labels drawn from their distribution sharpened at T, label-errors'
  out-of-fold CIFAR-10 probabilities (static: rank once);
- ``cifar10n``: CIFAR-10N's annotators (Dawid–Skene with item difficulty,
  :func:`~labelmend.simulator.fit_crowd`, fitted on the training set) answering the
  CIFAR-10 test images, each image's difficulty drawn from the prior, same
  probabilities (static);
- ``music-static``, ``music-active``: music genre's MTurk annotators (the same model,
  each song's difficulty drawn given its answers), a logistic regression retrained
  out-of-fold on the current labels (active: re-rank and retrain every 35 annotations);
- ``cifar10h-T2-active``, ``cifar10h-T1.5-active``, ``cifar10n-active``: the CIFAR sets
  re-ranked every 500 annotations (5% of N, as music's 35) with the collected votes.

Also how faithful the crowd experts are (:func:`faithfulness`): real answers of
held-out items against answers redrawn by Dawid–Skene and by the fit with difficulty.

Per set: every selector's mean ± sd, the default − the best peer (self_confidence,
normalized_margin, ce_minus_entropy, ActiveLab) at each checkpoint (mean and sd of the
per-seed paired differences), and the default's share of the oracle at 10% of N. Then
the constants of the default priority chosen leave-one-data-set-out: the exponent of the
fixability factor and the error weight's log-odds range (:data:`FORMS`), the smoothing
of the confusion the factor reads (:data:`SMOOTHINGS`), and whether that confusion is
learnt from the experts' answers in active runs (:data:`EXPERTS`) or shrunk per row to
their reliability fitted against the model's confidence (:data:`RELIABILITY`), each
picked on the other data sets and scored on the held-out one. The CIFAR sets share the test images
and the model's probabilities, and the music sets share everything but the mode, so
each of the two groups is held out whole. Also the speed of a 6 selectors ×
10 seeds study.

    python benchmarks/simulation.py [--seeds 5] [--out DIR] [--markdown] [--sets a,b]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markdown import Markdown
from threadpoolctl import threadpool_limits

from labelmend.cleaner import dawid_skene, fit_noise_model
from labelmend.cleaner.cost import COST_TERMS, fix_probabilities
from labelmend.cleaner.reliability import (
    RELIABILITY_STRENGTH,
    answer_posterior,
    fit_expert_reliability,
)
from labelmend.cleaner.scores import (
    ERROR_LOG_ODDS_RANGE,
    EXPERT_PRIOR_STRENGTH,
    BlockScores,
    error_weight,
    expert_confusion,
)
from labelmend.datasets import MultiAnnotatorData, cifar10n, music_genre
from labelmend.jobs import write_study
from labelmend.simulator import (
    SELECTORS,
    AnnotatorModel,
    Features,
    Ranking,
    SelectorState,
    fit_crowd,
)
from labelmend.simulator.study import NoiseLevel, StudyResult, run_study

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
console = Console(width=160)
CHECKS = ("noise_fixed@5%", "noise_fixed@10%", "noise_fixed@20%")
PEERS = ("self_confidence", "normalized_margin", "ce_minus_entropy", "activelab")
RANGES = tuple((low, high) for low in (-6.0, -4.0, -2.0) for high in (5.0, 6.0, 8.0))
EXPERT_STRENGTHS = (10.0, 30.0, 100.0, 300.0)
#: Pseudo-answers pooling the per-row reliability fit towards the class-level confusion
#: (:func:`~labelmend.cleaner.fit_expert_reliability`; RELIABILITY_STRENGTH is shipped).
RELIABILITY_STRENGTHS = (30.0, 100.0, 300.0, 1000.0)


@dataclass(frozen=True)
class Variant:
    """A variant of the default priority tried leave-one-data-set-out:
    error_weight(plain p_error; ``log_odds_range``) × fixability^``exponent`` /
    E[annotations]. The fixability reads the labellers' confusion smoothed with
    ``strength`` pseudo-counts per class, at p_error's amount of noise if ``scaled``
    (else confident learning's); in active runs, if ``learnt``, that confusion learnt from
    the experts' answers so far (:func:`learnt_confusion`), and, unless ``reliability``
    is None, each row's column of it shrunk towards or away from the diagonal to the
    experts' accuracy fitted against the model's confidence with that many pooling
    pseudo-answers (:func:`~labelmend.cleaner.fit_expert_reliability`). Static runs have
    no answers: there the last two change nothing.
    """

    exponent: float = 1.0
    log_odds_range: tuple[float, float] = ERROR_LOG_ODDS_RANGE
    strength: float = EXPERT_PRIOR_STRENGTH
    scaled: bool = False
    learnt: bool = False
    reliability: float | None = RELIABILITY_STRENGTH


#: The shipped priority. Four families, each chosen with the other constants at their
#: shipped values: the factor's form (exponent and range), its smoothing
#: (EXPERT_PRIOR_STRENGTH; p_error's own, NOISE_PRIOR_STRENGTH, is chosen on
#: benchmarks/quality.py and is one of the candidates), whether the experts' answers are
#: read class by class, and whether they are read per row as a function of the model's
#: confidence.
DEFAULT = Variant()
FORMS: tuple[Variant, ...] = (
    DEFAULT,
    Variant(exponent=0.0),
    Variant(exponent=0.5),
    *(Variant(log_odds_range=other) for other in RANGES if other != ERROR_LOG_ODDS_RANGE),
)
SMOOTHINGS: tuple[Variant, ...] = tuple(
    Variant(strength=strength, scaled=scaled)
    for scaled in (False, True)
    for strength in EXPERT_STRENGTHS
)
EXPERTS: tuple[Variant, ...] = (DEFAULT, Variant(learnt=True, reliability=None))
RELIABILITY: tuple[Variant, ...] = (
    DEFAULT,
    Variant(reliability=None),
    *(
        Variant(reliability=strength)
        for strength in RELIABILITY_STRENGTHS
        if strength != RELIABILITY_STRENGTH
    ),
)
VARIANTS = tuple(dict.fromkeys(FORMS + SMOOTHINGS + EXPERTS + RELIABILITY))
#: Numbers of item difficulty levels tried for the crowd experts (1: Dawid–Skene).
LEVELS = (1, 2, 3)
#: Annotations between re-rankings in active runs: 5% of N (music's 35 songs), fixed
#: before any active CIFAR run was measured.
ACTIVE_SHARE = 0.05


def variant_name(variant: Variant) -> str:
    """``default`` for the shipped variant, else e.g. ``fix^0.5 w(-4,6) s30``
    (``s30η``: the confusion scaled to p_error's amount; ``experts``: learnt from the
    experts' answers; ``reliability100``: per row, the fit pooled by 100 pseudo-answers
    rather than the shipped 30; ``class-level``: no per-row reliability)."""
    if variant == DEFAULT:
        return "default"
    (low, high), reliability = variant.log_odds_range, variant.reliability
    name = f"fix^{variant.exponent:g} w({low:g},{high:g}) s{variant.strength:g}"
    name += "η" * variant.scaled + " experts" * variant.learnt
    if reliability is None:
        return name + " class-level"
    return name + ("" if reliability == RELIABILITY_STRENGTH else f" reliability{reliability:g}")


def learnt_confusion(
    prior: np.ndarray, probs: np.ndarray, votes: np.ndarray, strength: float
) -> np.ndarray:
    """(K, K) P(an expert answers s | true t), learnt from the expert answers so far.

    ``votes`` (N, K) counts each sample's expert answers per class (the initial label
    not counted; :class:`~labelmend.simulator.SelectorState`). Each reviewed sample's
    true class is weighed by its posterior π given the model's probabilities ``probs``
    (N, K) and its answers, the experts answering as ``prior`` (K, K) says
    (:func:`~labelmend.cleaner.reliability.answer_posterior`). The expected answer
    counts C[s, t] = Σ votes[s] π(t) are pooled with the prior by ``strength``
    pseudo-counts per true class: (C[:, t] + strength · prior[:, t]) / (Σ_s C[s, t] +
    strength). (Active runs' probabilities already hold the votes, so here they count
    twice in π.)
    """
    reviewed, posterior = answer_posterior(prior, probs, votes)
    pooled = votes[reviewed].T @ posterior + strength * prior
    return pooled / pooled.sum(axis=0)


def _variant(variant: Variant, state: SelectorState) -> Ranking:
    """error_weight(plain p_error; range) × fixability(strength)^exponent / E[annotations]."""
    probs, votes = state.pred_probs, state.votes
    assert probs is not None
    assert votes is not None
    assert state.model_probs is not None
    model = fit_noise_model(state.labels, probs, n_jobs=1)
    amount = model.scale if variant.scaled else None
    prior = expert_confusion(model, variant.strength, amount)
    confusion = prior
    if variant.learnt:
        confusion = learnt_confusion(prior, probs, votes, variant.strength)
    reliability = None
    if variant.reliability is not None and votes.any():
        reliability = fit_expert_reliability(prior, state.model_probs, votes, variant.reliability)
    fixes = fix_probabilities(confusion, max_terms=COST_TERMS)
    block = BlockScores(probs, state.labels, model, fix_table=fixes, reliability=reliability)
    weight = error_weight(block.plain_p_error, variant.log_odds_range)
    priority = weight * block.fixability**variant.exponent / block.expected_annotations
    return Ranking(priority, block.p_error, block.p_error)


def variant_selectors() -> list[str]:
    """Register every variant but the default; processes fork, so they see them."""
    names = []
    for variant in VARIANTS[1:]:
        names.append(variant_name(variant))
        SELECTORS[names[-1]] = partial(_variant, variant)
    return names


@dataclass(frozen=True)
class Setting:
    """One row of the target table: a study of one data set in one mode."""

    name: str
    group: str  # data sets sharing images, model or annotators are left out together
    run: Callable[[list[str], int], StudyResult]


def settings(names: list[str] | None, budget: float = 0.2) -> list[Setting]:
    """The sets of the target table (all, or those ``names``), each spending ``budget``
    annotations as a share of N."""
    counts = np.load(DATA / "cifar-10h" / "cifar10h-counts.npy")
    probs = np.load(
        DATA / "label-errors/cross_validated_predicted_probabilities/cifar10_test_set_pyx.npy"
    )
    cifar = AnnotatorModel.from_counts(counts)
    # CIFAR-10N's annotators never saw the test images: each image's difficulty is drawn
    # from the fit's prior, independently of the image.
    cifar_n = crowd_experts(cifar10n(DATA / "cifar-10n"), cifar.true_labels)
    music = music_genre(DATA / "music-genre")
    # Music's experts answer the annotated songs: difficulty drawn given each song's answers.
    music_model = crowd_experts(music, music.true_labels, music.annotations)
    music_features = Features(music.features, music.test_features, music.test_labels)

    def study(annotators: AnnotatorModel, temperature: float, **options: object):
        def run(selectors: list[str], seeds: int) -> StudyResult:
            return run_study(
                annotators,
                selectors=selectors,
                noise_levels=[NoiseLevel(temperature=temperature)],
                seeds=seeds,
                budget=budget,
                **options,  # type: ignore[arg-type]
            )

        return run

    cifar_active = {"pred_probs": probs, "batch_sizes": [round(ACTIVE_SHARE * len(probs))]}
    music_active = {
        "features": music_features,
        "batch_sizes": [round(ACTIVE_SHARE * len(music.true_labels))],
    }
    every = [
        Setting("cifar10h-T2", "cifar10", study(cifar, 2.0, pred_probs=probs)),
        Setting("cifar10h-T1.5", "cifar10", study(cifar, 1.5, pred_probs=probs)),
        Setting("cifar10n", "cifar10", study(cifar_n, 1.0, pred_probs=probs)),
        Setting("music-static", "music", study(music_model, 1.0, features=music_features)),
        Setting("cifar10h-T2-active", "cifar10", study(cifar, 2.0, **cifar_active)),
        Setting("cifar10h-T1.5-active", "cifar10", study(cifar, 1.5, **cifar_active)),
        Setting("cifar10n-active", "cifar10", study(cifar_n, 1.0, **cifar_active)),
        Setting("music-active", "music", study(music_model, 1.0, **music_active)),
    ]
    return [s for s in every if names is None or s.name in names]


def crowd_experts(
    crowd: MultiAnnotatorData, true_labels: np.ndarray, annotations: np.ndarray | None = None
) -> AnnotatorModel:
    """Experts from Dawid–Skene with item difficulty fitted on ``crowd``'s answers and gold
    labels, with the number of levels chosen by held-out log-likelihood
    (:func:`choose_levels`); each item's level and attractor drawn once (seed 0), from
    the prior or given ``annotations`` (the same annotators' answers to these items)."""
    levels = choose_levels(crowd)
    model = fit_crowd(crowd.annotations, crowd.true_labels, n_levels=levels)
    level, attractor = model.draw_items(true_labels, annotations=annotations, random_state=0)
    probs = model.answer_probs(true_labels, levels=level, attractors=attractor)
    return AnnotatorModel.from_probs(probs, true_labels=true_labels)


def _halves(n_items: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two folds of the items (seed 0): (fitted on, held out)."""
    order = np.random.default_rng(0).permutation(n_items)
    return [(order[::2], order[1::2]), (order[1::2], order[::2])]


def choose_levels(crowd: MultiAnnotatorData) -> int:
    """Difficulty levels in LEVELS with the best log-likelihood of held-out items' answers
    (two folds of the items); remembered per data set."""
    key = (crowd.annotations.shape, len(crowd.classes))
    if key not in _CHOSEN_LEVELS:
        _CHOSEN_LEVELS[key] = _choose_levels(crowd)
    return _CHOSEN_LEVELS[key]


_CHOSEN_LEVELS: dict[tuple[tuple[int, ...], int], int] = {}


def _choose_levels(crowd: MultiAnnotatorData) -> int:

    def held_out(levels: int) -> float:
        scores = [
            fit_crowd(
                crowd.annotations[fit],
                crowd.true_labels[fit],
                n_levels=levels,
                n_classes=len(crowd.classes),
            ).log_likelihood_of(crowd.annotations[held], crowd.true_labels[held])
            for fit, held in _halves(len(crowd.true_labels))
        ]
        return float(np.mean(scores))

    return max(LEVELS, key=held_out)


def answer_statistics(annotations: np.ndarray, truth: np.ndarray, k: int) -> np.ndarray:
    """Items whose majority answer is wrong (ties broken at random, in expectation), and
    the mean and sd over items of the share of wrong answers; items with answers only."""
    item, worker = np.nonzero(annotations >= 0)
    counts = np.zeros((len(annotations), k))
    np.add.at(counts, (item, annotations[item, worker]), 1.0)
    counts = counts[counts.sum(axis=1) > 0]
    truth = truth[np.nonzero((annotations >= 0).any(axis=1))[0]]
    rows = np.arange(len(counts))
    tied = counts == counts.max(axis=1, keepdims=True)
    wrong_majority = 1.0 - tied[rows, truth] / tied.sum(axis=1)
    wrong_share = 1.0 - counts[rows, truth] / counts.sum(axis=1)
    return np.array([wrong_majority.mean(), wrong_share.mean(), wrong_share.std()])


def _redraw(annotations: np.ndarray, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``annotations`` with each answer redrawn from ``probs`` (A, K), in nonzero order."""
    item, worker = np.nonzero(annotations >= 0)
    cdf = np.cumsum(probs, axis=1)
    drawn = (rng.random(len(item))[:, None] * cdf[:, -1:] >= cdf).sum(axis=1)
    redrawn = np.full_like(annotations, -1)
    redrawn[item, worker] = np.minimum(drawn, probs.shape[1] - 1)
    return redrawn


def faithfulness(draws: int = 5) -> pd.DataFrame:
    """Simulated against real answers on held-out items, for CIFAR-10N and music.

    Two folds of the items: each annotator model is fitted on one half and redraws the
    real answers (same items, same annotators) of the other half, ``draws`` times; real
    and simulated statistics (:func:`answer_statistics`) are averaged over both folds.
    Dawid–Skene as before (unsupervised, class-level confusions) against the fit with
    item difficulty (gold labels, levels by :func:`choose_levels`, each held-out item's
    level and attractor drawn from the prior). Then, in-sample, the experts as the
    simulator uses them (a random annotator per answer).
    """
    rng = np.random.default_rng(0)
    rows = []
    for name, crowd in (
        ("cifar10n", cifar10n(DATA / "cifar-10n")),
        ("music", music_genre(DATA / "music-genre")),
    ):
        k, levels = len(crowd.classes), choose_levels(crowd)
        found: dict[str, list[np.ndarray]] = {}
        for fit, held in _halves(len(crowd.true_labels)):
            answers, truth = crowd.annotations[held], crowd.true_labels[held]
            item, worker = np.nonzero(answers >= 0)
            plain = dawid_skene(crowd.annotations[fit], n_classes=k).confusions
            hard = fit_crowd(
                crowd.annotations[fit], crowd.true_labels[fit], n_levels=levels, n_classes=k
            )
            found.setdefault("real", []).append(answer_statistics(answers, truth, k))
            for _ in range(draws):
                redrawn = _redraw(answers, plain[worker, truth[item]], rng)
                found.setdefault("Dawid–Skene", []).append(answer_statistics(redrawn, truth, k))
                level, attractor = hard.draw_items(truth, random_state=rng)
                probs = hard.answer_probs(
                    truth[item], levels=level[item], attractors=attractor[item], annotators=worker
                )
                redrawn = _redraw(answers, probs, rng)
                found.setdefault(f"with difficulty ({levels} levels)", []).append(
                    answer_statistics(redrawn, truth, k)
                )
        # As the benchmark uses them: one random annotator per answer (a mixture), fitted
        # on every item (in-sample); levels drawn as in settings().
        given = crowd.annotations if name == "music" else None
        for model, experts in (
            (
                "Dawid–Skene, as the benchmark used it",
                AnnotatorModel.from_dawid_skene(
                    dawid_skene(crowd.annotations, n_classes=k), crowd.true_labels
                ),
            ),
            (
                "with difficulty, as the benchmark uses it",
                crowd_experts(crowd, crowd.true_labels, given),
            ),
        ):
            item, _ = np.nonzero(crowd.annotations >= 0)
            found[model] = [
                answer_statistics(
                    _redraw(crowd.annotations, experts.probs[item], rng), crowd.true_labels, k
                )
                for _ in range(draws)
            ]
        for model, values in found.items():
            wrong_majority, mean, sd = np.mean(values, axis=0)
            rows.append(
                {
                    "set": name,
                    "answers": model,
                    "wrong majority": f"{wrong_majority:.1%}",
                    "wrong share, mean": f"{mean:.3f}",
                    "wrong share, sd": f"{sd:.3f}",
                }
            )
    return pd.DataFrame(rows)


def paired(runs: pd.DataFrame, selector: str, against: list[str]) -> pd.DataFrame:
    """Per seed: ``selector``'s noise fixed minus the best of ``against`` (best by mean)."""
    wide = runs.pivot_table(index="seed", columns="selector", values=list(CHECKS)) * 100
    rows = {}
    for check in CHECKS:
        best = wide[check][against].mean().idxmax()
        rows[check] = wide[check][selector] - wide[check][best]
    return pd.DataFrame(rows)


def oracle_share(runs: pd.DataFrame, selector: str) -> pd.Series:
    """Per seed: ``selector``'s noise fixed at 10% of N as a share of the oracle's."""
    wide = runs.pivot_table(index="seed", columns="selector", values=CHECKS[1])
    return wide[selector] / wide["oracle"] * 100


def target_row(name: str, runs: pd.DataFrame, selector: str) -> dict[str, object]:
    gaps, share = paired(runs, selector, list(PEERS)), oracle_share(runs, selector)
    row: dict[str, object] = {"set": name}
    for check in CHECKS:
        row[check] = f"{gaps[check].mean():+.2f} ± {gaps[check].std():.2f}"
    row["oracle@10%"] = f"{share.mean():.1f}% ± {share.std():.1f}"
    met = bool((gaps.mean() >= 0).all() and share.mean() >= 90)
    row["met"] = "yes" if met else "no"
    return row


def leave_one_out(
    results: dict[str, pd.DataFrame], groups: dict[str, str], family: tuple[Variant, ...]
) -> tuple[pd.DataFrame, str]:
    """Choose the variant of ``family`` on the other groups (mean gap over checkpoints),
    score it here.

    Also returns the variant chosen on every set.
    """
    margin = {
        (setting, variant): paired(runs, variant_name(variant), list(PEERS)).mean().mean()
        for setting, runs in results.items()
        for variant in family
    }
    rows = []
    for group in dict.fromkeys(groups.values()):
        held = [s for s in results if groups[s] == group]
        train = [s for s in results if groups[s] != group]
        if not train:
            continue
        chosen = max(family, key=lambda v: np.mean([margin[s, v] for s in train]))
        for setting in held:
            row = target_row(setting, results[setting], variant_name(chosen))
            (low, high), amount = chosen.log_odds_range, "confident learning's"
            if chosen.scaled:
                amount = "p_error's"
            reads = "the labellers' confusion only"
            if chosen.learnt:
                reads = "the experts' answers"
            if chosen.reliability is not None:
                reads += f", per-row reliability ({chosen.reliability:g} pseudo-answers)"
            rows.append(
                {
                    "held out": setting,
                    "chosen on the others": f"exponent {chosen.exponent:g}, "
                    f"range ({low:g}, {high:g}), {chosen.strength:g} pseudo-counts, "
                    f"{amount} amount, {reads}",
                    **row,
                }
            )
    best = max(family, key=lambda v: np.mean([margin[s, v] for s in results]))
    held_out = pd.DataFrame(rows).drop(columns="set") if rows else pd.DataFrame()
    return held_out, variant_name(best)


def markdown(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|---" * frame.shape[1] + "|"]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def checkpoints(runs: pd.DataFrame) -> pd.DataFrame:
    """Noise fixed at each checkpoint per selector, mean ± sd over seeds, in points."""
    grouped = runs.groupby("selector", sort=False)[list(CHECKS)]
    means, sds = grouped.mean() * 100, grouped.std() * 100
    cells = means.map("{:.2f}".format) + " ± " + sds.map("{:.2f}".format)
    cells.columns = [c.replace("noise_fixed@", "fixed @") + " N" for c in CHECKS]
    return cells.reset_index()


def table(frame: pd.DataFrame, title: str, args: argparse.Namespace) -> None:
    text = f"### {title}\n\n" + markdown(frame)
    console.print(Markdown(text))
    if args.markdown:
        print(text + "\n")


def speed() -> None:
    counts = np.load(DATA / "cifar-10h" / "cifar10h-counts.npy")
    probs = np.load(
        DATA / "label-errors/cross_validated_predicted_probabilities/cifar10_test_set_pyx.npy"
    )
    selectors = ["random", "oracle", "default", "cross_entropy", "ce_minus_entropy", "activelab"]
    start = time.perf_counter()
    run_study(AnnotatorModel.from_counts(counts), pred_probs=probs, selectors=selectors, seeds=10)
    console.print(
        f"Speed: 6 selectors × 10 seeds × N = 10,000, budget 30% of N: "
        f"{time.perf_counter() - start:.1f} s on local processes (target < 60 s)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", help="also write each study's files into this directory")
    parser.add_argument("--markdown", action="store_true", help="also print raw markdown")
    parser.add_argument("--sets", help="comma-separated subset of the sets (default: all)")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}")
    extra = variant_selectors()
    selectors = ["random", "oracle", "default", *PEERS, *extra]
    results, groups, targets = {}, {}, []
    with threadpool_limits(1):
        chosen = settings(args.sets.split(",") if args.sets else None)
    for setting in chosen:
        start = time.perf_counter()
        study = setting.run(selectors, args.seeds)
        seconds = time.perf_counter() - start
        title = f"{setting.name}: noise fixed, % ({args.seeds} seeds, {seconds:.0f} s)"
        table(checkpoints(study.runs), title, args)
        if args.out:
            write_study(study, Path(args.out) / setting.name)
        results[setting.name], groups[setting.name] = study.runs, setting.group
        targets.append(target_row(setting.name, study.runs, "default"))
    table(
        faithfulness(),
        "Are the crowd experts faithful? Real answers of held-out items against answers "
        "redrawn for the same items and annotators (two folds of the items, 5 draws)",
        args,
    )
    table(
        pd.DataFrame(targets),
        "Default − best peer (points of noise fixed; mean ± sd over seeds of the paired "
        "difference) and share of the oracle at 10% of N (targets: ≥ 0 each, ≥ 90%)",
        args,
    )
    families = (
        (FORMS, "the factor's form"),
        (SMOOTHINGS, "the factor's smoothing"),
        (EXPERTS, "the experts' confusion learnt from their answers or not"),
        (RELIABILITY, "the experts' reliability per row, from their answers, or not"),
    )
    for family, what in families:
        held_out, best = leave_one_out(results, groups, family)
        table(
            held_out,
            f"Leave one group of data sets out, {what}: chosen on the other groups, scored "
            f"on the held-out set (chosen on every set: {best})",
            args,
        )
    speed()


if __name__ == "__main__":
    main()
