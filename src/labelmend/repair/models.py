"""Classifiers that can be repaired: a torch head over features, or scikit-learn's
LogisticRegression through an adapter.

The common case is a frozen foundation-model backbone with a trained head: features
(N, D) in, K logits out. :class:`TorchClassifier` wraps any ``nn.Module`` doing that and
trains it full-batch to the minimum of ``mean cross-entropy + weight_decay/2 ‖θ‖²`` — the
objective identification and unlearning differentiate.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from labelmend._validation import (
    RandomState,
    check_choice,
    check_count,
    check_labels,
    check_number,
    check_random_state,
    check_same_length,
)
from labelmend.errors import InputError
from labelmend.repair._objective import CurvatureKind, Objective

MODEL_KINDS = ("linear", "mlp")
#: Iterations of full-batch L-BFGS when (re)training.
MAX_ITER = 500


class Standardize(nn.Module):
    """Fixed per-feature standardisation (buffers, not trained parameters)."""

    mean: torch.Tensor
    scale: torch.Tensor

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("scale", scale)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return (features - self.mean) / self.scale


class ZeroFirstLogit(nn.Module):
    """Binary logistic regression as two logits: (0, w·x + b), as scikit-learn fits it."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.linear = linear

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        score = self.linear(features)
        return torch.cat([torch.zeros_like(score), score], dim=1)


