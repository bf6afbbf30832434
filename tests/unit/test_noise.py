"""The noise model's parts by hand: the flip rate, the anchors, the choice between them,
the bounds on the noise scale, and the temperature against a slow reference.

The noise model's own clipping equals cleanlab's (whose helper is private there).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from cleanlab.internal.util import clip_noise_rates
from scipy.optimize import brentq, minimize_scalar

from labelmend._numeric import softmax_rows
from labelmend.cleaner.noise import (
    NoiseModel,
    ThresholdStats,
    _clip_noise_rates,
    _temperature_step,
    anchor_error_rate,
    anchor_histogram,
    confident_counts,
    fit_temperature,
    flip_rate,
    floored,
    matching_scale,
    p_error_sum,
    scale_terms,
    threshold_stats,
    zero_cells,
)
from labelmend.errors import InputError


def test_clip_noise_rates_equals_cleanlabs():
    rng = np.random.default_rng(0)
    for k in (2, 3, 10):
        for _ in range(20):
            matrix = rng.normal(0.2, 0.6, size=(k, k))
            np.testing.assert_allclose(_clip_noise_rates(matrix), clip_noise_rates(matrix.copy()))


def test_a_class_nobody_was_given_has_no_confident_rows():
    # Class 0's threshold is its mean self-confidence, 0.5; no row reaches class 1's,
    # not even one the model is sure of.
    labels, probs = np.array([0, 0]), np.array([[1.0, 0.0], [0.0, 1.0]])
    thresholds = threshold_stats(labels, probs).thresholds
    np.testing.assert_array_equal(confident_counts(labels, probs, thresholds), [[1, 0], [0, 0]])


def test_a_probability_equal_to_its_class_mean_is_confident():
    # Ten rows at p = 0.9: their mean rounds up to 0.9000000000000001, above each of
    # them; the comparison's tolerance (cleanlab's 1e-6) keeps them confident.
    labels, probs = np.zeros(10, dtype=np.intp), np.tile([0.9, 0.1], (10, 1))
    thresholds = threshold_stats(labels, probs).thresholds
    assert thresholds[0] > 0.9
    np.testing.assert_array_equal(confident_counts(labels, probs, thresholds), [[10, 0], [0, 0]])


def test_a_row_counts_towards_the_one_class_that_reaches_its_threshold():
    # Thresholds (0.25, 0.7, 0.5). Row 1: only class 0 reaches its threshold, though 1 is
    # more probable; row 2: classes 0 and 2 do, the more probable (2) counts; row 3: none.
    probs = np.array([[0.3, 0.6, 0.1], [0.45, 0.0, 0.55], [0.2, 0.65, 0.15]])
    counts = confident_counts(np.array([2, 1, 0]), probs, np.array([0.25, 0.7, 0.5]))
    np.testing.assert_array_equal(counts, [[0, 0, 0], [0, 0, 1], [1, 0, 0]])


def confidences(levels: dict[float, int], k: int = 2) -> ThresholdStats:
    """Threshold statistics of rows labelled 0 whose p[y] takes each of ``levels``
    (value: rows); the rest of each row's mass sits on the other classes."""
    given = np.repeat(list(levels), list(levels.values()))
    probs = np.column_stack([given, *[(1 - given) / (k - 1)] * (k - 1)])
    return threshold_stats(np.zeros(given.size, dtype=np.intp), probs)


def test_flip_rate_by_hand():
    # K = 2, P(given) = (1 − 2η) m + η at self-confidence m. Rows at m = 0.9 and a share f
    # at m = 0.1: the derivative −0.8 (1 − f) / (0.9 − 0.8η) + 0.8 f / (0.1 + 0.8η)
    # vanishes at η = (f − 0.1) / 0.8.
    assert flip_rate(confidences({0.9: 840, 0.1: 160}).confidence_histogram, 2) == (
        pytest.approx(0.075, abs=1e-12)
    )
    # At f < 0.1 the labels agree with the model more than it expects: no flips.
    assert flip_rate(confidences({0.9: 920, 0.1: 80}).confidence_histogram, 2) == 0.0
    # Labels that avoid the model's class: the rate stops at (K − 1) / K, uniform labels.
    assert flip_rate(confidences({0.1: 10}).confidence_histogram, 2) == 0.5
    # K = 3: P(given) = (1 − 1.5η) m + 0.5η; 70% at m = 0.8, 30% at m = 0.1:
    # 0.35 · 0.3 (0.8 − 0.7η) = 0.7 · 0.7 (0.1 + 0.35η), so η = 0.035 / 0.245 = 1 / 7.
    stats = confidences({0.8: 700, 0.1: 300}, k=3)
    assert flip_rate(stats.confidence_histogram, 3) == pytest.approx(1 / 7, abs=1e-12)
    # Given labels of probability 0 count as the floor: at floor 0.1 they are the
    # m = 0.1 rows above; at floor 0 the derivative's 0.16 / η term gives η = 0.9 f / 0.8.
    zeros = confidences({0.9: 840, 0.0: 160}).confidence_histogram
    assert flip_rate(zeros, 2, floor=0.1) == pytest.approx(0.075, abs=1e-12)
    assert flip_rate(zeros, 2) == pytest.approx(0.18, abs=1e-12)
    # One class, or no rows: no rate.
    assert flip_rate(zeros, 1) == 0.0
    assert flip_rate(np.zeros_like(zeros), 2) == 0.0


