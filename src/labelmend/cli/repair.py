"""``labelmend repair``: find the training examples behind a model's failures, unlearn them,
and show the repair on held-out validation and test data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from labelmend.cli._console import console, frame_table
from labelmend.io import load_features, load_labels

STAGE_TEXT = {
    "train": "Training the model",
    "identify": "Scoring training examples",
    "select_k": "Choosing how many to unlearn",
    "unlearn": "Unlearning",
    "retrain": "Retraining from scratch (reference)",
}


def _names(classes: str | None) -> list[str] | None:
    return [c.strip() for c in classes.split(",") if c.strip()] if classes else None


def repair(
    train_features: Annotated[
        Path, typer.Option(help="Training features (N×D): .npy, .csv, .parquet.")
    ],
    train_labels: Annotated[Path, typer.Option(help="Training labels (possibly noisy).")],
    val_features: Annotated[Path, typer.Option(help="Validation features (correctly labelled).")],
    val_labels: Annotated[Path, typer.Option(help="Validation labels.")],
    out: Annotated[Path, typer.Option(help="Directory for suspects, report, model and plot.")],
    test_features: Annotated[Path | None, typer.Option(help="Test features.")] = None,
    test_labels: Annotated[Path | None, typer.Option(help="Test labels.")] = None,
    model: Annotated[
        str, typer.Option(help="'linear', 'mlp', or a trained model file (.pt, .joblib).")
    ] = "linear",
    method: Annotated[str, typer.Option(help="Identification method.")] = "default",
    unlearn_method: Annotated[str, typer.Option(help="Unlearning method.")] = "finetune",
    budget: Annotated[
        int | None,
        typer.Option(min=0, help="Unlearn exactly K examples (default: chosen on validation)."),
    ] = None,
    classes: Annotated[
        str | None, typer.Option(help="Comma-separated class names, in order.")
    ] = None,
    label_col: Annotated[str | None, typer.Option(help="Label column in label tables.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    threads: Annotated[int, typer.Option(min=1, help="torch threads (small heads: 1).")] = 1,
) -> None:
    """Repair a classifier: score training examples, unlearn the worst, compare with retraining."""
    from labelmend.repair import read_model, repair_model, set_torch_threads, write_repair
    from labelmend.report.repair import accuracy_table

    set_torch_threads(threads)
    names = _names(classes)
    train = (
        load_features(train_features),
        load_labels(train_labels, column=label_col, classes=names),
    )
    validation = (
        load_features(val_features),
        load_labels(val_labels, column=label_col, classes=names),
    )
    test = None
    if (test_features is None) != (test_labels is None):
        raise typer.BadParameter("give both --test-features and --test-labels, or neither")
    if test_features is not None and test_labels is not None:
        test = (
            load_features(test_features),
            load_labels(test_labels, column=label_col, classes=names),
        )
    chosen: Any = model if model in ("linear", "mlp") else read_model(Path(model))

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("Starting", total=len(STAGE_TEXT))

        def progress(stage: str) -> None:
            if bar.tasks[task].description != "Starting":
                bar.advance(task)
            bar.update(task, description=STAGE_TEXT[stage])

        result = repair_model(
            train,
            validation,
            model=chosen,
            test=test,
            method=method,
            unlearn_method=unlearn_method,
            budget=budget,
            random_state=seed,
            progress=progress,
        )
        bar.update(task, completed=len(STAGE_TEXT), description="Done")
    paths = write_repair(result, out, train=train)
    report = result.report
    table = accuracy_table(report)
    console.print(
        frame_table(
            table,
            title=f"Repair: {int(report['k_removed'])} of {len(result.scores):,} training examples "
            f"unlearned ({method} → {unlearn_method})",
            formats={"before": ".3f", "repaired": ".3f", "retrained": ".3f"},
        )
    )
    console.print(
        f"seconds: identify {report['seconds_identify']:.2f} · choose k "
        f"{report['seconds_select_k']:.2f} · unlearn {report['seconds_unlearn']:.3f} · retrain "
        f"from scratch {report['seconds_retrain']:.3f} (unlearning took "
        f"{report['seconds_unlearn'] / report['seconds_retrain']:.0%} of retraining)"
    )
    console.print(f"written to {out}: " + ", ".join(path.name for path in paths.values()))
