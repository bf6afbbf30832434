"""Package attributes imported on first use (PEP 562), so that light commands stay light.

A package lists its public names in ``__all__`` (imported for type checkers under
``TYPE_CHECKING``) and calls :func:`attach` with the submodules that define them,
lightest first; a name's submodule is imported the first time the name is read.

>>> import subprocess, sys
>>> code = "import sys; from labelmend.cleaner import count_errors; print('pandas' in sys.modules)"
>>> subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
'False\\n'
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any


class _Package(ModuleType):
    """A package module whose public names may equal a submodule's name.

    Importing ``labelmend.workflow.score`` sets the package's attribute ``score`` to the
    submodule; the package means the function ``score`` defined there, as an eager
    ``from labelmend.workflow.score import score`` in ``__init__`` would have bound it.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        submodule = isinstance(value, ModuleType) and value.__name__ == f"{self.__name__}.{name}"
        if submodule and name in getattr(self, "__all__", ()):
            value = getattr(value, name)
        super().__setattr__(name, value)


def attach(
    package: str, submodules: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Make ``package`` lazy: returns its ``__getattr__`` and ``__dir__``.

    Parameters
    ----------
    package : the package's ``__name__``; its ``__all__`` lists the public names
    submodules : the submodules defining them, searched in this order (lightest first)
    """
    module = sys.modules[package]
    module.__class__ = _Package
    names = frozenset(module.__all__)

    def __getattr__(name: str) -> Any:
        if name in names:
            for submodule in submodules:
                found = importlib.import_module(f"{package}.{submodule}")
                if hasattr(found, name):
                    value = getattr(found, name)
                    setattr(module, name, value)
                    return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*vars(module), *names})

    return __getattr__, __dir__
