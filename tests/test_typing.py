"""The package type-checks: mypy, as configured in pyproject.toml ([tool.mypy]), finds no
error, so ``./dev test`` and CI fail on a type error as on any failing test."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_finds_no_error() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"mypy (`./dev mypy`) found errors:\n{done.stdout}{done.stderr}", pytrace=False)
