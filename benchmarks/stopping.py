"""The stopping rule's threshold, chosen leave-one-set-out on the simulator's real sets.

The rule (:func:`labelmend.cleaner.stopping_point`, the report's budget section and the
simulator's :func:`~labelmend.simulator.simulation.stopping`): stop once the next batch of
samples in review order holds fewer than ``STOP_THRESHOLD`` expected label errors per
sample (mean p_error). The user's trade-off is ``TRADE_OFF``: an expert annotation is
worth spending while it fixes at least 0.1 labels, so a run's best point maximises net
fixes − 0.1 × annotations, and the regret is the labels of that trade-off lost by
stopping where the rule stops.

Sets: the eight of ``benchmarks/simulation.py`` (CIFAR-10H at T = 2 and 1.5, CIFAR-10N's
annotators, music genre; static and active), the default ranking only, with a budget of
60% of N so that every run's best point lies inside it. Per set: where the shipped rule
stops against the best point and its regret; then, for each set held out, the threshold
of :data:`THRESHOLDS` with the least regret per 1,000 samples on the seven others, and
its regret on the held-out set (never tuned on the set that scores it).

    python benchmarks/stopping.py [--seeds 5] [--sets a,b] [--markdown]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from labelmend.cleaner import STOP_THRESHOLD, TRADE_OFF
from labelmend.simulator import stopping
from simulation import DATA, settings, table

#: Rule thresholds tried (expected label errors per sample of the next batch).
THRESHOLDS = tuple(np.round(np.arange(0.02, 0.301, 0.01), 2))
#: Annotations spent per run, as a share of N: past every run's best point.
BUDGET = 0.6


def regrets(results: pd.DataFrame) -> pd.DataFrame:
    """Per seed (rows) and threshold (columns): the regret of the rule at that threshold."""
    rows = {}
    for seed, curve in results.groupby("seed", sort=True):
        rows[seed] = [stopping(curve, threshold)[2] for threshold in THRESHOLDS]
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(THRESHOLDS))


def shipped_row(name: str, runs: pd.DataFrame, n_samples: int) -> dict[str, object]:
    """Where the shipped rule stops against the best point, mean ± sd over seeds."""
    early = runs["best_annotations"] - runs["stop_annotations"]
    return {
        "set": name,
        "N": n_samples,
        "stop at": f"{runs['stop_annotations'].mean():.0f}",
        "best at": f"{runs['best_annotations'].mean():.0f}",
        "stops early by": f"{early.mean():+.0f} ± {early.std():.0f}",
        "regret (labels)": f"{runs['stop_regret'].mean():.1f} ± {runs['stop_regret'].std():.1f}",
    }


def held_out(per_set: dict[str, pd.DataFrame], sizes: dict[str, int]) -> tuple[pd.DataFrame, float]:
    """Each set held out: the threshold with the least mean regret per 1,000 samples on
    the others, and its regret here. Also the threshold chosen on every set."""

    def cost(names: list[str]) -> pd.Series:
        return pd.concat([per_set[s].mean() / sizes[s] * 1000 for s in names], axis=1).mean(axis=1)

    rows, held, fixed = [], 0.0, 0.0
    for name, lost in per_set.items():
        others = [s for s in per_set if s != name]
        if not others:
            continue
        chosen = float(cost(others).idxmin())
        held += lost[chosen].mean()
        fixed += lost[STOP_THRESHOLD].mean()
        rows.append(
            {
                "held out": name,
                "threshold chosen on the others": f"{chosen:g}",
                "held-out regret (labels)": f"{lost[chosen].mean():.1f} ± {lost[chosen].std():.1f}",
                f"regret at {STOP_THRESHOLD:g}": f"{lost[STOP_THRESHOLD].mean():.1f}",
                "least regret here (threshold)": f"{lost.mean().min():.1f} "
                f"({lost.mean().idxmin():g})",
            }
        )
    if rows:
        rows.append(
            {
                "held out": "sum over the sets",
                "held-out regret (labels)": f"{held:.1f}",
                f"regret at {STOP_THRESHOLD:g}": f"{fixed:.1f}",
            }
        )
    return pd.DataFrame(rows).fillna(""), float(cost(list(per_set)).idxmin())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--markdown", action="store_true", help="also print raw markdown")
    parser.add_argument("--sets", help="comma-separated subset of the sets (default: all)")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"real data not found at {DATA}")
    with threadpool_limits(1):
        chosen = settings(args.sets.split(",") if args.sets else None, budget=BUDGET)
    start = time.perf_counter()
    shipped, per_set, sizes = [], {}, {}
    for setting in chosen:
        study = setting.run(["default"], args.seeds)
        # N: every run spends round(BUDGET × N) annotations.
        sizes[setting.name] = round(study.results["annotations"].max() / BUDGET)
        shipped.append(shipped_row(setting.name, study.runs, sizes[setting.name]))
        per_set[setting.name] = regrets(study.results)
    seconds = time.perf_counter() - start
    table(
        pd.DataFrame(shipped),
        f"The shipped rule (threshold {STOP_THRESHOLD:g}) against the best point "
        f"(net fixes − {TRADE_OFF:g} × annotations), default ranking, {args.seeds} seeds, "
        f"budget {BUDGET:.0%} of N ({seconds:.0f} s)",
        args,
    )
    loso, overall = held_out(per_set, sizes)
    table(
        loso,
        "Leave one set out: the threshold chosen on the other sets (least regret per 1,000 "
        f"samples), scored on the held-out set (chosen on every set: {overall:g})",
        args,
    )


if __name__ == "__main__":
    main()
