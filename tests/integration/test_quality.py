"""p_error on real human label noise with full truth: CIFAR-10H draws (benchmarks/quality.py).

Given labels are one draw per image from CIFAR-10H's ~51 human votes sharpened to
temperature T; the truth is the plurality of the votes; probabilities are the
label-errors study's out-of-fold CIFAR-10 predictions. The p_error order must rank true
errors at least as well as cleanlab's best score (AP), Σ p_error must be within 20%
of the true number of errors, and the 95% interval of "estimated label errors" must hold
that number in most draws.
"""

from __future__ import annotations

import numpy as np
import pytest
from cleanlab.rank import get_label_quality_scores
from sklearn.metrics import average_precision_score

from labelmend.cleaner import count_errors, score_samples
from labelmend.datasets import truth_inference
from labelmend.simulator import sharpened

pytestmark = pytest.mark.realdata


@pytest.mark.parametrize("temperature", [1.5, 2.0])
def test_p_error_order_and_total_on_cifar10h_draws(shared_data, temperature):
    counts = np.load(shared_data / "cifar-10h" / "cifar10h-counts.npy")
    root = shared_data / "label-errors" / "cross_validated_predicted_probabilities"
    probs = np.load(root / "cifar10_test_set_pyx.npy")
    rng = np.random.default_rng(0)
    votes = counts / counts.sum(axis=1, keepdims=True)
    cdf = np.cumsum(sharpened(votes, temperature), axis=1)
    labels = np.minimum((rng.random(len(cdf))[:, None] >= cdf).sum(axis=1), 9)
    is_error = labels != counts.argmax(axis=1)
    p_error = score_samples(labels, probs).p_error
    ours = average_precision_score(is_error, p_error)
    for method in ("self_confidence", "normalized_margin", "confidence_weighted_entropy"):
        quality = get_label_quality_scores(labels, probs, method=method)
        assert ours >= average_precision_score(is_error, -quality), method
    assert abs(p_error.sum() / is_error.sum() - 1) < 0.2


def test_the_error_counts_interval_holds_the_true_count_in_most_cifar10h_draws(shared_data):
    """Ten draws at T = 1.5 and ten at T = 2: the interval holds the true count in 17 of
    20 (nominal 95 %; 90–100 % on the CIFAR-10H sets of benchmarks/error_interval.py, where
    Σ p_error is 3–14 % short). Of the labels' chance alone it held it in none: 817 ± 25
    for 926 at T = 1.5, seed 0. A guard, not evidence: the interval's two constants were
    chosen on CIFAR-10H among other sets (held out of their choice, the CIFAR sets were
    held in 93 of 100 runs; docs/ranking.md)."""
    counts = np.load(shared_data / "cifar-10h" / "cifar10h-counts.npy")
    root = shared_data / "label-errors" / "cross_validated_predicted_probabilities"
    probs = np.load(root / "cifar10_test_set_pyx.npy")
    votes = counts / counts.sum(axis=1, keepdims=True)
    held = 0
    for temperature in (1.5, 2.0):
        cdf = np.cumsum(sharpened(votes, temperature), axis=1)
        for seed in range(10):
            rng = np.random.default_rng(seed)
            labels = np.minimum((rng.random(len(cdf))[:, None] >= cdf).sum(axis=1), 9)
            count = count_errors(score_samples(labels, probs).p_error)
            held += count.low <= (labels != counts.argmax(axis=1)).sum() <= count.high
    assert held >= 16


@pytest.mark.parametrize(
    ("name", "shape", "answers", "majority"),
    [
        ("dog", (807, 109), 8070, 0.818),
        ("face", (584, 27), 5242, 0.630),
        ("product", (8315, 176), 24945, 0.897),
    ],
)
def test_truth_inference_sets_load_with_their_gold_labels(
    shared_data, name, shape, answers, majority
):
    """Zheng et al.'s sets as ../shared/data/README.md describes them: the majority vote
    (ties to the lowest code) agrees with gold as often as the README says."""
    data = truth_inference(shared_data / "crowd_truth_infer", name)
    assert data.annotations.shape == shape
    assert (data.annotations >= 0).sum() == answers
    assert (data.answer_counts().argmax(axis=1) == data.true_labels).mean() == pytest.approx(
        majority, abs=5e-4
    )


def test_p_error_orders_product_by_each_class_own_zero_floor(shared_data):
    """Product: binary, 12 % positive, two other answers per item, so the probabilities
    (the other answers' shares) are 0, ½ or 1. A 1 label both others deny is wrong far
    more often than a 0 label both others deny; one floor pooled over the classes
    ranked them the other way round (AP 0.56 against self-confidence's 0.67)."""
    data = truth_inference(shared_data / "crowd_truth_infer", "product")
    rng = np.random.default_rng(0)
    rows = np.arange(data.true_labels.size)
    pick = ((data.annotations >= 0) * rng.random(data.annotations.shape)).argmax(axis=1)
    labels = data.annotations[rows, pick]
    others = data.answer_counts() - np.eye(2, dtype=np.int64)[labels]
    probs = others / others.sum(axis=1, keepdims=True)
    is_error = labels != data.true_labels
    scores = score_samples(labels, probs)
    floor = scores.noise_model.zero_floor
    assert floor[0] > 2 * floor[1]
    quality = get_label_quality_scores(labels, probs, method="self_confidence")
    best = average_precision_score(is_error, -quality)
    assert average_precision_score(is_error, scores.p_error) > best
