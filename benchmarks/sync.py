"""Label Studio sync speed against a real server: push 5,000 items, pull 5,000 answers.

Starts a Label Studio server (``LABELMEND_TEST_LABEL_STUDIO_BIN`` names its executable,
installed in its own virtual environment as ``.ci/run`` does), fills a SQLite store with
N samples and a queue of N items, then times ``push_queue`` and, after N expert answers
are created through the API, ``pull_queue``. Peers: the SDK's own bulk import of the
same task payloads (no bookkeeping), and reading the answers by listing every task with
all fields through the SDK (the obvious way; no storing or deciding).

    LABELMEND_TEST_LABEL_STUDIO_BIN=.ci/label-studio-venv/bin/label-studio \\
        python benchmarks/sync.py [--items 5000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.label_studio import BIN_VARIABLE, start_server

from labelmend import workflow
from labelmend.storage import open_store
from labelmend.sync.label_studio import LabelStudioClient, label_config, task_payload
from labelmend.sync.service import pull_queue, push_queue

CLASSES = ["cat", "dog", "fox", "owl"]


def fill_store(url: str, n: int) -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(len(CLASSES)), size=n)
    ids = [f"img{i:06d}" for i in range(n)]
    with open_store(url) as session:
        workflow.init_dataset(session, "bench", CLASSES)
        workflow.import_samples(
            session,
            pd.DataFrame({"sample_id": ids, "label": rng.choice(CLASSES, size=n),
                          "image": [f"https://example.org/{i}.png" for i in ids]}),
        )  # fmt: skip
        table = pd.DataFrame(probs, columns=CLASSES)
        table.insert(0, "sample_id", ids)
        workflow.import_predictions(session, table, model="m")
        workflow.score(session)
        workflow.create_queue(session, "all", budget=n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    args = parser.parse_args()
    if not os.environ.get(BIN_VARIABLE):
        raise SystemExit(f"set {BIN_VARIABLE} to a label-studio executable")
    server = start_server(os.environ[BIN_VARIABLE])
    table = Table(title=f"Label Studio sync, {args.items:,} items (real server on 127.0.0.1)")
    for column in ("step", "seconds", "per item (ms)", "target"):
        table.add_column(column, justify="left" if column in ("step", "target") else "right")
    try:
        client = LabelStudioClient(server.url, server.token)
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            fill_store(url, args.items)
            start = time.perf_counter()
            with open_store(url) as session:
                pushed = push_queue(session, "all", client, checkpoint=session.commit)
            push_seconds = time.perf_counter() - start
            tasks = list(client.task_ids_by_sample(pushed.project_id).values())
            result = [{"from_name": "label", "to_name": "sample", "type": "choices",
                       "value": {"choices": ["dog"]}}]  # fmt: skip
            with ThreadPoolExecutor(max_workers=8) as pool:  # the experts, in parallel
                list(
                    pool.map(
                        lambda task: client._sdk.annotations.create(id=task, result=result), tasks
                    )
                )
            start = time.perf_counter()
            with open_store(url) as session:
                pulled = pull_queue(session, "all", client, checkpoint=session.commit)
            pull_seconds = time.perf_counter() - start
            assert pulled.recorded == args.items, pulled
            start = time.perf_counter()
            listed = sum(
                len(task.annotations or [])
                for task in client._sdk.tasks.list(
                    project=pushed.project_id, fields="all", page_size=500
                )
            )
            naive_seconds = time.perf_counter() - start
            assert listed == args.items
            peer = client.ensure_project(
                title="sdk peer", config=label_config(CLASSES, show="image")
            )
            payloads = [
                task_payload(f"p{i}", {"image": f"https://example.org/{i}.png"}, show="image",
                             suggested_label="dog", score=0.5)
                for i in range(args.items)
            ]  # fmt: skip
            start = time.perf_counter()
            client.import_tasks(peer, payloads)
            peer_seconds = time.perf_counter() - start
        n = args.items
        table.add_row(
            "push (labelmend, with bookkeeping)",
            f"{push_seconds:.1f}",
            f"{1000 * push_seconds / n:.2f}",
            "< 30 s",
        )
        table.add_row(
            "  peer: SDK bulk import, same payloads",
            f"{peer_seconds:.1f}",
            f"{1000 * peer_seconds / n:.2f}",
            "",
        )
        table.add_row(
            "pull + decide (labelmend)",
            f"{pull_seconds:.1f}",
            f"{1000 * pull_seconds / n:.2f}",
            "< 15 s",
        )
        table.add_row(
            "  peer: SDK task list with every field",
            f"{naive_seconds:.1f}",
            f"{1000 * naive_seconds / n:.2f}",
            "",
        )
    finally:
        server.stop()
    Console(width=110).print(table)


if __name__ == "__main__":
    main()
