"""The label-errors study (CIFAR-10 and MNIST test sets): what its checks can and cannot show.

Only the examples the study flagged were shown to MTurk workers, and they are exactly
cleanlab ``normalized_margin``'s lowest-scoring ones, so "validated errors in the top k"
favours that order; benchmarks/label_errors.py reports every order's picks split into
validated / rejected / never checked. Here: the selection itself, and p_error's estimate
of the errors among the checked rows.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from cleanlab.rank import get_label_quality_scores

from labelmend.cleaner import score_samples

pytestmark = pytest.mark.realdata


def load(shared_data, name):
    root = shared_data / "label-errors"
    probs = np.load(root / f"cross_validated_predicted_probabilities/{name}_test_set_pyx.npy")
    labels = np.load(root / f"original_test_labels/{name}_test_set_original_labels.npy")
    entries = json.loads((root / f"mturk/{name}_mturk.json").read_text())
    checked = np.zeros(len(labels), dtype=bool)
    checked[[e["id"] for e in entries]] = True
    validated = np.zeros(len(labels), dtype=bool)
    validated[[e["id"] for e in entries if e["mturk"]["given"] < 3]] = True
    return labels.astype(int), probs, checked, validated


@pytest.mark.parametrize("name", ["cifar10", "mnist"])
def test_checked_examples_are_exactly_normalized_margins_lowest(shared_data, name):
    labels, probs, checked, _ = load(shared_data, name)
    margin = get_label_quality_scores(labels, probs, method="normalized_margin")
    assert checked[np.argsort(margin, kind="stable")[: checked.sum()]].all()


def test_p_error_ranks_validated_above_rejected_inside_the_cifar10_checked_set(shared_data):
    from sklearn.metrics import roc_auc_score

    labels, probs, checked, validated = load(shared_data, "cifar10")
    p_error = score_samples(labels, probs).p_error
    ours = roc_auc_score(validated[checked], p_error[checked])
    for method in ("self_confidence", "normalized_margin"):
        quality = get_label_quality_scores(labels, probs, method=method)
        assert ours >= roc_auc_score(validated[checked], -quality[checked]), method
