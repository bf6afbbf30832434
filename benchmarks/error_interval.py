"""Does "estimated label errors remaining (95% interval …)" cover the true count?

On the full-truth sets of ``benchmarks/quality.py`` (every label's truth known; 5 seeds
each), the estimate is Σ p_error of :func:`labelmend.cleaner.score_samples` and the
interval is :func:`labelmend.cleaner.count_errors`'s: Σ p (1 − p), the chance in the
labels were p_error exact, plus (s · Σ p_error)², the estimate's own relative error. Per
set: the true count, Σ p_error's relative error, and how many runs each interval covers —
chance alone (s = 0) and the shipped s (:data:`~labelmend.cleaner.count.ESTIMATE_RELATIVE_SD`).

s is chosen leave-one-group-out: for each group, the least s on a grid of 0.01 whose
interval covers the truth in at least 95 % of the other groups' runs, and the held-out
group's coverage with it; the shipped s is the choice on all three groups. Groups: the
CIFAR-10 sets (they share images), the music sets (they share annotators), and random
flips on digits and breast cancer (small data, probabilities fitted on it). Two kinds of
set are held out of every choice and shown as they come: systematic flips (30 % of one
class relabelled as another: a model fitted on those labels learns the confusion, so its
probabilities agree with them) and the truth-inference crowd sets (their probabilities
are the other workers' answers, which share the given answer's mistakes) — there the
labels and probabilities cannot tell the errors (docs/ranking.md, "Quality on real label
noise with full truth").

    python benchmarks/error_interval.py [--seeds 5] [--markdown]

The sets come from benchmarks/quality.py (its cached fits in benchmarks/results/, the
first run fits them); one score per set and seed, about a minute of CPU.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table
from threadpoolctl import threadpool_limits

from labelmend.cleaner import count_errors, score_samples
from labelmend.cleaner.count import ESTIMATE_RELATIVE_SD
from quality import CROWD, noisy_sets

#: Groups that choose s (name prefix → group); every other set is held out of the choice.
GROUPS = {
    "cifar10": "CIFAR-10",
    "music": "music",
    "digits/0": "random flips",
    "cancer/0": "random flips",
}
GRID = np.round(np.arange(0.0, 0.51, 0.01), 2)
TARGET = 0.95


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

    def covered(self, relative_sd: float) -> bool:
        """Whether :func:`count_errors`'s interval at ``relative_sd`` holds the truth."""
        count = count_errors(self.p_error, relative_sd=relative_sd)
        return count.low <= self.true <= count.high


def collect(seeds: int) -> list[Run]:
    runs = []
    with threadpool_limits(1):
        for seed in track(range(seeds), description="Scoring every set"):
            for data in noisy_sets(seed):
                p_error = score_samples(data.labels, data.probs).p_error
                runs.append(Run(data.name, int(data.is_error.sum()), p_error))
    return runs


def coverage(runs: list[Run], relative_sd: float) -> float:
    return float(np.mean([run.covered(relative_sd) for run in runs]))


def least_covering(runs: list[Run]) -> float:
    """The least s of :data:`GRID` covering :data:`TARGET` of ``runs`` (the grid's top if none)."""
    return next((s for s in GRID if coverage(runs, s) >= TARGET), float(GRID[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="print markdown tables")
    args = parser.parse_args()
    runs = collect(args.seeds)
    choosing = [r for r in runs if r.group is not None]
    groups = sorted({r.group for r in choosing if r.group})
    held_rows = []
    for group in groups:
        chosen = least_covering([r for r in choosing if r.group != group])
        held = [r for r in choosing if r.group == group]
        held_rows.append(
            [group, f"{chosen:.2f}", f"{sum(r.covered(chosen) for r in held)} / {len(held)}"]
        )
    on_all = least_covering(choosing)
    held_rows.append(["(all three: shipped)", f"{on_all:.2f}", "—"])

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
                f"{sum(r.covered(0.0) for r in mine)} / {len(mine)}",
                f"{sum(r.covered(ESTIMATE_RELATIVE_SD) for r in mine)} / {len(mine)}",
            ]
        )
    totals = [
        ("choosing groups", choosing),
        ("held out (systematic, crowd)", [r for r in runs if r.group is None]),
    ]
    for label, part in totals:
        set_rows.append(
            [
                f"**{label}**",
                "",
                "",
                "",
                f"{sum(r.covered(0.0) for r in part)} / {len(part)}",
                f"{sum(r.covered(ESTIMATE_RELATIVE_SD) for r in part)} / {len(part)}",
            ]
        )
    set_header = [
        "set",
        "group",
        "true errors",
        "Σ p_error / true − 1, mean (range)",
        "covered, chance alone",
        f"covered, s = {ESTIMATE_RELATIVE_SD:.2f}",
    ]
    held_header = ["group held out", "s chosen on the others", "held-out runs covered"]
    show(set_header, set_rows, args.markdown, "Coverage of the 95% interval")
    show(held_header, held_rows, args.markdown, "Leave-one-group-out choice of s")
    if on_all != ESTIMATE_RELATIVE_SD:
        Console().print(
            f"[red]The choice on all groups, {on_all:.2f}, is not the shipped "
            f"ESTIMATE_RELATIVE_SD = {ESTIMATE_RELATIVE_SD}.[/red]"
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
