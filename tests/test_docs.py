"""Every ```python example in the README and docs/ runs as written (in a scratch folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
#: Examples over 5 s in full runs (pytest's ``slow`` marker): repair trains and repairs models.
SLOW = {"repair.md:1", "repair.md:2"}
EXAMPLES = [
    pytest.param(code, id=name, marks=[pytest.mark.slow] if name in SLOW else [])
    for page in PAGES
    for n, code in enumerate(BLOCK.findall(page.read_text()), start=1)
    for name in [f"{page.name}:{n}"]
]


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<docs example>", "exec"), {"__name__": "__docs__"})


def test_readme_results_are_rows_of_their_runs() -> None:
    """Every table row under the README's "How well it works" is, character for character,
    a row of a docs page's table: one run, one copy of each number."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## How well it works\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    docs_rows = {
        line for page in PAGES[1:] for line in page.read_text().splitlines() if line.startswith("|")
    }
    assert len(rows) >= 20, "the README's results section lost its tables"
    assert [row for row in rows if row not in docs_rows] == []
