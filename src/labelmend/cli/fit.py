"""``labelmend fit`` and ``labelmend round``: out-of-fold models on the current labels."""

from __future__ import annotations

from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cleaner import EXPECTED_ERRORS, DifficultyName, MethodName
from labelmend.cli._console import (
    DIFFICULTY_HELP,
    METHOD_HELP,
    JsonOption,
    console,
    print_json,
    stage_progress,
)
from labelmend.cli._store import DatasetOption, DbOption, StrategyOption
from labelmend.cli.status import error_count_line
from labelmend.fitting import DEFAULT_FOLDS
from labelmend.storage import open_store

ModelOption = Annotated[
    str,
    typer.Option(
        "--model",
        help="logistic, mlp, or a .joblib file holding a classifier with predict_proba.",
    ),
]
FoldsOption = Annotated[int, typer.Option("--folds", min=2, help="Stratified folds.")]
SeedOption = Annotated[int, typer.Option(min=0, help="Seed of the folds (and of the mlp).")]
NameOption = Annotated[
    str | None, typer.Option(help="Model name of the stored run (default: the model kind).")
]
FeaturesOption = Annotated[
    str | None, typer.Option("--features", help="Feature set name (default: the only one).")
]


def fitted(done: workflow.FitResult) -> dict[str, object]:
    """A fit for ``--json``: its prediction run as run_id, the name ``import predictions
    --json`` gives it."""
    return {
        "dataset": done.dataset,
        "model": done.model,
        "run_id": done.run.id,
        "n_samples": done.n_samples,
        "created": done.created,
        "provenance": done.provenance,
    }


def fit(
    model: ModelOption = "logistic",
    n_folds: FoldsOption = DEFAULT_FOLDS,
    seed: SeedOption = 0,
    name: NameOption = None,
    features: FeaturesOption = None,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Train out-of-fold models on the current labels; store their probabilities as a run."""
    with stage_progress() as progress, open_store(db) as session:
        done = workflow.fit(
            session, dataset=dataset, model=model, name=name, features=features, n_folds=n_folds,
            seed=seed, on_fold=lambda fold: progress("Fitting folds", fold + 1, n_folds),
            progress=lambda rows, total: progress("Storing probabilities", rows, total),
        )  # fmt: skip
    if json:
        print_json(fitted(done))
        return
    if done.created:
        console.print(
            f"Out-of-fold probabilities of {done.model!r} ({n_folds} folds, seed {seed}) for "
            f"{done.n_samples:,} samples stored (run {done.run.id}). "
            f"Next: labelmend score --model {done.model}"
        )
    else:
        console.print(
            f"The labels have not changed since run {done.run.id} of {done.model!r} "
            "with these settings; nothing changed."
        )


def round_(
    queue: Annotated[str, typer.Option("--queue", help="Name of the new queue.")],
    budget: Annotated[int, typer.Option(min=1, help="Number of samples to queue.")],
    model: ModelOption = "logistic",
    n_folds: FoldsOption = DEFAULT_FOLDS,
    seed: SeedOption = 0,
    name: NameOption = None,
    features: FeaturesOption = None,
    method: Annotated[MethodName, typer.Option(help=METHOD_HELP)] = "errors_per_annotation",
    difficulty: Annotated[DifficultyName, typer.Option(help=DIFFICULTY_HELP)] = "entropy",
    strategy: StrategyOption = "top",
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """One active round: refit on the current labels, rescore, queue the next samples."""
    with stage_progress() as progress, open_store(db) as session:
        done = workflow.active_round(
            session, queue, budget=budget, dataset=dataset, model=model, name=name,
            features=features, n_folds=n_folds, seed=seed, method=method, difficulty=difficulty,
            strategy=strategy, on_fold=lambda fold: progress("Fitting folds", fold + 1, n_folds),
            progress=lambda rows, total: progress("Storing", rows, total),
        )  # fmt: skip
    if json:  # errors.expected is the count left; the ranking is in `queue show --json`
        from labelmend.cli.queue import queue_created
        from labelmend.cli.score import scored

        print_json(
            {"fit": fitted(done.fit), "score": scored(done.score),
             "queue": queue_created(done.queue)}
        )  # fmt: skip
        return
    refit = "refit" if done.fit.created else "labels unchanged, reused"
    console.print(
        f"Round: {done.fit.model!r} {refit} (run {done.fit.run.id}), score run "
        f"{done.score.run.id}; queue {done.queue.queue.name!r}: {done.queue.n_items:,} samples, "
        f"{EXPECTED_ERRORS} among them {done.queue.expected_errors:.1f}."
    )
    console.print(error_count_line(done.score.errors, done.score.run.estimated_errors,
                                   done.score.run.id))  # fmt: skip
