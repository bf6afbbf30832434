"""The ``labelmend`` application: every command group composed in one place.

Commands are listed here with their one-line help and imported only when they run, so
``labelmend --help`` starts without pandas, SQLAlchemy, scikit-learn, torch or dask
(``benchmarks/cli_startup.py`` measures it). Nothing imports this module but the console
script, ``python -m labelmend`` and the CLI tests.
"""

from __future__ import annotations

import sys

try:
    from typing import Annotated, ClassVar

    import typer

    from labelmend.cli._edge import Entry, LazyGroup, interrupted
except KeyboardInterrupt:  # Ctrl-C while Python is still importing
    sys.stderr.write("Interrupted.\n")
    raise SystemExit(130) from None


class Labelmend(LazyGroup):
    """labelmend's commands, in the order ``--help`` lists them."""

    entries: ClassVar[dict[str, Entry]] = {
        "demo": Entry("labelmend.cli.demo:demo", "Run the whole loop on noisy digits."),
        "rank": Entry(
            "labelmend.cli.rank:rank",
            "Rank every sample of files by how likely its label is wrong.",
        ),
        "init": Entry("labelmend.cli.init:init", "Create a dataset in the store."),
        "import": Entry(
            "labelmend.cli.imports:import_app", "Import samples, model predictions or features."
        ),
        "fit": Entry("labelmend.cli.fit:fit", "Train out-of-fold models on the current labels."),
        "score": Entry(
            "labelmend.cli.score:score", "Score the store's current labels and keep the run."
        ),
        "round": Entry("labelmend.cli.fit:round_", "Refit, rescore and queue the next samples."),
        "queue": Entry(
            "labelmend.cli.queue:queue_app", "Create, list, show, export, delete relabel queues."
        ),
        "label": Entry("labelmend.cli.labels:label_app", "Set or undo labels by hand."),
        "history": Entry("labelmend.cli.labels:history", "Every label decision of a sample."),
        "status": Entry(
            "labelmend.cli.status:status", "Estimated label errors remaining, queue progress."
        ),
        "datasets": Entry("labelmend.cli.status:datasets", "The datasets in the store."),
        "report": Entry("labelmend.cli.report:report", "Write an HTML report of a dataset."),
        "export": Entry("labelmend.cli.labels:export_app", "Export the store's labels."),
        "push": Entry("labelmend.cli.sync:push", "Send a queue to Label Studio."),
        "pull": Entry("labelmend.cli.sync:pull", "Fetch and decide the experts' answers."),
        "sync": Entry("labelmend.cli.sync:sync_app", "Queues in annotation tools or files."),
        "simulate": Entry(
            "labelmend.cli.simulate:simulate", "Simulate relabelling budgets from files."
        ),
        "repair": Entry(
            "labelmend.cli.repair:repair_app",
            "Find and unlearn harmful training examples; type a model's failures.",
        ),
    }


def _version(shown: bool) -> None:
    if shown:
        import labelmend

        typer.echo(f"labelmend {labelmend.__version__}")
        raise typer.Exit


app = typer.Typer(
    name="labelmend",
    cls=Labelmend,
    help="Active label cleaning: rank samples for expert review, simulate budgets, repair models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Active label cleaning: rank samples for expert review, simulate budgets, repair models."""


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        interrupted()