def anchors(k: int = 2) -> np.ndarray:
    """Anchor histogram of 1,000 rows whose most probable class is 0 and 200 of class 1.

    Class 0: 300 rows at p = 0.999, 30 of them labelled 1, then 700 at p = 0.6, 100
    labelled 1. Class 1: 100 rows at p = 1, 10 labelled 0, then 100 at p = 0.7, 50
    labelled 0. The anchors are the surest 30%: class 0's first 300 rows (30 differ)
    and 60 of class 1's first 100 (in proportion, 6 differ): 36 / 360 = 0.1.
    """
    rows = [(0, 0.999, 300, 30), (0, 0.6, 700, 100), (1, 1.0, 100, 10), (1, 0.7, 100, 50)]
    probs, labels = [], []
    for top, p, n, differ in rows:
        row = np.full(k, (1 - p) / (k - 1))
        row[top] = p
        probs.append(np.tile(row, (n, 1)))
        labels.append(np.where(np.arange(n) < differ, 1 - top, top))
    probs, labels = np.concatenate(probs), np.concatenate(labels)
    return anchor_histogram(probs, probs.argmax(axis=1), labels)


def test_anchor_error_rate_by_hand():
    assert anchor_error_rate(anchors(), 2) == pytest.approx(0.1, abs=1e-12)
    assert anchor_error_rate(np.zeros_like(anchors()), 2) == 0.0


