"""The terminal sessions of the docs, run as written: each page's files from its own
``python`` and ``bash`` blocks, then every ``$ labelmend …`` line (or ``$ head …``) of its
transcripts (unnamed or ``console`` blocks), whose output must be the one the page shows
(spaces between words aside). Every ``labelmend …`` line of every page and the README,
run or not (benchmarks, clusters, Label Studio), must parse as its command's options."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from labelmend.cli.app import app
from tests.cli.test_flag_names import _commands

DOCS = Path(__file__).resolve().parents[2] / "docs"
#: Pages whose transcripts are whole (every file they read is made by the page itself),
#: with how many ``$`` lines each shows at least.
PAGES = {"fit.md": 5, "store.md": 5, "ranking.md": 4, "scale.md": 2}
#: Commands of the transcripts besides labelmend's, run by bash (they only read files).
SHELL_COMMANDS = ("head ",)
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
#: Every command by its words: ("sync", "status") for `labelmend sync status`.
COMMANDS = dict(_commands(typer.main.get_command(app)))


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
@pytest.mark.parametrize(("page", "commands"), PAGES.items())
def test_transcripts_print_what_the_page_shows(page: str, commands: int, tmp_path: Path) -> None:
    # The pages' `python` is this interpreter: CI runs the suite without activating the
    # virtual environment, where a bare `python` has no pandas.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "PATH": path, "LABELMEND_DB": f"sqlite:///{tmp_path / 'labelmend.db'}"}
    steps = _steps(page)
    assert sum(kind == "$" for kind, _ in steps) >= commands, f"{page} lost its transcripts"
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


def _command_lines(text: str) -> list[list[list[str]]]:
    """The words of each ``labelmend …`` line of the page's shell blocks, block by block
    (a ``$ `` prompt, ``\\`` continuations and ``#`` comments removed)."""
    blocks = []
    for kind, body in BLOCK.findall(text):
        prompt = {"bash": "", "": "$ ", "console": "$ "}.get(kind)
        if prompt is not None:
            lines = re.sub(r"\\\n\s*", " ", body).splitlines()
            blocks.append(
                [
                    shlex.split(line.removeprefix(prompt), comments=True)
                    for line in lines
                    if line.startswith(f"{prompt}labelmend ")
                ]
            )
    return blocks


def _split(words: list[str]) -> tuple[Any, tuple[str, ...], list[str]]:
    """The command a line names, its words and the words after them."""
    for n in (2, 1):
        if tuple(words[1 : n + 1]) in COMMANDS:
            return COMMANDS[tuple(words[1 : n + 1])], tuple(words[1 : n + 1]), words[n + 1 :]
    raise AssertionError(f"{' '.join(words)}: no such command")


def _parses(line: list[str], earlier: list[list[str]]) -> None:
    """Parse a line as click would run it. ``...`` stands for the arguments of the block's
    first line of the same command; without one, every option named must be the
    command's."""
    command, path, rest = _split(line)
    if "..." in rest:
        same = [words for words in earlier if _split(words)[1] == path and "..." not in words]
        if not same:
            names = {name for param in command.params for name in param.opts}
            used = {word.split("=", 1)[0] for word in rest if word.startswith("--")}
            assert used <= names, f"{' '.join(line)}: no {sorted(used - names)}"
            return
        at = rest.index("...")
        rest = [*rest[:at], *_split(same[0])[2], *rest[at + 1 :]]
    try:
        command.make_context(f"labelmend {' '.join(path)}", rest)
    except typer.TyperException as exc:
        raise AssertionError(f"{' '.join(line)}\n{exc.format_message()}") from None


@pytest.mark.parametrize("page", ["README.md", *sorted(path.name for path in DOCS.glob("*.md"))])
def test_command_lines_parse(page: str) -> None:
    """Every option name, value and argument of every ``labelmend`` line on the page is
    one its command accepts (the commands that need data, clusters or Label Studio
    included)."""
    path = DOCS.parent / page if page == "README.md" else DOCS / page
    blocks = _command_lines(path.read_text())
    assert sum(map(len, blocks)), f"{page} shows no labelmend command"
    for lines in blocks:
        for n, line in enumerate(lines):
            _parses(line, lines[:n])
