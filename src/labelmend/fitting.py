"""Out-of-fold predicted probabilities: the project's one trainer for ``pred_probs``.

The ranking engine needs probabilities that no model saw the label of: each sample is
predicted by a model trained without its fold. Folds are stratified by the given label
(every class in every training fold where the counts allow), features are standardised
inside the model, and the regularisation of the default logistic regression can be
chosen by out-of-fold log-loss on the **given** labels — the true labels are never used.

Glossary: N samples, D features, K classes; ``features`` (N, D), ``labels`` (N,) ints in
[0, K). The demo data, the simulator, repair and ``labelmend fit`` / ``round`` all call
this module; :func:`refit` is the one step the simulator's active mode and the store's
active round share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from labelmend._validation import (
    RandomState,
    check_count,
    check_interval,
    check_labels,
    check_random_state,
    is_number,
)
from labelmend.errors import InputError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Inverse regularisation strengths tried by :func:`select_regularisation`.
REGULARISATION_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
#: Default inverse regularisation strength of :func:`logistic_regression`.
DEFAULT_C = 0.1
#: Stratified folds of out-of-fold probabilities wherever the caller does not choose
#: (``fit``, ``round``, repair's p_error and k, the simulator's retrained model).
DEFAULT_FOLDS = 5
#: Model kinds known by name (:func:`model_from_spec`); anything else is a joblib file.
MODEL_KINDS = ("logistic", "mlp")
#: Held-out rows predicted at once: bounds the memory of ``predict_proba``'s temporaries.
PREDICT_CHUNK_ROWS = 65_536


class Classifier(Protocol):
    """What a fold model must do: scikit-learn's ``fit`` / ``predict_proba``."""

    def fit(self, features: Any, labels: Any) -> Any: ...

    def predict_proba(self, features: Any) -> Any: ...


#: A scikit-learn estimator (cloned for each fold) or a callable returning a new model.
ModelSpec = Any


def logistic_regression(C: float = DEFAULT_C) -> Any:
    """A standardised multinomial logistic regression (an unfitted scikit-learn pipeline).

    ``C``: the inverse regularisation strength, in (0, inf] (inf: none), checked here
    rather than by scikit-learn at fit time.

    >>> logistic_regression(0.5).steps[-1][1].C
    0.5
    """
    check_interval("C", C, 0.0, np.inf, closed_high=True)
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500, C=C))


def _sklearn_seed(random_state: RandomState) -> int | None:
    """``random_state`` as scikit-learn takes a seed (an int in [0, 2**32) or None),
    checked here rather than by scikit-learn at fit time; a Generator gives one draw."""
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**32))
    check_random_state(random_state)  # refuses negatives and other types by name
    if random_state is not None and random_state >= 2**32:
        raise InputError(
            f"random_state must be below 2**32 (scikit-learn's seeds). Got {random_state}.",
            inputs=("random_state",),
        )
    return None if random_state is None else int(random_state)


def mlp(hidden: int | Sequence[int] = (100,), *, random_state: RandomState = 0) -> Any:
    """A standardised multi-layer perceptron (ReLU, Adam), stopped early on 10% of the fold.

    Early stopping keeps it from memorising noisy labels (on scikit-learn's digits with
    20% flipped labels its out-of-fold argmax is right on 93.9% of samples, logistic
    regression's on 93.7%); on a few hundred samples prefer :func:`logistic_regression`.

    ``hidden``: the sizes of the hidden layers (an int for one layer). ``random_state``:
    scikit-learn's seed, an int in [0, 2**32) or None; a Generator gives one draw.

    >>> mlp((32, 16)).steps[-1][1].hidden_layer_sizes
    (32, 16)
    """
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seed = _sklearn_seed(random_state)
    sizes = (hidden,) if isinstance(hidden, int | np.integer) else tuple(hidden)
    bad = [
        size
        for size in sizes
        if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1
    ]
    if bad or not sizes:
        raise InputError(
            f"hidden must be positive layer sizes; found {bad[0] if bad else 'none'!r}.",
            inputs=("hidden",),
        )
    network = MLPClassifier(
        hidden_layer_sizes=tuple(int(size) for size in sizes),
        alpha=1e-3,
        max_iter=500,
        early_stopping=True,
        random_state=seed,
    )
    return make_pipeline(StandardScaler(), network)


