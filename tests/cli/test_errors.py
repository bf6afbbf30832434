"""Every error is one line and exit 1, and its advice works when followed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from labelmend.cli.app import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def one_line_error(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture
def store(tmp_path, database_url):
    """A scored store with a queue 'q'; returns the --db arguments."""
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(2), size=20)
    ids = [f"s{i}" for i in range(20)]
    pd.DataFrame({"sample_id": ids, "label": np.where(probs[:, 0] > 0.5, "cat", "dog")}).to_csv(
        tmp_path / "samples.csv", index=False
    )
    table = pd.DataFrame(probs, columns=["cat", "dog"])
    table.insert(0, "sample_id", ids)
    table.to_csv(tmp_path / "predictions.csv", index=False)
    db = ["--db", database_url]
    for args in (
        ["init", "pets", "--classes", "cat,dog"],
        ["import", "samples", str(tmp_path / "samples.csv")],
        ["import", "predictions", str(tmp_path / "predictions.csv"), "--model", "m"],
        ["score"],
        ["queue", "create", "q", "--budget", "5"],
    ):
        assert run(*args, *db).exit_code == 0
    return db


@pytest.mark.parametrize(
    "command",
    [
        ["export", "labels"],
        ["queue", "export", "q"],
        ["sync", "export-tasks", "q"],
    ],
)
def test_outputs_in_missing_or_non_directories_are_one_line_and_never_created(
    store, tmp_path, command
):
    missing = tmp_path / "no" / "such" / "out.csv"
    error = one_line_error(*command, str(missing), *store)
    assert "does not exist; create the directory first" in error
    assert not (tmp_path / "no").exists()
    (tmp_path / "file.txt").write_text("x")
    assert "is not a directory" in one_line_error(*command, str(tmp_path / "file.txt" / "o.csv"),
                                                  *store)  # fmt: skip
    # The advice works.
    missing.parent.mkdir(parents=True)
    assert run(*command, str(missing), *store).exit_code == 0
    assert missing.is_file()


def test_rank_out_and_id_column(tmp_path):
    probs = pd.DataFrame(
        {"sample_id": [10, 11, 12], "cat": [0.9, 0.2, 0.6], "dog": [0.1, 0.8, 0.4]}
    )
    probs.to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"label": ["cat", "cat", "dog"]}).to_csv(tmp_path / "y.csv", index=False)
    args = ["rank", "--pred-probs", str(tmp_path / "p.csv"), "--labels", str(tmp_path / "y.csv")]
    error = one_line_error(*args, "--out", str(tmp_path / "nodir" / "r.csv"))
    assert "does not exist" in error
    assert not (tmp_path / "nodir").exists()
    # A numeric id column named sample_id is never a class; another name is named by --id-col.
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    assert '"n_classes": 2' in result.output
    probs.rename(columns={"sample_id": "key"}).assign(
        key=lambda f: f["key"].astype(str) + "x"
    ).to_csv(tmp_path / "k.csv", index=False)
    args[2] = str(tmp_path / "k.csv")
    assert "name the id column with --id-col" in one_line_error(*args)
    assert run(*args, "--id-col", "key").exit_code == 0


def test_probabilities_that_do_not_sum_to_one_get_advice_that_works(store, tmp_path, snapshot):
    table = pd.read_csv(tmp_path / "predictions.csv")
    table[["cat", "dog"]] *= 3
    table.to_csv(tmp_path / "scaled.csv", index=False)
    before = snapshot(store[1])
    error = one_line_error("import", "predictions", str(tmp_path / "scaled.csv"), "--model", "x",
                           *store)  # fmt: skip
    assert "--normalize" not in error
    assert "divide each row by its sum" in error
    assert snapshot(store[1]) == before
    table[["cat", "dog"]] = table[["cat", "dog"]].div(table[["cat", "dog"]].sum(axis=1), axis=0)
    table.to_csv(tmp_path / "fixed.csv", index=False)
    assert run("import", "predictions", str(tmp_path / "fixed.csv"), "--model", "x",
               *store).exit_code == 0  # fmt: skip


def test_ctrl_c_while_importing_and_while_running_is_one_line_exit_130(tmp_path, monkeypatch):
    code = (
        "import builtins\n"
        "real = builtins.__import__\n"
        "def interrupting(name, *args, **kwargs):\n"
        "    if name == 'typer':\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupting\n"
        "import runpy\n"
        "runpy.run_module('labelmend', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ), cwd=tmp_path)  # fmt: skip
    assert (done.returncode, done.stderr) == (130, "Interrupted.\n")

    from labelmend import workflow

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workflow, "init_dataset", interrupted)
    result = run("init", "pets", "--classes", "a,b", "--db", f"sqlite:///{tmp_path / 's.db'}")
    assert (result.exit_code, result.output) == (130, "Interrupted.\n")


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["rank", "--help"],
        ["rank", "--labels", "y.npy", "--pred-probs", "p.npy"],
        ["rank", "--labels", "y.npy", "--pred-probs", "p.npy", "--json"],
    ],
    ids=" ".join,
)
def test_a_closed_stdout_stops_quietly_as_sigpipe_would(tmp_path, args):
    """``labelmend … | head`` whose reader has gone: no 'Error: Broken pipe', no
    traceback, exit 141 as a command killed by SIGPIPE (was exit 1, with the error line
    after a --json or echo write). A real pipe whose read end is closed before the
    command writes, so every write fails."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "p.npy", rng.dirichlet(np.ones(3), size=500))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, size=500))
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "labelmend", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                              env=dict(os.environ))  # fmt: skip
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


