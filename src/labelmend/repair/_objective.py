"""The training objective of a classifier as a function of one flat parameter vector.

Everything identification and unlearning need — per-example losses and gradients,
Jacobians of the logits, Hessians (exact, Gauss–Newton, diagonal), full-batch L-BFGS —
computed with :mod:`torch.func` on a flat vector θ of P float64 parameters.

Glossary: N rows of features X (N, D), labels y (N,), K classes, P parameters.
The objective of a model trained on n rows is ``mean_i ℓ_i(θ) + weight_decay/2 ‖θ‖²``
with ℓ_i the cross-entropy of row i.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Literal

import torch
from torch import nn
from torch.func import functional_call, grad, hessian, jacrev, vmap

#: Rows per chunk when a computation holds P values per row (Jacobians, Hessians).
CHUNK_ROWS = 128

CurvatureKind = Literal["exact", "ggn", "diag"]


class Objective:
    """Functional view of ``module``: logits, losses and their derivatives at any θ.

    Parameters
    ----------
    module : torch.nn.Module
        Maps features (N, D) float64 to logits (N, K). Its buffers (a standardisation,
        say) stay fixed; its parameters are the flat vector θ.
    weight_decay : float
        L2 penalty ``weight_decay/2 ‖θ‖²`` added to the mean loss.
    unpenalized : collection of str
        Names of parameters left out of the penalty (scikit-learn's intercepts).
    """

    def __init__(
        self, module: nn.Module, weight_decay: float, unpenalized: Collection[str] = ()
    ) -> None:
        self.module = module
        self.weight_decay = weight_decay
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self.sizes = [p.numel() for _, p in named]
        self.n_params = sum(self.sizes)
        #: (P,) the penalty's curvature: weight_decay, or 0 for unpenalized parameters.
        self.penalty = torch.cat(
            [
                torch.full(
                    (size,), 0.0 if name in unpenalized else weight_decay, dtype=torch.float64
                )
                for name, size in zip(self.names, self.sizes, strict=True)
            ]
        )

    def flat(self) -> torch.Tensor:
        """(P,) the module's current parameters, detached."""
        return torch.cat([p.detach().reshape(-1) for p in self._params()])

    def assign(self, theta: torch.Tensor) -> None:
        """Copy the flat vector θ (P,) into the module's parameters."""
        with torch.no_grad():
            for param, piece in zip(self._params(), self._pieces(theta), strict=True):
                param.copy_(piece)

    def _params(self) -> list[nn.Parameter]:
        lookup = dict(self.module.named_parameters())
        return [lookup[name] for name in self.names]

    def _pieces(self, theta: torch.Tensor) -> list[torch.Tensor]:
        chunks = torch.split(theta, self.sizes)
        return [c.reshape(s) for c, s in zip(chunks, self.shapes, strict=True)]

    def logits(self, theta: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(N, K) logits at θ."""
        params = dict(zip(self.names, self._pieces(theta), strict=True))
        return functional_call(self.module, params, (features,))

    def losses(
        self, theta: torch.Tensor, features: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """(N,) cross-entropy of each row at θ."""
        return nn.functional.cross_entropy(self.logits(theta, features), labels, reduction="none")

    def total(
        self, theta: torch.Tensor, features: torch.Tensor, labels: torch.Tensor, n: int
    ) -> torch.Tensor:
        """The training objective on ``n`` rows: Σ ℓ_i / n + weight_decay/2 ‖θ‖²."""
        penalty = 0.5 * (self.penalty * theta * theta).sum()
        return self.losses(theta, features, labels).sum() / n + penalty

    def per_example_grads(
        self, theta: torch.Tensor, features: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """(N, P) gradient of each row's loss ℓ_i (no penalty)."""

        def loss_of_row(t: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return self.losses(t, x[None], y[None])[0]

        grads = vmap(grad(loss_of_row), in_dims=(None, 0, 0))
        return _in_chunks(lambda x, y: grads(theta, x, y), features, labels)

    def loss_hessian_sum(
        self,
        theta: torch.Tensor,
        features: torch.Tensor,
        labels: torch.Tensor,
        *,
        kind: CurvatureKind,
    ) -> torch.Tensor:
        """Σ_i of each row's loss curvature: (P, P) for ``exact``/``ggn``, (P,) for ``diag``.

        ``exact`` is the true Hessian; ``ggn`` the generalised Gauss–Newton Jᵀ(diag p − ppᵀ)J
        (equal to the Hessian for a linear model, positive semi-definite always);
        ``diag`` the diagonal of the GGN.
        """
        if kind == "exact":

            def hess(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
                return hessian(lambda t: self.losses(t, x, y).sum())(theta)

            return _sum_in_chunks(hess, features, labels, rows=max(1, CHUNK_ROWS // 4))

        def ggn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            jac = self.logit_jacobians(theta, x)  # (c, K, P)
            probs = torch.softmax(self.logits(theta, x), dim=1)  # (c, K)
            # (diag p − ppᵀ) J without forming the K×K matrices.
            weighted = (
                probs[:, :, None] * jac
                - probs[:, :, None] * torch.einsum("ck,ckp->cp", probs, jac)[:, None, :]
            )
            if kind == "diag":
                return (jac * weighted).sum(dim=(0, 1))
            flat_j = jac.reshape(-1, jac.shape[-1])
            return flat_j.T @ weighted.reshape(-1, jac.shape[-1])

        return _sum_in_chunks(ggn, features, labels, rows=CHUNK_ROWS)

    def logit_jacobians(self, theta: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """(N, K, P) Jacobian of each row's logits with respect to θ."""

        def one(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return self.logits(t, x[None])[0]

        return vmap(jacrev(one), in_dims=(None, 0))(theta, features)

    def fit(
        self,
        theta: torch.Tensor,
        features: torch.Tensor,
        labels: torch.Tensor,
        *,
        max_iter: int,
        tolerance: float = 1e-9,
    ) -> torch.Tensor:
        """Minimise the objective on (features, labels) from θ with full-batch L-BFGS."""
        return minimize(
            lambda t: self.total(t, features, labels, len(labels)),
            theta,
            max_iter=max_iter,
            tolerance=tolerance,
        )


def minimize(
    objective: Callable[[torch.Tensor], torch.Tensor],
    start: torch.Tensor,
    *,
    max_iter: int,
    tolerance: float = 1e-9,
) -> torch.Tensor:
    """Minimise a smooth scalar function of a flat vector with L-BFGS (strong Wolfe)."""
    theta = start.detach().clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [theta],
        lr=1.0,
        max_iter=max_iter,
        history_size=20,
        tolerance_grad=tolerance,
        tolerance_change=1e-12,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = objective(theta)
        value.backward()
        return value

    optimizer.step(closure)
    return theta.detach()


def damped_solve(matrix: torch.Tensor, rhs: torch.Tensor, damping: float) -> torch.Tensor:
    """Solve (matrix + damping·I) x = rhs for a symmetric matrix (P, P); rhs (P,) or (P, M).

    When the damped matrix is not positive definite (an MLP's exact Hessian after a
    removal), each eigenvalue is replaced by its magnitude plus ``damping`` (saddle-free
    Newton): a Newton step then never climbs.
    """
    eye = torch.eye(matrix.shape[0], dtype=matrix.dtype)
    factor, info = torch.linalg.cholesky_ex(matrix + damping * eye)
    if int(info) == 0:
        if rhs.ndim == 1:
            return torch.cholesky_solve(rhs[:, None], factor)[:, 0]
        return torch.cholesky_solve(rhs, factor)
    values, vectors = torch.linalg.eigh(matrix)
    floored = values.abs() + damping  # saddle-free: curvature magnitude, never a climb
    projected = vectors.T @ rhs
    scaled = projected / (floored if rhs.ndim == 1 else floored[:, None])
    return vectors @ scaled


def _in_chunks(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    features: torch.Tensor,
    labels: torch.Tensor,
    rows: int = CHUNK_ROWS,
) -> torch.Tensor:
    parts = [
        fn(features[start : start + rows], labels[start : start + rows])
        for start in range(0, len(labels), rows)
    ]
    return torch.cat(parts)


def _sum_in_chunks(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    features: torch.Tensor,
    labels: torch.Tensor,
    rows: int,
) -> torch.Tensor:
    total: torch.Tensor | None = None
    for start in range(0, len(labels), rows):
        part = fn(features[start : start + rows], labels[start : start + rows])
        total = part if total is None else total + part
    if total is None:
        raise ValueError("no rows to sum over")
    return total