def load_classifier(path: str | Path) -> Any:
    """An unfitted copy of the classifier saved in ``path`` with ``joblib.dump``.

    The object must be a classifier with ``fit`` and ``predict_proba`` (any scikit-learn
    classifier or pipeline ending in one). Loading a joblib file runs the pickle inside
    it: load only files you trust.

    >>> load_classifier("missing.joblib")
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: missing.joblib: no such model file.
    """
    import joblib

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such model file.")
    try:
        model = joblib.load(path)
    except Exception as exc:  # a pickle can fail in any way; say which file and how
        raise InputError(f"{path}: not a joblib-saved model ({type(exc).__name__}).") from exc
    missing = [
        name for name in ("fit", "predict_proba") if not callable(getattr(model, name, None))
    ]
    if missing:
        raise InputError(
            f"{path}: expected a classifier with fit and predict_proba; found a "
            f"{type(model).__name__} without {' and '.join(missing)}."
        )
    return model


def model_from_spec(spec: str | Path, *, random_state: int = 0) -> Any:
    """The model named by ``--model``: ``logistic``, ``mlp`` or a path to a joblib file.

    >>> type(model_from_spec("mlp").steps[-1][1]).__name__
    'MLPClassifier'
    """
    if str(spec) == "logistic":
        return logistic_regression()
    if str(spec) == "mlp":
        return mlp(random_state=random_state)
    if Path(spec).suffix.lower() not in (".joblib", ".pkl", ".pickle"):
        raise InputError(
            f"model must be one of {', '.join(MODEL_KINDS)} or a .joblib file. Got {str(spec)!r}.",
            inputs=("model",),
        )
    return load_classifier(spec)


def stratified_folds(
    labels: Any, n_folds: int = DEFAULT_FOLDS, *, random_state: RandomState = 0
) -> IntArray:
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
    n_folds: int = DEFAULT_FOLDS,
    n_classes: int | None = None,
    random_state: RandomState = 0,
    on_fold: Callable[[int], None] | None = None,
    chunk_rows: int = PREDICT_CHUNK_ROWS,
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
    chunk_rows : int
        Held-out rows predicted at once, so ``predict_proba``'s temporaries stay
        bounded whatever N (the training rows of a fold are one copy of the features).

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
        raise InputError(
            f"features has {matrix.shape[0]} rows but labels has {checked.size}.",
            inputs=("features", "labels"),
        )
    k = int(checked.max()) + 1 if n_classes is None else n_classes
    check_count("chunk_rows", chunk_rows, minimum=1)
    folds = stratified_folds(checked, n_folds, random_state=random_state)
    make = _model_factory(model)
    probs = np.zeros((checked.size, k))
    for fold in range(n_folds):
        held = folds == fold
        fitted = make().fit(matrix[~held], checked[~held])
        rows = np.flatnonzero(held)
        for start in range(0, rows.size, chunk_rows):
            chunk = rows[start : start + chunk_rows]
            probs[chunk] = _class_columns(fitted, fitted.predict_proba(matrix[chunk]), k)
        if on_fold is not None:
            on_fold(fold)
    return probs


def fit_model(features: Any, labels: Any, *, model: ModelSpec | None = None) -> Any:
    """A fresh copy of ``model`` (default :func:`logistic_regression`) fitted on every sample.

    For a model trained on cleaned labels, to be measured on held-out data.

    >>> fit_model([[0.0], [1.0]], [0, 1]).predict([[0.9]]).tolist()
    [1]
    """
    return _model_factory(model)().fit(_check_features(features), check_labels(labels))


