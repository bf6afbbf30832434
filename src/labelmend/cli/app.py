"""The ``labelmend`` application: every command group composed in one place.

Nothing imports this module but the console script and the CLI tests.
"""

from __future__ import annotations

import typer

from labelmend.cli._console import ErrorHandlingGroup
from labelmend.cli.demo import demo
from labelmend.cli.rank import rank
from labelmend.cli.repair import repair

app = typer.Typer(
    name="labelmend",
    cls=ErrorHandlingGroup,
    help="Active label cleaning: rank samples for expert review, simulate budgets, repair models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command()(rank)
app.command()(demo)
app.command()(repair)


def main() -> None:
    """Console-script entry point."""
    app()
