"""Model repair: find the training examples behind a model's failures and unlearn them.

torch is needed here and only here (the ``repair`` extra). Importing this package is
light: each name loads its module, and torch with it, on first use.

- :func:`find_harmful_examples` — one harm score per training example
  (:data:`HARM_METHODS`: priors, failure-targeted scores, the combined default);
- :func:`unlearn` — forget rows without retraining (:data:`UNLEARN_METHODS`);
- :func:`repair_model` — the whole loop with k chosen on validation data, measured
  against retraining from scratch; :func:`evaluate_repair`, :func:`summarize_runs`;
- :func:`relabel_queue` — the suspects as a plain DataFrame for a relabel queue;
- models: :class:`TorchClassifier`, :func:`make_classifier`, :func:`from_sklearn`,
  :func:`save_model`, :func:`load_model`.

>>> import numpy as np
>>> from labelmend.repair import make_classifier, find_harmful_examples, unlearn
>>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [0.15]])
>>> y = np.array([0, 0, 0, 1, 1, 1])  # row 5 is mislabelled
>>> model = make_classifier("linear", X, n_classes=2).fit(X, y)
>>> scores = find_harmful_examples(model, (X, y), (np.array([[0.12]]), [0]), method="fisher")
>>> repaired = unlearn(model, (X, y), [int(scores.argmax())])
>>> repaired.predict(np.array([[0.12]])).tolist()
[0]
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "HARM_METHODS": "identify",
    "HARM_PRIORS": "identify",
    "find_harmful_examples": "identify",
    "out_of_fold_probs": "identify",
    "USES_OUT_OF_FOLD": "identify",
    "rank_average": "identify",
    "UNLEARN_METHODS": "unlearning",
    "unlearn": "unlearning",
    "REPORT_KEYS": "evaluate",
    "STAGES": "evaluate",
    "RepairResult": "evaluate",
    "ValidationSplit": "evaluate",
    "evaluate_repair": "evaluate",
    "relabel_queue": "evaluate",
    "repair_model": "evaluate",
    "select_k": "evaluate",
    "split_validation": "evaluate",
    "summarize_runs": "evaluate",
    "TorchClassifier": "models",
    "from_sklearn": "models",
    "load_model": "models",
    "make_classifier": "models",
    "save_model": "models",
    "to_sklearn": "models",
    "plot_repair": "plot",
    "write_repair": "output",
    "read_model": "models",
    "write_model": "models",
    "set_torch_threads": "models",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'labelmend.repair' has no attribute {name!r}")
    module = importlib.import_module(f"labelmend.repair.{_EXPORTS[name]}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return __all__
