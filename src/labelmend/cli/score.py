"""``labelmend score``: score the current labels with a model's stored predictions."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from labelmend import workflow
from labelmend.cleaner import DifficultyName, MethodName
from labelmend.cli._console import (
    DIFFICULTY_HELP,
    METHOD_HELP,
    QUEUE_COLUMNS,
    JsonOption,
    console,
    frame_table,
    print_json,
    stage_progress,
)
from labelmend.cli._store import DatasetOption, DbOption, store_with_progress
from labelmend.cli.status import error_count_line
from labelmend.io import ID_COLUMN
from labelmend.storage import open_store


def scored(result: workflow.ScoreResult) -> dict[str, object]:
    """A score run for ``--json`` (``score``'s and ``round``'s): score_run, errors and
    raw_p_error_sum, the names ``status --json`` and ``queue list --json`` use."""
    return {
        "score_run": result.run.id,
        "errors": asdict(result.errors),
        "raw_p_error_sum": result.run.estimated_errors,
    }


def score(
    model: Annotated[
        str | None,
        typer.Option(
            help="Model whose newest predictions to use (default: the only model with predictions)."
        ),
    ] = None,
    method: Annotated[MethodName, typer.Option(help=METHOD_HELP)] = "errors_per_annotation",
    difficulty: Annotated[DifficultyName, typer.Option(help=DIFFICULTY_HELP)] = "entropy",
    top: Annotated[int, typer.Option(min=0, help="Rows of the ranking to print.")] = 20,
    shards: Annotated[
        str | None,
        typer.Option(
            help="Score Parquet shards (glob or directory) instead of stored predictions "
            "(default: the stored predictions)."
        ),
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="With --shards: Dask scheduler, 'local' or tcp://HOST:8786.")
    ] = None,
    top_k: Annotated[
        int, typer.Option(min=1, help="With --shards: rows stored in the database.")
    ] = 10_000,
    out: Annotated[
        str | None, typer.Option(help="With --shards: directory for per-sample score files.")
    ] = None,
    id_col: Annotated[str, typer.Option(help="With --shards: sample id column.")] = ID_COLUMN,
    label_col: Annotated[str, typer.Option(help="With --shards: label column.")] = "label",
    use_shard_labels: Annotated[
        bool,
        typer.Option(
            "--use-shard-labels",
            help="With --shards: score the shards' labels even where the store's differ.",
        ),
    ] = False,
    dataset: DatasetOption = None,
    db: DbOption = None,
    json: JsonOption = False,
) -> None:
    """Score every sample's current label (p_error: how likely it is wrong) and rank the
    samples for review by priority (--method, errors_per_annotation by default); store the
    run."""
    if shards is not None:
        with stage_progress() as progress, open_store(db) as session:
            result = workflow.score_shards(
                session, shards, dataset=dataset, scheduler=scheduler, top_k=top_k, out=out,
                method=method, difficulty=difficulty, id_col=id_col, label_col=label_col,
                use_shard_labels=use_shard_labels, progress=progress,
            )  # fmt: skip
    else:
        with store_with_progress(db, "Scoring") as (session, progress):
            result = workflow.score(
                session,
                dataset=dataset,
                model=model,
                method=method,
                difficulty=difficulty,
                progress=progress,
            )
    ranking = result.ranking
    if json:
        print_json({**scored(result), "top": ranking.head(top)})
        return
    console.print(
        frame_table(
            ranking.head(top),
            title=f"Score run {result.run.id}: top {min(top, len(ranking)):,} of "
            f"{len(ranking):,}, order {result.run.method}",
            columns=QUEUE_COLUMNS,
            formats={"p_error": ".3f"},
        )
    )
    console.print(error_count_line(result.errors, result.run.estimated_errors, result.run.id))
