"""Model repair: find the training examples behind a model's failures and unlearn them.

torch is needed here and only here (the ``repair`` extra). Importing this package is
light: each name loads its module, and torch with it, on first use.

- :func:`find_harmful_examples` — one harm score per training example
  (:data:`HARM_METHODS`: priors, failure-targeted scores, the combined default);
- :func:`unlearn` — forget rows without retraining (:data:`UNLEARN_METHODS`);
- :func:`repair_model` — the whole loop, k from the expected number of label errors
  (:func:`choose_k`), counted again on the rows kept until half a round is given
  back (:func:`removal_rounds`), less the removed rows a model trained on the rest
  agrees with (:func:`readmit`),
  measured against retraining from scratch; :func:`evaluate_repair`,
  :func:`summarize_runs`;
- :func:`relabel_queue` — the suspects as a plain DataFrame for a relabel queue;
- :func:`analyze_failures` — failure types (Henn et al. 2021): embed, cluster, and
  measure learnability, generalisability, independence, compatibility;
  :func:`repair_types` repairs each type on its own;
- any torch network trained from a DataLoader (:mod:`.networks`):
  :class:`NetworkClassifier`, :func:`network_harm`, :func:`unlearn_network`, and
  :func:`output_layer` (a network as its output layer over penultimate features, for
  :func:`analyze_failures` and :func:`repair_types`);
- :func:`repair_files`, :func:`analyze_files` — files in, files out (the CLI's calls);
- models (:mod:`.models`): :class:`TorchClassifier`, :func:`make_classifier`,
  :func:`from_sklearn`; on disk (:mod:`.persistence`): :func:`save_model`,
  :func:`load_model`, :func:`read_model`.

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
    "USES_OUT_OF_FOLD": "identify",
    "find_harmful_examples": "identify",
    "rank_average": "identify",
    "relabel_queue": "identify",
    "UNLEARN_METHODS": "unlearning",
    "unlearn": "unlearning",
    "EXPECTED_ERRORS_SHRINK": "k_selection",
    "MAX_REMOVAL_ROUNDS": "k_selection",
    "choose_k": "k_selection",
    "readmit": "k_selection",
    "removal_rounds": "k_selection",
    "evaluate_repair": "metrics",
    "summarize_runs": "metrics",
    "REPORT_KEYS": "pipeline",
    "STAGES": "pipeline",
    "RepairResult": "pipeline",
    "ValidationSplit": "pipeline",
    "repair_model": "pipeline",
    "split_validation": "pipeline",
    "trained_model": "pipeline",
    "AnalysisFiles": "files",
    "RepairFiles": "files",
    "analyze_files": "files",
    "write_failure_types": "files",
    "EMBEDDINGS": "failures",
    "FailureTypes": "failures",
    "TypeRepairs": "failures",
    "analyze_failures": "failures",
    "repair_types": "failures",
    "repair_files": "files",
    "write_repair": "files",
    "TorchClassifier": "models",
    "from_sklearn": "models",
    "make_classifier": "models",
    "resolve_device": "models",
    "set_torch_threads": "models",
    "to_sklearn": "models",
    "load_model": "persistence",
    "read_model": "persistence",
    "save_model": "persistence",
    "write_model": "persistence",
    "plot_repair": "plot",
    "NetworkClassifier": "networks",
    "network_harm": "networks",
    "network_out_of_fold_probs": "networks",
    "output_layer": "networks",
    "unlearn_network": "networks",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'labelmend.repair' has no attribute {name!r}")
    module = importlib.import_module(f"labelmend.repair.{_EXPORTS[name]}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return __all__
