"""Does preconditioning make warm-started unlearning exact within the time target?

On the removal set the default pipeline chose for each case of ``benchmarks/repair.py``
(same cases, seeds and defaults), every variant minimises the retained objective L'(θ)
with full-batch L-BFGS from the trained θ*, and is compared with retraining from scratch
without the same rows: test-accuracy gap (mean over seeds and the worst seed), relative
parameter distance ‖θ − θ_retrained‖ / ‖θ_retrained‖ (median), time over retraining's
(ratio of medians), and objective evaluations.

Variants:
  plain N      ``unlearn(method="finetune")``'s solver: N L-BFGS iterations on θ.
  K-FAC N      N L-BFGS iterations on u, θ = θ* + M u, where M whitens each linear layer
               (weight and bias as one (out, in+1) block W̃) by the Kronecker-factored
               Gauss–Newton curvature at θ* on the retained rows:
               A = mean x̃ x̃ᵀ (x̃ = the layer's input with a 1 appended),
               G = mean Jᵀ(diag p − ppᵀ)J (J = d logits / d layer output; G = mean
               diag p − ppᵀ for the output layer), A = Qa diag(a) Qaᵀ, G = Qg diag(g) Qgᵀ,
               ΔW̃ = Qg (U ⊙ C) Qaᵀ with C_jk = (g_j a_k + λ)^(−1/2), λ the weight decay:
               in u, the K-FAC curvature A ⊗ G + λI is the identity. No tuned constant.
               Building A and G (n·D² and K backward passes) is timed with the solve.
  … to tolerance  run to retraining's own tolerance and 500-iteration cap.

    python benchmarks/repair_precondition.py [--seeds 5] [--model linear|mlp] [--workers 2]
                                             [--cases "digits/random 5%" …] [--markdown]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from torch import nn

from labelmend.repair import set_torch_threads
from labelmend.repair._objective import minimize
from labelmend.repair.models import MAX_ITER, TorchClassifier, check_dataset
from labelmend.repair.unlearning import FINETUNE_ITERATIONS
from repair import accuracy, case_data, cases, run_pipeline, show

console = Console()
#: Iteration budgets of the preconditioned variant (the plain one runs the default and 15).
BUDGETS = (10, 15, 20)
#: Times each variant runs; the fastest counts (a shared machine).
REPEATS = 2


def kfac_map(
    model: TorchClassifier, features: torch.Tensor
) -> Callable[[torch.Tensor], torch.Tensor]:
    """u (P,) ↦ θ (P,): θ* plus each linear layer's K-FAC-whitened step (see the docstring)."""
    objective, theta = model.objective, model.theta
    linears = [(name, m) for name, m in model.module.named_modules() if isinstance(m, nn.Linear)]
    inputs: dict[str, torch.Tensor] = {}
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Callable[..., None]:
        def hook(_: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            inputs[name], outputs[name] = args[0].detach(), out

        return hook

    handles = [m.register_forward_hook(keep(name)) for name, m in linears]
    try:
        logits = model.module(features)
    finally:
        for handle in handles:
            handle.remove()
    probs = torch.softmax(logits.detach(), dim=1)
    root = probs.sqrt()
    # diag p − ppᵀ = B Bᵀ with B = diag √p − p √pᵀ: K vector-Jacobian products give Jᵀ B.
    factor = torch.diag_embed(root) - probs[:, :, None] * root[:, None, :]
    names = [name for name, _ in linears]
    n, n_classes = probs.shape
    output_factor = {name: torch.zeros(0) for name in names}
    for k in range(n_classes):
        vjps = torch.autograd.grad(
            logits, [outputs[name] for name in names], factor[:, :, k], retain_graph=True
        )
        for name, vjp in zip(names, vjps, strict=True):
            term = vjp.T @ vjp / n
            output_factor[name] = term if k == 0 else output_factor[name] + term
    index = {name: i for i, name in enumerate(objective.names)}
    starts = np.cumsum([0, *objective.sizes])
    blocks = []
    for name in names:
        prefix = f"{name}." if name else ""
        weight, bias = index[prefix + "weight"], index[prefix + "bias"]
        extended = torch.cat([inputs[name], torch.ones(n, 1, dtype=torch.float64)], dim=1)
        a, qa = torch.linalg.eigh(extended.T @ extended / n)
        g, qg = torch.linalg.eigh(output_factor[name])
        decay = float(objective.penalty[starts[weight]])
        scale = (g.clamp_min(0)[:, None] * a.clamp_min(0)[None, :] + decay).rsqrt()
        blocks.append((weight, bias, inputs[name].shape[1], qa, qg, scale))

    def to_theta(u: torch.Tensor) -> torch.Tensor:
        pieces = list(torch.split(u, objective.sizes))
        for weight, bias, fan_in, qa, qg, scale in blocks:
            step = torch.cat([pieces[weight].reshape(-1, fan_in), pieces[bias][:, None]], dim=1)
            step = qg @ (step * scale) @ qa.T
            pieces[weight], pieces[bias] = step[:, :fan_in].reshape(-1), step[:, fan_in]
        return theta + torch.cat(pieces)

    return to_theta


def solve(
    model: TorchClassifier, x: torch.Tensor, y: torch.Tensor, iterations: int, kfac: bool
) -> tuple[torch.Tensor, int]:
    """θ after ``iterations`` of L-BFGS on the rows (x, y) from θ*, and the evaluations."""
    objective = model.objective
    to_theta = kfac_map(model, x) if kfac else (lambda u: u)
    evaluations = 0

    def value(u: torch.Tensor) -> torch.Tensor:
        nonlocal evaluations
        evaluations += 1
        return objective.total(to_theta(u), x, y, len(y))

    start = torch.zeros(model.n_params, dtype=torch.float64) if kfac else model.theta
    return to_theta(minimize(value, start, max_iter=iterations)).detach(), evaluations


def fastest(fn: Callable[[], Any]) -> tuple[Any, float]:
    times, value = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - started)
    return value, min(times)


