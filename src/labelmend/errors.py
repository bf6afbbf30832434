"""Exceptions raised by labelmend.

Every error a user can cause derives from :class:`LabelmendError`, so callers (and the
CLI) can catch one type. Errors about bad arguments also derive from ``ValueError`` so
they behave like the errors numpy and scikit-learn raise.
"""

from __future__ import annotations

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
    """Base class of every error labelmend raises on purpose."""


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
