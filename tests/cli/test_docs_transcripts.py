"""The terminal sessions of the docs, run as written: each page's files from its own
``python`` and ``bash`` blocks, then every ``$ labelmend …`` line (or ``$ head …``) of its
transcripts (unnamed or ``console`` blocks), whose output must be the one the page shows
(spaces between words aside)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Pages whose transcripts are whole: every file they read is made by the page itself.
PAGES = ["fit.md", "store.md"]
#: Commands of the transcripts besides labelmend's, run by bash (they only read files).
SHELL_COMMANDS = ("head ",)
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def _words(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.strip().splitlines()]


def _steps(page: str) -> list[tuple[str, str]]:
    """The page's blocks in order: ("python", code), ("bash", script) for blocks that
    make files (a heredoc), ("$", command + expected output) for transcripts."""
    steps = []
    for kind, body in BLOCK.findall((DOCS / page).read_text()):
        if kind == "python":
            steps.append(("python", body))
        elif kind == "bash" and "<<'EOF'" in body:
            steps.append(("bash", body))
        elif kind in ("", "console") and body.startswith("$ "):
            for session in re.split(r"^(?=\$ )", body, flags=re.M):
                if session.strip():
                    steps.append(("$", session))
    return steps


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_transcripts_print_what_the_page_shows(page: str, tmp_path: Path) -> None:
    # The pages' `python` is this interpreter: CI runs the suite without activating the
    # virtual environment, where a bare `python` has no pandas.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "LABELMEND_DB": f"sqlite:///{tmp_path / 'labelmend.db'}"}
    steps = _steps(page)
    assert sum(kind == "$" for kind, _ in steps) >= 5, f"{page} lost its transcripts"
    for kind, body in steps:
        if kind == "python":
            subprocess.run([sys.executable, "-c", body], cwd=tmp_path, env=env, check=True)
        elif kind == "bash":
            script = body.replace("labelmend ", f"{shlex.quote(sys.executable)} -m labelmend ")
            subprocess.run(["bash", "-euc", script], cwd=tmp_path, env=env, check=True)
        else:
            command, _, shown = body[2:].partition("\n")
            if command.startswith(SHELL_COMMANDS):
                argv = ["bash", "-euc", command]
            else:
                assert command.startswith("labelmend "), command
                argv = [sys.executable, "-m", "labelmend", *shlex.split(command)[1:]]
            done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
            assert _words(done.stdout) == _words(shown), f"$ {command}"


@pytest.mark.slow
def test_the_readme_shows_the_demos_output(tmp_path: Path) -> None:
    """The README's "Typical output" of `./dev demo` is lines of `labelmend demo`'s output
    as printed now (``...`` stands for the lines it leaves out)."""
    readme = (DOCS.parent / "README.md").read_text()
    shown = readme.split("Typical output", 1)[1]
    lines = [line for line in _words(BLOCK.search(shown).group(2)) if line != "..."]
    assert len(lines) >= 3, "the README lost the demo's output"
    done = subprocess.run(
        [sys.executable, "-m", "labelmend", "demo"],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    printed = _words(done.stdout)
    assert [line for line in lines if line not in printed] == []