def test_a_top_probability_rounded_above_one_is_among_the_surest_anchors():
    # Rows may sum to 1 within 1e-3, so p = 1.0004 is valid input: the model is surest
    # there (1 − p < 0), and the label differing on that row is an anchor's error.
    # Ten rows of class 0 (p = 0.9, 0.85, …, 0.5 then the sure one): the anchors are
    # the sure row, 0.9 and 0.85; one of three labels differs.
    probs = np.array([[1.0004, 0.0]] + [[0.9 - 0.05 * i, 0.1 + 0.05 * i] for i in range(9)])
    labels = np.array([1] + [0] * 9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        histogram = anchor_histogram(probs, probs.argmax(axis=1), labels)
    assert anchor_error_rate(histogram, 2) == pytest.approx(1 / 3)


def rate_of(levels: dict[float, int], zero_cells: np.ndarray | None = None) -> float:
    """The error rate from_counts picks from the flip rate of ``levels`` (1,000 rows)
    and the anchors' rate of 0.1 of :func:`anchors`, made 1,000 rows by dropping class 1."""
    stats = confidences(levels)
    histogram = anchors()
    histogram[:, histogram.shape[1] // 2 :] = 0.0  # class 1's rows: 300 anchors, 30 differ
    model = NoiseModel.from_counts(stats, np.diag(stats.label_counts), zero_cells, histogram)
    assert model.error_rate is not None
    return model.error_rate


def test_the_anchors_rate_replaces_the_flip_rate_only_beyond_its_spread():
    # The anchors' 0.1 rests on 300 rows: 1.96 · sqrt(0.1 · 0.9 / 300) = 0.034, so it
    # replaces flip rates below 0.066 only. Flip rates (f − 0.1) / 0.8, test above.
    assert rate_of({0.9: 840, 0.1: 160}) == pytest.approx(0.075, abs=1e-12)
    assert rate_of({0.9: 860, 0.1: 140}) == pytest.approx(0.1, abs=1e-12)
    # 160 given labels of probability 0 among column 0's 1,600 zero cells: at the floor
    # 0.1 they are the m = 0.1 rows above (0.075; at floor 0 the flip rate would be 0.18).
    zeros = np.array([1600, 0])
    assert rate_of({0.9: 840, 0.0: 160}, zero_cells=zeros) == pytest.approx(0.075, abs=1e-12)
    # No flips and no differing anchor: the rule of succession, 1 / (N + 2).
    stats = confidences({0.9: 1000})
    model = NoiseModel.from_counts(stats, np.diag(stats.label_counts), anchors=anchors() * 0)
    assert model.error_rate == pytest.approx(1 / 1002, abs=1e-15)


def test_largest_scale_by_hand():
    # Columns P(given | true): lost labels 1 − diagonal = (0.2, 0.1); true classes 80/20.
    joint = np.array([[80.0, 10.0], [20.0, 90.0]])
    model = NoiseModel(
        np.full(2, 0.5),
        np.array([90, 110]),
        joint,
        joint / joint.sum(axis=0),
        np.array([0.8, 0.2]),
        error_rate=0.1,
        prior_strength=0.0,
    )
    np.testing.assert_allclose(model.likelihood(), [[0.8, 0.1], [0.2, 0.9]])
    # Noise counted at most twice: (1 − 0.9²) / (0.8 · 0.2 + 0.2 · 0.1) = 0.19 / 0.18.
    assert model.largest_scale == pytest.approx(0.19 / 0.18)
    # More noise: the diagonal's bound 1 / K takes over, (1 − 1 / 2) / 0.2.
    assert dataclasses.replace(model, error_rate=0.3).largest_scale == pytest.approx(2.5)


def test_a_class_with_neither_counts_nor_prior_keeps_its_label():
    stats = ThresholdStats(np.array([2.4, 0.0]), np.array([3, 0]))
    model = NoiseModel.from_counts(stats, np.array([[3, 0], [0, 0]]), prior_strength=0.0)
    np.testing.assert_array_equal(model.likelihood(), np.eye(2))


def test_calibrated_joint_and_its_confident_errors_by_hand():
    # Raw counts [[3, 1], [0, 0]] with 4 and 2 rows given each class: class 1 keeps one
    # confident sample of its own, then each row is rescaled to its class's rows.
    stats = ThresholdStats(np.array([3.0, 1.5]), np.array([4, 2]))
    model = NoiseModel.from_counts(stats, np.array([[3, 1], [0, 0]]), prior_strength=0.0)
    np.testing.assert_allclose(model.confident_joint, [[3.0, 1.0], [0.0, 2.0]])
    assert model.confident_errors == pytest.approx(1.0)
    np.testing.assert_allclose(model.noise_matrix, [[1.0, 1 / 3], [0.0, 2 / 3]])
    np.testing.assert_allclose(model.class_prior, [0.5, 0.5])


def test_zero_floor_is_a_class_own_share_of_zero_cells_where_it_clearly_differs():
    # Column 0 is exactly 0 on 40 rows, 2 of them labelled 0 (0.05); column 1 on 100
    # rows, 40 of them labelled 1 (0.4). Pooled: 42 / 140 = 0.3, whose 1.96 standard
    # errors are 0.142 on 40 cells and 0.090 on 100: both classes differ, both keep
    # their own share.
    probs = np.array([[0.0, 1.0]] * 40 + [[1.0, 0.0]] * 100)
    labels = np.array([0] * 2 + [1] * 38 + [1] * 40 + [0] * 60)
    stats = threshold_stats(labels, probs)
    np.testing.assert_array_equal(stats.zero_given, [2, 40])
    np.testing.assert_array_equal(zero_cells(probs), [40, 100])
    raw = confident_counts(labels, probs, stats.thresholds)
    model = NoiseModel.from_counts(stats, raw, zero_cells(probs))
    np.testing.assert_allclose(model.zero_floor, [0.05, 0.4])
    # Shares within the spread (1 / 4 and 2 / 5 on 4 and 5 cells) take the pooled 3 / 9.
    probs = np.array([[0.0, 1.0]] * 4 + [[1.0, 0.0]] * 5)
    labels = np.array([0, 1, 1, 1, 1, 1, 0, 0, 0])
    stats = threshold_stats(labels, probs)
    model = NoiseModel.from_counts(stats, raw, zero_cells(probs))
    np.testing.assert_allclose(model.zero_floor, [1 / 3, 1 / 3])
    # Every zero cell holds a given label: the floor stops at 1 / K.
    stats = threshold_stats(np.array([0, 0, 0]), np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]))
    model = NoiseModel.from_counts(stats, np.eye(2, dtype=int), np.array([2, 1]))
    assert model.zero_floor[0] == 0.5
    # Zero cells not counted (the default): no floor.
    assert not NoiseModel.from_counts(stats, np.eye(2, dtype=int)).zero_floor.any()


