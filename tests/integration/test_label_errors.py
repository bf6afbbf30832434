"""The label-errors study (CIFAR-10 and MNIST test sets): what its checks can and cannot show.

Only the examples the study flagged were shown to MTurk workers, and they are exactly
cleanlab ``normalized_margin``'s lowest-scoring ones, so "validated errors in the top k"
favours that order; benchmarks/label_errors.py reports every order's picks split into
validated / rejected / never checked. Here: the selection itself, and p_error's estimate
of the errors among the checked rows.
"""

from __future__ import annotations

import numpy as np
import pytest
from cleanlab.rank import get_label_quality_scores

from labelmend.cleaner import score_samples
from labelmend.datasets import label_errors_test_set

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize(
    ("name", "flagged", "validated"), [("cifar10", 275, 54), ("mnist", 100, 15)]
)
def test_loader_finds_the_studys_flagged_and_validated_rows(shared_data, name, flagged, validated):
    data = label_errors_test_set(shared_data / "label-errors", name)
    assert data.pred_probs.shape == (data.labels.size, 10)
    assert (int(data.checked.sum()), int(data.validated.sum())) == (flagged, validated)
    assert not (data.validated & ~data.checked).any()


@pytest.mark.parametrize("name", ["cifar10", "mnist"])
def test_checked_examples_are_exactly_normalized_margins_lowest(shared_data, name):
    labels, probs, checked, _ = label_errors_test_set(shared_data / "label-errors", name)
    margin = get_label_quality_scores(labels, probs, method="normalized_margin")
    assert checked[np.argsort(margin, kind="stable")[: checked.sum()]].all()


def test_p_error_ranks_validated_above_rejected_inside_the_cifar10_checked_set(shared_data):
    from sklearn.metrics import roc_auc_score

    labels, probs, checked, validated = label_errors_test_set(
        shared_data / "label-errors", "cifar10"
    )
    p_error = score_samples(labels, probs).p_error
    ours = roc_auc_score(validated[checked], p_error[checked])
    for method in ("self_confidence", "normalized_margin"):
        quality = get_label_quality_scores(labels, probs, method=method)
        assert ours >= roc_auc_score(validated[checked], -quality[checked]), method
