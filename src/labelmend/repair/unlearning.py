"""Unlearn training examples without retraining from scratch.

Glossary: N training rows, C the rows to remove (|C| = k), n' = N − k, θ* the trained
parameters, L'(θ) = Σ_{i∉C} ℓ_i(θ)/n' + λ/2 ‖θ‖² the objective on the retained rows.

Methods (``UNLEARN_METHODS``):
    ``newton``       one Newton step on L' from θ*: θ* − (H' + δI)⁻¹ ∇L'(θ*), H' the exact
                     Hessian of L' (the full-data curvature is computed once and cached;
                     only the removed rows' curvature is computed per request)
    ``newton_ggn``   the same with the Gauss–Newton matrix (PSD; equal to H for a linear head)
    ``newton_diag``  the same with its diagonal: no P×P matrix, but crude (8–36 points
                     short of retraining on digits); better for scoring than for removal
    ``finetune``     a few L-BFGS iterations on L' from θ*
    ``ascent``       gradient ascent on the removed rows inside an EWC penalty: minimise
                     −Σ_C min(ℓ_i, log K) + ½ (θ−θ*)ᵀ diag(n·F + n·λ) (θ−θ*), with the
                     safeguards below
    ``retrain``      training from scratch on the retained rows: the reference
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from labelmend._validation import check_choice
from labelmend.errors import InputError
from labelmend.repair._objective import CurvatureKind, damped_solve
from labelmend.repair.identify import XY, as_classifier, check_dataset
from labelmend.repair.models import TorchClassifier, to_sklearn

#: The default: within a point of retraining on every case of ``benchmarks/repair.py``
#: (linear head, mean over seeds), at 10–16% of its CPU time (docs/repair.md).
DEFAULT_UNLEARN = "finetune"
#: Damping δ of the Newton step (the weight decay already keeps H' nearly always definite).
NEWTON_DAMPING = 1e-8
#: L-BFGS iterations of ``finetune``: chosen leave-one-case-out on issue 15's accuracy and
#: time targets, warm-started where ``repair_model`` starts it (``benchmarks/repair.py
#: --unlearning --iterations``; docs/repair.md, "How many iterations").
FINETUNE_ITERATIONS = 8
#: Adam steps and learning rate of ``ascent``.
ASCENT_STEPS = 200
ASCENT_LEARNING_RATE = 0.01
#: ``ascent`` stops (and keeps its best earlier state) once accuracy on the retained rows
#: falls this far below where it started.
ASCENT_MAX_RETAINED_DROP = 0.01
#: Steps between the retained-accuracy checks of ``ascent``.
ASCENT_CHECK_EVERY = 10


class _Request:
    """One unlearning request: the model, the retained and removed rows as tensors."""

    def __init__(
        self,
        model: TorchClassifier,
        features: torch.Tensor,
        labels: torch.Tensor,
        removed: npt.NDArray[np.bool_],
    ) -> None:
        self.model = model
        self.features = features
        self.labels = labels
        keep = torch.from_numpy(~removed)
        drop = torch.from_numpy(removed)
        self.kept_x, self.kept_y = features[keep], labels[keep]
        self.removed_x, self.removed_y = features[drop], labels[drop]
        self.theta = model.theta

    @property
    def n_kept(self) -> int:
        return len(self.kept_y)

    def retained_gradient(self) -> torch.Tensor:
        """(P,) ∇L'(θ*)."""
        theta = self.theta.clone().requires_grad_(True)
        value = self.model.objective.total(theta, self.kept_x, self.kept_y, self.n_kept)
        (gradient,) = torch.autograd.grad(value, theta)
        return gradient

    def retained_curvature(self, kind: CurvatureKind) -> torch.Tensor:
        """Σ_{i∉C} loss curvature: the cached full-data curvature minus the removed rows'."""
        full = self.model.curvature(self.features, self.labels, kind)
        if len(self.removed_y) == 0:
            return full
        removed = self.model.objective.loss_hessian_sum(
            self.theta, self.removed_x, self.removed_y, kind=kind
        )
        return full - removed


def _newton(kind: CurvatureKind) -> Callable[[_Request], torch.Tensor]:
    def step(request: _Request) -> torch.Tensor:
        gradient = request.retained_gradient()
        curvature = request.retained_curvature(kind) / request.n_kept
        decay = request.model.objective.penalty  # (P,)
        if kind == "diag":
            return request.theta - gradient / (curvature + decay + NEWTON_DAMPING)
        return request.theta - damped_solve(curvature + torch.diag(decay), gradient, NEWTON_DAMPING)

    return step


def _finetune(request: _Request) -> torch.Tensor:
    return request.model.objective.fit(
        request.theta, request.kept_x, request.kept_y, max_iter=FINETUNE_ITERATIONS
    )


