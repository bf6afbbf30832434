"""How fast the command line starts: ``--help``, ``--version``, ``status`` and the other reads.

Two measures per command, each the median of ``--repeat`` fresh processes:

* wall and CPU time of the real command (``labelmend status`` on a small scored SQLite
  store with a queue, made in a temporary directory first);
* the modules the same command imports, from ``python -X importtime``: the total import
  time and the heaviest packages (pandas, SQLAlchemy, alembic, scikit-learn, torch, dask,
  the Label Studio SDK), so a regression names its culprit.

Peers in the same run: a bare ``python -c pass`` (the floor), the imports no store command
can avoid (SQLAlchemy Core, typer with the pydantic it validates options with, rich; status
reads the store without SQLAlchemy's ORM and without numpy) and ``import cleanlab`` (what a
tool built on cleanlab pays before doing anything). Target (issue 13): ``--help`` and
``status`` under 0.5 s on this machine, judged on CPU time (user + system of the
process), which a machine shared with other jobs inflates less than wall time.

    python benchmarks/cli_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

TARGET_SECONDS = 0.5
HEAVY = [
    "cleanlab",
    "labelmend",
    "pandas",
    "sqlalchemy",
    "numpy",
    "alembic",
    "sklearn",
    "torch",
    "dask",
    "label_studio_sdk",
]
LABELMEND = [sys.executable, "-m", "labelmend"]
STORE_FLOOR = "import sqlalchemy, pydantic, typer, rich.table"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys of the child) seconds of one run; fails on a non-zero exit."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = os.times()
    return wall, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def import_profile(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, float]:
    """Seconds the Python ``command`` spends importing each top-level package (the self
    times of all of the package's modules, from ``python -X importtime``)."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if found:
            package = found.group(2).split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(found.group(1)) / 1e6
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    console = Console()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="labelmend-startup-") as tmp:
        work = Path(tmp)
        (work / "samples.csv").write_text("sample_id,label\na,cat\nb,dog\nc,cat\n")
        (work / "probs.csv").write_text("sample_id,cat,dog\na,.9,.1\nb,.7,.3\nc,.2,.8\n")
        for setup in (
            ["init", "pets", "--classes", "cat,dog"],
            ["import", "samples", "samples.csv"],
            ["import", "predictions", "probs.csv", "--model", "m"],
            ["score"],
            ["queue", "create", "q", "--budget", "1"],
        ):
            subprocess.run([*LABELMEND, *setup], cwd=work, env=env, check=True,
                           capture_output=True)  # fmt: skip
        runs = {
            "python -c pass (floor)": [sys.executable, "-c", "pass"],
            "import cleanlab (peer)": [sys.executable, "-c", "import cleanlab"],
            # What any store command imports, whatever it does: SQLAlchemy Core, the CLI
            # (typer validates options with pydantic) and rich.
            "store command floor": [sys.executable, "-c", STORE_FLOOR],
            "labelmend --help": [*LABELMEND, "--help"],
            "labelmend --version": [*LABELMEND, "--version"],
            "labelmend status": [*LABELMEND, "status"],
            # The other reads: datasets and queue list use status's Core reads; history
            # and queue show still build pandas frames.
            "labelmend datasets": [*LABELMEND, "datasets"],
            "labelmend queue list": [*LABELMEND, "queue", "list"],
            "labelmend queue show q": [*LABELMEND, "queue", "show", "q"],
            "labelmend history a": [*LABELMEND, "history", "a"],
        }
        table = Table(title=f"CLI start-up, median of {args.repeat} processes")
        for column in ("command", "wall s", "CPU s", "imports s", "heaviest imports (s)"):
            table.add_column(column, justify="left" if column[0] in "ch" else "right")
        verdicts = []
        for name, command in runs.items():
            times = [timed(command, work, env) for _ in range(args.repeat)]
            wall = statistics.median(t[0] for t in times)
            cpu = statistics.median(t[1] for t in times)
            profile = import_profile(command, work, env)
            heavy = sorted(
                ((p, s) for p, s in profile.items() if p in HEAVY),
                key=lambda item: -item[1],
            )[:4]
            table.add_row(
                name,
                f"{wall:.3f}",
                f"{cpu:.3f}",
                f"{sum(profile.values()):.3f}",
                ", ".join(f"{p} {s:.2f}" for p, s in heavy) or "-",
            )
            if name in ("labelmend --help", "labelmend status"):
                verdicts.append(f"{name}: {cpu:.3f} s CPU, {wall:.3f} s wall "
                                f"({'meets' if cpu < TARGET_SECONDS else 'misses'} "
                                f"the {TARGET_SECONDS} s target in CPU time)")  # fmt: skip
    console.print(table)
    for line in verdicts:
        console.print(line)
    console.print(f"Load average (1 min): {load_before:.1f} at the start, "
                  f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores.")  # fmt: skip


if __name__ == "__main__":
    main()
