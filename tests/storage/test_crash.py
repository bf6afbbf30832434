"""A process killed half-way through an import leaves the store exactly as it was."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from labelmend import workflow
from labelmend.storage import open_store

# Imports samples; once the rows are written (inside the transaction, before the commit)
# it says so through a file and waits to be killed.
IMPORTER = """
import signal, sys, time
from pathlib import Path
import pandas as pd
from labelmend import workflow
from labelmend.storage import open_store, repository

# Ctrl-C as at a terminal, even when the suite runs in the background (where a shell
# starts children with SIGINT ignored and Python then keeps it ignored).
signal.signal(signal.SIGINT, signal.default_int_handler)
url, samples, written = sys.argv[1], sys.argv[2], Path(sys.argv[3])
original = repository.bulk_insert

def insert_then_wait(*args, **kwargs):
    original(*args, **kwargs)
    written.touch()
    time.sleep(120)

repository.bulk_insert = insert_then_wait
with open_store(url) as session:
    workflow.import_samples(session, pd.read_parquet(samples))
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_killed_import_leaves_the_store_unchanged(database_url, tmp_path, snapshot, how):
    ids = [f"s{i}" for i in range(5000)]
    with open_store(database_url) as session:
        workflow.init_dataset(session, "d", ["a", "b"])
        workflow.import_samples(session, pd.DataFrame({"sample_id": ids[:10], "label": "a"}))
    pd.DataFrame({"sample_id": ids, "label": "b"}).iloc[10:].to_parquet(tmp_path / "more.parquet")
    before = snapshot(database_url)
    written = tmp_path / "written"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            IMPORTER,
            database_url,
            str(tmp_path / "more.parquet"),
            str(written),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not written.exists():
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        assert time.monotonic() < deadline, "the importer never wrote its rows"
        time.sleep(0.05)
    child.send_signal(how)
    child.communicate(timeout=60)
    assert child.returncode != 0
    assert snapshot(database_url) == before
    with open_store(database_url) as session:  # and the store still works
        assert (
            workflow.import_samples(session, pd.read_parquet(tmp_path / "more.parquet")).inserted
            == 4990
        )