@contextmanager
def login_page() -> Iterator[str]:
    """A web server that answers every request with a 200 HTML page (a sign-in page of a
    single-sign-on gateway, or another site): the URL of a Label Studio that is not one."""

    class Page(BaseHTTPRequestHandler):
        def answer(self) -> None:
            body = b"<html><body>Please sign in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_url_that_is_not_label_studio_is_one_line_naming_it(store, snapshot):
    before = snapshot(store[1])
    with login_page() as url:
        line = one_line_error("push", "q", "--url", url, "--api-key", "secret-key-123", *store)
    assert line == (
        f"Error: {url} answered with a text/html page, not Label Studio's API, while trying "
        "to create a project; is --url Label Studio's address?"
    )
    assert snapshot(store[1]) == before


def test_a_password_in_the_label_studio_url_is_never_printed(store, snapshot):
    before = snapshot(store[1])
    with login_page() as url:
        signed = url.replace("http://", "http://ann:pw-secret-77@")
        line = one_line_error("push", "q", "--url", signed, "--api-key", "secret-key-123", *store)
        assert "pw-secret-77" not in line
        assert line.startswith(f"Error: {url.replace('http://', 'http://ann:***@')} answered")
    unreachable = one_line_error(
        "push", "q", "--url", "http://ann:pw-secret-77@127.0.0.1:9", "--api-key", "k", *store
    )
    assert "pw-secret-77" not in unreachable
    assert "Label Studio at http://ann:***@127.0.0.1:9" in unreachable
    assert snapshot(store[1]) == before


def test_a_row_of_a_users_file_is_named_as_an_editor_counts_it(tmp_path, database_url):
    """Messages counted a file's rows from 0 ("is empty in row 2" for the third row under
    the header, line 4): every message now names a row by one rule, row_name: counted from
    1 under the header, with the line of a CSV (the header is line 1)."""
    db = ["--db", database_url]
    assert run("init", "pets", "--classes", "cat,dog", *db).exit_code == 0
    samples = tmp_path / "samples.csv"
    samples.write_text("sample_id,label\na,cat\nb,dog\n,cat\nd,dog\n")
    assert one_line_error("import", "samples", str(samples), *db) == (
        f"Error: {samples}: column 'sample_id' is empty in row 3 (line 4)."
    )
    samples.write_text("sample_id,label\na,cat\nb,dog\nc,cat\nd,dog\n")
    assert run("import", "samples", str(samples), *db).exit_code == 0
    probs = tmp_path / "probs.csv"
    probs.write_text("sample_id,cat,dog\nd,0.1,0.9\nc,0.4,0.3\na,0.5,0.5\nb,0.2,0.8\n")
    assert one_line_error("import", "predictions", str(probs), "--model", "m", *db).startswith(
        f"Error: {probs} rows must sum to 1 (within 0.001); row 2 (line 3) is off by 0.3."
    )
    # rank matches the rows to the labels by id: the message names the file's own row.
    assert one_line_error(
        "rank", "--labels", str(samples), "--label-col", "label", "--pred-probs", str(probs)
    ).startswith(f"Error: {probs} rows must sum to 1 (within 0.001); row 2 (line 3) is off by 0.3.")
    answers = tmp_path / "answers.csv"
    answers.write_text("sample_id,annotator,label\na,ann,cat\nb,ann,\n")
    probs.write_text("sample_id,cat,dog\nd,0.1,0.9\nc,0.4,0.6\na,0.5,0.5\nb,0.2,0.8\n")
    assert run("import", "predictions", str(probs), "--model", "m", *db).exit_code == 0
    assert run("score", *db).exit_code == 0
    assert run("queue", "create", "q", "--budget", "4", *db).exit_code == 0
    error = one_line_error("sync", "import-annotations", "q", str(answers), *db)
    assert error.endswith("nothing was recorded. Row 2 (line 3): no label.")
