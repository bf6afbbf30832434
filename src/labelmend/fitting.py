"""Out-of-fold predicted probabilities: the project's one trainer for ``pred_probs``.

The ranking engine needs probabilities that no model saw the label of: each sample is
predicted by a model trained without its fold. Folds are stratified by the given label
(every class in every training fold where the counts allow), features are standardised
inside the model, and the regularisation of the default logistic regression can be
chosen by out-of-fold log-loss on the **given** labels — the true labels are never used.

Glossary: N samples, D features, K classes; ``features`` (N, D), ``labels`` (N,) ints in
[0, K). The demo data, the simulator and repair all call this module.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from labelmend._validation import RandomState, check_labels, check_random_state
from labelmend.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Inverse regularisation strengths tried by :func:`select_regularisation`.
REGULARISATION_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
#: Default inverse regularisation strength of :func:`logistic_regression`.
DEFAULT_C = 0.1


class Classifier(Protocol):
    """What a fold model must do: scikit-learn's ``fit`` / ``predict_proba``."""

    def fit(self, features: Any, labels: Any) -> Any: ...

    def predict_proba(self, features: Any) -> Any: ...


#: A scikit-learn estimator (cloned for each fold) or a callable returning a new model.
ModelSpec = Any


def logistic_regression(C: float = DEFAULT_C) -> Any:
    """A standardised multinomial logistic regression (an unfitted scikit-learn pipeline).

    >>> logistic_regression(0.5).steps[-1][1].C
    0.5
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=C))


def stratified_folds(labels: Any, n_folds: int = 5, *, random_state: RandomState = 0) -> IntArray:
    """(N,) fold index in [0, n_folds) of each sample, stratified by label.

    Parameters
    ----------
    labels : array-like (N,)
        Class of each sample.
    n_folds : int
        Number of folds, ≥ 2 and at most the size of the smallest class.
    random_state : int, Generator or None

    Examples
    --------
    >>> folds = stratified_folds([0, 0, 0, 1, 1, 1], 3, random_state=0)
    >>> sorted(folds[:3].tolist()), sorted(folds[3:].tolist())
    ([0, 1, 2], [0, 1, 2])
    """
    from sklearn.model_selection import StratifiedKFold

    checked = check_labels(labels)
    _check_folds(checked, n_folds)
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    folds = np.empty(checked.size, dtype=np.intp)
    for fold, (_, held) in enumerate(splitter.split(np.zeros(checked.size), checked)):
        folds[held] = fold
    return folds


def out_of_fold_probs(
    features: Any,
    labels: Any,
    *,
    model: ModelSpec | None = None,
    n_folds: int = 5,
    n_classes: int | None = None,
    random_state: RandomState = 0,
    on_fold: Callable[[int], None] | None = None,
) -> FloatArray:
    """(N, K) probabilities, each row from a model trained without the sample's fold.

    Parameters
    ----------
    features : array-like (N, D)
    labels : array-like (N,)
        The labels to learn (the given, possibly noisy labels).
    model : scikit-learn estimator or callable, optional
        An estimator with ``fit`` / ``predict_proba`` (cloned for each fold), or a
        zero-argument callable returning a new unfitted model. Default:
        :func:`logistic_regression`.
    n_folds : int
        Number of stratified folds (≥ 2, at most the smallest class's size).
    n_classes : int, optional
        K, when some class may be absent from ``labels``; default ``labels.max() + 1``.
    random_state : int, Generator or None
        Seeds the folds.
    on_fold : callable, optional
        Called with the fold index after each fold (for progress bars).

    Returns
    -------
    (N, K) float64
        Rows sum to one; classes a fold model never saw get probability 0.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [0.9]])
    >>> probs = out_of_fold_probs(X, [0, 0, 0, 1, 1, 1], n_folds=3, random_state=0)
    >>> probs.shape, bool((probs.argmax(axis=1) == [0, 0, 0, 1, 1, 1]).all())
    ((6, 2), True)
    """
    matrix = _check_features(features)
    checked = check_labels(labels, n_classes=n_classes)
    if matrix.shape[0] != checked.size:
        raise InputError(f"features has {matrix.shape[0]} rows but labels has {checked.size}.")
    k = int(checked.max()) + 1 if n_classes is None else n_classes
    folds = stratified_folds(checked, n_folds, random_state=random_state)
    make = _model_factory(model)
    probs = np.zeros((checked.size, k))
    for fold in range(n_folds):
        held = folds == fold
        fitted = make().fit(matrix[~held], checked[~held])
        probs[held] = _class_columns(fitted, fitted.predict_proba(matrix[held]), k)
        if on_fold is not None:
            on_fold(fold)
    return probs


def select_regularisation(
    features: Any,
    labels: Any,
    *,
    grid: Sequence[float] = REGULARISATION_GRID,
    n_folds: int = 5,
    random_state: RandomState = 0,
) -> tuple[float, FloatArray]:
    """The logistic regression C with the lowest out-of-fold log-loss on ``labels``.

    Only the given labels are used, never the truth. Returns ``(C, probs)`` with the
    (N, K) out-of-fold probabilities of the chosen C, so they need not be computed again.

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 2)); y = (X[:, 0] > 0).astype(int)
    >>> C, probs = select_regularisation(X, y, grid=(0.01, 1.0), n_folds=3)
    >>> C, probs.shape
    (1.0, (60, 2))
    """
    if len(grid) == 0:
        raise InputError("grid must hold at least one value of C.")
    checked = check_labels(labels)
    rows = np.arange(checked.size)
    seed = int(check_random_state(random_state).integers(2**31 - 1))
    fits = []
    for C in grid:
        probs = out_of_fold_probs(
            features, checked, model=logistic_regression(C), n_folds=n_folds, random_state=seed
        )
        loss = float(-np.mean(np.log(np.clip(probs[rows, checked], 1e-12, None))))
        fits.append((loss, float(C), probs))
    _, best_C, best_probs = min(fits, key=lambda fit: fit[0])
    return best_C, best_probs


def _check_features(features: Any) -> FloatArray:
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise InputError(
            f"features must be a 2-D (N, D) array with D ≥ 1. Got shape {matrix.shape}."
        )
    if not np.isfinite(matrix).all():
        bad = int((~np.isfinite(matrix)).any(axis=1).sum())
        raise InputError(f"features hold NaN or infinite values in {bad} rows.")
    return matrix


def _check_folds(labels: IntArray, n_folds: int) -> None:
    if not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise InputError(f"n_folds must be an integer ≥ 2. Got {n_folds!r}.")
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    smallest = present[np.argmin(counts[present])]
    if counts[smallest] < n_folds:
        raise InputError(
            f"n_folds={n_folds} needs at least {n_folds} samples of every class; "
            f"class {int(smallest)} has {int(counts[smallest])}. Use fewer folds."
        )


def _model_factory(model: ModelSpec | None) -> Callable[[], Classifier]:
    if model is None:
        return logistic_regression
    if hasattr(model, "get_params"):
        from sklearn.base import clone

        return lambda: clone(model)
    if callable(model):
        return model  # type: ignore[no-any-return]
    raise InputError(
        "model must be a scikit-learn estimator or a callable returning one. "
        f"Got {type(model).__name__}."
    )


def _class_columns(fitted: Any, probs: Any, n_classes: int) -> FloatArray:
    """Place a fold model's probability columns at the columns of its classes."""
    probs = np.asarray(probs, dtype=np.float64)
    classes = getattr(fitted, "classes_", None)
    if classes is None:
        if probs.shape[1] != n_classes:
            raise InputError(
                f"the model predicts {probs.shape[1]} classes but the labels have {n_classes}."
            )
        return probs
    full = np.zeros((probs.shape[0], n_classes))
    full[:, np.asarray(classes, dtype=np.intp)] = probs
    return full
