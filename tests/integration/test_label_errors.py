"""Quality on real, human-validated label errors (label-errors: CIFAR-10 and MNIST).

A validated error is a flagged example that fewer than 3 of 5 MTurk workers agreed with.
The default ranking must find at least as many in the top k and 2k as the best of
cleanlab's self_confidence and normalized_margin (k = number of validated errors).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from cleanlab.rank import get_label_quality_scores

from labelmend.cleaner import rank_samples

pytestmark = pytest.mark.realdata


def load(shared_data, name):
    root = shared_data / "label-errors"
    probs = np.load(root / f"cross_validated_predicted_probabilities/{name}_test_set_pyx.npy")
    labels = np.load(root / f"original_test_labels/{name}_test_set_original_labels.npy")
    entries = json.loads((root / f"mturk/{name}_mturk.json").read_text())
    is_error = np.zeros(len(labels), dtype=bool)
    is_error[[e["id"] for e in entries if e["mturk"]["given"] < 3]] = True
    return labels.astype(int), probs, is_error


def found(order, is_error, k):
    return int(is_error[order[:k]].sum())


@pytest.mark.parametrize("name", ["cifar10", "mnist"])
def test_default_finds_at_least_as_many_validated_errors_as_cleanlab(shared_data, name):
    labels, probs, is_error = load(shared_data, name)
    k = int(is_error.sum())
    ours = rank_samples(labels, probs)["sample_id"].to_numpy()
    for method in ("self_confidence", "normalized_margin"):
        theirs = np.argsort(get_label_quality_scores(labels, probs, method=method), kind="stable")
        for top in (k, 2 * k):
            assert found(ours, is_error, top) >= found(theirs, is_error, top), (method, top)
