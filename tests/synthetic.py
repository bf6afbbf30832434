"""Synthetic test data: a classification problem with known label errors.

Every test that needs "given labels, a model's probabilities and the truth" builds them
with :func:`noisy_problem`, so that they all mean the same thing by "a noisy problem".
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt


class NoisyProblem(NamedTuple):
    """Given labels, model probabilities and the truth of N samples in K classes.

    Attributes
    ----------
    labels : (N,) int
        The given labels: ``true`` except on the flipped rows.
    probs : (N, K) float
        A model's probabilities: softmax of standard-normal logits plus ``margin`` on the
        true class (the top class is the true one about 90% of the time for K = 3 and a
        margin of 3).
    true : (N,) int
        The true classes, uniform over K.
    """

    labels: npt.NDArray[np.intp]
    probs: npt.NDArray[np.float64]
    true: npt.NDArray[np.intp]

    @property
    def flipped(self) -> npt.NDArray[np.bool_]:
        """(N,) bool: rows whose given label is wrong."""
        return self.labels != self.true


def noisy_problem(
    n: int = 400, k: int = 3, *, noise: float = 0.0, margin: float = 3.0, seed: int = 0
) -> NoisyProblem:
    """N samples; each label is moved to another class (at random) with probability ``noise``.

    Rows do not depend on ``n``: the first N rows of a bigger problem with the same seed
    are the problem of size N (so a test can add new samples to a store it filled).

    >>> problem = noisy_problem(300, 4, noise=0.1)
    >>> problem.probs.shape, int(problem.flipped.sum())
    ((300, 4), 24)
    >>> bool(np.array_equal(noisy_problem(5, 4, noise=0.1).labels, problem.labels[:5]))
    True
    """
    # One stream per quantity, each drawn row by row: that is what keeps rows stable in n.
    truth, noise_draws, flip_draws, offset_draws = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    true = truth.integers(k, size=n)
    logits = noise_draws.normal(size=(n, k))
    logits[np.arange(n), true] += margin
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    flip = flip_draws.random(n) < noise
    labels = np.where(flip, (true + offset_draws.integers(1, k, size=n)) % k, true)
    return NoisyProblem(labels, probs, true)


def scored_store(
    session: Any,
    classes: list[str],
    ids: list[str],
    labels: npt.ArrayLike,
    probs: npt.NDArray[np.float64],
    *,
    model: str = "m",
    **columns: Any,
) -> Any:
    """Fill an open store: dataset 'pets' with ``classes``, samples ``ids`` labelled
    ``labels`` (class indices; ``columns`` become metadata), the (N, K) ``probs`` of
    ``model``, and a score run; returns :func:`labelmend.workflow.score`'s result."""
    import pandas as pd

    from labelmend import workflow

    workflow.init_dataset(session, "pets", classes)
    names = np.asarray(classes)[np.asarray(labels)]
    workflow.import_samples(session, pd.DataFrame({"sample_id": ids, "label": names, **columns}))
    table = pd.DataFrame(probs, columns=classes)
    table.insert(0, "sample_id", ids)
    workflow.import_predictions(session, table, model=model)
    return workflow.score(session)
