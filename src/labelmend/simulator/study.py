"""Studies: a grid of selectors × noise levels × seeds × batch sizes, run in parallel.

Every cell of the grid is one :func:`~labelmend.simulator.simulation.simulate_run`.
Cells run on local processes by default, or on a Dask cluster given its address; both go
through the same ``concurrent.futures`` executor interface. All selectors of one seed and
noise level share the initial labels and the expert answers (common random numbers), so
differences between selectors are not sampling noise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend._executor import Workers
from labelmend._validation import (
    check_choice,
    check_count,
    check_interval,
    check_number,
    is_number,
)
from labelmend.cleaner import STOP_THRESHOLD
from labelmend.errors import InputError
from labelmend.simulator.annotators import AnnotatorModel, initial_labels
from labelmend.simulator.selectors import SELECTORS
from labelmend.simulator.simulation import (
    CHECKPOINTS,
    Features,
    check_model_inputs,
    simulate_run,
)

FloatArray = npt.NDArray[np.float64]

#: Columns identifying one run in the tidy tables.
RUN_KEYS = ("noise", "batch_size", "selector", "seed")


def _is_count(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


@dataclass(frozen=True)
class NoiseLevel:
    """How the initial labels are drawn: a temperature or a noise rate (exactly one).

    >>> NoiseLevel(temperature=2.0).name, NoiseLevel(noise_rate=0.1).name
    ('T=2', 'rate=0.1')
    """

    temperature: float | None = None
    noise_rate: float | None = None

    def __post_init__(self) -> None:
        if (self.temperature is None) == (self.noise_rate is None):
            raise InputError(
                "A noise level needs exactly one of temperature and noise_rate.",
                inputs=("temperature", "noise_rate"),
            )
        temperature, rate = self.temperature, self.noise_rate
        if temperature is not None and not (
            is_number(temperature) and math.isfinite(temperature) and temperature > 0
        ):
            raise InputError(
                f"temperature must be positive. Got {temperature!r}.", inputs=("temperature",)
            )
        if rate is not None and not (is_number(rate) and 0.0 <= rate < 1.0):
            raise InputError(
                f"noise_rate must lie in [0, 1). Got {rate!r}.", inputs=("noise_rate",)
            )

    @property
    def name(self) -> str:
        if self.temperature is not None:
            return f"T={self.temperature:g}"
        return f"rate={self.noise_rate:g}"


@dataclass(frozen=True)
class StudyResult:
    """Tables of a study.

    Attributes
    ----------
    results : DataFrame
        One row per run × annotation grid point: :data:`RUN_KEYS` plus the curve columns
        (``annotations, accuracy, noise_fixed, clean_broken, ...``).
    runs : DataFrame
        One row per run: initial noise, fixes at the checkpoints, AUCs, stopping rule.
    summary : DataFrame
        Mean and sd over seeds of ``runs``' numbers, per noise × batch size × selector.
    """

    results: pd.DataFrame
    runs: pd.DataFrame
    summary: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class _Task:
    annotators: AnnotatorModel
    pred_probs: FloatArray | None
    features: Features | None
    noise_index: int
    noise: NoiseLevel
    selector: str
    seed: int
    batch_size: int | None
    budget: int
    options: dict[str, Any]


def _run_task(task: _Task) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One grid cell (a module-level function, so processes and Dask can run it).

    Runs are the unit of parallelism: BLAS inside a run uses one thread (with a thread
    per core in every process, retraining a small model is 50x slower on 2 cores).
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _compute_task(task)


def _compute_task(task: _Task) -> tuple[pd.DataFrame, dict[str, Any]]:
    labels_seq, answers_seq = np.random.SeedSequence(
        task.seed, spawn_key=(task.noise_index,)
    ).spawn(2)
    initial = initial_labels(
        task.annotators,
        temperature=task.noise.temperature,
        noise_rate=task.noise.noise_rate,
        random_state=np.random.default_rng(labels_seq),
    )
    run = simulate_run(
        task.annotators,
        initial,
        selector=task.selector,
        budget=task.budget,
        seed_sequence=answers_seq,
        pred_probs=task.pred_probs,
        features=task.features,
        batch_size=task.batch_size,
        **task.options,
    )
    keys: dict[str, Any] = {
        "noise": task.noise.name,
        "batch_size": task.batch_size or 0,
        "selector": task.selector,
        "seed": task.seed,
    }
    curve = run.curve
    n = task.annotators.n_samples
    start = float(curve["accuracy"].iloc[0])
    spent = curve["annotations"].to_numpy(dtype=np.float64)
    accuracy = curve["accuracy"].to_numpy()
    row: dict[str, Any] = {
        **keys,
        "initial_noise": float(1.0 - start),
        "auc": float(np.trapezoid(accuracy, spent) / spent[-1]),
        "auc_gain": float(np.trapezoid(accuracy - start, spent) / spent[-1]),
        "stop_annotations": run.stop_annotations,
        "best_annotations": run.best_annotations,
        "stop_regret": run.stop_regret,
        "final_test_accuracy": float(curve["test_accuracy"].iloc[-1]),
    }
    indexed = curve.set_index("annotations")
    for fraction in CHECKPOINTS:
        at = round(fraction * n)
        found = at in indexed.index
        row[f"noise_fixed@{fraction:.0%}"] = indexed.at[at, "noise_fixed"] if found else np.nan
        row[f"accuracy@{fraction:.0%}"] = indexed.at[at, "accuracy"] if found else np.nan
    for key, value in keys.items():
        curve[key] = value
    return curve, row


def _summarise(runs: pd.DataFrame) -> pd.DataFrame:
    numbers = [c for c in runs.columns if c not in RUN_KEYS]
    grouped = runs.groupby(["noise", "batch_size", "selector"], sort=False)[numbers]
    summary = grouped.agg(["mean", "std"])
    summary.columns = ["_".join(column) for column in summary.columns]
    return summary.reset_index()


def _validate(
    annotators: AnnotatorModel,
    pred_probs: Any,
    features: Features | None,
    selectors: Sequence[str],
    seeds: int,
    budget: float,
    batch_sizes: Sequence[int | None],
) -> FloatArray | None:
    if not selectors:
        raise InputError("Give at least one selector.")
    for name in selectors:
        check_choice("selectors", name, SELECTORS)
    if not _is_count(seeds) or seeds < 1:
        raise InputError(f"seeds must be a positive integer. Got {seeds!r}.")
    if not (is_number(budget) and math.isfinite(budget) and budget > 0):
        raise InputError(
            f"budget must lie in (0, ∞) (a multiple of N annotations). Got {budget!r}."
        )
    for size in batch_sizes:
        if size is not None and (not _is_count(size) or size < 1):
            raise InputError(f"batch sizes must be positive integers or None. Got {size!r}.")
    return check_model_inputs(annotators, pred_probs, features, selectors)


def run_study(
    annotators: AnnotatorModel,
    *,
    pred_probs: Any = None,
    features: Features | None = None,
    selectors: Sequence[str] = ("random", "oracle", "default"),
    noise_levels: Sequence[NoiseLevel] = (NoiseLevel(temperature=2.0),),
    seeds: int = 10,
    budget: float = 0.3,
    batch_sizes: Sequence[int | None] = (None,),
    max_reviews: int = 1,
    annotator_accuracy: float = 0.9,
    stop_threshold: float = STOP_THRESHOLD,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StudyResult:
    """Run every selector × noise level × seed × batch size and tabulate the curves.

    Parameters
    ----------
    annotators : AnnotatorModel
        The experts (and the truth).
    pred_probs : (N, K) array, optional
        Out-of-sample model probabilities for the model-based selectors.
    features : Features, optional
        Retrain a model out-of-fold on the current labels instead (between batches in
        active runs); with test data, the model's test accuracy is tracked.
    selectors : names in :data:`~labelmend.simulator.selectors.SELECTORS`
        (one name is a list of one, as are one noise level and one batch size)
    noise_levels : NoiseLevel, ...
    seeds : int
        Seeds 0 .. seeds-1.
    budget : float
        Annotations to spend, as a multiple of N (0.3 = 30% of N annotations).
    batch_sizes : int or None, ...
        None = static (rank once); b = active, re-rank after every b annotations.
    max_reviews : int
        How often one sample may be reviewed (1 = the paper's protocol).
    annotator_accuracy : float
        Weight of a collected vote when active runs update the model's probabilities.
    stop_threshold : float
        The stopping rule's threshold: stop when the next batch of samples holds fewer
        expected label errors per sample (:func:`~labelmend.simulator.simulation.stopping`).
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); local processes when None.
    n_workers : int, optional
        Local processes (default: one per core; 1 runs every task in this process).
    progress : callable(done, total), optional

    Examples
    --------
    >>> model = AnnotatorModel.from_counts(np.tile([[9, 1], [2, 8]], (50, 1)))
    >>> study = run_study(model, selectors=["random", "oracle"], seeds=2, budget=0.5,
    ...                   noise_levels=[NoiseLevel(noise_rate=0.2)], n_workers=1)
    >>> sorted(study.runs["selector"].unique())
    ['oracle', 'random']
    """
    if not isinstance(annotators, AnnotatorModel):
        raise InputError(
            "annotators must be an AnnotatorModel (AnnotatorModel.from_counts(counts) builds "
            f"one from vote counts). Got {type(annotators).__name__}.",
            inputs=("annotators",),
        )
    # One selector, noise level or batch size is a list of one ("random" is not 6 names).
    selectors = [selectors] if isinstance(selectors, str) else list(selectors)
    noise_levels = [noise_levels] if isinstance(noise_levels, NoiseLevel) else list(noise_levels)
    sizes: list[Any] = (
        [batch_sizes] if batch_sizes is None or _is_count(batch_sizes) else list(batch_sizes)
    )
    probs = _validate(annotators, pred_probs, features, selectors, seeds, budget, sizes)
    check_count("max_reviews", max_reviews, minimum=1)
    check_interval("annotator_accuracy", annotator_accuracy, 0.0, 1.0)
    check_number("stop_threshold", stop_threshold, high=1.0)
    seeds, batch_sizes = int(seeds), [None if b is None else int(b) for b in sizes]
    n_annotations = max(1, round(budget * annotators.n_samples))
    options = {
        "max_reviews": max_reviews,
        "annotator_accuracy": annotator_accuracy,
        "stop_threshold": stop_threshold,
    }
    tasks = [
        _Task(annotators, probs, features, index, noise, name, seed, size, n_annotations, options)
        for index, noise in enumerate(noise_levels)
        for size in batch_sizes
        for seed in range(seeds)
        for name in selectors
    ]
    with Workers(n_jobs=n_workers, processes=True, scheduler=scheduler) as workers:
        finished = list(workers.map(_run_task, tasks, progress=progress))
    curves = [curve for curve, _ in finished]
    rows = [row for _, row in finished]
    keys = list(RUN_KEYS)
    results = pd.concat(curves, ignore_index=True)
    results = results[keys + [c for c in results.columns if c not in keys]]
    order = {name: i for i, name in enumerate(selectors)}
    results = results.sort_values(
        ["noise", "batch_size", "selector", "seed", "annotations"],
        key=lambda c: c.map(order) if c.name == "selector" else c,
        kind="stable",
    ).reset_index(drop=True)
    runs = (
        pd.DataFrame(rows)
        .sort_values(keys, key=lambda c: c.map(order) if c.name == "selector" else c, kind="stable")
        .reset_index(drop=True)
    )
    return StudyResult(results, runs, _summarise(runs))
