"""A before/after picture of a repair (matplotlib, Agg backend)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: (report key stem, label) of the accuracies shown before / after / oracle.
PANELS = (
    ("test_accuracy", "test"),
    ("heldout_failure_accuracy", "held-out failures"),
    ("heldout_accuracy", "held-out validation"),
)


def plot_repair(
    report: Mapping[str, float],
    path: str | Path,
    *,
    k_curve: pd.DataFrame | None = None,
    title: str = "Model repair",
) -> Path:
    """Write :func:`repair_figure` as a PNG at ``path``."""
    import matplotlib.pyplot as plt

    fig = repair_figure(report, k_curve=k_curve, title=title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path


def repair_figure(
    report: Mapping[str, float],
    *,
    k_curve: pd.DataFrame | None = None,
    title: str = "Model repair",
) -> Any:
    """A matplotlib figure: accuracies before / after / oracle, and how k was chosen.

    Parameters
    ----------
    report : dict from :func:`~labelmend.repair.evaluate.repair_model` (``result.report``)
    k_curve : DataFrame (k, selection_accuracy), optional — the right-hand panel

    The caller saves and closes it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(key, label) for key, label in PANELS if f"{key}_before" in report]
    fig, axes = plt.subplots(1, 2 if k_curve is not None else 1, figsize=(11, 4.2), squeeze=False)
    bars = axes[0, 0]
    width = 0.26
    colours = {"before": "#9e9e9e", "after": "#1f77b4", "oracle": "#ff7f0e"}
    names = {"before": "before", "after": "repaired", "oracle": "retrained (oracle)"}
    positions = np.arange(len(shown))
    for offset, which in enumerate(("before", "after", "oracle")):
        values = [report.get(f"{key}_{which}", math.nan) for key, _ in shown]
        drawn = bars.bar(
            positions + (offset - 1) * width,
            values,
            width,
            color=colours[which],
            label=names[which],
        )
        bars.bar_label(
            drawn, labels=[f"{v:.1%}" if np.isfinite(v) else "" for v in values], fontsize=8
        )
    retention = report.get("retention", math.nan)
    bars.set_xticks(positions, [label for _, label in shown])
    bars.set_ylim(0, 1.12)
    bars.set_ylabel("accuracy")
    bars.set_title(
        f"{int(report.get('k_removed', 0))} examples unlearned · retention {retention:.1%}"
    )
    bars.legend(loc="upper left", fontsize=8, ncols=3)
    if k_curve is not None:
        curve = axes[0, 1]
        curve.plot(k_curve["k"], k_curve["selection_log_loss"], marker="o", color="#1f77b4")
        curve.set_ylabel("log-loss on the selection split (chooses k)", color="#1f77b4")
        accuracy = curve.twinx()
        accuracy.plot(
            k_curve["k"], k_curve["selection_accuracy"], marker=".", color="#7f7f7f", alpha=0.7
        )
        accuracy.set_ylabel("accuracy on the selection split", color="#7f7f7f")
        chosen = report.get("k_removed", math.nan)
        curve.axvline(chosen, color="#d62728", linestyle="--", label=f"chosen k = {chosen:.0f}")
        curve.set_xlabel("k (top-scored training examples unlearned)")
        curve.set_title("Choosing k on held-out validation data")
        curve.legend(fontsize=8, loc="upper center")
        curve.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