def _retrain(request: _Request) -> torch.Tensor:
    return request.model.clone().fit(request.kept_x, request.kept_y).theta


def _ascent(request: _Request) -> torch.Tensor:
    model, start = request.model, request.theta
    objective = model.objective
    n = len(request.labels)
    # EWC precision: diagonal Laplace approximation of the full-data posterior around θ*.
    precision = model.curvature(request.features, request.labels, "diag") + n * objective.penalty
    cap = math.log(model.n_classes)  # safeguard 1: a removed row stops pushing once forgotten

    def retained_accuracy(theta: torch.Tensor) -> float:
        with torch.no_grad():
            predicted = objective.logits(theta, request.kept_x).argmax(dim=1)
        return float((predicted == request.kept_y).double().mean())

    theta = start.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([theta], lr=ASCENT_LEARNING_RATE)
    floor = retained_accuracy(start) - ASCENT_MAX_RETAINED_DROP
    best = start.clone()
    for step in range(1, ASCENT_STEPS + 1):
        optimizer.zero_grad()
        forgetting = (
            -objective.losses(theta, request.removed_x, request.removed_y).clamp_max(cap).sum()
        )
        shift = theta - start
        penalty = 0.5 * (precision * shift * shift).sum()  # safeguard 2: stay near θ*
        (forgetting + penalty).backward()
        optimizer.step()
        if step % ASCENT_CHECK_EVERY == 0:
            if retained_accuracy(theta.detach()) < floor:  # safeguard 3: stop before collapse
                break
            best = theta.detach().clone()
    return best


#: Every unlearning method: name -> new flat parameters (P,).
UNLEARN_METHODS: dict[str, Callable[[_Request], torch.Tensor]] = {
    "newton": _newton("exact"),
    "newton_ggn": _newton("ggn"),
    "newton_diag": _newton("diag"),
    "finetune": _finetune,
    "ascent": _ascent,
    "retrain": _retrain,
}


def removal_mask(remove: Any, n_samples: int) -> npt.NDArray[np.bool_]:
    """(N,) boolean mask from row indices or a boolean mask; checks range and size.

    >>> removal_mask([0, 2], 4).tolist()
    [True, False, True, False]
    """
    array = np.asarray(remove)
    if array.dtype == bool:
        if array.shape != (n_samples,):
            raise InputError(
                f"A boolean remove mask must have shape ({n_samples},). Got {array.shape}."
            )
        mask = array.copy()
    else:
        if array.size and (array.dtype.kind not in "iu" or array.ndim != 1):
            raise InputError("remove must be row indices (1-D ints) or a boolean mask.")
        indices = array.astype(np.intp)
        if indices.size > n_samples:
            raise InputError(
                f"Cannot remove {indices.size} examples from a training set of {n_samples}."
            )
        if indices.size and (indices.min() < 0 or indices.max() >= n_samples):
            raise InputError(
                f"remove indices must lie in [0, {n_samples}); found {indices.min()} to "
                f"{indices.max()}."
            )
        if np.unique(indices).size != indices.size:
            raise InputError("remove indices must be unique.")
        mask = np.zeros(n_samples, dtype=bool)
        mask[indices] = True
    if mask.all():
        raise InputError(f"Cannot remove all {n_samples} training examples; keep at least one.")
    return mask


def unlearn(model: Any, train: XY, remove: Any, *, method: str = DEFAULT_UNLEARN) -> Any:
    """A copy of ``model`` that has forgotten the ``remove`` rows of its training set.

    Parameters
    ----------
    model : TorchClassifier or fitted sklearn LogisticRegression
        Trained on ``train``; left unchanged.
    train : (features (N, D), labels (N,))
    remove : array of row indices (k,) or boolean mask (N,)
    method : str
        A key of :data:`UNLEARN_METHODS`; ``retrain`` is the from-scratch reference.

    Returns
    -------
    The same kind of model as ``model``, with new parameters.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [0.15]])
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> from labelmend.repair.models import make_classifier
    >>> model = make_classifier("linear", X, n_classes=2).fit(X, y)
    >>> repaired = unlearn(model, (X, y), [5])
    >>> oracle = unlearn(model, (X, y), [5], method="retrain")
    >>> repaired.predict(X).tolist(), oracle.predict(X).tolist()
    ([0, 0, 0, 1, 1, 0], [0, 0, 0, 1, 1, 0])
    """
    check_choice("method", method, UNLEARN_METHODS)
    classifier = as_classifier(model, len(np.asarray(train[1])))
    features, labels = check_dataset("train", train, classifier)
    removed = removal_mask(remove, len(labels))
    theta = UNLEARN_METHODS[method](_Request(classifier, features, labels, removed))
    repaired = classifier.clone().set_theta(theta)
    return repaired if isinstance(model, TorchClassifier) else to_sklearn(repaired, model)
