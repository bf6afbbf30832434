"""Charts as inline SVG text, drawn by matplotlib (no network, no JavaScript).

Text stays text (``svg.fonttype = none``): numbers on a chart can be searched and copied
in the browser, and a chart weighs a few kilobytes whatever the dataset's size, because
every chart draws a summary (bins, a curve sampled at most :data:`MAX_POINTS` times),
never one mark per sample.

>>> svg = histogram(np.array([0.1, 0.2, 0.9]), bins=np.linspace(0, 1, 11), xlabel="p_error")
>>> svg.startswith("<svg") and "p_error" in svg
True
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

#: Most points drawn per line: longer curves are sampled evenly (ends kept).
MAX_POINTS = 2_000
#: Colours shared by every page: one accent, grey for references.
ACCENT, SECOND, REFERENCE = "#1f6feb", "#d1242f", "#6e7781"
STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


@contextmanager
def styled() -> Iterator[None]:
    """Matplotlib (off-screen) with the pages' style, for figures drawn elsewhere."""
    import matplotlib

    matplotlib.use("Agg")
    with matplotlib.rc_context(STYLE):
        yield


@contextmanager
def figure(width: float = 6.0, height: float = 3.2, ncols: int = 1) -> Iterator[Any]:
    """A matplotlib figure and its axes (one per column), with the pages' style."""
    import matplotlib.pyplot as plt

    with styled():
        fig, axes = plt.subplots(1, ncols, figsize=(width, height), constrained_layout=True)
        try:
            yield fig, axes
        finally:
            plt.close(fig)


def close_to_svg(fig: Any) -> str:
    """:func:`to_svg`, then close the figure (for figures made outside :func:`figure`)."""
    import matplotlib.pyplot as plt

    try:
        return to_svg(fig)
    finally:
        plt.close(fig)


def to_svg(fig: Any) -> str:
    """The figure as an ``<svg>`` element (no XML prologue), to place inside HTML."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def time_axis(axis: Any) -> None:
    """Label ``axis``'s x-axis of UTC times at the scale of its span, once each: hours
    over a day ("10:00"), days over weeks ("05"), seconds over a scripted run ("42.8"),
    the date they share written once at the axis's end (matplotlib's concise format).
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(tz="UTC")
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz="UTC"))
    axis.set_xlabel("time (UTC)")


def thin(x: npt.ArrayLike, *ys: npt.ArrayLike) -> list[npt.NDArray[Any]]:
    """At most :data:`MAX_POINTS` evenly spaced points of a curve (first and last kept).

    >>> [a.tolist() for a in thin(np.arange(5), np.arange(5) * 2)]
    [[0, 1, 2, 3, 4], [0, 2, 4, 6, 8]]
    """
    arrays = [np.asarray(x), *(np.asarray(y) for y in ys)]
    n = arrays[0].size
    if n <= MAX_POINTS:
        return arrays
    keep = np.unique(np.linspace(0, n - 1, MAX_POINTS).round().astype(np.intp))
    return [a[keep] for a in arrays]


def histogram(
    values: npt.NDArray[np.floating[Any]],
    *,
    bins: npt.NDArray[np.floating[Any]],
    xlabel: str,
    ylabel: str = "samples",
    log: bool = True,
) -> str:
    """Bars of ``np.histogram(values, bins)`` (log counts by default)."""
    counts, edges = np.histogram(values, bins=bins)
    with figure(6.0, 2.8) as (fig, axis):
        axis.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=ACCENT, alpha=0.8)
        if log and counts.max(initial=0) > 0:
            axis.set_yscale("log")
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        return to_svg(fig)


def heatmap(
    matrix: npt.NDArray[np.floating[Any]],
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    xlabel: str,
    ylabel: str,
    annotate_up_to: int = 12,
) -> str:
    """A matrix as coloured cells, values written in the cells when it is small."""
    k = max(len(rows), len(columns))
    size = min(3.0 + 0.35 * k, 9.0)
    with figure(size + 1.0, size) as (fig, axis):
        image = axis.imshow(matrix, cmap="Blues", vmin=0.0, aspect="auto")
        axis.grid(False)
        fig.colorbar(image, ax=axis, shrink=0.8)
        if k <= 40:
            axis.set_xticks(range(len(columns)), columns, rotation=90 if k > 12 else 0)
            axis.set_yticks(range(len(rows)), rows)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        if k <= annotate_up_to:
            top = float(np.max(matrix, initial=0.0)) or 1.0
            for (i, j), value in np.ndenumerate(matrix):
                colour = "white" if value > 0.6 * top else "black"
                axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color=colour)
        return to_svg(fig)
