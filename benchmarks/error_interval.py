"""Does "estimated label errors remaining (95% interval …)" hold the true count?

On the full-truth sets of ``benchmarks/quality.py`` (every label's truth known), the
estimate is Σ p_error of :func:`labelmend.cleaner.score_samples` and the interval is
:func:`labelmend.cleaner.count_errors`'s: the variance Σ p (1 − p), the chance in the
labels were p_error exact, plus the estimate's own error, a · Σ p + (s · Σ p)² (a variance
per expected error, which dominates on small sets, and a relative standard deviation,
which dominates on large ones). Per set: the true count, Σ p_error's relative error, the
interval's mean half-width relative to the estimate, and how many runs the interval
holds the truth in — chance alone (a = s = 0) and the shipped pair
(:data:`~labelmend.cleaner.count.ERROR_VARIANCE_PER_ERROR`,
:data:`~labelmend.cleaner.count.ESTIMATE_RELATIVE_SD`).

The pair is the narrowest (mean relative half-width) on a grid — a in steps of 0.1 up
to 3, s in steps of 0.01 up to 0.3 — among those whose interval holds the truth in at
least 95 % of the runs. It is chosen leave-one-group-out (on the other groups' runs,
with the held-out group's coverage) and, shipped, on all three groups: the CIFAR-10 sets
(they share images), the music sets (they share annotators), and random flips on digits
and breast cancer (small data, probabilities fitted on it). Two kinds of set are held
out of every choice and shown as they come: systematic flips (30 % of one class
relabelled as another: a model fitted on those labels learns the confusion, so its
probabilities agree with them) and the truth-inference crowd sets (their probabilities
are the other workers' answers, which share the given answer's mistakes); there the
labels and probabilities cannot tell the errors (docs/ranking.md, "Quality on real
label noise with full truth").

    python benchmarks/error_interval.py [--seeds 20] [--markdown]

The sets come from benchmarks/quality.py (its cached fits in benchmarks/results/; the
first run fits them). About 55 s of CPU for 20 seeds (55 s of wall time at load average 1).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table
from threadpoolctl import threadpool_limits

from labelmend.cleaner import count_errors, score_samples
from labelmend.cleaner.count import ERROR_VARIANCE_PER_ERROR, ESTIMATE_RELATIVE_SD
from quality import CROWD, noisy_sets

#: Groups that choose the pair (name prefix → group); every other set is held out.
GROUPS = {
    "cifar10": "CIFAR-10",
    "music": "music",
    "digits/0": "random flips",
    "cancer/0": "random flips",
}
PER_ERROR_GRID = np.round(np.arange(0.0, 3.01, 0.1), 2)
RELATIVE_GRID = np.round(np.arange(0.0, 0.301, 0.01), 2)
TARGET = 0.95
Pair = tuple[float, float]
SHIPPED: Pair = (ERROR_VARIANCE_PER_ERROR, ESTIMATE_RELATIVE_SD)


@dataclass(frozen=True)
class Run:
    """One set and seed: the true number of wrong labels and p_error (N,)."""

    name: str
    true: int
    p_error: np.ndarray

    @property
    def group(self) -> str | None:
        return next((g for prefix, g in GROUPS.items() if self.name.startswith(prefix)), None)

    @property
    def relative_error(self) -> float:
        """Σ p_error / true − 1."""
        return float(self.p_error.sum()) / self.true - 1

    def interval(self, pair: Pair) -> tuple[bool, float]:
        """Whether :func:`count_errors`'s interval under ``pair`` holds the truth, and its
        half-width relative to the estimate."""
        count = count_errors(self.p_error, variance_per_error=pair[0], relative_sd=pair[1])
        return count.low <= self.true <= count.high, (count.high - count.low) / 2 / count.expected


def collect(seeds: int) -> list[Run]:
    runs = []
    with threadpool_limits(1):
        for seed in track(
            range(seeds), description="Scoring every set", console=Console(stderr=True)
        ):
            for data in noisy_sets(seed):
                p_error = score_samples(data.labels, data.probs).p_error
                runs.append(Run(data.name, int(data.is_error.sum()), p_error))
    return runs


def coverage(runs: Sequence[Run], pair: Pair) -> tuple[float, float]:
    """(share of ``runs`` whose interval holds the truth, mean relative half-width)."""
    found = [run.interval(pair) for run in runs]
    return float(np.mean([held for held, _ in found])), float(np.mean([w for _, w in found]))


def narrowest(runs: Sequence[Run]) -> Pair:
    """The pair of the grid with the least mean half-width among those covering
    :data:`TARGET` of ``runs``: for each a, the least covering s (coverage grows with s)."""
    found: dict[Pair, tuple[float, float]] = {}  # each pair scored once

    def scored(per_error: float, index: int) -> tuple[float, float]:
        pair = (float(per_error), float(RELATIVE_GRID[index]))
        if pair not in found:
            found[pair] = coverage(runs, pair)
        return found[pair]

    best: tuple[float, Pair] | None = None
    for per_error in PER_ERROR_GRID:
        low, high = 0, len(RELATIVE_GRID) - 1
        if scored(per_error, high)[0] < TARGET:
            continue
        while low < high:  # bisection for the least covering s
            middle = (low + high) // 2
            if scored(per_error, middle)[0] >= TARGET:
                high = middle
            else:
                low = middle + 1
        pair = (float(per_error), float(RELATIVE_GRID[low]))
        width = scored(per_error, low)[1]
        if best is None or width < best[0]:
            best = (width, pair)
    if best is None:
        raise SystemExit("No pair of the grid covers the target.")
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args()
    runs = collect(args.seeds)

    choosing = [r for r in runs if r.group is not None]
    held_rows = []
    for group in sorted({r.group for r in choosing if r.group}):
        pair = narrowest([r for r in choosing if r.group != group])
        held = [r for r in choosing if r.group == group]
        share, width = coverage(held, pair)
        held_rows.append(
            [
                group,
                f"{pair[0]:.1f}",
                f"{pair[1]:.2f}",
                f"{round(share * len(held))} / {len(held)}",
                f"±{width:.0%}",
            ]
        )
    on_all = narrowest(choosing)
    held_rows.append(["(all three: shipped)", f"{on_all[0]:.1f}", f"{on_all[1]:.2f}", "—", "—"])

    def held(part: Sequence[Run], pair: Pair) -> str:
        return f"{sum(r.interval(pair)[0] for r in part)} / {len(part)}"

    chance: Pair = (0.0, 0.0)
    set_rows = []
    for name in dict.fromkeys(r.name for r in runs):
        mine = [r for r in runs if r.name == name]
        relative = [r.relative_error for r in mine]
        kind = mine[0].group or ("crowd (held out)" if name in CROWD else "systematic (held out)")
        set_rows.append(
            [
                name,
                kind,
                f"{np.mean([r.true for r in mine]):.0f}",
                f"{np.mean(relative):+.0%} ({min(relative):+.0%} to {max(relative):+.0%})",
                held(mine, chance),
                held(mine, SHIPPED),
                f"±{coverage(mine, SHIPPED)[1]:.0%}",
            ]
        )
    for label, part in (
        ("choosing groups", choosing),
        ("held out (systematic, crowd)", [r for r in runs if r.group is None]),
    ):
        set_rows.append([f"**{label}**", "", "", "", held(part, chance), held(part, SHIPPED), ""])
    set_header = [
        "set",
        "group",
        "true errors",
        "Σ p_error / true − 1, mean (range)",
        "held, chance alone",
        f"held, a = {SHIPPED[0]:.1f}, s = {SHIPPED[1]:.2f}",
        "half-width / estimate",
    ]
    held_header = [
        "group held out",
        "a chosen on the others",
        "s",
        "held-out runs held",
        "half-width",
    ]
    show(set_header, set_rows, args.markdown, "How often the 95% interval holds the true count")
    show(held_header, held_rows, args.markdown, "Leave-one-group-out choice of (a, s)")
    if on_all != SHIPPED:
        Console().print(
            f"[red]The choice on all groups, {on_all}, is not the shipped {SHIPPED}.[/red]"
        )


def show(header: list[str], rows: list[list[str]], markdown: bool, title: str) -> None:
    if markdown:
        print(f"\n{title}\n")
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    table = Table(*header, title=title)
    for row in rows:
        table.add_row(*(cell.strip("*") for cell in row))
    Console().print(table)


if __name__ == "__main__":
    main()