def reference_temperature(labels, probs, likelihood, floor, error_rate, largest):
    """fit_temperature's EM, slowly: explicit T_s matrices, a root finder for the scale
    and a bounded scalar search for the temperature, iterated to 1e-11."""
    n, k = probs.shape
    rows = np.arange(n)
    logs = np.log(np.maximum(probs, np.maximum(floor, 1e-300)))

    def log_softmax(beta):
        z = beta * logs - (beta * logs).max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    def posterior(scale, tempered):
        joint = tempered * (np.eye(k) + scale * (likelihood - np.eye(k)))[labels]
        return joint / joint.sum(axis=1, keepdims=True)

    def excess(scale, tempered):
        return (1 - posterior(scale, tempered)[rows, labels]).sum() - error_rate * n

    def loss(beta, weights):
        return -(weights * log_softmax(beta)).sum()

    beta = 1.0
    for _ in range(1000):
        tempered = np.exp(log_softmax(beta))
        scale = largest
        if excess(largest, tempered) > 0:
            scale = brentq(excess, 0.0, largest, args=(tempered,), xtol=1e-14)
        weights = posterior(scale, tempered)
        new = minimize_scalar(
            loss, bounds=(1e-3, 1.0), args=(weights,), method="bounded", options={"xatol": 1e-12}
        ).x
        if abs(new - beta) < 1e-11:
            break
        beta = new
    return 1.0 / new


def over_confident_world(zeros: bool):
    """600 rows, 4 classes: calibrated probabilities squared (τ = 2), true class 0 given
    as 1 at 15%, other confusions 1%; with ``zeros`` the cells below 1e-3 are set to 0."""
    rng = np.random.default_rng(0)
    truth = rng.dirichlet(np.full(4, 0.5), size=600)
    true = (rng.random((600, 1)) > truth.cumsum(axis=1)).sum(axis=1)
    noise = np.full((4, 4), 0.01)
    noise[1, 0] = 0.15
    noise += np.eye(4) * (1 - noise.sum(axis=0))
    labels = (rng.random((600, 1)) > noise[:, true].T.cumsum(axis=1)).sum(axis=1)
    probs = truth**2
    if zeros:
        probs[probs < 1e-3] = 0.0
    return labels, probs / probs.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("zeros", "floor"), [(False, 0.0), (True, 1e-3), (True, (1e-3, 3e-3, 0.0, 2e-3))]
)
def test_fit_temperature_equals_a_slow_reference(zeros, floor):
    labels, probs = over_confident_world(zeros)
    floor = np.broadcast_to(np.asarray(floor, dtype=float), (4,))  # one per class
    # An asymmetric likelihood (0 given as 1 ten times as often as the reverse) whose
    # noise the error rate scales by about 2 (above 1: the cap at largest matters).
    likelihood = np.full((4, 4), 0.005)
    likelihood[1, 0] = 0.05
    likelihood += np.eye(4) * (1 - likelihood.sum(axis=0))
    expected = reference_temperature(labels, probs, likelihood, floor, 0.06, 10.0)
    assert 1.5 < expected < 2.5
    # EM stops once β moves less than 1e-4: within 1e-4 of the fixed point here.
    fitted = fit_temperature(labels, probs, likelihood, floor, 0.06, 10.0)
    assert fitted == pytest.approx(expected, abs=2e-4)
    # Exactly the same whatever the rows' order.
    order = np.random.default_rng(1).permutation(labels.size)
    assert fit_temperature(labels[order], probs[order], likelihood, floor, 0.06, 10.0) == fitted


