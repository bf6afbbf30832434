"""Pictures of a repair (matplotlib, Agg backend): before / after accuracies, and the
failure types' transfer heatmap."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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
    title: str = "Model repair",
) -> Path:
    """Write :func:`repair_figure` as a PNG at ``path``.

    Examples
    --------
    >>> import tempfile, os
    >>> report = {"heldout_failure_accuracy_after": 0.6, "retention": 0.98}
    >>> plot_repair(report, os.path.join(tempfile.mkdtemp(), "repair.png")).name
    'repair.png'
    """
    import matplotlib.pyplot as plt

    fig = repair_figure(report, title=title)
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
    title: str = "Model repair",
) -> Any:
    """A matplotlib figure: accuracies before / after / oracle.

    Parameters
    ----------
    report : dict from :func:`~labelmend.repair.pipeline.repair_model` (``result.report``)

    The caller saves and closes it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(key, label) for key, label in PANELS if f"{key}_before" in report]
    fig, bars = plt.subplots(figsize=(6.5, 4.2))
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
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_failure_types(
    transfer: npt.NDArray[np.float64], path: str | Path, *, title: str = "Failure types"
) -> Path:
    """Write a heatmap PNG: accuracy on each type's held-out half (columns) after
    fine-tuning on each type (rows); the last column is the previously correct rows.

    Parameters
    ----------
    transfer : (T, T + 1) from :class:`~labelmend.repair.failures.FailureTypes`
    path : where the PNG goes
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_types = transfer.shape[0]
    fig, ax = plt.subplots(figsize=(1.2 * n_types + 3.5, 0.9 * n_types + 2))
    image = ax.imshow(transfer, vmin=0.0, vmax=1.0, cmap="viridis")
    for (row, column), value in np.ndenumerate(transfer):
        ax.text(
            column,
            row,
            f"{value:.0%}",
            ha="center",
            va="center",
            color="white" if value < 0.6 else "black",
            fontsize=9,
        )
    ax.set_xticks(range(n_types + 1), [f"type {t}" for t in range(n_types)] + ["correct"])
    ax.set_yticks(range(n_types), [f"tuned on {t}" for t in range(n_types)])
    ax.set_xlabel("accuracy on held-out half (previously correct rows: last column)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
