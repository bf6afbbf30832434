"""The CLI's edge: one line on stderr for every error, and commands loaded on demand.

Kept free of heavy imports (no pandas, SQLAlchemy, scikit-learn, torch, dask): ``labelmend
--help`` imports this module and typer only. A command's module is imported when the
command runs (or its own ``--help`` is asked for).
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

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


@contextmanager
def quiet_when_output_closes() -> Iterator[None]:
    """Stop without a word, exit 141 (128 + SIGPIPE, as ``yes | head`` ends), when the
    reader of the output has gone: ``labelmend rank … | head -3``.

    The write that fails raises :class:`BrokenPipeError` (``print_json``, click's echo of
    ``--help``), or rich's console, after pointing stdout at /dev/null, exits 1 from the
    error (tables, typer's help). Later writes, Python's flush at exit among them, go to
    /dev/null.
    """
    try:
        yield
    except BrokenPipeError:
        _closed_output()
    except SystemExit as exc:
        if isinstance(exc.__context__, BrokenPipeError):
            _closed_output()
        raise


def _closed_output() -> NoReturn:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    raise SystemExit(141)


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
    on stderr and exit 1; a closed output (``| head``) ends it quietly, exit 141.

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

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with quiet_when_output_closes():  # `labelmend --help`, `--version`
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with quiet_when_output_closes():
            return self._invoke(ctx)

    def _invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise  # the output's reader has gone: not an error (quiet_when_output_closes)
        except LabelmendError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            interrupted()
        except OSError as exc:  # a file the command reads or writes
            where = f"{exc.filename}: " if exc.filename else ""
            fail(f"{where}{exc.strerror or exc}")
