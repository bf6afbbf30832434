"""Every command's --help, read as a new user reads it: what each option does, its
default and units, and claims that agree with the README and the docs."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from labelmend.cli._console import METHOD_HELP
from labelmend.cli.app import app
from tests.cli.test_flag_names import _commands

README = (Path(__file__).parents[2] / "README.md").read_text()


def options():
    """(command path, option) of every option of every command."""
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                yield " ".join(path), param


def test_the_ranking_order_help_says_what_the_readme_measured():
    """It said posterior finds at least as many errors as cleanlab's best "on every
    real-noise set" (the README: 8 of the 10) and that errors_per_annotation is "the
    default of score, fit and round" (fit ranks nothing: it has no --method)."""
    rows = [line for line in README.splitlines() if re.search(r"\| [✓✗]{5} \|$", line)]
    met = sum(row.rsplit("|", 2)[1].strip()[1] == "✓" for row in rows)  # rank's target
    claim = f"on {met} of the {len(rows)} full-truth sets"
    assert claim in README.replace("\n", " ")
    assert claim in METHOD_HELP
    defaults = {path: option.default for path, option in options() if option.help == METHOD_HELP}
    queues = [path for path, default in defaults.items() if default == "errors_per_annotation"]
    assert (len(defaults), sorted(queues)) == (3, ["round", "score"])
    assert f"(the default of {' and '.join(sorted(queues))})" in METHOD_HELP
    assert defaults["rank"] == "posterior"
