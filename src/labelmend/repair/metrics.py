"""How good a repair is: accuracy where it matters, before / after / retrained.

"Repaired" follows Henn et al. (MICCAI 2021): high accuracy on *held-out* failures
(validation inputs the model got wrong that played no part in the repair) while keeping
the accuracy on inputs it already got right (retention), and on the test set. The
reference is retraining from scratch without the removed rows (the oracle).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from labelmend.errors import InputError
from labelmend.repair.identify import XY, as_classifier, check_dataset
from labelmend.repair.models import TorchClassifier


def _accuracy(model: TorchClassifier, features: Any, labels: npt.NDArray[np.intp]) -> float:
    if len(labels) == 0:
        return float("nan")
    return float(np.mean(model.predict(features) == labels))


def evaluate_repair(
    before: Any,
    after: Any,
    heldout: XY,
    *,
    test: XY | None = None,
    oracle: Any = None,
) -> dict[str, float]:
    """Accuracy of the model before and after repair (and of the oracle) where it matters.

    Parameters
    ----------
    before, after : TorchClassifier or fitted sklearn LogisticRegression
    heldout : (features (M, D), correct labels (M,))
        Validation rows not used by the repair. Its *failures* are the rows ``before``
        gets wrong; the rest are *previously correct*.
    test : (features, labels), optional
    oracle : model, optional
        Retrained from scratch without the removed rows.

    Returns
    -------
    dict
        ``heldout_failure_accuracy_{before,after[,oracle]}`` (0 before, by definition),
        ``retention[_oracle]`` (accuracy on previously correct rows), ``heldout_accuracy_*``,
        ``test_accuracy_*`` and ``gap_to_oracle`` (test accuracy after minus oracle's),
        ``n_heldout_failures``. NaN where there is nothing to measure.

    Examples
    --------
    >>> from labelmend.repair.models import make_classifier
    >>> X = np.array([[0.0], [0.1], [0.2], [1.0], [1.1], [0.15]])
    >>> y = np.array([0, 0, 0, 1, 1, 1])  # row 5 is mislabelled
    >>> before = make_classifier("linear", X, n_classes=2).fit(X, y)
    >>> after = make_classifier("linear", X, n_classes=2).fit(X[:5], y[:5])  # row 5 removed
    >>> report = evaluate_repair(before, after, (np.array([[0.3], [1.05]]), [0, 1]))
    >>> report["n_heldout_failures"], report["heldout_failure_accuracy_after"]
    (1, 1.0)
    """
    features, labels = np.asarray(heldout[0], dtype=np.float64), np.asarray(heldout[1])
    models = {"before": before, "after": after}
    if oracle is not None:
        models["oracle"] = oracle
    classifiers = {name: as_classifier(m, 1) for name, m in models.items()}
    for name, classifier in classifiers.items():
        check_dataset(f"heldout ({name})", (features, labels), classifier)
    failed = classifiers["before"].predict(features) != labels
    report: dict[str, float] = {"n_heldout_failures": int(failed.sum())}
    for name, classifier in classifiers.items():
        report[f"heldout_failure_accuracy_{name}"] = _accuracy(
            classifier, features[failed], labels[failed]
        )
        report[f"heldout_accuracy_{name}"] = _accuracy(classifier, features, labels)
        if name != "before":
            suffix = "" if name == "after" else "_oracle"
            report[f"retention{suffix}"] = _accuracy(classifier, features[~failed], labels[~failed])
    if test is not None:
        test_x, test_y = np.asarray(test[0], dtype=np.float64), np.asarray(test[1])
        for name, classifier in classifiers.items():
            check_dataset(f"test ({name})", (test_x, test_y), classifier)
            report[f"test_accuracy_{name}"] = _accuracy(classifier, test_x, test_y)
        if oracle is not None:
            report["gap_to_oracle"] = report["test_accuracy_after"] - report["test_accuracy_oracle"]
    return report


def summarize_runs(reports: Iterable[Mapping[str, float]]) -> pd.DataFrame:
    """Mean ± standard deviation of each metric over runs (seeds).

    Examples
    --------
    >>> summarize_runs([{"acc": 0.9}, {"acc": 0.8}]).round(3).to_dict("records")
    [{'metric': 'acc', 'mean': 0.85, 'sd': 0.071, 'runs': 2}]
    """
    frame = pd.DataFrame(list(reports))
    if frame.empty:
        raise InputError("summarize_runs needs at least one report.")
    return pd.DataFrame(
        {
            "metric": frame.columns,
            "mean": frame.mean().to_numpy(),
            "sd": frame.std(ddof=1).fillna(0.0).to_numpy() if len(frame) > 1 else 0.0,
            "runs": frame.count().to_numpy(),
        }
    )