class TorchClassifier:
    """A classifier head: ``module`` maps features (N, D) to logits (N, K).

    Parameters
    ----------
    module : torch.nn.Module
        Converted to float64. Parameters are what training, identification and
        unlearning change; buffers stay fixed.
    n_classes : int
        K, the number of logits.
    weight_decay : float
        L2 penalty in the objective ``mean cross-entropy + weight_decay/2 ‖θ‖²``.
    seed : int
        Seed of the initial parameters :meth:`fit` starts from (a ``torch.Generator``;
        no global seeding), so retraining from scratch is reproducible.
    spec : dict, optional
        How :func:`save_model` rebuilds the module (set by :func:`make_classifier`).
    unpenalized : tuple of str
        Parameter names the penalty leaves out (scikit-learn's intercepts).

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    >>> model = make_classifier("linear", X, n_classes=2).fit(X, [1, 0, 1, 0])
    >>> model.predict(X).tolist()
    [1, 0, 1, 0]
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        n_classes: int,
        weight_decay: float = 1e-3,
        seed: int = 0,
        spec: dict[str, Any] | None = None,
        unpenalized: tuple[str, ...] = (),
    ) -> None:
        self.module = module.double()
        self.n_classes = n_classes
        self.weight_decay = weight_decay
        self.seed = seed
        self.spec = spec
        self.unpenalized = unpenalized
        self.objective = Objective(self.module, weight_decay, unpenalized)
        self._curvature: dict[tuple[str, str], torch.Tensor] = {}

    @property
    def n_params(self) -> int:
        """P, the number of trained parameters."""
        return self.objective.n_params

    @property
    def theta(self) -> torch.Tensor:
        """(P,) float64 flat parameters."""
        return self.objective.flat()

    def set_theta(self, theta: torch.Tensor) -> TorchClassifier:
        """Load flat parameters (P,); forgets cached curvature. Returns self."""
        self.objective.assign(theta)
        self._curvature.clear()
        return self

    def clone(self, *, with_curvature: bool = True) -> TorchClassifier:
        """An independent copy (parameters included; cached curvature unless told not to)."""
        twin = TorchClassifier(
            copy.deepcopy(self.module),
            n_classes=self.n_classes,
            weight_decay=self.weight_decay,
            seed=self.seed,
            spec=self.spec,
            unpenalized=self.unpenalized,
        )
        if with_curvature:
            twin._curvature = dict(self._curvature)
        return twin

    def initial_theta(self) -> torch.Tensor:
        """(P,) where training starts: weight matrices uniform in ±1/√fan_in from a
        generator seeded with ``seed``, biases zero."""
        generator = torch.Generator().manual_seed(self.seed)
        pieces = []
        for shape in self.objective.shapes:
            if len(shape) < 2:
                pieces.append(torch.zeros(shape.numel(), dtype=torch.float64))
                continue
            bound = 1.0 / math.sqrt(shape[1])
            values = torch.rand(shape.numel(), generator=generator, dtype=torch.float64)
            pieces.append((2 * values - 1) * bound)
        return torch.cat(pieces)

    def fit(
        self, features: Any, labels: Any, *, max_iter: int = MAX_ITER, warm_start: bool = False
    ) -> TorchClassifier:
        """Train to the minimum of the objective with full-batch L-BFGS. Returns self.

        Starts from :meth:`initial_theta` (so refitting is retraining from scratch) unless
        ``warm_start``.
        """
        x, y = check_dataset("train", (features, labels), self)
        start = self.theta if warm_start else self.initial_theta()
        return self.set_theta(self.objective.fit(start, x, y, max_iter=max_iter))

    def logits(self, features: Any) -> torch.Tensor:
        """(N, K) logits, float64."""
        with torch.no_grad():
            return self.module(as_features(features, model=self))

    def predict_proba(self, features: Any) -> npt.NDArray[np.float64]:
        """(N, K) class probabilities."""
        return torch.softmax(self.logits(features), dim=1).numpy()

    def predict(self, features: Any) -> npt.NDArray[np.intp]:
        """(N,) predicted class."""
        return self.logits(features).argmax(dim=1).numpy().astype(np.intp)

    def curvature(
        self, features: torch.Tensor, labels: torch.Tensor, kind: CurvatureKind
    ) -> torch.Tensor:
        """Σ_i loss curvature on these rows at the current θ, cached per (kind, rows).

        (P, P) for ``exact`` and ``ggn``, (P,) for ``diag``: computed once per model and
        training set, reused by every score and unlearning request that needs it.
        """
        key = (kind, _fingerprint(features, labels))
        if key not in self._curvature:
            self._curvature[key] = self.objective.loss_hessian_sum(
                self.theta, features, labels, kind=kind
            )
        return self._curvature[key]


def as_features(
    features: Any, *, name: str = "features", model: TorchClassifier | None = None
) -> torch.Tensor:
    """(N, D) float64 tensor from an array-like, checked: 2-D, finite, and with the
    number of columns ``model`` was made for. ``name``: what messages call the input."""
    array = np.asarray(features, dtype=np.float64)
    if array.ndim != 2:
        raise InputError(f"{name} must have shape (N, D). Got shape {array.shape}.", inputs=(name,))
    if not np.isfinite(array).all():
        bad = int((~np.isfinite(array)).any(axis=1).sum())
        raise InputError(f"{name} hold NaN or infinite values in {bad} rows.", inputs=(name,))
    expected = model.spec.get("n_features") if model is not None and model.spec else None
    if expected is not None and array.shape[1] != expected:
        raise InputError(
            f"{name} have {array.shape[1]} columns but the model expects {expected}.",
            inputs=(name,),
        )
    return torch.from_numpy(_writable(np.ascontiguousarray(array)))


def _writable(array: np.ndarray) -> np.ndarray:
    """torch shares numpy's memory and refuses read-only arrays: copy those."""
    return array if array.flags.writeable else array.copy()


#: (features (N, D), labels (N,)): a labelled set of rows.
XY = tuple[Any, Any]


def check_pair(name: str, data: Any) -> None:
    """Refuse ``data`` unless it is a pair (features, labels), a tuple or a list."""
    if not isinstance(data, tuple | list) or len(data) != 2:
        found = type(data).__name__ + (f" of {len(data)}" if isinstance(data, tuple | list) else "")
        raise InputError(f"{name} must be a pair (features, labels). Got {found}.", inputs=(name,))


