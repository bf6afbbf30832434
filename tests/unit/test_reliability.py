"""The experts' reliability per row, learnt from their answers (labelmend.cleaner.reliability)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from labelmend.cleaner import (
    ExpertReliability,
    expert_confusion,
    fit_expert_reliability,
    fit_noise_model,
    score_samples,
)
from labelmend.cleaner.cost import fix_probabilities, row_fix_probabilities
from labelmend.cleaner.reliability import answer_posterior, confidence
from labelmend.errors import InputError

CONFUSION = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def test_row_fixability_is_the_class_table_row_by_row(monkeypatch):
    monkeypatch.setattr("labelmend.cleaner.cost.FIX_TABLE_CELLS", 6)  # two rows at a time
    confusion = np.array([[0.7, 0.2, 0.05], [0.2, 0.6, 0.15], [0.1, 0.2, 0.8]])
    current, true = np.array([0, 1, 2, 0, 2]), np.array([1, 1, 0, 2, 1])
    table = fix_probabilities(confusion)
    np.testing.assert_allclose(
        row_fix_probabilities(confusion[:, true], current, true), table[current, true]
    )


def test_binary_fixability_by_hand():
    # Label 0 counts one vote; the review settles on 1 only after two answers of 1.
    experts = ExpertReliability(np.array([[0.8, 0.2], [0.2, 0.8]]), 0.0, 0.0, 0.0, 0.0, 0.0)
    probs, labels, other = np.full((1, 2), 0.5), np.array([0]), np.array([1])
    np.testing.assert_allclose(experts.fixability(probs, labels, other), [0.8**2])
    # Log-odds moved from logit 0.8 to logit 0.9: right 0.9 of the time.
    surer = ExpertReliability(experts.confusion, logit(0.9) - logit(0.8), 0.0, 0.0, 0.0, 0.0)
    np.testing.assert_allclose(surer.fixability(probs, labels, other), [0.9**2])


def test_shifted_column_keeps_the_proportions_of_the_other_answers():
    confusion = np.array([[0.6, 0.3, 0.0], [0.1, 0.2, 0.0], [0.3, 0.5, 1.0]])
    shift = logit(0.9) - logit(0.6)
    experts = ExpertReliability(confusion, shift, 0.0, 0.0, 0.0, 0.0)
    probs = np.full((1, 3), 1 / 3)
    # True class 0 answered 0.9 / 0.025 / 0.075 (0.1 and 0.3 rescaled to sum 0.1).
    column = np.array([0.9, 0.025, 0.075])
    expected = row_fix_probabilities(column[:, None], np.array([1]), np.array([0]))
    np.testing.assert_allclose(experts.fixability(probs, np.array([1]), np.array([0])), expected)


def test_the_fit_matches_the_answers_of_each_confidence():
    # Ten sure rows (z at the clip) with 9 of 10 answers right, ten less sure rows
    # (top 0.999) with 6 of 10: two confidences, two parameters, so the fit is exact.
    probs = np.vstack([np.tile([1.0, 0.0, 0.0], (10, 1)), np.tile([0.999, 0.001, 0.0], (10, 1))])
    votes = np.tile([1.0, 0.0, 0.0], (20, 1))
    votes[[0, 10, 11, 12, 13]] = [0.0, 0.0, 1.0]  # class 2 has probability 0: wrong
    fit = fit_expert_reliability(CONFUSION, probs, votes, strength=0.0)
    shifts = fit.shift(probs[[0, 10]])
    np.testing.assert_allclose(
        shifts, [logit(0.9) - logit(0.8), logit(0.6) - logit(0.8)], atol=1e-3
    )
    # Outside the reviewed rows' confidences the shift stays at the nearest end.
    np.testing.assert_allclose(fit.shift(np.array([[0.5, 0.5, 0.0]])), shifts[1])


def test_the_fit_climbs_to_the_likelihood_maximum_from_a_far_start():
    # 21 reviewed rows of a simulated active run: a full Newton step from (0, 0)
    # overshot to α ≈ 2·10⁹ (and exp overflowed in the fixability).
    confusion = np.array([[0.992, 0.004, 0.025], [0.004, 0.993, 0.003], [0.004, 0.004, 0.972]])
    votes = np.array(FAR_START_VOTES, dtype=float)
    probs = np.array(FAR_START_PROBS)
    fit = fit_expert_reliability(confusion, probs, votes)

    # The same pooled likelihood, maximised by a general-purpose optimiser.
    rows, posterior = answer_posterior(confusion, probs, votes)
    answers = votes[rows].sum(axis=1)
    z = confidence(probs[rows])
    centre = np.average(z, weights=answers)
    pooling = 30.0 / answers.sum()
    diagonal = np.diagonal(confusion)
    right = votes[rows] + pooling * answers[:, None] * diagonal[None, :]
    trials = (answers * (1 + pooling))[:, None]

    def negative_log_likelihood(theta):
        logits = (
            np.log(diagonal / (1 - diagonal))[None, :]
            + (theta[0] + theta[1] * (z - centre))[:, None]
        )
        return -(
            posterior
            * (right * -np.logaddexp(0, -logits) + (trials - right) * -np.logaddexp(0, logits))
        ).sum()

    best = minimize(
        negative_log_likelihood,
        np.zeros(2),
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000},
    )
    np.testing.assert_allclose([fit.alpha, fit.beta], best.x, atol=1e-4)
    assert np.isfinite(fit.fixability(probs, votes.argmax(axis=1), probs.argmax(axis=1))).all()


FAR_START_VOTES = [
    [2, 0, 1],
    [2, 0, 0],
    [0, 2, 0],
    [1, 1, 1],
    [0, 1, 0],
    [2, 0, 0],
    [0, 2, 0],
    [0, 0, 2],
    [0, 0, 2],
    [0, 2, 0],
    [2, 0, 0],
    [0, 2, 0],
    [0, 0, 2],
    [2, 0, 1],
    [2, 0, 0],
    [2, 0, 0],
    [0, 0, 2],
    [0, 0, 2],
    [0, 2, 0],
    [1, 0, 1],
    [0, 2, 0],
]
FAR_START_PROBS = [
    [0.609, 0.137, 0.254],
    [0.658, 0.263, 0.078],
    [0.099, 0.778, 0.123],
    [0.317, 0.1, 0.582],
    [0.714, 0.208, 0.078],
    [0.566, 0.331, 0.103],
    [0.115, 0.756, 0.129],
    [0.328, 0.101, 0.571],
    [0.19, 0.192, 0.618],
    [0.097, 0.751, 0.151],
    [0.632, 0.21, 0.158],
    [0.218, 0.697, 0.085],
    [0.132, 0.078, 0.791],
    [0.685, 0.131, 0.184],
    [0.775, 0.154, 0.071],
    [0.708, 0.087, 0.206],
    [0.072, 0.117, 0.812],
    [0.194, 0.118, 0.687],
    [0.189, 0.696, 0.115],
    [0.182, 0.151, 0.667],
    [0.258, 0.633, 0.109],
]


def test_pseudo_answers_pull_the_fit_towards_the_class_level_confusion():
    probs = np.tile([1.0, 0.0, 0.0], (10, 1))
    votes = np.tile([1.0, 0.0, 0.0], (10, 1))
    votes[0] = [0.0, 0.0, 1.0]
    # 9 right of 10, plus 10 pseudo-answers right at 0.8: (9 + 8) / 20 = 0.85.
    fit = fit_expert_reliability(CONFUSION, probs, votes, strength=10.0)
    np.testing.assert_allclose(fit.alpha, logit(0.85) - logit(0.8), atol=1e-9)
    assert fit_expert_reliability(CONFUSION, probs, np.zeros_like(votes)) is None


def test_bad_votes_are_refused():
    probs = np.tile([1.0, 0.0, 0.0], (2, 1))
    with pytest.raises(InputError, match=r"votes must have the shape of probs \(2, 3\)"):
        fit_expert_reliability(CONFUSION, probs, np.ones((2, 2)))
    with pytest.raises(InputError, match="non-negative"):
        fit_expert_reliability(CONFUSION, probs, -np.ones((2, 3)))


@pytest.mark.parametrize(
    ("confusion", "probs", "message"),
    [
        (
            np.eye(2),
            [[1.0, 0.0, 0.0]],
            r"^confusion must have shape \(3, 3\), one row and column per class of probs\. Got \(2, 2\)\.$",
        ),
        (
            np.eye(3),
            [[np.nan, 1.0, 0.0]],
            r"^probs contains NaN or infinite values\.$",
        ),
        (
            np.eye(3),
            [[1.8, 0.2, 0.0]],
            r"^probs must hold probabilities in \[0, 1\]; found values from 0\.0 to 1\.8\.$",
        ),
        (np.eye(3), [1.0, 0.0, 0.0], r"^probs must have shape \(N, K\)\. Got \(3,\)\.$"),
    ],
)
def test_a_confusion_of_another_size_or_probs_that_are_not_probabilities_are_refused(
    confusion, probs, message
):
    # Before: numpy's matmul error (size 3 is different from 2), a RuntimeWarning from
    # log1p and a fit on NaN, an IndexError.
    votes = np.ones((1, 3)) if np.ndim(probs) == 2 else np.ones(3)
    with pytest.raises(InputError, match=message):
        fit_expert_reliability(confusion, np.array(probs), votes)


def test_confidence_is_the_top_probabilitys_log_odds():
    np.testing.assert_allclose(confidence(np.array([[0.2, 0.8], [0.5, 0.5]])), [np.log(4.0), 0.0])


def test_surer_experts_raise_the_default_priority_of_every_row_with_doubt():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=60)
    labels = rng.integers(0, 3, size=60)
    model = fit_noise_model(labels, probs)
    experts = expert_confusion(model)
    flat = ExpertReliability(experts, 0.0, 0.0, 0.0, 0.0, 0.0)
    surer = ExpertReliability(experts, 1.0, 0.0, 0.0, 0.0, 0.0)
    plain = score_samples(labels, probs, noise_model=model).priority
    np.testing.assert_allclose(
        score_samples(labels, probs, noise_model=model, reliability=flat).priority, plain
    )
    raised = score_samples(labels, probs, noise_model=model, reliability=surer).priority
    assert (raised > plain).all()
    with pytest.raises(InputError, match="reliability has 2 classes"):
        score_samples(labels, probs, reliability=ExpertReliability(np.eye(2), 0, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        # Negative or NaN pseudo-counts and scales gave negative or NaN "probabilities"
        # (a negative answer rate at prior_strength -1, at scale -1); inf a RuntimeWarning;
        # an array instead of a model failed in dataclasses.replace.
        (
            {"prior_strength": -1.0},
            r"^prior_strength must be a finite number in \[0, inf\)\. Got -1\.0\.$",
        ),
        (
            {"prior_strength": float("nan")},
            r"^prior_strength must be a finite number in \[0, inf\)\. Got nan\.$",
        ),
        (
            {"prior_strength": float("inf")},
            r"^prior_strength must be a finite number in \[0, inf\)\. Got inf\.$",
        ),
        ({"scale": -1.0}, r"^scale must be a finite number in \[0, 4\]\. Got -1\.0\.$"),
        ({"scale": 5.0}, r"^scale must be a finite number in \[0, 4\]\. Got 5\.0\.$"),
        (
            {"noise_model": np.eye(2)},
            r"^noise_model must be a NoiseModel \(fit_noise_model's\)\. Got ndarray instead\.$",
        ),
    ],
)
def test_expert_confusion_refuses_arguments_that_give_no_distribution(arguments, message):
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.1, 0.9], [0.2, 0.8], [0.95, 0.05]])
    model = fit_noise_model([0, 0, 0, 1, 1, 1], probs)
    arguments = {"noise_model": model, **arguments}
    with pytest.raises(InputError, match=message):
        expert_confusion(**arguments)
    # The bound is where a column's own answer reaches 0: still a distribution.
    at_most = expert_confusion(model, scale=4.0)
    np.testing.assert_allclose(np.diagonal(at_most).min(), 0.0, atol=1e-12)
    np.testing.assert_allclose(at_most.sum(axis=0), 1.0)
