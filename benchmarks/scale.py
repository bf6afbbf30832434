"""Sharded ranking at scale: one process vs a two-worker Dask LocalCluster.

Generates float32 probabilities as Parquet shards (10 classes, 500,000 rows a shard),
then ranks them with :func:`labelmend.scale.rank_dataset` in one process and on a
``LocalCluster`` (2 worker processes), at growing sizes. Reports wall time and peak
resident memory of the process (or of each worker), which should stay flat as rows grow:
work is per shard and only each shard's top-k reaches the client.

    python benchmarks/scale.py                   # 1M, 4M, 8M rows (16 shards at 8M)
    python benchmarks/scale.py --rows 1000000    # one size
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

SHARD_ROWS = 500_000
N_CLASSES = 10


def write_shards(directory: Path, n_rows: int, seed: int = 0) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _synthetic import noisy_dataset

    directory.mkdir(parents=True, exist_ok=True)
    for index, start in enumerate(range(0, n_rows, SHARD_ROWS)):
        rows = min(SHARD_ROWS, n_rows - start)
        labels, probs, _ = noisy_dataset(rows, N_CLASSES, seed=seed + index)
        frame = pd.DataFrame(probs, columns=[f"p{k}" for k in range(N_CLASSES)])
        frame.insert(0, "label", labels)
        frame.insert(0, "sample_id", np.arange(start, start + rows))
        frame.to_parquet(directory / f"part-{index:04d}.parquet", index=False)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _worker(mode: str, directory: str) -> None:
    from labelmend.scale import rank_dataset

    start = time.perf_counter()
    if mode == "process":
        rank_dataset(directory, top_k=1000)
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "peak_mb": [_peak_mb()]}))
        return
    from distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        client.run(lambda: None)
        start = time.perf_counter()
        rank_dataset(directory, scheduler=client, top_k=1000)
        seconds = time.perf_counter() - start
        peaks = list(client.run(_peak_mb).values())
    print(json.dumps({"seconds": seconds, "peak_mb": peaks, "client_mb": _peak_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 4_000_000, 8_000_000])
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(*args.worker)
        return
    table = Table(title="rank_dataset over Parquet shards (K = 10, float32, 500k rows a shard)")
    for column in ("rows", "shards", "path", "seconds", "peak MB per process"):
        table.add_column(column, justify="right" if column != "path" else "left")
    with tempfile.TemporaryDirectory() as tmp:
        for n_rows in args.rows:
            directory = Path(tmp) / f"rows-{n_rows}"
            write_shards(directory, n_rows)
            for mode, name in (("process", "one process"), ("cluster", "LocalCluster, 2 workers")):
                done = subprocess.run(
                    [sys.executable, __file__, "--worker", mode, str(directory)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                result = json.loads(done.stdout.strip().splitlines()[-1])
                peaks = ", ".join(f"{p:.0f}" for p in result["peak_mb"])
                table.add_row(
                    f"{n_rows:,}",
                    str(-(-n_rows // SHARD_ROWS)),
                    name,
                    f"{result['seconds']:.2f}",
                    peaks,
                )
            table.add_section()
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
