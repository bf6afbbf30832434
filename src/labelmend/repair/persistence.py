"""Models on disk: labelmend's ``.pt`` heads, whole torch networks saved with
``torch.save(module, path)``, and pickled scikit-learn LogisticRegression.

The only module of :mod:`labelmend.repair` that reads or writes model files.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from labelmend._validation import check_choice
from labelmend.errors import InputError
from labelmend.repair.models import MODEL_KINDS, TorchClassifier, build_head
from labelmend.repair.networks import NetworkClassifier

#: The files :func:`read_model` reads.
MODEL_FILES = (".pt", ".joblib", ".pkl")


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: " + (str(exc).strip().splitlines() or [""])[0]


def save_model(model: TorchClassifier, path: str | Path) -> Path:
    """Write a classifier made by :func:`~labelmend.repair.models.make_classifier` to a
    ``.pt`` file (tensors and plain values only).

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from labelmend.repair.models import make_classifier
    >>> X = np.eye(3)
    >>> model = make_classifier("linear", X, n_classes=3).fit(X, [0, 1, 2])
    >>> path = save_model(model, os.path.join(tempfile.mkdtemp(), "m.pt"))
    >>> load_model(path).predict(X).tolist()
    [0, 1, 2]
    """
    if model.spec is None or model.spec.get("kind") not in MODEL_KINDS:
        raise InputError(
            "save_model writes models made by make_classifier; save others with torch."
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "spec": model.spec,
            "weight_decay": model.weight_decay,
            "seed": model.seed,
            "state": model.module.state_dict(),
        },
        path,
    )
    return path


def load_model(path: str | Path) -> TorchClassifier:
    """Read a classifier written by :func:`save_model` (``weights_only``: no code runs).

    Examples
    --------
    >>> load_model("no-such-model.pt")  # a round trip is save_model's example
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: no-such-model.pt: no such model file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such model file.")
    try:
        saved = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:
        raise InputError(f"{path}: cannot load a labelmend model ({_first_line(exc)})") from exc
    if isinstance(saved, dict) and "spec" not in saved:  # torch.save(module.state_dict())
        entries = f"{len(saved)} {'entry' if len(saved) == 1 else 'entries'}"
        raise InputError(
            f"{path}: holds a dict of {entries} (a state_dict?), not a labelmend model; save "
            "the whole network with torch.save(module, path): a state_dict has no layers."
        )
    try:
        return _head(saved)
    except Exception as exc:
        raise InputError(f"{path}: cannot load a labelmend model ({_first_line(exc)})") from exc


def _head(saved: Any) -> TorchClassifier:
    """The head of a :func:`save_model` dictionary (any error: not one)."""
    spec = saved["spec"]
    kind = spec["kind"]
    check_choice("kind", kind, MODEL_KINDS)
    n_features, n_classes = int(spec["n_features"]), int(spec["n_classes"])
    hidden = [] if kind == "linear" else [int(spec["hidden"])]
    state = saved["state"]
    module = build_head(kind, [n_features, *hidden, n_classes], state["0.mean"], state["0.scale"])
    module.load_state_dict(state)
    return TorchClassifier(
        module,
        n_classes=n_classes,
        weight_decay=float(saved["weight_decay"]),
        seed=int(saved["seed"]),
        spec=spec,
    )


def read_model(path: str | Path) -> Any:
    """A trained model from a file: a ``.pt`` head from :func:`save_model`
    (:class:`TorchClassifier`), a whole network saved with ``torch.save(module, path)``
    (an ``nn.Module``, on the CPU), or a pickled scikit-learn LogisticRegression
    (``.joblib``/``.pkl``). A network's and scikit-learn's files are pickles: loading
    them runs code, so only open files you trust; a :func:`save_model` file holds
    tensors and plain values only and is read without running any.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "net.pt")
    >>> torch.save(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)), path)
    >>> read_model(path)[-1]
    Linear(in_features=8, out_features=3, bias=True)
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MODEL_FILES:
        raise InputError(f"{path}: unsupported model file; expected {', '.join(MODEL_FILES)}.")
    if not path.is_file():
        raise InputError(f"{path}: no such model file.")
    if suffix == ".pt":
        return _read_torch(path)
    import joblib
    from sklearn.linear_model import LogisticRegression

    try:
        model = joblib.load(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot load the model ({_first_line(exc)})") from exc
    if not isinstance(model, LogisticRegression):
        raise InputError(
            f"{path}: holds a {type(model).__name__}; expected a fitted LogisticRegression."
        )
    return model


def _read_torch(path: Path) -> TorchClassifier | nn.Module:
    """A ``.pt`` file: tensors only (a :func:`save_model` head) read safely; a pickled
    whole ``nn.Module`` unpickled (the torch classes its file names must import)."""
    try:
        return load_model(path)
    except InputError as exc:
        if not isinstance(exc.__cause__, pickle.UnpicklingError):
            raise
    try:  # not tensors and plain values: a pickled network
        network = torch.load(path, weights_only=False, map_location="cpu")
    except Exception as exc:
        raise InputError(
            f"{path}: cannot load a labelmend model or a saved network ({_first_line(exc)})"
        ) from exc
    if not isinstance(network, nn.Module):
        raise InputError(
            f"{path}: holds a {type(network).__name__}; expected a labelmend model or an "
            "nn.Module saved with torch.save(module, path)."
        )
    return network


def write_model(model: Any, directory: str | Path) -> Path:
    """Save a model next to the repair's other outputs: ``model.pt`` (a head by
    :func:`save_model`; a :class:`NetworkClassifier`'s module, on the CPU, by
    ``torch.save``) or ``model.joblib``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from labelmend.repair.models import make_classifier
    >>> X, y = np.eye(3), [0, 1, 2]
    >>> write_model(make_classifier("linear", X, n_classes=3).fit(X, y), tempfile.mkdtemp()).name
    'model.pt'
    >>> write_model(LogisticRegression().fit(X, y), tempfile.mkdtemp()).name
    'model.joblib'
    """
    directory = Path(directory)
    if isinstance(model, TorchClassifier):
        return save_model(model, directory / "model.pt")
    if isinstance(model, NetworkClassifier):
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "model.pt"
        torch.save(copy.deepcopy(model.module).cpu(), path)
        return path
    import joblib

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "model.joblib"
    joblib.dump(model, path)
    return path
