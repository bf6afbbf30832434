"""The CLI's edge: one line on stderr for every error, and commands loaded on demand.

Kept free of heavy imports (no pandas, SQLAlchemy, scikit-learn, torch, dask): ``labelmend
--help`` imports this module and typer only. A command's module is imported when the
command runs (or its own ``--help`` is asked for).
"""

from __future__ import annotations

import functools
import importlib
import sys
from dataclasses import dataclass
from typing import Any, ClassVar

import typer
from typer.core import TyperGroup

from labelmend.errors import LabelmendError, UsageError


def fail(message: str) -> None:
    """Print one line to stderr and exit 1 (bad input; usage errors are click's, exit 2)."""
    sys.stderr.write(f"Error: {message}\n")
    raise SystemExit(1)


def interrupted() -> None:
    """Ctrl-C: one line on stderr and exit 130 (nothing was committed)."""
    sys.stderr.write("Interrupted.\n")
    raise SystemExit(130)


@dataclass(frozen=True)
class Entry:
    """A command (or command group) of the app: where it lives and its one-line help."""

    target: str  # "module:attribute", a typer function or a typer.Typer group
    help: str


def name_inputs(command: Any) -> None:
    """Make the errors of ``command`` (and of its subcommands) name the inputs they are
    about as the user gave them: an option by its flag (``--pred-probs``), an argument by
    its value (the file path), never by a Python parameter name.

    The library's errors (:class:`~labelmend.errors.LabelmendError`) list the parameters
    their message names; a command's parameter of the same name (spaces as underscores) renames it. A
    :class:`~labelmend.errors.UsageError` is shown as click shows a missing option: the
    command's usage, the ``--help`` hint and the error, exit code 2.
    """
    if hasattr(command, "commands"):  # a group
        for subcommand in command.commands.values():
            name_inputs(subcommand)
        return
    callback = command.callback
    flags = {
        param.name: next((o for o in param.opts if o.startswith("--")), param.opts[0])
        for param in command.params
        if param.param_type_name == "option" and param.name
    }
    arguments = [param.name for param in command.params if param.param_type_name == "argument"]

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except LabelmendError as exc:
            values = {name: str(kwargs[name]) for name in arguments if kwargs.get(name)}
            exc.args = (exc.renamed({**flags, **values}),)
            raise

    def invoke(ctx: typer.Context) -> Any:
        try:
            return run_command(ctx)
        except UsageError as exc:
            ctx.fail(str(exc))

    command.callback = run
    run_command, command.invoke = command.invoke, invoke


def load(name: str, entry: Entry) -> Any:
    """Import ``entry``'s module and build its (click) command named ``name``, whose
    errors name its flags and files (:func:`name_inputs`)."""
    module, _, attribute = entry.target.partition(":")
    found: Any = getattr(importlib.import_module(module), attribute)
    command: Any
    if isinstance(found, typer.Typer):
        command = typer.main.get_group(found)
    else:
        single = typer.Typer(add_completion=False)  # `labelmend --help` offers it
        single.command(name=name)(found)
        command = typer.main.get_command(single)
    command.name = name
    name_inputs(command)
    return command


class LazyGroup(TyperGroup):
    """The top-level group: lists :attr:`entries` without importing them, loads the one
    that runs, and turns labelmend's errors (and the system's, about files) into one line
    on stderr and exit 1.

    Usage errors keep click's exit code 2 (labelmend's :class:`UsageError` among them,
    see :func:`name_inputs`); Ctrl-C exits 130.
    """

    entries: ClassVar[dict[str, Entry]] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.entries)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = self.entries.get(cmd_name)
        return None if entry is None else load(cmd_name, entry)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, entry.help) for name, entry in self.entries.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except LabelmendError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            interrupted()
        except OSError as exc:  # a file the command reads or writes
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
