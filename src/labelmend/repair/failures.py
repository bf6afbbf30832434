"""Failure types (Henn et al., MICCAI 2021): split a model's failures into types and
check that the split means something.

Glossary: F failures (inputs the model gets wrong, with their correct labels), T types,
C previously correct rows (inputs the model gets right).

A *typing* assigns each failure to one of T types. Failures are embedded (:data:`EMBEDDINGS`:
input features, per-sample last-layer gradients, the (true, predicted) class pair, a
metadata column, or random as the baseline) and clustered with k-means. Each type's
failures are split in two halves, A_t (to fine-tune on) and B_t (held out); the model is
fine-tuned on A_t alone (anchored at θ*, see :func:`fine_tune`) and measured:

    learnability_t      accuracy on B_t after fine-tuning on A_t
    generalisability_t  1 − max(0, acc(A_t) − acc(B_t)) / acc(A_t)
    independence_t      mean over s ≠ t of acc(B_t) − acc(B_s): fixing one type should
                        not fix the others
    compatibility_t     accuracy on the previously correct rows after the fine-tune

A good typing scores high on all four; its *score* is their mean, averaged over types
weighted by size. With ``n_types=None`` the number of types with the best score wins
(:data:`TYPE_RANGE`), and a random typing with the same number of types is the baseline.
:func:`repair_types` then repairs each type on its own: the training rows to blame for
that type, unlearned, measured on the type's held-out half and on the correct rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from labelmend._validation import (
    RandomState,
    check_choice,
    check_count,
    check_random_state,
    check_row_count,
    check_same_length,
)
from labelmend.errors import InputError
from labelmend.repair._objective import minimize
from labelmend.repair.identify import XY, as_classifier, check_dataset, find_harmful_examples
from labelmend.repair.models import TorchClassifier
from labelmend.repair.unlearning import DEFAULT_UNLEARN, unlearn

#: How failures are embedded before clustering.
EMBEDDINGS = ("gradients", "features", "fp_fn", "metadata", "random")
#: Numbers of types tried when none is given.
TYPE_RANGE = range(2, 7)
#: A type needs this many failures (both halves non-empty, more than one each).
MIN_TYPE_SIZE = 4
#: L-BFGS iterations of a fine-tune on one type.
FINE_TUNE_ITERATIONS = 50
#: The metrics of a typing, in report order.
METRICS = ("learnability", "generalisability", "independence", "compatibility")


@dataclass(frozen=True)
class FailureTypes:
    """A typing of the failures and what fine-tuning on each type showed.

    Attributes
    ----------
    embedding : str
    assignment : (F,) int, the type of each failure
    halves : (F,) bool, True for the half fine-tuned on (A), False for the held-out half (B)
    table : DataFrame, one row per type: ``type, size`` and :data:`METRICS`
    transfer : (T, T + 1) accuracy on each type's held-out half (columns; the last column:
        the previously correct rows) after fine-tuning on each type's first half (rows)
    score : float, the typing's score (mean metric, weighted by type size)
    baseline : DataFrame, the same table for a random typing with T types
    baseline_score : float
    scores : DataFrame (n_types, score) of every number of types tried

    Examples
    --------
    >>> from labelmend.repair.models import make_classifier
    >>> rng = np.random.default_rng(4)
    >>> X = rng.normal(size=(300, 2)); truth = (X[:, 0] + X[:, 1] > 0).astype(int)
    >>> given = np.where(np.abs(X[:, 0]) > 1, 1 - truth, truth)  # both edges flipped
    >>> train, V, T = (X[:200], given[:200]), X[200:], truth[200:]  # N = 200, D = 2
    >>> model = make_classifier("linear", train[0], n_classes=2).fit(*train)
    >>> ok = model.predict(V) == T
    >>> types = analyze_failures(model, train, (V[~ok], T[~ok]), (V[ok], T[ok]),
    ...                          embedding="fp_fn", n_types=2)  # by (true, predicted) pair
    >>> types.assignment.shape == types.halves.shape == ((~ok).sum(),)  # F = 48 failures
    True
    >>> types.n_types, types.transfer.shape, types.table.shape  # T = 2: (T, T + 1)
    (2, (2, 3), (2, 6))
    """

    embedding: str
    assignment: npt.NDArray[np.intp]
    halves: npt.NDArray[np.bool_]
    table: pd.DataFrame
    transfer: npt.NDArray[np.float64]
    score: float
    baseline: pd.DataFrame
    baseline_score: float
    scores: pd.DataFrame

    @property
    def n_types(self) -> int:
        return int(self.transfer.shape[0])


def typing_metrics(
    fitted_accuracy: npt.NDArray[np.float64],
    transfer: npt.NDArray[np.float64],
    sizes: npt.NDArray[np.intp],
) -> pd.DataFrame:
    """The four metrics of each type from accuracies measured after fine-tuning.

    Parameters
    ----------
    fitted_accuracy : (T,) accuracy on A_t after fine-tuning on A_t
    transfer : (T, T + 1) accuracy on B_s (column s) after fine-tuning on A_t (row t);
        the last column is the accuracy on the previously correct rows
    sizes : (T,) failures of each type

    Examples
    --------
    >>> transfer = np.array([[0.9, 0.2, 0.95], [0.1, 0.8, 0.9]])
    >>> typing_metrics(np.array([1.0, 0.8]), transfer, np.array([10, 6])).round(2)
       type  size  learnability  generalisability  independence  compatibility
    0     0    10           0.9               0.9           0.7           0.95
    1     1     6           0.8               1.0           0.7           0.90
    """
    n_types = len(sizes)
    own = np.diagonal(transfer[:, :n_types])
    others = transfer[:, :n_types].copy()
    np.fill_diagonal(others, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        overfit = np.maximum(0.0, fitted_accuracy - own) / fitted_accuracy
    return pd.DataFrame(
        {
            "type": np.arange(n_types),
            "size": np.asarray(sizes, dtype=np.intp),
            "learnability": own,
            "generalisability": np.where(fitted_accuracy > 0, 1.0 - overfit, 0.0),
            "independence": own - np.nanmean(others, axis=1) if n_types > 1 else np.nan,
            "compatibility": transfer[:, n_types],
        }
    )


def typing_score(table: pd.DataFrame) -> float:
    """Mean of the four metrics per type, averaged over types weighted by size.

    >>> table = pd.DataFrame({"size": [3, 1], "learnability": [1.0, 0.0],
    ...     "generalisability": [1.0, 0.0], "independence": [1.0, 0.0],
    ...     "compatibility": [1.0, 0.0]})
    >>> typing_score(table)
    0.75
    """
    per_type = table[list(METRICS)].mean(axis=1).to_numpy()
    return float(np.average(per_type, weights=table["size"].to_numpy()))


def fine_tune(model: TorchClassifier, train: XY, rows: XY) -> TorchClassifier:
    """A copy of ``model`` fine-tuned on ``rows``, anchored where it was trained.

    Minimises ``mean_{rows} ℓ(θ) + ½ (θ−θ*)ᵀ diag(F + λ) (θ−θ*)`` from θ*, with F the
    diagonal Fisher of the mean training loss and λ the weight decay: the rows weigh as
    much as the whole training set's curvature, so the model learns them without
    forgetting everything else.
    """
    features, labels = check_dataset("train", train, model)
    x, y = check_dataset("fine-tune rows", rows, model)
    objective = model.objective
    anchor = model.theta
    precision = model.curvature(features, labels, "diag") / len(labels) + objective.penalty

    def anchored(theta: torch.Tensor) -> torch.Tensor:
        shift = theta - anchor
        return objective.losses(theta, x, y).mean() + 0.5 * (precision * shift * shift).sum()

    theta = minimize(anchored, anchor, max_iter=FINE_TUNE_ITERATIONS)
    return model.clone().set_theta(theta)


def embed_failures(
    model: TorchClassifier,
    failures: XY,
    *,
    embedding: str,
    metadata: Any = None,
) -> npt.NDArray[Any]:
    """(F, E) float vectors for ``gradients``/``features``, or (F,) group keys for
    ``fp_fn`` (the (true, predicted) class pair) and ``metadata`` (its values).

    ``gradients`` are each failure's loss gradient with respect to the last layer's
    parameters, scaled to unit length (their direction says which way it pulls).
    """
    check_choice("embedding", embedding, EMBEDDINGS)
    features, labels = check_dataset("failures", failures, model)
    if embedding == "features":
        array = features.numpy()
        scale = array.std(axis=0)
        return (array - array.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    if embedding == "gradients":
        grads = model.objective.per_example_grads(model.theta, features, labels)
        last = _last_layer_columns(model)
        chosen = grads[:, last].numpy()
        norms = np.linalg.norm(chosen, axis=1, keepdims=True)
        return chosen / np.where(norms > 0, norms, 1.0)
    if embedding == "fp_fn":
        predicted = model.predict(features.numpy())
        return np.array([f"{t}→{p}" for t, p in zip(labels.numpy(), predicted, strict=True)])
    if embedding == "metadata":
        if metadata is None:
            raise InputError("embedding 'metadata' needs a metadata column (one value a failure).")
        values = np.asarray(metadata)
        if len(values) != len(labels):
            raise InputError(
                f"metadata has {len(values)} values but there are {len(labels)} failures."
            )
        return values.astype(str)
    return np.zeros((len(labels), 0))


def _last_layer_columns(model: TorchClassifier) -> torch.Tensor:
    """Indices into θ of the last layer's parameters (its weight and bias)."""
    objective = model.objective
    last_module = objective.names[-1].rpartition(".")[0]
    starts = np.cumsum([0, *objective.sizes])
    pieces = [
        torch.arange(int(starts[i]), int(starts[i + 1]))
        for i, name in enumerate(objective.names)
        if name.rpartition(".")[0] == last_module
    ]
    return torch.cat(pieces)