def check_dataset(name: str, data: XY, model: TorchClassifier) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate (features (N, D), labels (N,)) against the model; return tensors."""
    check_pair(name, data)
    features = as_features(data[0], name=f"{name} features", model=model)
    try:
        labels = check_labels(data[1], n_classes=model.n_classes)
    except InputError as exc:
        stated = exc.renamed({"labels": f"{name} labels"}).rstrip(".")
        raise InputError(
            f"{stated} — the model has {model.n_classes} classes.", inputs=(f"{name} labels",)
        ) from exc
    check_same_length(f"{name} features", len(features), f"{name} labels", len(labels))
    return features, torch.from_numpy(_writable(np.asarray(labels, dtype=np.int64)))


def _fingerprint(features: torch.Tensor, labels: torch.Tensor) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(features.numpy().tobytes())
    digest.update(labels.numpy().tobytes())
    return digest.hexdigest()


def build_head(
    kind: str, sizes: list[int], mean: torch.Tensor, scale: torch.Tensor
) -> nn.Sequential:
    """The module of a head: fixed standardisation, then linear layers (tanh between).

    ``sizes`` is [D, K] for ``linear`` and [D, hidden, K] for ``mlp``.
    """
    check_choice("kind", kind, MODEL_KINDS)
    layers: list[nn.Module] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out, dtype=torch.float64), nn.Tanh()]
    return nn.Sequential(Standardize(mean, scale), *layers[:-1])


def make_classifier(
    kind: str,
    features: Any,
    *,
    n_classes: int,
    hidden: int = 32,
    weight_decay: float | None = None,
    random_state: RandomState = 0,
) -> TorchClassifier:
    """A new, untrained linear head or one-hidden-layer MLP (tanh) for these features.

    The module standardises features with their mean and standard deviation (fixed
    buffers), so the objective is well conditioned whatever the feature scale.

    Parameters
    ----------
    kind : {"linear", "mlp"}
    features : array (N, D)
        Training features; only their mean and scale are used here.
    n_classes : int
        K.
    hidden : int
        Width of the MLP's hidden layer.
    weight_decay : float, optional
        Default 1e-3 for linear, 1e-2 for the MLP (a smoother, better-conditioned
        minimum makes the second-order unlearning accurate).
    random_state : int, Generator or None
        Seeds the initial parameters.

    Examples
    --------
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.8]])
    >>> make_classifier("mlp", X, n_classes=2, hidden=4).n_params  # 2·4 + 4 + 4·2 + 2
    22
    """
    check_choice("model", kind, MODEL_KINDS)
    check_count("n_classes", n_classes, minimum=2)
    if kind == "mlp":
        check_count("hidden", hidden, minimum=1)
    if weight_decay is not None:
        check_number("weight_decay", weight_decay)
    x = as_features(features, name="train features")
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    std = x.std(dim=0)
    scale = torch.where(std > 1e-8, std, torch.ones_like(std))
    n_features = x.shape[1]
    sizes = [n_features, n_classes] if kind == "linear" else [n_features, hidden, n_classes]
    decay = weight_decay if weight_decay is not None else (1e-3 if kind == "linear" else 1e-2)
    module = build_head(kind, sizes, x.mean(dim=0), scale)
    spec = {"kind": kind, "n_features": n_features, "n_classes": n_classes, "hidden": hidden}
    model = TorchClassifier(module, n_classes=n_classes, weight_decay=decay, seed=seed, spec=spec)
    return model.set_theta(model.initial_theta())


def from_sklearn(model: Any, n_train: int) -> TorchClassifier:
    """A fitted ``sklearn.linear_model.LogisticRegression`` as a linear TorchClassifier.

    scikit-learn minimises ``C Σ ℓ_i + ½‖W‖²`` with the intercept not penalised: the
    same minimum as ``mean ℓ_i + weight_decay/2 ‖W‖²`` with ``weight_decay = 1 / (C ·
    n_train)``, which identification and unlearning then differentiate.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [0.15]])
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> fitted = LogisticRegression().fit(X, y)
    >>> model = from_sklearn(fitted, n_train=len(y))
    >>> model.n_classes, bool((model.predict(X) == fitted.predict(X)).all())
    (2, True)
    """
    from sklearn.linear_model import LogisticRegression

    if not isinstance(model, LogisticRegression) or not hasattr(model, "coef_"):
        raise InputError(
            f"Expected a fitted sklearn LogisticRegression. Got {type(model).__name__} instead."
        )
    if getattr(model, "penalty", "l2") not in ("l2", None) and model.penalty != "deprecated":
        raise InputError(
            f"Only L2-penalised LogisticRegression is supported; got {model.penalty!r}."
        )
    coef = torch.as_tensor(model.coef_, dtype=torch.float64)
    intercept = torch.as_tensor(np.atleast_1d(model.intercept_), dtype=torch.float64)
    n_classes = len(model.classes_)
    linear = nn.Linear(coef.shape[1], coef.shape[0], dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(coef)
        linear.bias.copy_(intercept)
    module: nn.Module = ZeroFirstLogit(linear) if n_classes == 2 else linear
    spec = {"kind": "sklearn", "n_features": coef.shape[1], "n_classes": n_classes}
    bias = "linear.bias" if n_classes == 2 else "bias"
    return TorchClassifier(
        module,
        n_classes=n_classes,
        weight_decay=1.0 / (model.C * n_train),
        spec=spec,
        unpenalized=(bias,),
    )


def to_sklearn(model: TorchClassifier, template: Any) -> Any:
    """A copy of the LogisticRegression ``template`` with ``model``'s parameters.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.array([[0.0], [0.2], [1.0], [1.1]]), np.array([0, 0, 1, 1])
    >>> fitted = LogisticRegression().fit(X, y)
    >>> back = to_sklearn(from_sklearn(fitted, n_train=len(y)), fitted)
    >>> bool(np.allclose(back.coef_, fitted.coef_)), back.predict(X).tolist()
    (True, [0, 0, 1, 1])
    """
    fitted = copy.deepcopy(template)
    linear = model.module.linear if isinstance(model.module, ZeroFirstLogit) else model.module
    if not isinstance(linear, nn.Linear):
        raise InputError("to_sklearn needs a model made by from_sklearn (one linear layer).")
    fitted.coef_ = linear.weight.detach().numpy().copy()
    fitted.intercept_ = linear.bias.detach().numpy().copy()
    return fitted


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch device named ``device`` (``cpu``, ``cuda``, ``cuda:N``, ``mps``), checked
    to exist on this machine: one clear :class:`InputError` otherwise.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    >>> resolve_device("cuda:99")
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: Device 'cuda:99' is not available: ...
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"Unknown device {device!r}; expected cpu, cuda, cuda:N or mps.") from exc
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (resolved.index or 0) >= count:
            raise InputError(
                f"Device {str(device)!r} is not available: this machine has {count} CUDA "
                f"device(s) for torch {torch.__version__}."
            )
    elif resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise InputError(f"Device {str(device)!r} is not available: no Apple MPS backend here.")
    elif resolved.type != "cpu":
        raise InputError(f"Unsupported device {str(device)!r}; expected cpu, cuda, cuda:N or mps.")
    return resolved


def set_torch_threads(n_threads: int) -> None:
    """Limit torch's intra-op threads (for a process's entry point, not for library code).

    Small heads gain nothing from threads, and on a shared machine oversubscribed
    threads slow them down many times over.

    Examples
    --------
    >>> before = torch.get_num_threads()
    >>> set_torch_threads(before + 1)
    >>> torch.get_num_threads() - before
    1
    >>> set_torch_threads(before)
    >>> set_torch_threads(0)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: threads must be at least 1. Got 0.
    """
    if n_threads < 1:
        raise InputError(f"threads must be at least 1. Got {n_threads}.")
    torch.set_num_threads(n_threads)
