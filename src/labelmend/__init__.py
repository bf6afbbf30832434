"""labelmend: active label cleaning and data repair.

The everyday entry points, imported on first use so that ``import labelmend`` stays
light (no pandas, SQLAlchemy or torch until asked for):

- :func:`rank_samples` (:mod:`labelmend.cleaner`): rank every sample by how likely its
  label is wrong; :func:`select_batch` picks the next batch for experts.
- :func:`simulate` (:func:`labelmend.simulator.study.run_study`): how many label errors
  each way of choosing samples fixes for a relabelling budget.
- :func:`repair_model` (:mod:`labelmend.repair`): find the training examples
  behind a model's failures and unlearn them (needs the ``repair`` extra, torch).

``labelmend.__version__`` is read from the installed package on first access.

>>> import labelmend, numpy as np
>>> probs = np.array([[.9, .1], [.2, .8], [.3, .7], [.1, .9]])
>>> labelmend.rank_samples([0, 0, 1, 1], probs)["sample_id"].tolist()[:1]
[1]
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> (module, attribute), imported on first access.
_API = {
    "rank_samples": ("labelmend.cleaner", "rank_samples"),
    "select_batch": ("labelmend.cleaner", "select_batch"),
    "simulate": ("labelmend.simulator.study", "run_study"),
    "repair_model": ("labelmend.repair", "repair_model"),
}

__all__ = ["__version__", *_API]


def _version() -> str:
    """The installed distribution's version (``importlib.metadata`` costs ~30 ms to
    import, so it is read on first access of ``labelmend.__version__`` only)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("labelmend")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _API:
        module, attribute = _API[name]
        value = getattr(importlib.import_module(module), attribute)
    else:
        raise AttributeError(f"module 'labelmend' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