def assign_types(
    embedded: npt.NDArray[Any], n_types: int, *, random_state: RandomState = 0
) -> npt.NDArray[np.intp]:
    """(F,) type of each failure: k-means on vectors, the largest groups on group keys
    (smaller groups merge into the last type), uniform at random on empty embeddings.

    >>> assign_types(np.array(["a", "b", "a", "c", "a", "b"]), 2).tolist()
    [0, 1, 0, 1, 0, 1]
    """
    rng = check_random_state(random_state)
    n = len(embedded)
    if embedded.ndim == 2 and embedded.shape[1] == 0:
        return rng.permutation(np.arange(n) % n_types).astype(np.intp)
    if embedded.ndim == 1:
        keys, codes, counts = np.unique(embedded, return_inverse=True, return_counts=True)
        by_size = np.argsort(-counts, kind="stable")
        rank = np.empty(len(keys), dtype=np.intp)
        rank[by_size] = np.arange(len(keys))
        return np.minimum(rank[codes], n_types - 1).astype(np.intp)
    from sklearn.cluster import KMeans

    seed = int(rng.integers(2**31 - 1))
    return KMeans(n_types, n_init=10, random_state=seed).fit_predict(embedded).astype(np.intp)


def split_halves(
    assignment: npt.NDArray[np.intp], *, random_state: RandomState = 0
) -> npt.NDArray[np.bool_]:
    """(F,) True for the half of each type fine-tuned on (the larger half when odd).

    >>> split_halves(np.array([0, 0, 0, 1, 1]), random_state=0).sum()
    np.int64(3)
    """
    rng = check_random_state(random_state)
    first = np.zeros(len(assignment), dtype=bool)
    for label in np.unique(assignment):
        members = rng.permutation(np.flatnonzero(assignment == label))
        first[members[: (len(members) + 1) // 2]] = True
    return first


def _accuracy(model: TorchClassifier, rows: XY) -> float:
    if len(rows[1]) == 0:
        return float("nan")
    return float(np.mean(model.predict(rows[0]) == np.asarray(rows[1])))


def measure_typing(
    model: TorchClassifier,
    train: XY,
    failures: XY,
    correct: XY,
    assignment: npt.NDArray[np.intp],
    halves: npt.NDArray[np.bool_],
) -> tuple[pd.DataFrame, npt.NDArray[np.float64]]:
    """Fine-tune on each type's first half; return (:func:`typing_metrics` table,
    (T, T + 1) transfer matrix)."""
    x, y = np.asarray(failures[0], dtype=np.float64), np.asarray(failures[1])
    types = np.unique(assignment)
    transfer = np.empty((len(types), len(types) + 1))
    fitted = np.empty(len(types))
    for row, t in enumerate(types):
        first = (assignment == t) & halves
        tuned = fine_tune(model, train, (x[first], y[first]))
        fitted[row] = _accuracy(tuned, (x[first], y[first]))
        for column, s in enumerate(types):
            held = (assignment == s) & ~halves
            transfer[row, column] = _accuracy(tuned, (x[held], y[held]))
        transfer[row, -1] = _accuracy(tuned, correct)
    sizes = np.array([(assignment == t).sum() for t in types])
    return typing_metrics(fitted, transfer, sizes), transfer


def analyze_failures(
    model: Any,
    train: XY,
    failures: XY,
    correct: XY,
    *,
    embedding: str = "gradients",
    n_types: int | None = None,
    metadata: Any = None,
    random_state: RandomState = 0,
) -> FailureTypes:
    """Split the failures into types and measure each type (Henn et al. 2021).

    Parameters
    ----------
    model : TorchClassifier or fitted sklearn LogisticRegression, trained on ``train``
    train : (features (N, D), labels (N,))
    failures : (features (F, D), correct labels (F,)), rows the model gets wrong
    correct : (features (C, D), labels (C,)), rows it gets right (for compatibility)
    embedding : one of :data:`EMBEDDINGS`
    n_types : int, optional
        T; by default the T of :data:`TYPE_RANGE` with the best :func:`typing_score`.
    metadata : (F,) values, optional, for ``embedding="metadata"``
    random_state : int, Generator or None
        Seeds k-means, the halves and the random baseline.

    Returns
    -------
    FailureTypes

    Examples
    --------
    >>> from labelmend.repair.models import make_classifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] > 0).astype(int)
    >>> y[(X[:, 1] > 1)] = 0  # a corner the model will get wrong
    >>> model = make_classifier("linear", X, n_classes=2).fit(X, y)
    >>> V = rng.normal(size=(300, 2)); truth = (V[:, 0] > 0).astype(int)
    >>> wrong = model.predict(V) != truth
    >>> types = analyze_failures(model, (X, y), (V[wrong], truth[wrong]),
    ...     (V[~wrong], truth[~wrong]), embedding="features", n_types=2)
    >>> types.table.columns.tolist()
    ['type', 'size', 'learnability', 'generalisability', 'independence', 'compatibility']
    """
    check_choice("embedding", embedding, EMBEDDINGS)
    classifier = as_classifier(model, len(np.asarray(train[1])))
    check_dataset("train", train, classifier)
    _, failure_labels = check_dataset("failures", failures, classifier)
    if isinstance(correct, tuple | list) and len(correct) == 2 and len(correct[1]) == 0:
        raise InputError(
            "correct holds no rows: compatibility is measured on rows the model gets right; "
            "give at least one.",
            inputs=("correct",),
        )
    check_dataset("previously correct rows", correct, classifier)
    n_failures = len(failure_labels)
    present = np.unique(failure_labels.numpy())
    if present.size < 2:
        raise InputError(
            f"The failure set holds class {present.tolist()} only; failure analysis needs "
            "failures of at least two classes."
        )
    candidates = list(TYPE_RANGE) if n_types is None else [n_types]
    if n_types is not None:
        check_count("n_types", n_types, minimum=2)
    if n_failures < MIN_TYPE_SIZE * candidates[0]:
        raise InputError(
            f"{n_failures} failures cannot make {candidates[0]} types of at least "
            f"{MIN_TYPE_SIZE} failures each."
        )
    rng = check_random_state(random_state)
    embedded = embed_failures(classifier, failures, embedding=embedding, metadata=metadata)
    tried = []
    for count in candidates:
        assignment = assign_types(embedded, count, random_state=rng)
        sizes = np.bincount(assignment, minlength=count)
        if sizes.min() < MIN_TYPE_SIZE:
            if n_types is not None:
                raise InputError(
                    f"The {embedding} embedding gives a type of {int(sizes.min())} failures "
                    f"with {count} types; each needs at least {MIN_TYPE_SIZE}. Ask for fewer."
                )
            continue
        halves = split_halves(assignment, random_state=rng)
        table, transfer = measure_typing(classifier, train, failures, correct, assignment, halves)
        tried.append((typing_score(table), count, assignment, halves, table, transfer))
    if not tried:
        raise InputError(
            f"The {embedding} embedding gives no typing whose types all hold at least "
            f"{MIN_TYPE_SIZE} failures; try another embedding."
        )
    score, count, assignment, halves, table, transfer = max(tried, key=lambda t: t[0])
    random_assignment = assign_types(np.zeros((n_failures, 0)), count, random_state=rng)
    random_halves = split_halves(random_assignment, random_state=rng)
    baseline, _ = measure_typing(
        classifier, train, failures, correct, random_assignment, random_halves
    )
    scores = pd.DataFrame({"n_types": [t[1] for t in tried], "score": [t[0] for t in tried]})
    return FailureTypes(
        embedding=embedding,
        assignment=assignment,
        halves=halves,
        table=table,
        transfer=transfer,
        score=score,
        baseline=baseline,
        baseline_score=typing_score(baseline),
        scores=scores,
    )


@dataclass(frozen=True)
class TypeRepairs:
    """Each failure type repaired on its own (:func:`repair_types`).

    Attributes
    ----------
    table : DataFrame, one row per type: ``type, size, k, fixed, others_fixed, retention``
    suspects : DataFrame, the training rows unlearned for each type, most harmful first:
        ``type, rank`` (1 = most harmful for that type), ``index`` (training row), ``score``

    Examples
    --------
    >>> from labelmend.repair.models import make_classifier
    >>> centres = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]])
    >>> rng = np.random.default_rng(3)
    >>> truth = rng.integers(3, size=400); X = centres[truth] + rng.normal(size=(400, 2))
    >>> given = np.where((truth != 1) & (X[:, 1] > 0.5), 1, truth)  # two corners relabelled 1
    >>> train = (X[:250], given[:250])  # N = 250, D = 2, K = 3
    >>> model = make_classifier("linear", train[0], n_classes=3).fit(*train)
    >>> ok = model.predict(X[250:]) == truth[250:]
    >>> V, T = X[250:], truth[250:]
    >>> sets = (V[~ok], T[~ok]), (V[ok], T[ok])  # failures, previously correct rows
    >>> types = analyze_failures(model, train, *sets, embedding="features", n_types=2)
    >>> repairs = repair_types(model, train, *sets, types, k=4)
    >>> repairs.table.shape, repairs.suspects.shape  # T = 2 rows; T × k = 8 rows blamed
    ((2, 6), (8, 4))
    """

    table: pd.DataFrame
    suspects: pd.DataFrame


def repair_types(
    model: Any,
    train: XY,
    failures: XY,
    correct: XY,
    types: FailureTypes,
    *,
    k: int,
    method: str = "fisher_votes",
    unlearn_method: str = DEFAULT_UNLEARN,
    pred_probs: npt.NDArray[np.float64] | None = None,
) -> TypeRepairs:
    """Repair each failure type on its own: score the training rows with the type's
    fine-tuning half, unlearn the top ``k``, measure on the held-out halves.

    Parameters
    ----------
    model, train, failures, correct : as in :func:`analyze_failures`
    types : the typing of ``failures``
    k : rows unlearned per type (e.g. :func:`~labelmend.repair.k_selection.choose_k`)
    method, unlearn_method : identification and unlearning methods
    pred_probs : (N, K) out-of-fold probabilities for methods that use them

    Returns
    -------
    TypeRepairs
        ``table``: one row per type, ``type, size, k``, ``fixed`` (accuracy on the type's
        held-out half after its repair; 0 before, by definition), ``others_fixed``
        (accuracy on the other types' held-out halves), ``retention`` (accuracy on the
        previously correct rows); ``suspects``: the k training rows blamed for each type.

    Examples
    --------
    >>> from labelmend.repair.models import make_classifier
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(150, 2)); y = ((X[:, 0] > 0) & (X[:, 1] < 1)).astype(int)
    >>> V = rng.normal(size=(200, 2)); truth = (V[:, 0] > 0).astype(int)
    >>> model = make_classifier("linear", X, n_classes=2).fit(X, y)
    >>> wrong = model.predict(V) != truth
    >>> sets = (V[wrong], truth[wrong]), (V[~wrong], truth[~wrong])  # failures, correct
    >>> types = analyze_failures(model, (X, y), *sets, embedding="features", n_types=2)
    >>> fixed = repair_types(model, (X, y), *sets, types, k=5)
    >>> fixed.table.columns.tolist(), len(fixed.suspects)  # 5 rows blamed per type
    (['type', 'size', 'k', 'fixed', 'others_fixed', 'retention'], 10)
    """
    n_train = len(np.asarray(train[1]))
    check_row_count("k", k, n_train)
    classifier = as_classifier(model, n_train)
    x, y = (part.numpy() for part in check_dataset("failures", failures, classifier))
    check_same_length("failures", len(y), "types", len(types.assignment))
    correct_x, correct_y = check_dataset("correct", correct, classifier)
    correct = (correct_x.numpy(), correct_y.numpy())
    rows, suspects = [], []
    for t in range(types.n_types):
        mine = types.assignment == t
        tune, held = mine & types.halves, mine & ~types.halves
        others = ~mine & ~types.halves
        scores = find_harmful_examples(
            classifier, train, (x[tune], y[tune]), method=method, pred_probs=pred_probs
        )
        remove = np.argsort(-scores, kind="stable")[:k]
        suspects.append(
            pd.DataFrame(
                {"type": t, "rank": np.arange(1, len(remove) + 1), "index": remove}
            ).assign(score=scores[remove])
        )
        repaired = unlearn(classifier, train, remove, method=unlearn_method)
        rows.append(
            {
                "type": t,
                "size": int(mine.sum()),
                "k": k,
                "fixed": _accuracy(repaired, (x[held], y[held])),
                "others_fixed": _accuracy(repaired, (x[others], y[others])),
                "retention": _accuracy(repaired, correct),
            }
        )
    return TypeRepairs(pd.DataFrame(rows), pd.concat(suspects, ignore_index=True))
