"""Ranking speed and peak extra memory: labelmend against cleanlab, in the same run.

Each (tool, size) runs in a fresh subprocess that first builds the data, then records
its resident memory, runs the scorer ``--repeats`` times, and reports the median wall
time and the peak resident memory above that baseline (children included, since
cleanlab's find_label_issues may fork workers). The machine is shared and noisy:
compare medians and ratios, not single runs.

    python benchmarks/ranking_speed.py            # 1M×10, 100k×100, 200k×1000
    python benchmarks/ranking_speed.py --quick    # small sizes, for a smoke test
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

SIZES = [(1_000_000, 10), (100_000, 100), (200_000, 1000)]
TARGET_SIZE = (200_000, 1000)
QUICK_SIZES = [(20_000, 10), (5_000, 100)]
TOOLS = {
    "labelmend rank_samples": "labelmend",
    "cleanlab find_label_issues": "cleanlab_find",
    "cleanlab get_label_quality_scores": "cleanlab_scores",
}


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()


def _peak_bytes() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024


def _worker(tool: str, n: int, k: int, repeats: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    import labelmend.cleaner as cleaner
    from _synthetic import noisy_dataset

    labels, probs, _ = noisy_dataset(n, k)
    runs = {
        "labelmend": lambda: cleaner.rank_samples(labels, probs),
        "cleanlab_find": lambda: find_label_issues(labels, probs),
        "cleanlab_scores": lambda: get_label_quality_scores(labels, probs),
    }
    run = runs[tool]
    baseline = _rss_bytes()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    reads = []
    for _ in range(5):
        read_start = time.perf_counter()
        probs.sum()
        reads.append(time.perf_counter() - read_start)
    print(
        json.dumps(
            {
                "seconds": statistics.median(times),
                "extra_mb": max(0, _peak_bytes() - baseline) / 2**20,
                "input_mb": probs.nbytes / 2**20,
                "read_seconds": statistics.median(reads),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=3, metavar=("TOOL", "N", "K"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        tool, n, k = args.worker
        _worker(tool, int(n), int(k), args.repeats)
        return
    console = Console(width=150)
    table = Table(title="Ranking speed (median wall time) and peak extra memory")
    for column in (
        "N × K",
        "input MB",
        "tool",
        "seconds",
        "extra MB",
        "vs labelmend",
        "× one read",
    ):
        table.add_column(column, justify="right" if column != "tool" else "left")
    targets: list[str] = []
    for n, k in QUICK_SIZES if args.quick else SIZES:
        results = {}
        for name, tool in TOOLS.items():
            command = [sys.executable, __file__, "--worker", tool, str(n), str(k)]
            command += ["--repeats", str(args.repeats)]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        ours = results["labelmend rank_samples"]["seconds"]
        for name, result in results.items():
            table.add_row(
                f"{n:,} × {k:,}",
                f"{result['input_mb']:.0f}",
                name,
                f"{result['seconds']:.3f}",
                f"{result['extra_mb']:.0f}",
                f"{result['seconds'] / ours:.1f}×",
                f"{result['seconds'] / result['read_seconds']:.0f}×",
            )
        table.add_section()
        if (n, k) == TARGET_SIZE:
            targets = _target_lines(results)
    console.print(table)
    if not args.quick:
        for line in targets:
            console.print(line)


def _target_lines(results: dict[str, dict[str, float]]) -> list[str]:
    """The issue's targets at 200k × 1,000, checked on this run's medians."""
    ours = results["labelmend rank_samples"]
    speedup = results["cleanlab find_label_issues"]["seconds"] / ours["seconds"]
    reads = ours["seconds"] / ours["read_seconds"]
    checks = [
        (f"{speedup:.1f}× faster than cleanlab find_label_issues", speedup >= 3.0, "≥ 3×"),
        (f"+{ours['extra_mb']:.0f} MB extra peak memory", ours["extra_mb"] < 100, "< 100 MB"),
        (f"{reads:.1f}× one read of the array", reads <= 10.0, "≤ 10×"),
    ]
    return [
        f"{'[green]met[/]' if met else '[red]missed[/]'}  {text} (target {target})"
        for text, met, target in checks
    ]


if __name__ == "__main__":
    main()