def test_fit_temperature_keeps_zero_cells_at_zero():
    # 10 classes, calibrated probabilities cubed (τ = 3), cells below 1e-4 of the row's
    # largest set to 0 (45% of cells) but never the given label's, so no floor: a cell
    # at 0 stays at 0 at every temperature, as in the reference (1e-300 there).
    rng = np.random.default_rng(0)
    truth = rng.dirichlet(np.full(10, 0.3), size=600)
    labels = (rng.random((600, 1)) > truth.cumsum(axis=1)).sum(axis=1)
    probs = truth**3
    small = probs < 1e-4 * probs.max(axis=1, keepdims=True)
    small[np.arange(600), labels] = False
    probs[small] = 0.0
    probs /= probs.sum(axis=1, keepdims=True)
    likelihood = np.full((10, 10), 0.002) + 0.98 * np.eye(10)
    expected = reference_temperature(labels, probs, likelihood, 0.0, 0.01, 10.0)
    assert 2.5 < expected < 4
    assert fit_temperature(labels, probs, likelihood, np.zeros(10), 0.01, 10.0) == pytest.approx(
        expected, abs=2e-4
    )


def test_an_under_confident_model_is_never_sharpened():
    # Clean labels drawn from p, given to a model that reports p^0.5: its best τ is 2^-1,
    # but a temperature below 1 would only add confidence the labels do not ask for.
    rng = np.random.default_rng(0)
    truth = rng.dirichlet(np.full(4, 0.5), size=600)
    labels = (rng.random((600, 1)) > truth.cumsum(axis=1)).sum(axis=1)
    soft = np.sqrt(truth) / np.sqrt(truth).sum(axis=1, keepdims=True)
    likelihood = np.full((4, 4), 0.01) + 0.96 * np.eye(4)
    assert fit_temperature(labels, soft, likelihood, 0.0, 0.002, 10.0) == 1.0


def test_temperature_step_equals_a_bounded_search():
    rng = np.random.default_rng(0)
    logs = np.log(rng.dirichlet(np.full(5, 0.3), size=200))
    # Classes drawn from the probabilities at τ = 2: the best β is near 1 / 2.
    tempered = np.exp(logs / 2) / np.exp(logs / 2).sum(axis=1, keepdims=True)
    posterior = np.eye(5)[(rng.random((200, 1)) > tempered.cumsum(axis=1)).sum(axis=1)]

    def objective(beta):
        z = beta * logs - (beta * logs).max(axis=1, keepdims=True)
        return -(posterior * (z - np.log(np.exp(z).sum(axis=1, keepdims=True)))).sum()

    best = minimize_scalar(
        objective, bounds=(1e-3, 1.0), method="bounded", options={"xatol": 1e-12}
    ).x
    assert 0.3 < best < 0.7
    for start in (1.0, 0.5, 0.01):
        assert _temperature_step(posterior, logs, start) == pytest.approx(best, abs=1e-8)


def plain_p_error_sum(terms, scale, temperature=1.0):
    """p_error_sum as first written: every power, array and NaN check anew per call."""
    other, own, lost = terms
    with np.errstate(invalid="ignore", divide="ignore"):
        if temperature != 1.0:
            other, own = other ** (1.0 / temperature), own ** (1.0 / temperature)
        odds = scale * other
        return float(np.nansum(odds / (odds + own * (1.0 - scale * lost))))


def plain_matching_scale(terms, errors, largest, temperature=1.0):
    if plain_p_error_sum(terms, largest, temperature) <= errors:
        return largest
    low, high = 0.0, largest
    for _ in range(50):
        middle = (low + high) / 2
        below = plain_p_error_sum(terms, middle, temperature) < errors
        low, high = (middle, high) if below else (low, middle)
    return (low + high) / 2


def plain_temperature_step(posterior, logs, beta):
    """_temperature_step as first written (a softmax of β · logs per Newton step)."""
    target = float(np.einsum("ij,ij->", posterior, logs))
    low, high = 1e-3, 1.0
    for _ in range(50):
        weights = softmax_rows(beta * logs)
        mean = np.einsum("ij,ij->i", weights, logs)
        slope = target - float(mean.sum())
        curvature = float((np.einsum("ij,ij->i", weights, logs**2) - mean**2).sum())
        if slope > 0:
            low = beta
        else:
            high = beta
        if beta == high == 1.0 and slope >= 0:
            return 1.0
        step = beta + slope / curvature if curvature > 0 else np.inf
        new = step if low < step < high else (low + high) / 2
        if abs(new - beta) < 1e-14:
            return new
        beta = new
    return beta


