"""p_error: the noise likelihood it is formed with, its properties, and exact zeros.

Properties hold for any probabilities: p_error lies in [0, 1], falls as the model puts
more mass on the given label, and does not depend on how rows or classes are numbered.
The last tests reproduce a shape seen on a held-out text set: most probability cells
exactly 0 and about 1% of given labels with probability 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelmend.cleaner import (
    BlockScores,
    NoiseModel,
    ThresholdStats,
    fit_noise_model,
    noise,
    ranking,
    score_samples,
)
from labelmend.cleaner.noise import (
    anchor_error_rate,
    anchor_histogram,
    flip_rate,
    p_error_sum,
    scale_terms,
    threshold_stats,
)
from labelmend.fitting import out_of_fold_probs
from tests.unit.test_cleaner import sparse_problem as sparse_problem_with_flips


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


def test_class_numbering_does_not_move_a_slow_temperature_fit():
    # 34 rows, 6 classes, random labels (80% wrong): the temperature's EM creeps (100
    # steps, β still moving by 1e-3 a step). Each M-step stopped within 1e-7 along a path
    # the classes' order could change, so renumbering moved p_error by 6e-8.
    rng = np.random.default_rng(31)
    n, k = int(rng.integers(2, 61)), int(rng.integers(2, 7))
    probs = rng.dirichlet(np.full(k, 0.7), size=n)
    probs[rng.random((n, k)) < 0.3] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    labels = rng.integers(k, size=n)
    permutation = rng.permutation(k)
    before = score_samples(labels, probs)
    after = score_samples(np.argsort(permutation)[labels], probs[:, permutation])
    assert before.noise_model.temperature > 1.1
    np.testing.assert_allclose(after.p_error, before.p_error, atol=1e-12)


def test_noise_prior_keeps_the_error_rate_and_fades_with_class_size():
    stats = ThresholdStats(np.array([60.0, 60.0, 60.0]), np.array([100, 100, 100]))
    model = NoiseModel.from_counts(stats, np.array([[80, 20, 0], [0, 100, 0], [0, 0, 100]]))
    joint = model.confident_joint
    rate = (joint.sum() - np.trace(joint) + 1) / (joint.sum() + 2)
    for strength in (0.0, 30.0, 1e6):
        likelihood = dataclasses.replace(model, prior_strength=strength).likelihood()
        np.testing.assert_allclose(likelihood.sum(axis=0), 1.0)
        # The shrinkage adds pseudo-counts at the joint's own error rate, never more noise.
        counts = likelihood * (joint.sum(axis=0) + strength)
        np.testing.assert_allclose(
            1 - np.trace(counts) / counts.sum(),
            ((joint.sum() - np.trace(joint)) + strength * 3 * rate) / (joint.sum() + 3 * strength),
        )
    # An unseen confusion (true 1 given as 2) is possible, rarer than the one seen (as 0).
    shrunk = dataclasses.replace(model, prior_strength=30.0).likelihood()
    assert 0 < shrunk[2, 1] < shrunk[0, 1]
    # A strong prior leaves symmetric noise at the rate confident learning estimated.
    strong = dataclasses.replace(model, prior_strength=1e9).likelihood()
    np.testing.assert_allclose(np.diagonal(strong), 1 - rate, rtol=1e-6)
    np.testing.assert_allclose(strong[1, 0], rate / 2, rtol=1e-6)
    with pytest.raises(ValueError, match="prior_strength"):
        NoiseModel.from_counts(stats, joint.astype(int), prior_strength=-1.0)


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


def calibrated_world(noise: float, *, absorbed: bool = False, seed: int = 0):
    """20,000 rows, 10 classes; a model calibrated for the truth that errs on 4–5% of
    rows, labels flipped at rate ``noise``. ``absorbed``: the model was fitted on the
    noisy labels instead, so its probabilities hold the noise (P(given | x))."""
    n, k, margin = 20000, 10, 3.5
    rng = np.random.default_rng(seed)
    true = rng.integers(k, size=n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += margin
    # softmax(margin · logits) is the exact P(true | logits) of this generator.
    probs = np.exp(margin * logits)
    probs /= probs.sum(axis=1, keepdims=True)
    flip = rng.random(n) < noise
    labels = np.where(flip, (true + rng.integers(1, k, size=n)) % k, true)
    if absorbed:
        probs = (1 - noise) * probs + noise * (1 - probs) / (k - 1)
    return labels, probs, true


def test_estimated_errors_follow_the_labels_not_the_models_mistakes():
    # The model disagrees with 4-5% of labels, but only 1% are wrong: confident
    # learning counts the model's mistakes too; Σ p_error must not.
    labels, probs, true = calibrated_world(0.01)
    scores = score_samples(labels, probs)
    errors = int((labels != true).sum())
    assert scores.noise_model.confident_errors > 1.5 * errors
    assert abs(scores.p_error.sum() - errors) < 0.25 * errors
    # Labels drawn from the model's own probabilities hold no further noise.
    clean, _, _ = calibrated_world(0.0)
    assert score_samples(clean, probs).noise_model.error_rate < 0.002


@pytest.mark.parametrize("noise", [0.02, 0.1, 0.3])
def test_flip_rate_recovers_the_flip_rate_beyond_the_model(noise):
    labels, probs, _ = calibrated_world(noise, seed=1)
    confidence = probs[np.arange(labels.size), labels]
    histogram = threshold_stats(labels, probs).confidence_histogram
    assert flip_rate(histogram, 10) == pytest.approx(noise, abs=0.01)
    # The bins keep each bin's mean: the rate is the maximum of the likelihood of the
    # raw values (on a grid of step 1e-4).
    grid = np.arange(0.0, 0.9, 1e-4)
    likelihood = (1 - grid[:, None] * 10 / 9) * confidence + grid[:, None] / 9
    best = grid[np.log(likelihood).sum(axis=1).argmax()]
    assert flip_rate(histogram, 10) == pytest.approx(best, abs=2e-4)


def test_noise_inside_the_probabilities_is_read_from_the_anchors():
    # A model fitted on labels flipped at 10% holds the noise in its probabilities, so
    # the labels flip no further; where it is surest, 10% of labels still differ.
    labels, probs, _ = calibrated_world(0.1, absorbed=True)
    anchors = anchor_histogram(probs, probs.argmax(axis=1), labels)
    assert anchor_error_rate(anchors, 10) == pytest.approx(0.1, abs=0.01)
    assert flip_rate(threshold_stats(labels, probs).confidence_histogram, 10) < 0.01
    assert score_samples(labels, probs).noise_model.error_rate == pytest.approx(0.1, abs=0.01)
    # Clean labels agree with a model on its surest rows.
    clean_labels, clean_probs, _ = calibrated_world(0.0)
    sharp = anchor_histogram(clean_probs, clean_probs.argmax(axis=1), clean_labels)
    assert anchor_error_rate(sharp, 10) < 0.002


def test_p_error_sums_to_the_estimated_error_count_and_keeps_the_noise_shape():
    labels, probs, _ = calibrated_world(0.1)
    scores = score_samples(labels, probs)
    model = scores.noise_model
    assert model.scale is not None
    assert model.scale < model.largest_scale
    np.testing.assert_allclose(scores.p_error.sum(), model.error_rate * labels.size, rtol=1e-6)
    # The scale sets the amount of noise, confident learning the shape: off-diagonal
    # cells in proportion to the unscaled likelihood's.
    scaled, unscaled = model.likelihood(), dataclasses.replace(model, scale=None).likelihood()
    off = ~np.eye(10, dtype=bool)
    np.testing.assert_allclose(scaled[off] / unscaled[off], model.scale)
    np.testing.assert_allclose(scaled.sum(axis=0), 1.0)


def test_small_data_pools_the_amount_of_noise_with_confident_learnings():
    # 120 rows, 3 classes, 12 labels shifted to the next class; out-of-fold logistic
    # regressions from six fold seeds. The anchors (36 rows) swing from one seed to the
    # next; pooled with confident learning's amount, Σ p_error swings less than half as
    # much, and it is exactly the posterior mean of the pooled rate.
    rng = np.random.default_rng(0)
    true = rng.integers(3, size=120)
    features = rng.normal(scale=3.0, size=(3, 4))[true] + rng.normal(size=(120, 4))
    labels = true.copy()
    labels[:12] = (labels[:12] + 1) % 3
    pooled, alone = [], []
    for seed in range(6):
        probs = out_of_fold_probs(features, labels, random_state=seed)
        model = fit_noise_model(labels, probs)
        pooled.append(BlockScores(probs, labels, model).p_error.sum())
        unpooled = fit_noise_model(labels, probs, rate_prior_rows=0.0)
        alone.append(BlockScores(probs, labels, unpooled).p_error.sum())
        counted = BlockScores(probs, labels, dataclasses.replace(model, scale=None)).p_error
        weight = 120 / (120 + noise.RATE_PRIOR_ROWS)
        expected = weight * unpooled.error_rate + (1 - weight) * counted.mean()
        assert model.error_rate == pytest.approx(expected)
    assert np.ptp(pooled) < 0.5 * np.ptp(alone)


def test_the_scale_from_a_sample_of_rows_matches_the_whole(monkeypatch):
    labels, probs, _ = calibrated_world(0.3)
    whole = score_samples(labels, probs)
    seen = []

    def matching_scale(terms, errors, largest, temperature=1.0):
        seen.append((terms.shape[1], errors))
        return noise.matching_scale(terms, errors, largest, temperature)

    monkeypatch.setattr(ranking, "SCALE_ROWS", 4000)
    monkeypatch.setattr(ranking, "matching_scale", matching_scale)
    sampled = score_samples(labels, probs, block_rows=500)
    # About 4,000 rows, in blocks spread over the input, and the count scaled to them.
    (rows, errors), rate = seen[0], sampled.noise_model.error_rate
    assert 3000 < rows <= 4000
    assert errors == pytest.approx(rate * rows)
    # The rate pools the labels' estimate with confident learning's amount, which the
    # sample counts (weight 1000 / (N + 1000) at N = 20,000: a 0.1 % difference).
    assert rate == pytest.approx(whole.noise_model.error_rate, rel=2e-3)
    assert sampled.p_error.sum() == pytest.approx(whole.p_error.sum(), rel=0.05)


def test_under_confident_probabilities_do_not_blow_the_noise_up():
    # The model's clean rows hold p[y] ≈ 0.8 but their labels are never wrong: Σ p_error
    # at the estimated rate would have to come from them, so the noise is bounded
    # (counted at most twice) instead of growing until labels look like coin flips.
    labels, probs, _, _ = sparse_problem_with_flips()
    model = score_samples(labels, probs).noise_model
    assert model.scale == pytest.approx(model.largest_scale)
    assert np.diagonal(model.likelihood()).min() > 0.8


@settings(max_examples=60, deadline=None)
@given(sparse_problems(), st.floats(1.0, 4.0), st.floats(0.05, 1.0))
def test_tempered_p_error_is_a_monotone_probability_that_keeps_the_order_within_a_class(
    problem, temperature, step
):
    labels, probs = problem
    fitted = score_samples(labels, probs).noise_model
    model = dataclasses.replace(fitted, temperature=temperature, tempered_scale=fitted.scale)
    plain = BlockScores(probs, labels, dataclasses.replace(fitted, temperature=1.0))
    block = BlockScores(probs, labels, model)
    p_error, rows = block.p_error, np.arange(labels.size)
    assert np.all((p_error >= 0) & (p_error <= 1))
    if model.zero_floor.any():
        assert np.all(p_error[probs[rows, labels] == 0] < 1)
    # The same formula as the scale's bisection, so Σ p_error is what was matched.
    terms = scale_terms(
        labels, probs, dataclasses.replace(model, scale=None).likelihood(), model.zero_floor
    )
    scale = model.tempered_scale
    assert p_error.sum() == pytest.approx(
        p_error_sum(terms, scale, temperature), rel=1e-9, abs=1e-12
    )
    # The posterior it belongs to: the given label keeps 1 − p_error, the suggestion
    # is its most probable class.
    posterior = block.posterior
    np.testing.assert_allclose(posterior.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(posterior[rows, labels], 1.0 - p_error, atol=1e-12)
    best = posterior.max(axis=1)
    assert np.all(posterior[rows, block.suggested_label] >= best - 1e-9)
    # More mass on the given label never raises p_error.
    surer = (1 - step) * probs
    surer[rows, labels] += step
    assert np.all(BlockScores(surer, labels, model).p_error <= p_error + 1e-12)
    # The queue's error weight reads the plain posterior, whatever the temperature.
    np.testing.assert_array_equal(block.error_weight, plain.error_weight)
    # Within a given class the temperature changes how sure p_error is, not the order.
    for label in np.unique(labels):
        members = labels == label
        before, after = plain.p_error[members], p_error[members]
        lower = before[:, None] < before[None, :] - 1e-9
        assert np.all((after[:, None] <= after[None, :] + 1e-12)[lower])


def test_an_over_confident_model_is_tempered_and_a_calibrated_one_is_not():
    labels, probs, _ = calibrated_world(0.05, seed=2)
    # The same model, over-confident: its probabilities raised to the power 1.5.
    sharp = probs**1.5 / (probs**1.5).sum(axis=1, keepdims=True)
    calibrated, tempered = score_samples(labels, probs), score_samples(labels, sharp)
    assert calibrated.noise_model.temperature < 1.05
    # Some of the over-confidence is read as label noise (the two are confounded in
    # the given labels), so the fit stays below 1.5, well above 1.
    assert 1.2 < tempered.noise_model.temperature < 1.6
    # The temperature moves p_error, not the amount of noise it sums to.
    model = tempered.noise_model
    assert tempered.p_error.sum() == pytest.approx(model.error_rate * labels.size, rel=1e-6)