def refit(
    features: Any,
    labels: Any,
    *,
    classes: Sequence[str],
    model: ModelSpec | None = None,
    n_folds: int = DEFAULT_FOLDS,
    random_state: RandomState = 0,
    on_fold: Callable[[int], None] | None = None,
) -> FloatArray:
    """One active round's model: out-of-fold (N, K) probabilities on the current labels.

    The step the simulator's active mode and ``labelmend fit`` / ``round`` share. Unlike
    :func:`out_of_fold_probs`, every one of the K ``classes`` must be some sample's
    current label: a model cannot suggest a class it never saw, so an absent class is
    refused by name.

    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [0.9]])
    >>> refit(X, [0, 0, 0, 1, 1, 1], classes=["a", "b", "c"], n_folds=3)
    Traceback (most recent call last):
    ...
    labelmend.errors.InputError: No sample has the label 'c' now: a model cannot learn it ...
    """
    checked = check_labels(labels, n_classes=len(classes))
    absent = [classes[c] for c in np.flatnonzero(np.bincount(checked, minlength=len(classes)) == 0)]
    if absent:
        raise InputError(
            f"No sample has the label {absent[0]!r} now"
            + (f" (nor {absent[1:]})" if len(absent) > 1 else "")
            + ": a model cannot learn it from the current labels. Label some samples "
            "with it, or start a dataset without that class."
        )
    _check_folds(checked, n_folds, classes)
    return out_of_fold_probs(
        features,
        checked,
        model=model,
        n_folds=n_folds,
        n_classes=len(classes),
        random_state=random_state,
        on_fold=on_fold,
    )


def select_regularisation(
    features: Any,
    labels: Any,
    *,
    grid: Sequence[float] = REGULARISATION_GRID,
    n_folds: int = DEFAULT_FOLDS,
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
    if isinstance(grid, str | bytes) or not isinstance(grid, Sequence | np.ndarray):
        raise InputError(
            "grid must be a sequence of positive numbers (values of C). "
            f"Got {type(grid).__name__} {grid!r}.",
            inputs=("grid",),
        )
    if len(grid) == 0:
        raise InputError("grid must hold at least one value of C.", inputs=("grid",))
    bad = [C for C in grid if not (is_number(C) and C > 0)]
    if bad:
        raise InputError(
            f"grid must be positive numbers (values of C); found {bad[0]!r}.", inputs=("grid",)
        )
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
    expected = "features must be a dense (N, D) array of numbers."
    if hasattr(features, "toarray") and hasattr(features, "nnz"):  # scipy.sparse
        raise InputError(
            f"{expected} Got a scipy sparse matrix ({type(features).__name__}); "
            "pass features.toarray().",
            inputs=("features",),
        )
    try:
        matrix = np.asarray(features, dtype=np.float64)
    except (TypeError, ValueError) as exc:  # text in a table, ragged rows
        raise InputError(
            f"{expected} Got a value numpy cannot read as a number: {exc}.", inputs=("features",)
        ) from None
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise InputError(
            f"features must be a 2-D (N, D) array with D ≥ 1. Got shape {matrix.shape}.",
            inputs=("features",),
        )
    if not np.isfinite(matrix).all():
        bad = int((~np.isfinite(matrix)).any(axis=1).sum())
        raise InputError(
            f"features hold NaN or infinite values in {bad} rows.", inputs=("features",)
        )
    return matrix


def _check_folds(labels: IntArray, n_folds: int, classes: Sequence[str] | None = None) -> None:
    """Refuse ``n_folds`` a class of ``labels`` is too small for; ``classes`` names it."""
    if not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise InputError(f"n_folds must be an integer ≥ 2. Got {n_folds!r}.", inputs=("n_folds",))
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    smallest = present[np.argmin(counts[present])]
    if counts[smallest] < n_folds:
        named = int(smallest) if classes is None else repr(classes[smallest])
        raise InputError(
            f"n_folds={n_folds} needs at least {n_folds} samples of every class; "
            f"class {named} has {int(counts[smallest])}. Use fewer folds.",
            inputs=("n_folds",),
        )


def _model_factory(model: ModelSpec | None) -> Callable[[], Classifier]:
    if model is None:
        return logistic_regression
    if hasattr(model, "get_params"):
        from sklearn.base import clone

        if not hasattr(model, "predict_proba"):  # found out after a fold's training else
            raise InputError(
                f"model must have predict_proba; {type(model).__name__} has none (wrap it "
                "in sklearn.calibration.CalibratedClassifierCV).",
                inputs=("model",),
            )
        return lambda: clone(model)
    if callable(model):
        return model
    found = type(model).__name__
    if isinstance(model, str | Path):  # a name or a file, as the CLI takes them
        found += f" {str(model)!r} (model_from_spec({str(model)!r}) builds it)"
    raise InputError(
        f"model must be a scikit-learn estimator or a callable returning one. Got {found}.",
        inputs=("model",),
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
