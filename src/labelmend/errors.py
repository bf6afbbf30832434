"""Exceptions raised by labelmend.

Every error a user can cause derives from :class:`LabelmendError`, so callers (and the
CLI) can catch one type. Errors about bad arguments also derive from ``ValueError`` so
they behave like the errors numpy and scikit-learn raise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = [
    "InputError",
    "LabelmendError",
    "LabelmendWarning",
    "SchedulerError",
    "StorageError",
    "SyncError",
    "UsageError",
]


class LabelmendError(Exception):
    """Base class of every error labelmend raises on purpose.

    ``inputs`` lists the parameters the message names, as written in it (``pred_probs``,
    ``train features``). A caller that knows them by other names renames them with
    :meth:`renamed`: the CLI by its flags and file paths, so that its users never read a
    Python parameter name, while Python callers read the names they passed.
    """

    def __init__(self, message: str, *, inputs: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.inputs = tuple(inputs)

    def renamed(self, names: Mapping[str, str]) -> str:
        """The message with each of its inputs called as ``names`` says.

        ``names`` is keyed by the input with spaces written as underscores (a Python
        identifier: ``train features`` is ``train_features``); ``name=True`` in a hint
        becomes the new name alone (a CLI flag). Inputs without a new name stay, and so
        does a name that is part of a file name (``db`` in ``labelmend.db``) or quoted (a
        value: the feature set called ``'features'``).

        >>> error = InputError(
        ...     "pred_probs is empty; pass normalize=True", inputs=("pred_probs", "normalize")
        ... )
        >>> error.renamed({"pred_probs": "--pred-probs", "normalize": "--normalize"})
        '--pred-probs is empty; pass --normalize'
        """
        text = str(self)
        for name in self.inputs:
            new = names.get(name.replace(" ", "_"))
            if new is not None:
                pattern = rf"(?<![\w./'\"-]){re.escape(name)}(=True)?(?![\w'\"])"
                text = re.sub(pattern, new.replace("\\", "\\\\"), text)
        return text


class InputError(LabelmendError, ValueError):
    """An argument or input file does not have the expected shape, type or values."""


class UsageError(InputError):
    """Options that cannot go together, or one that must be given is missing: a usage
    error, so the CLI exits with code 2 (click's) instead of 1."""


class StorageError(LabelmendError):
    """The database could not be reached, or refused a change."""


class SyncError(LabelmendError):
    """An annotation tool could not be reached, or answered with an error."""


class SchedulerError(LabelmendError):
    """Parallel workers could not be had: Dask is missing or its scheduler does not answer."""


class LabelmendWarning(UserWarning):
    """A result may be unreliable (for example, a class with no confident samples)."""