def plain_fit_temperature(labels, pred_probs, likelihood, floor, error_rate, largest):
    """fit_temperature as first written, from the plain pieces above."""
    order = np.lexsort(np.vstack([pred_probs.T, labels]))
    labels, probs = labels[order], np.asarray(pred_probs, dtype=np.float64)[order]
    n = labels.size
    rows = np.arange(n)
    logs = np.log(np.maximum(floored(probs, floor), np.finfo(np.float64).tiny))
    given_row = np.take(likelihood, labels, axis=0)
    lost = 1.0 - np.diagonal(likelihood)[labels]
    beta = 1.0
    for _ in range(100):
        tempered = softmax_rows(beta * logs)
        terms = scale_terms(labels, tempered, likelihood, np.zeros(0))
        scale = plain_matching_scale(terms, error_rate * n, largest)
        posterior = tempered * given_row * scale
        posterior[rows, labels] = tempered[rows, labels] * (1.0 - scale * lost)
        posterior /= posterior.sum(axis=1, keepdims=True)
        new = plain_temperature_step(posterior, logs, beta)
        converged = abs(new - beta) < 1e-4
        beta = new
        if converged:
            break
    return 1.0 / beta


def test_p_error_sum_and_matching_scale_are_the_plain_ones_to_the_last_bit():
    # They reuse buffers, take the powers once and drop NaN only when the sum is NaN;
    # the benchmarks' tables and every score depend on the very same bits.
    rng = np.random.default_rng(0)
    terms = np.stack([rng.random(5000) * 0.3, rng.random(5000), rng.random(5000) * 0.2])
    terms[:, :3] = [[0.0, 0.0, 0.1], [0.0, 0.4, 0.0], [0.1, 0.2, 1.0]]  # 0 / 0, 0, 0 / 0
    for temperature in (1.0, 1.7):
        for scale in (0.0, 0.37, 1.0, 3.3):
            assert p_error_sum(terms, scale, temperature) == plain_p_error_sum(
                terms, scale, temperature
            )
        for errors in (1.0, 400.0, 900.0, 4999.0):
            assert matching_scale(terms, errors, 5.0, temperature) == plain_matching_scale(
                terms, errors, 5.0, temperature
            )


@pytest.mark.parametrize(
    ("zeros", "floor"), [(False, 0.0), (True, 1e-3), (True, (1e-3, 3e-3, 0.0, 2e-3))]
)
def test_fit_temperature_is_the_plain_em_to_the_last_bit(zeros, floor):
    # The EM reuses each row's largest log-probability, the squares and the E-step's
    # softmax in the M-step: the same bits as recomputing them.
    labels, probs = over_confident_world(zeros)
    floor = np.broadcast_to(np.asarray(floor, dtype=float), (4,))
    likelihood = np.full((4, 4), 0.005)
    likelihood[1, 0] = 0.05
    likelihood += np.eye(4) * (1 - likelihood.sum(axis=0))
    for error_rate in (0.01, 0.06, 0.3):
        assert fit_temperature(
            labels, probs, likelihood, floor, error_rate, 10.0
        ) == plain_fit_temperature(labels, probs, likelihood, floor, error_rate, 10.0)


def test_p_error_sum_drops_a_row_rounded_below_zero_without_a_warning():
    # float32 probabilities can leave Σ_{j≠y} q[j] T[y, j] − q[y] T[y, y] a rounding
    # below 0: at τ ≠ 1 such a row adds nothing, and users see no RuntimeWarning (seen
    # ranking the label-errors study's CIFAR-10 and MNIST probabilities as float32).
    terms = np.array([[0.05, -1e-12], [0.5, 0.5], [0.2, 0.2]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        total = p_error_sum(terms, 1.0, temperature=2.0)
    assert total == p_error_sum(terms[:, :1], 1.0, temperature=2.0)


@pytest.mark.parametrize("count", ["threshold_stats", "confident_counts"])
@pytest.mark.parametrize("n_labels", [2, 4])
def test_the_block_counts_refuse_labels_of_another_length(count, n_labels):
    # threshold_stats counted the first 2 of 3 rows silently and failed in numpy for 4
    # labels (IndexError); confident_counts failed in numpy for both ('shape mismatch').
    probs = np.array([[0.8, 0.2], [0.4, 0.6], [0.2, 0.8]])
    labels = np.array([0, 1, 1, 0][:n_labels])
    arguments = (labels, probs) if count == "threshold_stats" else (labels, probs, np.full(2, 0.5))
    function = threshold_stats if count == "threshold_stats" else confident_counts
    with pytest.raises(InputError, match=rf"^labels has {n_labels} rows but pred_probs has 3\.$"):
        function(*arguments)
