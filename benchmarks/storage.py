"""Store speed: import 1M samples and their scores, queue 10k, show the next 1,000.

Every step is the library function behind the CLI command, in its own transaction, as
a user runs it. SQLite (a file in a temp dir) and PostgreSQL (when a server URL is
given, or ``LABELMEND_TEST_POSTGRES_URL`` is set: a fresh database is created on it and
dropped afterwards) run side by side. The peer: the same sample import through plain
SQLAlchemy ``session.execute(insert(Sample), rows)`` instead of the bulk path
(COPY on PostgreSQL, ``executemany`` on SQLite), on a smaller slice.

Targets on SQLite: import 1M samples < 30 s, queue query < 100 ms. The machine is shared:
compare medians and ratios, not single runs.

    python benchmarks/storage.py               # 1M samples × 10 classes
    python benchmarks/storage.py --quick       # 50k, for a smoke test
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.databases import scratch_database

from _synthetic import noisy_dataset
from labelmend import workflow
from labelmend.storage import Sample, open_store, repository

N_CLASSES = 10
QUEUE = 10_000
SHOW = 1_000
PEER_ROWS = 100_000
TARGETS = {("sqlite", "import samples"): 30.0, ("sqlite", "show next 1,000 (query)"): 0.1}


def tables(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(samples with an image URL as metadata, shuffled predictions) of n noisy samples."""
    labels, probs, _ = noisy_dataset(n, N_CLASSES)
    classes = [f"c{k}" for k in range(N_CLASSES)]
    ids = pd.Series(np.arange(n)).map("img-{:07d}".format)
    samples = pd.DataFrame(
        {
            "sample_id": ids,
            "label": np.asarray(classes)[labels],
            "url": "s3://bucket/" + ids + ".png",
        }
    )
    order = np.random.default_rng(1).permutation(n)
    predictions = pd.DataFrame(probs[order].astype(np.float64), columns=classes)
    predictions /= predictions.to_numpy().sum(axis=1, keepdims=True)
    predictions.insert(0, "sample_id", ids.to_numpy()[order])
    return samples, predictions


def timed(step: Callable[[], Any]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def run_backend(url: str, samples: pd.DataFrame, predictions: pd.DataFrame, repeats: int):
    """Yield (step, rows, seconds) for each step on the database at ``url``."""
    n = len(samples)
    classes = sorted(samples["label"].unique())
    with open_store(url) as session:
        workflow.init_dataset(session, "bench", classes)

    def import_samples() -> None:
        with open_store(url) as session:
            workflow.import_samples(session, samples)

    def import_predictions() -> None:
        with open_store(url) as session:
            workflow.import_predictions(session, predictions, model="net")

    def score() -> None:
        with open_store(url) as session:
            workflow.score(session)

    def create_queue() -> None:
        with open_store(url) as session:
            workflow.create_queue(session, "next", budget=QUEUE)

    yield "import samples", n, timed(import_samples)
    yield "import predictions", n, timed(import_predictions)
    yield "score (rank + store scores)", n, timed(score)
    yield "create queue", QUEUE, timed(create_queue)

    with open_store(url) as session:
        dataset = repository.get_dataset(session)
        queue = repository.get_queue(session, dataset, "next")
        query_times, command_times = [], []
        for _ in range(repeats):
            query_times.append(timed(lambda: repository.queue_frame(session, queue, limit=SHOW)))
            command_times.append(timed(lambda: workflow.queue_items(session, "next", limit=SHOW)))
    yield "show next 1,000 (query)", SHOW, statistics.median(query_times)
    yield "show next 1,000 (queue_items)", SHOW, statistics.median(command_times)

    peer = samples.head(PEER_ROWS)
    with open_store(url) as session:
        other = repository.create_dataset(session, "peer", classes)
        rows = [
            {
                "dataset_id": other.id,
                "external_id": sid,
                "given_label": label,
                "current_label": label,
                "meta": {"url": u},
            }
            for sid, label, u in zip(
                peer["sample_id"], peer["label"].map(classes.index), peer["url"], strict=True
            )
        ]
        start = time.perf_counter()
        session.execute(insert(Sample), rows)
        session.flush()
    peer_seconds = time.perf_counter() - start
    yield f"peer: SQLAlchemy insert() of {len(peer):,} samples", len(peer), peer_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="Samples.")
    parser.add_argument("--quick", action="store_true", help="50k samples, a smoke test.")
    parser.add_argument("--repeats", type=int, default=5, help="Repeats of the queue query.")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LABELMEND_TEST_POSTGRES_URL"),
        help="PostgreSQL server URL (a fresh database is created on it).",
    )
    args = parser.parse_args()
    n = 50_000 if args.quick else args.n
    console = Console()
    with console.status(f"Making {n:,} samples…"):
        samples, predictions = tables(n)
    results: list[tuple[str, str, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = [("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")]
        if args.postgres:
            backends.append(("postgresql", args.postgres))
        for backend, url in backends:
            context = scratch_database(url) if backend == "postgresql" else _as_is(url)
            with context as database:
                for step, rows, seconds in run_backend(
                    database, samples, predictions, args.repeats
                ):
                    console.log(f"{backend}: {step}: {seconds:.3f} s")
                    results.append((backend, step, rows, seconds))
    table = Table(title=f"Store speed, {n:,} samples × {N_CLASSES} classes")
    for column in ("backend", "step", "rows", "seconds", "rows/s", "target"):
        table.add_column(column, justify="left" if column in ("backend", "step") else "right")
    for backend, step, rows, seconds in results:
        target = TARGETS.get((backend, step))
        verdict = "" if target is None else f"< {target:g} s " + ("✓" if seconds < target else "✗")
        table.add_row(
            backend, step, f"{rows:,}", f"{seconds:.3f}", f"{rows / seconds:,.0f}", verdict
        )
    console.print(table)
    if not args.postgres:
        console.print("PostgreSQL skipped: pass --postgres URL or set LABELMEND_TEST_POSTGRES_URL.")


@contextmanager
def _as_is(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
