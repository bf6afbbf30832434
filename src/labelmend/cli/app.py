"""The ``labelmend`` application: every command group composed in one place.

Nothing imports this module but the console script and the CLI tests.
"""

from __future__ import annotations

import typer

from labelmend.cli._console import ErrorHandlingGroup
from labelmend.cli.demo import demo
from labelmend.cli.features import import_features
from labelmend.cli.fit import fit, round_
from labelmend.cli.imports import import_app
from labelmend.cli.init import init
from labelmend.cli.labels import export_app, history, label_app
from labelmend.cli.queue import queue_app
from labelmend.cli.rank import rank
from labelmend.cli.repair import repair_app
from labelmend.cli.report import report
from labelmend.cli.score import score
from labelmend.cli.simulate import simulate
from labelmend.cli.status import status
from labelmend.cli.sync import pull, push, sync_app

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
app.command()(init)
app.add_typer(import_app, name="import")
import_app.command("features")(import_features)
app.command()(fit)
app.command()(score)
app.command("round")(round_)
app.add_typer(queue_app, name="queue")
app.add_typer(label_app, name="label")
app.command()(history)
app.command()(status)
app.command()(report)
app.add_typer(export_app, name="export")
app.command()(push)
app.command()(pull)
app.add_typer(sync_app, name="sync")
app.command()(simulate)
app.add_typer(repair_app, name="repair")


def main() -> None:
    """Console-script entry point."""
    app()
