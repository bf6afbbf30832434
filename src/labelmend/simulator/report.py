"""A study's tables and figure, built in memory: the summary (mean ± sd over seeds) as
Markdown or frames, and the curves as a matplotlib figure.

:func:`labelmend.jobs.write_study` writes them (``summary.md``, ``curves.png``) with the
tidy ``results.csv``, ``runs.csv`` and the HTML page (:mod:`labelmend.report.study`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from labelmend.cleaner import EXPECTED_ERRORS, STOP_THRESHOLD, TRADE_OFF
from labelmend.simulator.simulation import CHECKPOINTS
from labelmend.simulator.study import StudyResult

#: Selectors drawn as bounds (dashed) rather than as contenders.
BOUNDS = {"oracle": "black", "random": "grey"}
#: Numbers of the summary table: (column in ``runs``, heading, format).
SUMMARY_COLUMNS = (
    *((f"noise_fixed@{f:.0%}", f"fixed @{f:.0%} N", ".2%") for f in CHECKPOINTS),
    ("auc", "AUC acc.", ".4f"),
    ("auc_gain", "AUC gain", ".4f"),
    ("stop_annotations", "stop at", ".0f"),
    ("best_annotations", "best at", ".0f"),
    ("stop_regret", "regret", ".1f"),
    ("final_test_accuracy", "test acc.", ".3f"),
)
#: What each heading of :data:`SUMMARY_COLUMNS` means, printed under the tables.
SUMMARY_MEANINGS = {
    "fixed @5% N": (
        "noisy labels fixed once annotations worth 5% (10%, 20%) of the samples are spent: "
        "(wrong labels corrected − right labels broken) / wrong labels at the start"
    ),
    "AUC acc.": "label accuracy averaged over the whole budget (area under its curve / budget)",
    "AUC gain": "label accuracy averaged over the whole budget, minus the accuracy at the start",
    "stop at": (
        "annotations spent when the stopping rule stops: the next batch holds fewer than "
        f"{STOP_THRESHOLD:g} {EXPECTED_ERRORS} per sample (mean p_error)"
    ),
    "best at": (
        f"annotations spent where net fixes − {TRADE_OFF:g} × annotations is largest (an "
        f"annotation is worth spending while it fixes at least {TRADE_OFF:g} labels)"
    ),
    "regret": "labels of that trade-off lost by stopping where the rule stops, not at the best",
    "test acc.": "test accuracy of the model refitted on the labels at the end (--features)",
}


def summary_tables(study: StudyResult) -> list[tuple[str, pd.DataFrame]]:
    """One table per noise level × batch size: a heading and text cells "mean ± sd".

    Shared by ``summary.md`` and the study's HTML page.
    """
    tables = []
    present = [c for c in SUMMARY_COLUMNS if f"{c[0]}_mean" in study.summary.columns]
    for (noise, batch), part in study.summary.groupby(["noise", "batch_size"], sort=False):
        mode = "static" if batch == 0 else f"active, batch {batch}"
        shown = [c for c in present if part[f"{c[0]}_mean"].notna().any()]
        rows = []
        for values in part.to_dict("records"):
            row = {"selector": values["selector"]}
            for column, head, fmt in shown:
                mean, sd = values[f"{column}_mean"], values[f"{column}_std"]
                sd_text = "" if np.isnan(sd) else f" ± {format(sd, fmt)}"
                row[head] = f"{format(mean, fmt)}{sd_text}" if not np.isnan(mean) else "—"
            rows.append(row)
        seeds = int(study.runs["seed"].nunique())
        tables.append((f"{noise}, {mode} ({seeds} seeds)", pd.DataFrame(rows)))
    return tables


def summary_meanings(tables: list[tuple[str, pd.DataFrame]]) -> list[tuple[str, str]]:
    """(heading, meaning) of the :data:`SUMMARY_MEANINGS` the tables show, in order.

    >>> tables = [("T=2, static (1 seeds)", pd.DataFrame(columns=["selector", "regret"]))]
    >>> summary_meanings(tables)[0][0]
    'regret'
    """
    shown = dict.fromkeys(column for _, frame in tables for column in frame.columns)
    shown = dict.fromkeys("fixed @5% N" if c.startswith("fixed @") else c for c in shown)
    return [(head, SUMMARY_MEANINGS[head]) for head in shown if head in SUMMARY_MEANINGS]


def summary_markdown(study: StudyResult) -> str:
    """Markdown tables, one per noise level × batch size: mean ± sd over seeds; then what
    each column means."""
    blocks = []
    tables = summary_tables(study)
    for heading, frame in tables:
        lines = [
            f"### {heading}",
            "",
            "| " + " | ".join(frame.columns) + " |",
            "|---|" + "---:|" * (len(frame.columns) - 1),
        ]
        lines += ["| " + " | ".join(row) + " |" for row in frame.itertuples(index=False)]
        blocks.append("\n".join(lines))
    blocks.append(
        "\n".join(f"- **{head}**: {meaning}." for head, meaning in summary_meanings(tables))
    )
    return "\n\n".join(blocks) + "\n"


def curves_figure(results: pd.DataFrame) -> Any:
    """Accuracy and noise fixed against annotations spent, mean ± sd band per selector.

    A matplotlib figure, one row of two panels per noise level × batch size; the caller
    saves and closes it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(results.groupby(["noise", "batch_size"], sort=False))
    fig, axes = plt.subplots(
        len(groups), 2, figsize=(12, 4.2 * len(groups)), squeeze=False, constrained_layout=True
    )
    cmap = plt.get_cmap("tab10")
    contenders = [name for name in results["selector"].unique() if name not in BOUNDS]
    colours = {name: cmap(i % 10) for i, name in enumerate(contenders)} | BOUNDS
    for row, ((noise, batch), part) in zip(axes, groups, strict=True):
        stats = part.groupby(["selector", "annotations"], sort=False)[["accuracy", "noise_fixed"]]
        mean, sd = stats.mean(), stats.std().fillna(0.0)
        for axis, metric, label in (
            (row[0], "accuracy", "label accuracy"),
            (row[1], "noise_fixed", "noisy labels fixed"),
        ):
            for name in part["selector"].unique():
                x = mean.loc[name].index.to_numpy()
                y, band = mean.loc[name][metric].to_numpy(), sd.loc[name][metric].to_numpy()
                style = "--" if name in BOUNDS else "-"
                axis.plot(x, y, style, color=colours[name], label=name, lw=1.6)
                axis.fill_between(x, y - band, y + band, color=colours[name], alpha=0.15, lw=0)
            mode = "static" if batch == 0 else f"active (batch {batch})"
            axis.set_title(f"{label} — {noise}, {mode}")
            axis.set_xlabel("annotations spent")
            axis.set_ylabel(label)
            axis.grid(alpha=0.3)
            if metric == "noise_fixed":
                axis.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        row[0].legend(loc="lower right", fontsize=8)
    return fig
