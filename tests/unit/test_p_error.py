"""p_error: the noise likelihood it is formed with, its properties, and exact zeros.

Properties hold for any probabilities: p_error lies in [0, 1], falls as the model puts
more mass on the given label, and does not depend on how rows or classes are numbered.
The last tests reproduce a shape seen on a held-out text set: most probability cells
exactly 0 and about 1% of given labels with probability 0.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from labelmend.cleaner import BlockScores, NoiseModel, ThresholdStats, score_samples


@st.composite
def sparse_problems(draw):
    """Labels and probabilities (N, K) with continuous values and some exact zeros."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(2, 60))
    k = draw(st.integers(2, 6))
    zero_share = draw(st.sampled_from([0.0, 0.3, 0.7]))
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(k, 0.7), size=n)
    probs[rng.random((n, k)) < zero_share] = 0.0
    empty = probs.sum(axis=1) == 0
    probs[empty, rng.integers(k, size=empty.sum())] = 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    return rng.integers(k, size=n), probs


@settings(max_examples=80, deadline=None)
@given(sparse_problems())
def test_p_error_is_a_probability_and_below_one_when_the_given_label_has_zero(problem):
    labels, probs = problem
    p_error = score_samples(labels, probs).p_error
    assert np.all((p_error >= 0) & (p_error <= 1))
    zero_given = probs[np.arange(labels.size), labels] == 0
    # Where the data show the model can be wrong about a zero, it is never certain.
    assert np.all(p_error[zero_given] < 1)


@settings(max_examples=80, deadline=None)
@given(sparse_problems(), st.floats(0.05, 1.0))
def test_p_error_falls_as_the_model_moves_mass_to_the_given_label(problem, step):
    labels, probs = problem
    scores = score_samples(labels, probs)
    rows = np.arange(labels.size)
    surer = (1 - step) * probs
    surer[rows, labels] += step
    likelihood = scores.noise_model.likelihood()
    after = BlockScores(surer, labels, scores.noise_model, likelihood).p_error
    assert np.all(after <= scores.p_error + 1e-12)


@settings(max_examples=60, deadline=None)
@given(sparse_problems(), st.randoms(use_true_random=False))
def test_p_error_does_not_depend_on_class_numbering(problem, random):
    labels, probs = problem
    k = probs.shape[1]
    permutation = np.array(random.sample(range(k), k))
    # Column j of the renumbered problem is old class permutation[j].
    renumbered = probs[:, permutation]
    new_label = np.argsort(permutation)[labels]
    before = score_samples(labels, probs).p_error
    after = score_samples(new_label, renumbered).p_error
    np.testing.assert_allclose(after, before, atol=1e-12)


def test_noise_prior_keeps_the_error_rate_and_fades_with_class_size():
    stats = ThresholdStats(np.array([60.0, 60.0, 60.0]), np.array([100, 100, 100]))
    model = NoiseModel.from_counts(stats, np.array([[80, 20, 0], [0, 100, 0], [0, 0, 100]]))
    joint = model.confident_joint
    rate = (joint.sum() - np.trace(joint) + 1) / (joint.sum() + 2)
    for strength in (0.0, 30.0, 1e6):
        likelihood = model.likelihood(strength)
        np.testing.assert_allclose(likelihood.sum(axis=0), 1.0)
        # The shrinkage adds pseudo-counts at the joint's own error rate, never more noise.
        counts = likelihood * (joint.sum(axis=0) + strength)
        np.testing.assert_allclose(
            1 - np.trace(counts) / counts.sum(),
            ((joint.sum() - np.trace(joint)) + strength * 3 * rate) / (joint.sum() + 3 * strength),
        )
    # An unseen confusion (true 1 given as 2) is possible, rarer than the one seen (as 0).
    shrunk = model.likelihood(30.0)
    assert 0 < shrunk[2, 1] < shrunk[0, 1]
    # A strong prior leaves symmetric noise at the rate confident learning estimated.
    strong = model.likelihood(1e9)
    np.testing.assert_allclose(np.diagonal(strong), 1 - rate, rtol=1e-6)
    np.testing.assert_allclose(strong[1, 0], rate / 2, rtol=1e-6)


def sparse_world(seed: int, n: int = 4000, k: int = 20):
    """A model whose probabilities are exactly 0 outside 5 of 20 classes (75% of cells).

    The true class is among the 5 for 99.5% of rows; 1% of labels are flipped. About
    1.3% of given labels get probability 0: most are flips, some are model misses.
    """
    rng = np.random.default_rng(seed)
    true = rng.integers(k, size=n)
    others = np.argsort(rng.random((n, k)) + (np.arange(k) == true[:, None]), axis=1)
    support = others[:, :5].copy()
    kept = rng.random(n) >= 0.005
    support[kept, 0] = true[kept]
    logits = rng.normal(size=(n, 5))
    logits[kept, 0] += 2.5
    probs = np.zeros((n, k))
    np.put_along_axis(probs, support, np.exp(logits) / np.exp(logits).sum(1, keepdims=True), 1)
    labels = true.copy()
    flip = rng.random(n) < 0.01
    labels[flip] = (true[flip] + rng.integers(1, k, size=flip.sum())) % k
    return labels, probs, true


def test_given_labels_of_probability_zero_are_ranked_by_evidence_not_tied_at_one():
    found, total, errors = 0, 0.0, 0
    for seed in range(3):
        labels, probs, true = sparse_world(seed)
        assert 0.7 < (probs == 0).mean() < 0.8
        zero_given = probs[np.arange(labels.size), labels] == 0
        assert 0.005 < zero_given.mean() < 0.02
        scores = score_samples(labels, probs)
        # No saturation: the p = 0 rows keep distinct p_error values below 1.
        assert scores.p_error.max() < 1
        assert np.unique(scores.p_error[zero_given]).size > zero_given.sum() // 2
        is_error = labels != true
        k = int(is_error.sum())
        found += is_error[np.argsort(-scores.p_error, kind="stable")[:k]].sum()
        errors += k
        total += scores.p_error.sum()
    # Estimated errors stay within 20% of the truth (p = 0 rows counted as certain
    # errors would overshoot by 28-61%), and the p_error order finds at least 60%.
    assert abs(total - errors) < 0.2 * errors
    assert found >= 0.6 * errors
