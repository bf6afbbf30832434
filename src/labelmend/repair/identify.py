"""Find the training examples behind a model's failures: one harm score per example.

Glossary: N training rows, F failure rows (inputs the model gets wrong, with their
correct labels), P parameters, θ* the trained parameters, g_i = ∇ℓ_i(θ*) (P,),
g_F = Σ_f ∇ℓ_f(θ*), H = ∇²(mean loss) + weight_decay·I, the training objective's Hessian.
Every score is "higher = more harmful".

Harm priors (no failure set):
    ``loss``            ℓ_i(θ*)
    ``self_influence``  g_iᵀ (H + δI)⁻¹ g_i   (δ: see :data:`DAMPING`)
    ``p_error``         the ranking engine's probability that the label is wrong, from
                        out-of-fold probabilities of the same model class
Failure-targeted:
    ``tracin``          −g_iᵀ g_F  (TracIn at the final checkpoint)
    ``fisher``          −g_iᵀ (diag F + δ)⁻¹ g_F  (EWC-preconditioned)
    ``fisher_votes``    Σ_f max(0, −g_iᵀ (diag F + δ)⁻¹ g_f): each failure f votes for the
                        examples whose gradient step pushed it wrong; summing only the
                        positive parts keeps diffuse (random) failures from cancelling
    ``ggn_votes``       Σ_f max(0, −g_iᵀ (H + δI)⁻¹ g_f): the same votes with the exact
                        Gauss–Newton matrix (a network's output layer: see networks.py)
    ``influence``       −g_iᵀ (H + δI)⁻¹ g_F  (exact damped influence on the failure loss)
    ``map``             ℓ_i(θ_F) − ℓ_i(θ*), θ_F = argmin Σ_F ℓ + ½(θ−θ*)ᵀΛ(θ−θ*) with Λ the
                        posterior precision n·(H + δI) (Tanno et al. 2022, MAP form)
Combined:
    ``default``         rank average of ``p_error`` and ``fisher_votes`` (see docs/repair.md
                        for the numbers behind the choice)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from labelmend import fitting
from labelmend._validation import (
    RandomState,
    check_choice,
    check_random_state,
    check_same_length,
    check_unique,
    row_name,
)
from labelmend.cleaner import score_samples
from labelmend.errors import InputError
from labelmend.repair._objective import damped_solve, minimize
from labelmend.repair.models import XY, TorchClassifier, check_dataset, from_sklearn

#: Failures whose gradients are held at once by ``fisher_votes``.
VOTE_CHUNK = 256
#: Relative damping: δ = DAMPING × mean diagonal curvature is added before inverting.
#: Heavy damping pays: on digits, influence at 0.1 scores AUC 0.73 / 0.85 (random /
#: systematic noise), at 10 it scores 0.84 / 0.95 (δ → ∞ turns it into TracIn).
DAMPING = 10.0


@dataclass
class HarmContext:
    """What the scores share, computed once and on demand (gradients, curvature, …)."""

    model: TorchClassifier
    features: torch.Tensor
    labels: torch.Tensor
    failure_features: torch.Tensor | None
    failure_labels: torch.Tensor | None
    damping: float
    n_folds: int
    rng: np.random.Generator
    pred_probs: npt.NDArray[np.float64] | None = field(default=None)

    @property
    def n(self) -> int:
        return len(self.labels)

    @cached_property
    def theta(self) -> torch.Tensor:
        return self.model.theta

    @cached_property
    def grads(self) -> torch.Tensor:
        """(N, P) per-example gradients at θ*."""
        return self.model.objective.per_example_grads(self.theta, self.features, self.labels)

    def failure_set(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(F, D) features and (F,) correct labels of the failures."""
        if self.failure_features is None or self.failure_labels is None:
            raise InputError("This method needs a failure set (features and correct labels).")
        return self.failure_features, self.failure_labels

    @cached_property
    def failure_grad(self) -> torch.Tensor:
        """(P,) gradient of the summed failure loss at θ*."""
        return self.model.objective.per_example_grads(self.theta, *self.failure_set()).sum(dim=0)

    @cached_property
    def hessian(self) -> torch.Tensor:
        """(P, P) Hessian of the training objective (GGN of the loss + weight decay)."""
        curvature = self.model.curvature(self.features, self.labels, "ggn") / self.n
        return curvature + torch.diag(self.model.objective.penalty)

    @cached_property
    def absolute_damping(self) -> float:
        """δ = damping × the mean diagonal curvature (trace H / P): scale-free damping."""
        return self.damping * float(self.fisher_diagonal.mean())

    @cached_property
    def fisher_diagonal(self) -> torch.Tensor:
        """(P,) diagonal Fisher (GGN) of the mean loss plus weight decay."""
        return (
            self.model.curvature(self.features, self.labels, "diag") / self.n
            + self.model.objective.penalty
        )

    def losses_at(self, theta: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.model.objective.losses(theta, self.features, self.labels)


def _loss(ctx: HarmContext) -> torch.Tensor:
    return ctx.losses_at(ctx.theta)


def _self_influence(ctx: HarmContext) -> torch.Tensor:
    solved = damped_solve(ctx.hessian, ctx.grads.T, ctx.absolute_damping)  # (P, N)
    return (ctx.grads * solved.T).sum(dim=1)


def _p_error(ctx: HarmContext) -> torch.Tensor:
    probs = ctx.pred_probs
    if probs is None:
        probs = fitting.out_of_fold_probs(
            ctx.features.numpy(),
            ctx.labels.numpy(),
            model=lambda: ctx.model.clone(with_curvature=False),
            n_folds=ctx.n_folds,
            n_classes=ctx.model.n_classes,
            random_state=ctx.rng,
        )
    return torch.from_numpy(score_samples(ctx.labels.numpy(), probs).p_error)


def _tracin(ctx: HarmContext) -> torch.Tensor:
    return -(ctx.grads @ ctx.failure_grad)


def _fisher(ctx: HarmContext) -> torch.Tensor:
    return -(ctx.grads @ (ctx.failure_grad / (ctx.fisher_diagonal + ctx.absolute_damping)))


def _fisher_votes(ctx: HarmContext) -> torch.Tensor:
    return _votes(ctx, ctx.grads / (ctx.fisher_diagonal + ctx.absolute_damping))


def _ggn_votes(ctx: HarmContext) -> torch.Tensor:
    return _votes(ctx, damped_solve(ctx.hessian, ctx.grads.T, ctx.absolute_damping).T)


def _votes(ctx: HarmContext, preconditioned: torch.Tensor) -> torch.Tensor:
    """Σ_f max(0, −p_iᵀ g_f) for the (N, P) preconditioned training gradients p_i."""
    features, labels = ctx.failure_set()
    votes = torch.zeros(ctx.n, dtype=torch.float64)
    for start in range(0, len(labels), VOTE_CHUNK):
        rows = slice(start, start + VOTE_CHUNK)
        failure_grads = ctx.model.objective.per_example_grads(
            ctx.theta, features[rows], labels[rows]
        )
        votes += (-(preconditioned @ failure_grads.T)).clamp_min(0.0).sum(dim=1)
    return votes


def _influence(ctx: HarmContext) -> torch.Tensor:
    return -(ctx.grads @ damped_solve(ctx.hessian, ctx.failure_grad, ctx.absolute_damping))


def _map(ctx: HarmContext) -> torch.Tensor:
    objective = ctx.model.objective
    eye = torch.eye(ctx.model.n_params, dtype=torch.float64)
    precision = ctx.n * (ctx.hessian + ctx.absolute_damping * eye)
    start = ctx.theta
    x_f, y_f = ctx.failure_set()

    def penalised(theta: torch.Tensor) -> torch.Tensor:
        shift = theta - start
        return objective.losses(theta, x_f, y_f).sum() + 0.5 * shift @ (precision @ shift)

    theta_f = minimize(penalised, start, max_iter=100)
    return ctx.losses_at(theta_f) - ctx.losses_at(start)


def rank_average(*scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Mean of the scores' normalised ranks in (0, 1]; ties share their average rank.

    Examples
    --------
    >>> rank_average(np.array([0.1, 0.9, 0.5]), np.array([3.0, 2.0, 1.0])).round(3).tolist()
    [0.667, 0.833, 0.5]
    """
    if not scores:
        raise InputError("rank_average needs at least one array of scores.")
    for index, score in enumerate(scores):
        if np.ndim(score) != 1:
            raise InputError(f"scores {index} must have shape (N,). Got {np.shape(score)}.")
        check_same_length(f"scores {index}", len(score), "scores 0", len(scores[0]))
    ranks = [pd.Series(s).rank(method="average").to_numpy() / len(s) for s in scores]
    return np.mean(ranks, axis=0)


def _default(ctx: HarmContext) -> torch.Tensor:
    prior = _p_error(ctx).numpy()
    targeted = _fisher_votes(ctx).numpy()
    return torch.from_numpy(rank_average(prior, targeted))


HarmMethod = Callable[[HarmContext], torch.Tensor]

#: Every identification method: name -> score function (higher = more harmful).
HARM_METHODS: dict[str, HarmMethod] = {
    "default": _default,
    "loss": _loss,
    "self_influence": _self_influence,
    "p_error": _p_error,
    "tracin": _tracin,
    "fisher": _fisher,
    "fisher_votes": _fisher_votes,
    "ggn_votes": _ggn_votes,
    "influence": _influence,
    "map": _map,
}
#: Methods that need no failure set.
HARM_PRIORS = ("loss", "self_influence", "p_error")
#: Methods that use out-of-fold probabilities (pass ``pred_probs`` to reuse them).
USES_OUT_OF_FOLD = ("default", "p_error")


def as_classifier(model: Any, n_train: int) -> TorchClassifier:
    """A TorchClassifier as is; a fitted sklearn LogisticRegression through the adapter."""
    if isinstance(model, TorchClassifier):
        return model
    return from_sklearn(model, n_train)


def find_harmful_examples(
    model: Any,
    train: XY,
    failures: XY | None = None,
    *,
    method: str = "default",
    damping: float = DAMPING,
    pred_probs: npt.NDArray[np.float64] | None = None,
    n_folds: int = fitting.DEFAULT_FOLDS,
    random_state: RandomState = 0,
) -> npt.NDArray[np.float64]:
    """Score every training example by how much it is to blame for the failures.

    Parameters
    ----------
    model : TorchClassifier or fitted sklearn LogisticRegression
        Trained on ``train`` (to the minimum of its objective).
    train : (features (N, D), labels (N,))
    failures : (features (F, D), correct labels (F,)), optional
        Inputs the model gets wrong; needed by every method but the harm priors.
    method : str
        A key of :data:`HARM_METHODS`.
    damping : float
        Relative damping: δ = damping × mean diagonal curvature is added to the
        curvature before inverting it.
    pred_probs : array (N, K), optional
        Out-of-fold probabilities for ``p_error`` (otherwise ``n_folds`` copies of the
        model are trained, one per fold).
    n_folds : int
        Folds for the out-of-fold probabilities.
    random_state : int, Generator or None
        Assigns rows to folds.

    Returns
    -------
    array (N,)
        Harm scores, higher = more harmful; compare within one method only.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [0.15]])
    >>> y = np.array([0, 0, 0, 1, 1, 1])  # the last label is wrong
    >>> from labelmend.repair.models import make_classifier
    >>> model = make_classifier("linear", X, n_classes=2).fit(X, y)
    >>> scores = find_harmful_examples(model, (X, y), (np.array([[0.12]]), [0]), method="fisher")
    >>> int(scores.argmax())
    5
    """
    check_choice("method", method, HARM_METHODS)
    if damping < 0:
        raise InputError(f"damping must be non-negative. Got {damping}.")
    classifier = as_classifier(model, len(np.asarray(train[1])))
    features, labels = check_dataset("train", train, classifier)
    failure_x = failure_y = None
    if failures is not None and len(np.asarray(failures[1])) > 0:
        failure_x, failure_y = check_dataset("failures", failures, classifier)
    if failure_x is None and method not in HARM_PRIORS:
        raise InputError(
            f"method {method!r} needs a non-empty failure set; the harm priors "
            f"{list(HARM_PRIORS)} do not."
        )
    if pred_probs is not None:
        pred_probs = np.asarray(pred_probs, dtype=np.float64)
        check_same_length("pred_probs", len(pred_probs), "train labels", len(labels))
    ctx = HarmContext(
        classifier,
        features,
        labels,
        failure_x,
        failure_y,
        damping,
        n_folds,
        check_random_state(random_state),
        pred_probs,
    )
    return HARM_METHODS[method](ctx).detach().numpy().astype(np.float64)


def relabel_queue(
    scores: Any,
    labels: Any,
    *,
    sample_ids: Any = None,
    suggested_labels: Any = None,
    removed: Any = None,
    top: int | None = None,
) -> pd.DataFrame:
    """The suspects as a relabel queue: a plain DataFrame, most harmful first.

    Suspects may be right and merely hard; sending them to annotators instead of (or as
    well as) unlearning them is the safe choice.

    Parameters
    ----------
    scores : (N,) harm scores, higher = more harmful
    labels : (N,) given labels
    sample_ids : (N,), optional, unique (default: row positions)
    suggested_labels : (N,), optional, e.g. the repaired model's predictions
    removed : (N,) bool, optional, rows that were unlearned
    top : int, optional, keep only the first ``top`` rows

    Returns
    -------
    DataFrame with columns ``sample_id, given_label, suggested_label, harm_score,
    harm_percentile, rank, removed`` (harm_percentile in [0, 1]: 1 for the most harmful,
    0 for the least; rank 1 first).

    Examples
    --------
    >>> relabel_queue([0.1, 0.9, 0.5], [0, 1, 1])[["sample_id", "rank"]].values.tolist()
    [[1, 1], [2, 2], [0, 3]]
    """
    given_scores = np.asarray(scores)
    if given_scores.dtype.kind not in "biuf":
        raise InputError(
            f"scores must be numbers of shape (N,). Got dtype {given_scores.dtype}.",
            inputs=("scores",),
        )
    scores = given_scores.astype(np.float64)
    if scores.ndim != 1:
        raise InputError(f"scores must have shape (N,). Got {scores.shape}.", inputs=("scores",))
    if not np.isfinite(scores).all():
        row = int(np.nonzero(~np.isfinite(scores))[0][0])
        raise InputError(
            f"scores contains NaN or infinite values (first in {row_name(row)}).",
            inputs=("scores",),
        )
    if top is not None and (
        isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 0
    ):
        raise InputError(f"top must be a non-negative integer or None. Got {top!r}.")
    given = np.asarray(labels)
    n = len(scores)
    check_same_length("labels", len(given), "scores", n)
    ids = np.arange(n) if sample_ids is None else np.asarray(sample_ids)
    check_same_length("sample_ids", len(ids), "scores", n)
    check_unique("sample_ids", ids)
    suggested = given if suggested_labels is None else np.asarray(suggested_labels)
    check_same_length("suggested_labels", len(suggested), "scores", n)
    flags = np.zeros(n, dtype=bool) if removed is None else np.asarray(removed, dtype=bool)
    check_same_length("removed", len(flags), "scores", n)
    order = np.lexsort((ids, -scores))
    ranks = np.empty(n, dtype=np.intp)
    ranks[order] = np.arange(1, n + 1)
    frame = pd.DataFrame(
        {
            "sample_id": ids[order],
            "given_label": given[order],
            "suggested_label": suggested[order],
            "harm_score": scores[order],
            "harm_percentile": 1.0 - (ranks[order] - 1) / max(n - 1, 1),
            "rank": ranks[order],
            "removed": flags[order],
        }
    )
    return frame if top is None else frame.head(top)
