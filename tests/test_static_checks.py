"""The code passes its static checks, as configured in pyproject.toml: mypy finds no type
error ([tool.mypy]) and ruff finds no lint or formatting error ([tool.ruff]) in src, tests
and benchmarks — so ``./dev test`` and CI fail on either as on any failing test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINTED = ["src", "tests", "benchmarks"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.mark.slow
def test_mypy_finds_no_error() -> None:
    done = _run("mypy")
    if done.returncode != 0:
        pytest.fail(f"mypy (`./dev mypy`) found errors:\n{done.stdout}{done.stderr}", pytrace=False)


@pytest.mark.parametrize(
    "command", [["check", *LINTED], ["format", "--check", *LINTED]], ids=["lint", "format"]
)
def test_ruff_finds_no_error(command: list[str]) -> None:
    done = _run("ruff", *command)
    if done.returncode != 0:
        pytest.fail(
            f"ruff (`./dev ruff {' '.join(command)}`) found errors:\n{done.stdout}{done.stderr}",
            pytrace=False,
        )
