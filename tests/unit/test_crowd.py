"""Dawid–Skene with item difficulty (labelmend.simulator.crowd): recovers what made the data."""

from __future__ import annotations

import numpy as np
import pytest

from labelmend.errors import InputError
from labelmend.simulator import CrowdModel, fit_crowd


def crowd(n=4000, k=4, pull=0.6, hard_share=0.4, seed=0, missing=0.2):
    """Answers of 5 annotators (right 70-90%, otherwise any other class; a share ``missing``
    of the answers missing); a ``hard_share`` of the items pull a ``pull`` share of every
    answer to one wrong class. Returns the answers (N, 5), truth, which items are hard, their attractor and
    the annotators' confusions (5, K, K)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(k, size=n)
    hard = rng.random(n) < hard_share
    attractor = np.where(hard, (truth + rng.integers(1, k, size=n)) % k, truth)
    accuracy = np.array([0.9, 0.85, 0.8, 0.75, 0.7])
    confusions = (1 - accuracy)[:, None, None] / (k - 1) * (1 - np.eye(k)) + accuracy[
        :, None, None
    ] * np.eye(k)
    probs = confusions[:, truth].transpose(1, 0, 2)  # (N, M, K)
    pulled = np.where(hard, pull, 0.0)[:, None, None]
    probs = (1 - pulled) * probs + pulled * np.eye(k)[attractor][:, None, :]
    cdf = probs.cumsum(axis=2)
    votes = (rng.random((n, 5, 1)) >= cdf[:, :, :-1]).sum(axis=2)
    votes[rng.random(votes.shape) < missing] = -1
    return votes, truth, hard, attractor, confusions


def test_fit_recovers_the_difficulty_that_made_the_answers():
    votes, truth, hard, attractor, confusions = crowd()
    model = fit_crowd(votes, truth, n_levels=2)
    np.testing.assert_allclose(model.pulls, [0.0, 0.6], atol=0.05)
    np.testing.assert_allclose(model.confusions, confusions, atol=0.05)
    # Items pulled to a wrong class: 40% of each class, to any of the k - 1 others evenly
    # (some easy items that every annotator got right count as pulled to their truth).
    wrong = model.level_prior[1] * (model.attractor_prior * (1 - np.eye(4)))
    np.testing.assert_allclose(wrong.sum(axis=1), hard.mean(), atol=0.03)
    np.testing.assert_allclose(wrong[~np.eye(4, dtype=bool)], hard.mean() / 3, atol=0.03)
    levels, attractors = model.draw_items(truth, annotations=votes, random_state=0)
    # About 4 answers per item leave doubt both ways (an easy item with two wrong
    # answers alike looks pulled), but the draws tell the two kinds apart.
    assert ((levels == 1) & (attractors == attractor))[hard].mean() > 0.7
    assert ((levels == 1) & (attractors != truth))[~hard].mean() < 0.2


def test_one_level_is_dawid_skene_counted_against_the_truth():
    votes, truth, *_ = crowd(seed=1)
    model = fit_crowd(votes, truth, n_levels=1)
    answered = votes >= 0
    for m in range(votes.shape[1]):
        counts = np.zeros((4, 4))
        np.add.at(counts, (truth[answered[:, m]], votes[answered[:, m], m]), 1.0)
        expected = (counts + 0.01) / (counts + 0.01).sum(axis=1, keepdims=True)
        np.testing.assert_allclose(model.confusions[m], expected)
    assert model.pulls.tolist() == [0.0]
    assert model.level_prior.tolist() == [1.0]


def test_redrawn_answers_keep_the_wrong_majorities_that_dawid_skene_spreads():
    full, truth, *_ = crowd(n=3000, pull=0.8, seed=2, missing=0.0)
    rng = np.random.default_rng(3)

    def wrong_majority(answers):
        counts = np.stack([np.bincount(row, minlength=4) for row in answers])
        return (counts.argmax(axis=1) != truth).mean()

    def redraw(model, levels):
        probs = np.stack(
            [
                model.answer_probs(
                    truth, levels=levels[0], attractors=levels[1], annotators=[m] * len(truth)
                )
                for m in range(5)
            ],
            axis=1,
        )
        return (rng.random((len(truth), 5, 1)) >= probs.cumsum(axis=2)[:, :, :-1]).sum(axis=2)

    real = wrong_majority(full)
    plain, hard = fit_crowd(full, truth, n_levels=1), fit_crowd(full, truth, n_levels=2)
    even = wrong_majority(redraw(plain, plain.draw_items(truth, random_state=4)))
    uneven = wrong_majority(redraw(hard, hard.draw_items(truth, random_state=4)))
    assert abs(uneven - real) < 0.02
    assert even < real - 0.05


def test_held_out_likelihood_prefers_the_levels_that_made_the_data():
    votes, truth, *_ = crowd(n=4000, seed=5)
    fit, held = slice(0, 2000), slice(2000, None)
    scores = [
        fit_crowd(votes[fit], truth[fit], n_levels=levels).log_likelihood_of(
            votes[held], truth[held]
        )
        for levels in (1, 2)
    ]
    assert scores[1] > scores[0]


def test_answer_probs_rows_are_distributions():
    votes, truth, *_ = crowd(n=500, seed=6)
    model = fit_crowd(votes, truth, n_levels=3)
    levels, attractors = model.draw_items(truth, random_state=0)
    probs = model.answer_probs(truth, levels=levels, attractors=attractors)
    assert probs.shape == (500, 4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert isinstance(model, CrowdModel)
    assert np.all(np.diff(model.pulls) >= 0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: fit_crowd(np.full((3, 2), -1), [0, 1, 0]), "must hold at least one label"),
        (lambda: fit_crowd(np.array([[0, 1], [1, 0]]), [0, 1, 0]), "true_labels has 3"),
        (lambda: fit_crowd(np.array([[0.5, 1.0]]), [0]), "integers"),
        (lambda: fit_crowd(np.array([[0, 1]]), [0], n_levels=0), "n_levels"),
        (lambda: fit_crowd(np.array([[0, 3]]), [0], n_classes=2), r"\[0, 2\)"),
    ],
)
def test_bad_input_is_refused_with_what_was_expected(call, message):
    with pytest.raises(InputError, match=message):
        call()