def variants() -> list[tuple[str, int, bool]]:
    plain = [(f"plain {n}", n, False) for n in (FINETUNE_ITERATIONS, 15)]
    kfac = [(f"K-FAC {n}", n, True) for n in BUDGETS]
    tolerance = [("plain to tolerance", MAX_ITER, False), ("K-FAC to tolerance", MAX_ITER, True)]
    return plain + kfac + tolerance


def compare(
    case: str, model: TorchClassifier, kept_x: torch.Tensor, kept_y: torch.Tensor, test: Any
) -> list[dict[str, Any]]:
    """Every variant from ``model``'s θ* on the kept rows against retraining on them."""
    retrained, retrain_seconds = fastest(
        lambda: model.clone(with_curvature=False).fit(kept_x, kept_y).theta
    )
    reference = accuracy(model.clone().set_theta(retrained), test)
    rows = []
    for name, iterations, kfac in variants():
        (theta, evaluations), seconds = fastest(
            lambda i=iterations, k=kfac: solve(model, kept_x, kept_y, i, k)
        )
        rows.append(
            {
                "case": case,
                "variant": name,
                "gap": accuracy(model.clone().set_theta(theta), test) - reference,
                "distance": float((theta - retrained).norm() / retrained.norm()),
                "seconds": seconds,
                "retrain_seconds": retrain_seconds,
                "evaluations": evaluations,
            }
        )
    return rows


def task(job: tuple[str, int, str]) -> list[dict[str, Any]]:
    """One (case, seed): the pipeline's removal set, then every variant on it."""
    kind, seed, case = job
    set_torch_threads(1)
    train, val, test, is_error = case_data(seed, case)
    _, result = run_pipeline(kind, train, val, test, is_error, seed)
    keep = torch.from_numpy(~result.removed)
    x, y = check_dataset("train", train, result.before)
    return compare(case, result.before.clone(with_curvature=False), x[keep], y[keep], test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--model", default="linear", choices=("linear", "mlp"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cases", nargs="+", metavar="CASE")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    names = [case for case, *_ in cases(0) if args.cases is None or case in args.cases]
    jobs = [(args.model, seed, case) for case in names for seed in range(args.seeds)]
    runs: list[dict[str, Any]] = []
    with ProcessPoolExecutor(args.workers) as pool, console.status("Unlearning…") as status:
        for done, rows in enumerate(pool.map(task, jobs), start=1):
            status.update(f"{done}/{len(jobs)} runs")
            runs.extend(rows)
    frame = pd.DataFrame(runs)
    table = []
    for (case, variant), group in frame.groupby(["case", "variant"], sort=False):
        ratio = group["seconds"].median() / group["retrain_seconds"].median()
        table.append(
            {
                "case": case,
                "variant": variant,
                "− retrained (worst seed)": f"{group['gap'].mean():+.3f} ({group['gap'].min():+.3f})",
                "distance (median)": f"{group['distance'].median():.3f}",
                "time / retrain": f"{ratio:.0%}",
                "evaluations (median)": f"{group['evaluations'].median():.0f}",
            }
        )
    show(
        pd.DataFrame(table),
        f"{args.model}: warm-started L-BFGS, plain and K-FAC-preconditioned, against "
        f"retraining without the same rows ({args.seeds} seeds)",
        args.markdown,
    )


if __name__ == "__main__":
    main()
