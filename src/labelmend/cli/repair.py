"""``labelmend repair run|analyze``: unlearn the training examples behind a model's
failures, or split the failures into types first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from labelmend.cli._console import (
    JsonOption,
    console,
    frame_table,
    print_json,
    spinner,
    stage_progress,
)

#: The choices of --method, --unlearn-method and --embedding: the library's registries
#: (HARM_METHODS, UNLEARN_METHODS, EMBEDDINGS; tests/cli/test_help.py checks), written out
#: so that --help lists them and a typo is a usage error without importing torch.
HarmMethodName = Literal[
    "default", "loss", "self_influence", "p_error", "tracin", "fisher", "fisher_votes",
    "ggn_votes", "influence", "map",
]  # fmt: skip
UnlearnMethodName = Literal[
    "newton", "newton_ggn", "newton_diag", "finetune", "ascent", "retrain"
]  # fmt: skip
EmbeddingName = Literal["gradients", "features", "fp_fn", "metadata", "random"]

repair_app = typer.Typer(help="Repair a model: find what makes it fail, type it, unlearn it.")

TrainFeatures = Annotated[Path, typer.Option(help="Training features (N×D): .npy, .csv, .parquet.")]
TrainLabels = Annotated[Path, typer.Option(help="Training labels (possibly noisy).")]
ValFeatures = Annotated[
    Path, typer.Option("--val-features", help="Validation features (correctly labelled).")
]
ValLabels = Annotated[Path, typer.Option("--val-labels", help="Validation labels.")]
ModelOption = Annotated[
    str,
    typer.Option(
        help="'linear', 'mlp', or a trained model file: a .pt head written by labelmend, a "
        "whole network saved with torch.save(module, path) taking the feature rows (repaired "
        "through its output layer, the body frozen), or a pickled scikit-learn "
        "LogisticRegression (.joblib/.pkl). Pickles run code: open only files you trust."
    ),
]
ClassesOption = Annotated[
    str | None,
    typer.Option(
        help="Comma-separated class names, in order: required when the labels are names "
        "(default: labels are class indices)."
    ),
]
LabelColOption = Annotated[
    str | None,
    typer.Option(
        "--label-col",
        help="Label column in label tables (default: a table's only column).",
    ),
]
SeedOption = Annotated[int, typer.Option(min=0, help="Random seed.")]
ThreadsOption = Annotated[int, typer.Option(min=1, help="torch threads (small heads: 1).")]
DeviceOption = Annotated[
    str,
    typer.Option(
        help="Where a saved network's forward passes run: cpu, cuda, cuda:N or mps "
        "(heads run on the CPU)."
    ),
]


#: Said after the tables when --model is a saved network.
FROZEN_BODY = (
    "The saved network was taken through its output layer over the body's features (the "
    "body frozen): scores, unlearning, fine-tuning and retraining are of that layer."
)


def _names(classes: str | None) -> list[str] | None:
    return [c.strip() for c in classes.split(",") if c.strip()] if classes else None


@repair_app.command("run")
def run(
    train_features: TrainFeatures,
    train_labels: TrainLabels,
    validation_features: ValFeatures,
    validation_labels: ValLabels,
    out: Annotated[Path, typer.Option(help="Directory for suspects, report, model and plot.")],
    test_features: Annotated[
        Path | None,
        typer.Option(help="Test features; with --test-labels, both or neither (optional)."),
    ] = None,
    test_labels: Annotated[
        Path | None, typer.Option(help="Test labels; both or neither with --test-features.")
    ] = None,
    model: ModelOption = "linear",
    method: Annotated[
        HarmMethodName,
        typer.Option(
            help="How training examples are scored for harm (docs/repair.md): default "
            "rank-averages p_error and fisher_votes (the validation failures' votes); loss, "
            "self_influence and p_error use no failures."
        ),
    ] = "default",
    unlearn_method: Annotated[
        UnlearnMethodName,
        typer.Option(help="How the scored examples are unlearned (docs/repair.md)."),
    ] = "finetune",
    budget: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Unlearn exactly K examples (default: the expected label errors, "
            "counted again on the rows kept when many labels look wrong).",
        ),
    ] = None,
    classes: ClassesOption = None,
    label_col: LabelColOption = None,
    seed: SeedOption = 0,
    threads: ThreadsOption = 1,
    device: DeviceOption = "cpu",
    as_json: JsonOption = False,
) -> None:
    """Score training examples, unlearn the worst, compare with retraining from scratch."""
    from labelmend.repair import repair_files
    from labelmend.report.repair import accuracy_table

    with stage_progress() as progress:
        done = repair_files(
            train_features,
            train_labels,
            validation_features,
            validation_labels,
            out,
            test_features=test_features,
            test_labels=test_labels,
            model=model,
            method=method,
            unlearn_method=unlearn_method,
            budget=budget,
            classes=_names(classes),
            label_col=label_col,
            random_state=seed,
            threads=threads,
            device=device,
            progress=progress,
        )
    report = done.result.report
    if as_json:
        print_json(report)
        return
    table = accuracy_table(report)
    readmitted = report.get("k_readmitted")
    console.print(
        frame_table(
            table,
            title=f"Repair: {int(report['k_removed']):,} of {len(done.result.scores):,} training "
            "examples unlearned"
            + ("" if readmitted is None else f", {int(readmitted):,} re-admitted")
            + f" ({method} → {unlearn_method})",
            formats={"before": ".3f", "repaired": ".3f", "retrained": ".3f"},
        )
    )
    console.print(
        f"seconds: identify {report['seconds_identify']:.2f} · unlearn "
        f"{report['seconds_unlearn']:.3f} · retrain from scratch {report['seconds_retrain']:.3f} "
        f"(unlearning took {report['seconds_unlearn'] / report['seconds_retrain']:.0%} of "
        "retraining)"
    )
    if done.through_output_layer:
        console.print(FROZEN_BODY)
    console.print(f"written to {out}: " + ", ".join(path.name for path in done.paths.values()))


@repair_app.command("analyze")
def analyze(
    train_features: TrainFeatures,
    train_labels: TrainLabels,
    validation_features: ValFeatures,
    validation_labels: ValLabels,
    out: Annotated[Path, typer.Option(help="Directory for types.csv, types.json, the heatmap.")],
    model: ModelOption = "linear",
    embedding: Annotated[
        EmbeddingName,
        typer.Option(help="How failures are embedded before they are clustered into types."),
    ] = "gradients",
    types: Annotated[
        int | None, typer.Option(min=2, help="Number of types (default: the best of 2–6).")
    ] = None,
    metadata: Annotated[
        Path | None,
        typer.Option(
            help="A table with one row per validation row: required by --embedding metadata."
        ),
    ] = None,
    metadata_column: Annotated[
        str | None,
        typer.Option("--metadata-col", help="Column of --metadata (default: its only column)."),
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Also repair each type on its own (per-type table).")
    ] = False,
    budget: Annotated[
        int | None,
        typer.Option(min=1, help="Rows unlearned per type (default: the expected label errors)."),
    ] = None,
    classes: ClassesOption = None,
    label_col: LabelColOption = None,
    seed: SeedOption = 0,
    threads: ThreadsOption = 1,
    device: DeviceOption = "cpu",
    as_json: JsonOption = False,
) -> None:
    """Split the validation failures into types (Henn et al. 2021) and measure each type."""
    from labelmend.repair import analyze_files

    with spinner("Typing failures (one fine-tune per type and typing)…"):
        done = analyze_files(
            train_features,
            train_labels,
            validation_features,
            validation_labels,
            out,
            model=model,
            embedding=embedding,
            n_types=types,
            metadata=metadata,
            metadata_column=metadata_column,
            repair=repair,
            budget=budget,
            classes=_names(classes),
            label_col=label_col,
            random_state=seed,
            threads=threads,
            device=device,
        )
    typing = done.types
    if as_json:
        print_json(json.loads(done.paths["report"].read_text()))
        return
    formats = dict.fromkeys(
        ("learnability", "generalisability", "independence", "compatibility"), ".2f"
    ) | {"size": ","}
    console.print(
        frame_table(
            typing.table,
            title=f"{typing.n_types} failure types by {typing.embedding} "
            f"(score {typing.score:.3f}; random typing {typing.baseline_score:.3f})",
            formats=formats,
        )
    )
    console.print(frame_table(typing.baseline, title="Random typing (baseline)", formats=formats))
    if done.repair is not None:
        console.print(
            frame_table(
                done.repair.table,
                title="Each type repaired on its own (accuracy on held-out halves)",
                formats={
                    "size": ",",
                    "k": ",",
                    "fixed": ".2f",
                    "others_fixed": ".2f",
                    "retention": ".3f",
                },
            )
        )
    if done.through_output_layer:
        console.print(FROZEN_BODY)
    console.print(f"written to {out}: " + ", ".join(path.name for path in done.paths.values()))
