"""``labelmend simulate``: a relabelling-budget study from files, with a progress bar."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from labelmend.cli._console import JsonOption, console, frame_table, print_json, stage_progress
from labelmend.jobs import simulate_files
from labelmend.simulator.report import SUMMARY_COLUMNS, SUMMARY_MEANINGS


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def simulate(
    counts: Annotated[
        Path, typer.Option(help="Annotator vote counts (N×K): .npy, .csv or .parquet.")
    ],
    out: Annotated[
        Path, typer.Option(help="Directory for results.csv, summary.md, curves.png, report.html.")
    ],
    pred_probs: Annotated[
        Path | None,
        typer.Option(
            help="Out-of-sample model probabilities (N×K): required by every selector but "
            "random and oracle, unless --features retrains a model (optional)."
        ),
    ] = None,
    features: Annotated[
        Path | None,
        typer.Option(
            help="Features (N×D) to retrain a model on between batches (optional; default: "
            "the --pred-probs stay fixed)."
        ),
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Initial labels drawn from p^(1/T) (default T=2).")
    ] = None,
    noise_rate: Annotated[
        float | None,
        typer.Option(
            help="Initial labels from the annotators' confusion rescaled so that this share "
            "of the labels is wrong, in [0, 1) (default: drawn with --temperature)."
        ),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option(min=1, help="Annotations to spend, a count (default: --fraction's)."),
    ] = None,
    fraction: Annotated[
        float | None,
        typer.Option(
            help="Annotations to spend as a share of N (default 0.3; above 1 when "
            "--max-reviews lets samples be reviewed again)."
        ),
    ] = None,
    selectors: Annotated[
        str,
        typer.Option(
            help="Comma-separated selectors: random, oracle (knows the true labels), default "
            "(score's default order), activelab, or any --method of rank."
        ),
    ] = "random,oracle,default",
    seeds: Annotated[int, typer.Option(min=1, help="Number of seeds.")] = 10,
    batch_size: Annotated[
        list[int] | None,
        typer.Option(
            help="Active mode: re-rank after every B annotations; repeat to compare sizes "
            "(default: static, ranked once)."
        ),
    ] = None,
    max_reviews: Annotated[
        int,
        typer.Option(min=1, help="Times one sample may be reviewed (1 = the paper's protocol)."),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address, tcp://HOST:8786 (default: local processes, one per core)."
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Simulate relabelling budgets: how many label errors each selector fixes."""
    with stage_progress("simulating runs") as progress:
        study, files = simulate_files(
            counts,
            out=out,
            pred_probs=pred_probs,
            features=features,
            temperature=temperature,
            noise_rate=noise_rate,
            selectors=_names(selectors),
            seeds=seeds,
            budget=budget,
            fraction=fraction,
            batch_sizes=list(batch_size) if batch_size else [None],
            max_reviews=max_reviews,
            scheduler=scheduler,
            progress=functools.partial(progress, "simulating runs"),
        )
    if json:  # the per-run and per-step tables are in the files
        print_json({"summary": study.summary, "files": files})
        return
    means = study.summary.rename(columns={f"{c}_mean": head for c, head, _ in SUMMARY_COLUMNS})
    shown = [head for _, head, _ in SUMMARY_COLUMNS[:3] if head in means.columns]
    keys = [key for key in ("noise", "batch_size") if means[key].nunique() > 1]
    console.print(
        frame_table(
            means,
            title="Noisy labels fixed, mean over seeds",
            columns=[*keys, "selector", *shown, "AUC gain"],
            formats=dict.fromkeys(shown, ".2%") | {"AUC gain": ".4f"},
        )
    )
    for head in ("fixed @5% N", "AUC gain"):
        console.print(f"[dim]{head}: {SUMMARY_MEANINGS[head]}.[/dim]")
    console.print(
        f"Wrote {files.results}, {files.runs}, {files.summary}, {files.curves} and {files.report}"
    )
